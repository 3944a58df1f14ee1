#!/usr/bin/env bash
# Start latency of a remapped container (--userns-remap, root = host uid
# 200000), cocin against podman (--uidmap/--gidmap, same range), in the same
# sitting:
#   cocin idmap         idmapped mounts of the layers (kernels that have them)
#   cocin shifted-warm  forced fallback (COCIN_USERNS_NO_IDMAP=1), cached copy
#   cocin shifted-cold  forced fallback, cache removed before each run (--prepare)
#   podman              run --rm --uidmap 0:200000:65536 --gidmap ... --network none
# cocin uses a private root with its own subordinate-id file, so the host's
# /etc/subuid and cocin's data are not touched. Medians over all rounds and
# the ratios cocin/podman.
#
# Env: COCIN (default: cocin on PATH)  ROUNDS (2)  RUNS_PER_ROUND (5)  WARMUP (2)
#      OUTDIR (hyperfine JSON, default /tmp/cocin-bench)
# usage: bench/userns.sh   (peers: bench/setup-peers.sh; cocin: scripts/setup.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
ROUNDS=${ROUNDS:-2}
RUNS_PER_ROUND=${RUNS_PER_ROUND:-5}
WARMUP=${WARMUP:-2}
OUTDIR=${OUTDIR:-/tmp/cocin-bench}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have jq || die "jq not installed (bench/setup-peers.sh)"
[ -x "$COCIN" ] || die "$COCIN not found"
have podman || die "podman not installed (bench/setup-peers.sh)"
mkdir -p "$OUTDIR"

work=$(mktemp -d /tmp/cocin-bench-userns.XXXXXX)
chmod 711 "$work"
export COCIN_ROOT=$work/root COCIN_RUNROOT=$work/run COCIN_CGROUP_PARENT=cocin-bench-userns-$$
echo "cocin:200000:65536" >"$work/subid"
export COCIN_SUBUID_FILE=$work/subid COCIN_SUBGID_FILE=$work/subid
cleanup() {
	# Containers, and the bridge and nftables table of this private root.
	"$COCIN" ps -aq 2>/dev/null | xargs -r "$COCIN" rm -f >/dev/null 2>&1
	"$COCIN" system prune -f >/dev/null 2>&1
	"$COCIN" rm -f "$("$COCIN" ps -aq 2>/dev/null)" >/dev/null 2>&1 || true
	"$COCIN" rmi busybox >/dev/null 2>&1 || true
	rmdir /sys/fs/cgroup/*/"$COCIN_CGROUP_PARENT" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

"$COCIN" import "$(bb_tar)" busybox:latest >/dev/null
podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null
run="$COCIN run --rm --userns-remap cocin busybox true"
pmap="--uidmap 0:200000:65536 --gidmap 0:200000:65536"
for c in "$run" "env COCIN_USERNS_NO_IDMAP=1 $run" "podman run --rm $pmap --network none localhost/busybox true"; do
	$c || die "sanity run failed: $c"
done

jsons=()
for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r/$ROUNDS"
	w=0
	[ "$r" -eq 1 ] && w=$WARMUP
	json="$OUTDIR/userns-round$r.json"
	# One --prepare per command, in order: only the cold run drops the cache.
	hyperfine -N --style basic --warmup "$w" --runs "$RUNS_PER_ROUND" --export-json "$json" \
		--prepare true --prepare true --prepare "sh -c 'rm -rf $COCIN_ROOT/layers/*/shifted'" --prepare true \
		-n "cocin idmap" "$run" \
		-n "cocin shifted-warm" "env COCIN_USERNS_NO_IDMAP=1 $run" \
		-n "cocin shifted-cold" "env COCIN_USERNS_NO_IDMAP=1 $run" \
		-n podman "podman run --rm $pmap --network none localhost/busybox true" >&2
	jsons+=("$json")
done

echo
echo "### remapped start: run --rm busybox true ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
hf_table "${jsons[@]}"
echo
echo "cocin: $("$COCIN" version 2>/dev/null | head -n 1 || echo n/a); $(podman --version)"
for n in "cocin idmap" "cocin shifted-warm" "cocin shifted-cold"; do
	ratio=$(jq -rs --arg a "$n" '
		def median: sort | if length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def med($c): [.[].results[] | select(.command == $c) | .times[]] | median;
		med($a) / med("podman") * 100 | round / 100' "${jsons[@]}")
	echo "$n/podman = $ratio"
done
