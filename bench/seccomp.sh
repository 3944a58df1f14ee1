#!/usr/bin/env bash
# What Docker's default seccomp profile costs on the start path, cocin against
# Podman, measured in the same hyperfine run:
#   cocin  run --rm busybox true                               (default profile)
#   cocin  run --rm --security-opt seccomp=unconfined busybox true
#   podman run --rm --network none localhost/busybox true      (default profile)
#   podman run --rm --network none --security-opt seccomp=unconfined ...
# cocin compiles the profile once (libseccomp, ~35 ms) and keeps the BPF in
# RUNROOT/seccomp; the first run after a reboot pays the compile.
# Prints a markdown table of medians and the per-engine seccomp overhead.
#
# Env: COCIN (default: cocin on PATH)  RUNS (10)  WARMUP (3)  OUTDIR (/tmp/cocin-bench)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-3}
OUTDIR=${OUTDIR:-/tmp/cocin-bench}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have jq || die "jq not installed (bench/setup-peers.sh)"
[ -x "$COCIN" ] || die "$COCIN not found (scripts/setup.sh builds it)"
mkdir -p "$OUTDIR"

if ! "$COCIN" images 2>/dev/null | awk '$1 == "busybox" { f = 1 } END { exit !f }'; then
	"$COCIN" import "$(bb_tar)" busybox:latest >/dev/null || die "cocin import failed"
fi
args=(-n cocin "$COCIN run --rm busybox true"
	-n cocin-unconfined "$COCIN run --rm --security-opt seccomp=unconfined busybox true")
if have podman; then
	podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null
	if podman run --rm --network none localhost/busybox true; then
		args+=(-n podman "podman run --rm --network none localhost/busybox true"
			-n podman-unconfined "podman run --rm --network none --security-opt seccomp=unconfined localhost/busybox true")
	else
		warn "podman left out: its sanity run failed (bench/setup-peers.sh)"
	fi
fi
json="$OUTDIR/seccomp.json"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$json" "${args[@]}" >&2
echo
echo "### seccomp cost on run --rm busybox true ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
hf_table "$json"
echo
jq -r '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	([.results[] | {key: .command, value: (.times | median)}] | from_entries) as $m
	| ($m | keys[] | select(test("unconfined") | not)) as $e
	| select($m[$e + "-unconfined"] != null)
	| "\($e): the default profile costs \((($m[$e] - $m[$e + "-unconfined"]) * 10000 | round) / 10) ms per start (median)"
' "$json"
