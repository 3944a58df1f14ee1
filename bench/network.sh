#!/usr/bin/env bash
# Network set-up cost: `run --rm busybox true` on the default bridge network
# against --network none, for cocin and Podman, in the same hyperfine runs
# (interleaved rounds, as bench/start.sh). Prints medians and the bridge
# overhead (bridge - none) of each engine.
#
# Env: COCIN (default: cocin on PATH)  ROUNDS (3)  RUNS_PER_ROUND (5)  WARMUP (2)
#      OUTDIR (hyperfine JSON, default /tmp/cocin-bench)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
ROUNDS=${ROUNDS:-3}
RUNS_PER_ROUND=${RUNS_PER_ROUND:-5}
WARMUP=${WARMUP:-2}
OUTDIR=${OUTDIR:-/tmp/cocin-bench}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have jq || die "jq not installed (bench/setup-peers.sh)"
mkdir -p "$OUTDIR"

names=()
cmds=()
add() { names+=("$1"); cmds+=("$2"); }

if "$COCIN" images 2>/dev/null | awk '$1 == "busybox" { f = 1 } END { exit !f }' ||
	"$COCIN" import "$(bb_tar)" busybox:latest >/dev/null; then
	add cocin-bridge "$COCIN run --rm busybox true"
	add cocin-none "$COCIN run --rm --network none busybox true"
else
	warn "cocin left out: cannot import busybox"
fi
if have podman; then
	podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null
	if podman run --rm localhost/busybox true; then
		add podman-bridge "podman run --rm localhost/busybox true"
		add podman-none "podman run --rm --network none localhost/busybox true"
	else
		warn "podman left out: its sanity run failed (bench/setup-peers.sh)"
	fi
fi
[ ${#cmds[@]} -gt 0 ] || die "nothing to measure"

hf_rounds network

echo
echo "### network set-up: run --rm busybox true, bridge vs none ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
hf_table "${jsons[@]}"
echo
for e in cocin podman; do
	jq -rs --arg e "$e" '
		def median: sort | if length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def med($c): [.[].results[] | select(.command == $c) | .times[]] | median;
		if ([.[].results[] | select(.command == ($e + "-bridge"))] | length) > 0 then
			"\($e): bridge - none = \(((med($e + "-bridge") - med($e + "-none")) * 1000 * 100 | round) / 100) ms"
		else empty end' "${jsons[@]}"
done
