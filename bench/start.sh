#!/usr/bin/env bash
# Start-to-exit latency of a container running "true", cocin against its peers,
# measured in the same sitting:
#   cocin   run --rm --network none busybox true   (both without a network:
#           the bridge costs are measured by bench/network.sh)
#   podman  run --rm --network none localhost/busybox true
#   crun    run --bundle B ID         (same busybox rootfs, "crun spec" config)
# hyperfine (no shell) runs all commands ROUNDS times with RUNS_PER_ROUND timed
# runs each (A×k B×k C×k, A×k B×k C×k, ...), so slow drifts of the machine's
# load hit every command alike; medians are over all rounds.
# Prints a markdown table of medians and the ratios cocin/podman and cocin/crun.
# A peer that is missing or fails its sanity run is left out (with a message).
#
# Env: COCIN (default: cocin on PATH)  ROUNDS (4)  RUNS_PER_ROUND (5)  WARMUP (3)
#      OUTDIR (hyperfine JSON, default /tmp/cocin-bench)
# usage: bench/start.sh         (peers: bench/setup-peers.sh; cocin: scripts/setup.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
ROUNDS=${ROUNDS:-4}
RUNS_PER_ROUND=${RUNS_PER_ROUND:-5}
WARMUP=${WARMUP:-3}
OUTDIR=${OUTDIR:-/tmp/cocin-bench}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have jq || die "jq not installed (bench/setup-peers.sh)"
mkdir -p "$OUTDIR"

names=()
cmds=()
add() { # NAME COMMAND
	names+=("$1")
	cmds+=("$2")
}

# cocin
if [ -x "$COCIN" ]; then
	if ! "$COCIN" images 2>/dev/null | awk '$1 == "busybox" && $2 == "latest" { f = 1 } END { exit !f }'; then
		"$COCIN" import "$(bb_tar)" busybox:latest >/dev/null || warn "cocin import failed"
	fi
	if "$COCIN" run --rm --network none busybox true; then
		add cocin "$COCIN run --rm --network none busybox true"
	else
		warn "cocin left out: '$COCIN run --rm --network none busybox true' failed"
	fi
else
	warn "cocin left out: $COCIN not found (scripts/setup.sh builds it)"
fi

# podman
if have podman; then
	podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null
	if podman run --rm --network none localhost/busybox true; then
		add podman "podman run --rm --network none localhost/busybox true"
	else
		warn "podman left out: its sanity run failed (bench/setup-peers.sh sets its rlimits)"
	fi
else
	warn "podman left out: not installed (bench/setup-peers.sh)"
fi

# crun on an OCI bundle
if have crun; then
	bundle=$(mktemp -d /tmp/cocin-bench-bundle.XXXXXX)
	trap 'rm -rf "$bundle"' EXIT
	make_bundle "$bundle"
	id=cocin-bench-$$
	if crun run --bundle "$bundle" "$id" </dev/null; then
		add crun "crun run --bundle $bundle $id"
	else
		warn "crun left out: its sanity run failed (on a cgroup v1 hybrid host run bench/setup-peers.sh)"
	fi
else
	warn "crun left out: not installed (bench/setup-peers.sh)"
fi

[ ${#cmds[@]} -gt 0 ] || die "nothing to measure"

hf_rounds start

echo
echo "### start latency: run --rm --network none busybox true ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
hf_table "${jsons[@]}"
echo
for ((i = 0; i < ${#cmds[@]}; i++)); do
	echo "- ${names[i]}: \`${cmds[i]}\`"
done
versions="cocin: $("$COCIN" version 2>/dev/null | awk 'NR == 1 { print $2 }')"
have podman && versions+="; $(podman --version)"
have crun && versions+="; $(crun --version | head -n 1)"
echo "$versions"
if [ "${names[0]}" = cocin ]; then
	for ((i = 1; i < ${#names[@]}; i++)); do
		ratio=$(jq -rs --arg a cocin --arg b "${names[i]}" '
			def median: sort | if length % 2 == 1 then .[length / 2 | floor]
				else (.[length / 2 - 1] + .[length / 2]) / 2 end;
			def med($c): [.[].results[] | select(.command == $c) | .times[]] | median;
			med($a) / med($b) * 100 | round / 100' "${jsons[@]}")
		echo "cocin/${names[i]} = $ratio"
	done
fi
