#!/usr/bin/env bash
# OCI runtime latency of cocin's runtime (cocin-runtime, runc's command line)
# against runc and crun on the same bundle, in the same sitting:
#   create  RT create --bundle B ID        (prepared by: delete -f)
#   start   RT start ID                    (prepared by: delete -f; create)
#   delete  RT delete --force ID           (prepared by: delete -f; create; start)
# The bundle is busybox with "crun spec"'s config running "true", its cgroup
# under cocin-bench/ID on every runtime. hyperfine interleaves the runtimes per
# phase; each runtime keeps its state in a private --root.
# Prints one markdown table per phase (medians, ratio first/this).
#
# Env: COCIN (default: cocin on PATH)  RUNS (30)  WARMUP (3)  OUTDIR (/tmp/cocin-bench-oci)
# usage: bench/oci.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
OUTDIR=${OUTDIR:-/tmp/cocin-bench-oci}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have jq || die "jq not installed (bench/setup-peers.sh)"
[ -x "$COCIN" ] || die "cocin not found: $COCIN"

WORK=$(mktemp -d /tmp/cocin-bench-oci.XXXXXX)
mkdir -p "$OUTDIR"
ln -s "$(readlink -f "$COCIN")" "$WORK/cocin-runtime"
make_bundle "$WORK/bundle"
jq '.linux.cgroupsPath = "cocin-bench/oci-bench"' "$WORK/bundle/config.json" >"$WORK/c.json" &&
	mv "$WORK/c.json" "$WORK/bundle/config.json"

names=() rts=()
for rt in "$WORK/cocin-runtime" runc crun; do
	have "$rt" || [ -x "$rt" ] || { warn "$rt left out: not installed"; continue; }
	r="$rt --root $WORK/state-$(basename "$rt")"
	if $r create --bundle "$WORK/bundle" oci-bench && $r start oci-bench && $r delete --force oci-bench; then
		names+=("$(basename "$rt")") rts+=("$r")
	else
		warn "$rt left out: its sanity run failed"
		$r delete --force oci-bench >/dev/null 2>&1 || true
	fi
done
[ ${#rts[@]} -gt 0 ] || die "no runtime to measure"

cleanup() {
	local r
	for r in "${rts[@]}"; do $r delete --force oci-bench >/dev/null 2>&1 || true; done
	find /sys/fs/cgroup/*/cocin-bench /sys/fs/cgroup/cocin-bench -depth -type d -exec rmdir {} \; 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# phase NAME PREPARE COMMAND: PREPARE/COMMAND use R for the runtime command.
phase() {
	local name=$1 prep=$2 cmd=$3 args=() i
	for i in "${!rts[@]}"; do
		args+=(--prepare "sh -c '${prep//R/${rts[$i]}}'" -n "${names[$i]} $name" "${cmd//R/${rts[$i]}}")
	done
	hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUTDIR/$name.json" "${args[@]}" >&2
	echo "### $name"
	hf_table "$OUTDIR/$name.json"
	echo
}

B=$WORK/bundle
phase create "R delete --force oci-bench >/dev/null 2>&1; true" "R create --bundle $B oci-bench"
phase start "R delete --force oci-bench >/dev/null 2>&1; R create --bundle $B oci-bench" "R start oci-bench"
phase delete "R delete --force oci-bench >/dev/null 2>&1; R create --bundle $B oci-bench && R start oci-bench" "R delete --force oci-bench"
