#!/usr/bin/env bash
# Cost of mounts and of cp, cocin against podman, in the same sitting:
#   run:  run --rm -v NAMED:/data -v HOSTDIR:/h:ro --tmpfs /scratch busybox true
#   cp:   cp of a 4 MiB file into a stopped container
# hyperfine (no shell) runs the commands ROUNDS times with RUNS_PER_ROUND timed
# runs each, interleaved; medians are over all rounds. Prints markdown tables
# and the ratios cocin/podman.
#
# Env: COCIN (default: cocin on PATH)  ROUNDS (3)  RUNS_PER_ROUND (5)  WARMUP (2)
#      OUTDIR (hyperfine JSON, default /tmp/cocin-bench)
# usage: bench/volumes.sh   (peers: bench/setup-peers.sh; cocin: scripts/setup.sh)
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
[ -x "$COCIN" ] || die "$COCIN not found"
have podman || die "podman not installed (bench/setup-peers.sh)"
mkdir -p "$OUTDIR"

work=$(mktemp -d /tmp/cocin-bench-vol.XXXXXX)
vol=cocinbenchvol$$
ctr=cocin-bench-cp-$$
cleanup() {
	"$COCIN" rm -f "$ctr" >/dev/null 2>&1 || true
	podman rm -f "$ctr" >/dev/null 2>&1 || true
	"$COCIN" volume rm -f "$vol" >/dev/null 2>&1 || true
	podman volume rm -f "$vol" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/h"
head -c 4194304 /dev/urandom >"$work/blob"

if ! "$COCIN" images 2>/dev/null | awk '$1 == "busybox" { f = 1 } END { exit !f }'; then
	"$COCIN" import "$(bb_tar)" busybox:latest >/dev/null
fi
podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null
"$COCIN" volume create "$vol" >/dev/null
podman volume create "$vol" >/dev/null
"$COCIN" create --name "$ctr" busybox true >/dev/null
podman create --name "$ctr" --network none localhost/busybox true >/dev/null

mounts="-v $vol:/data -v $work/h:/h:ro --tmpfs /scratch"
# measure TITLE NAME CMD NAME CMD: hyperfine rounds, then the table and ratio.
measure() {
	local title=$1 tag=$2
	shift 2
	local jsons=() r
	for ((r = 1; r <= ROUNDS; r++)); do
		local w=0
		[ "$r" -eq 1 ] && w=$WARMUP
		hyperfine -N --style basic --warmup "$w" --runs "$RUNS_PER_ROUND" \
			--export-json "$OUTDIR/$tag-round$r.json" -n "$1" "$2" -n "$3" "$4" >&2
		jsons+=("$OUTDIR/$tag-round$r.json")
	done
	echo
	echo "### $title ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	hf_table "${jsons[@]}"
}
measure "run --rm with a named volume, a read-only bind and a tmpfs" run \
	cocin "$COCIN run --rm $mounts busybox true" \
	podman "podman run --rm --network none $mounts localhost/busybox true"
measure "cp of a 4 MiB file into a stopped container" cp \
	cocin "$COCIN cp $work/blob $ctr:/blob" \
	podman "podman cp $work/blob $ctr:/blob"
echo
echo "cocin: $("$COCIN" version 2>/dev/null | awk 'NR == 1 { print $2 }'); $(podman --version)"
