#!/usr/bin/env bash
# Cost of resource limits, cocin against podman in the same sitting:
#   run:   run --rm LIMITS busybox true   (per-container cgroup with memory,
#          cpu quota, cpuset and pids limits written before the process runs)
#   stats: stats --no-stream CONTAINER    (one running container; both tools
#          take two samples, so this is mostly their sampling interval)
# hyperfine (no shell), ROUNDS rounds of RUNS_PER_ROUND runs per command,
# medians over all rounds, ratios first/this (lib.sh hf_table).
#
# Env: COCIN (default: cocin on PATH)  ROUNDS (2)  RUNS_PER_ROUND (5)  WARMUP (2)
#      OUTDIR (hyperfine JSON, default /tmp/cocin-bench)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
ROUNDS=${ROUNDS:-2}
RUNS_PER_ROUND=${RUNS_PER_ROUND:-5}
WARMUP=${WARMUP:-2}
OUTDIR=${OUTDIR:-/tmp/cocin-bench}
LIMITS="-m 64m --cpus 0.5 --cpuset-cpus 0 --pids-limit 64"
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have jq || die "jq not installed (bench/setup-peers.sh)"
have podman || die "podman not installed (bench/setup-peers.sh)"
[ -x "$COCIN" ] || die "$COCIN not found (scripts/setup.sh builds it)"
mkdir -p "$OUTDIR"

if ! "$COCIN" images 2>/dev/null | awk '$1 == "busybox" && $2 == "latest" { f = 1 } END { exit !f }'; then
	"$COCIN" import "$(bb_tar)" busybox:latest >/dev/null || die "cocin import failed"
fi
podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null

cname=cocin-bench-stats-$$
read -r -a limits <<<"$LIMITS" # the limit flags, split on spaces on purpose
"$COCIN" run -d --name "$cname" "${limits[@]}" busybox sleep 600 >/dev/null
pname=$("$COCIN" inspect -f '{{.Id}}' "$cname" | cut -c1-12)-podman
podman run -d --name "$pname" --network none "${limits[@]}" localhost/busybox sleep 600 >/dev/null
trap '"$COCIN" rm -f "$cname" >/dev/null; podman rm -f -t 0 "$pname" >/dev/null' EXIT

measure() { # TAG NAME1 CMD1 NAME2 CMD2
	local tag=$1 r w json
	shift
	jsons=()
	for ((r = 1; r <= ROUNDS; r++)); do
		json="$OUTDIR/resources-$tag-round$r.json"
		w=0
		[ "$r" -eq 1 ] && w=$WARMUP
		hyperfine -N --style basic --warmup "$w" --runs "$RUNS_PER_ROUND" --export-json "$json" \
			-n "$1" "$2" -n "$3" "$4" >&2
		jsons+=("$json")
	done
	hf_table "${jsons[@]}"
	echo
}

echo "### resource limits ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)); limits: $LIMITS"
echo
measure run "cocin run" "$COCIN run --rm $LIMITS busybox true" \
	"podman run" "podman run --rm --network none $LIMITS localhost/busybox true"
measure stats "cocin stats" "$COCIN stats --no-stream $cname" \
	"podman stats" "podman stats --no-stream $pname"
echo "cocin: $("$COCIN" version 2>/dev/null | awk 'NR == 1 { print $2 }'); $(podman --version)"
