#!/usr/bin/env bash
# Container log throughput, cocin against Podman (k8s-file log driver, the
# same CRI line format) in the same sitting, for a container that writes
# SIZE_MB (100) of 80-byte lines to stdout:
#   write: run -d, wait (the monitor has logged everything when the exit is
#          recorded), rm -f: how fast the monitor takes the output in
#   read:  `logs ID` of such a finished container, into a pipe (hyperfine
#          --output=pipe) that reads and drops it
# Both engines keep their data on the same disk (cocin's private roots are
# under /var/tmp, Podman's in /var/lib/containers). MB/s = SIZE_MB / median.
#
# Env: COCIN (default: cocin on PATH)  SIZE_MB (100)  RUNS (5)  OUTDIR (/tmp/cocin-bench)
# usage: bench/logs.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
SIZE_MB=${SIZE_MB:-100}
RUNS=${RUNS:-5}
OUTDIR=${OUTDIR:-/tmp/cocin-bench}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have podman || die "podman not installed (bench/setup-peers.sh)"
[ -x "$COCIN" ] || die "$COCIN not found (scripts/setup.sh builds it)"
mkdir -p "$OUTDIR"

work=$(mktemp -d /var/tmp/cocin-bench-logs.XXXXXX)
export COCIN_ROOT=$work/root COCIN_RUNROOT=$work/run COCIN_CGROUP_PARENT=cocin-bench-logs-$$
cid="" pid=""
cleanup() {
	# Containers, and the bridge and nftables table of this private root.
	"$COCIN" ps -aq 2>/dev/null | xargs -r "$COCIN" rm -f >/dev/null 2>&1
	"$COCIN" system prune -f >/dev/null 2>&1
	[ -n "$cid" ] && "$COCIN" rm -f "$cid" >/dev/null 2>&1
	[ -n "$pid" ] && podman rm -f -t 0 "$pid" >/dev/null 2>&1
	for d in /sys/fs/cgroup/*/"$COCIN_CGROUP_PARENT" /sys/fs/cgroup/"$COCIN_CGROUP_PARENT"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
"$COCIN" import "$(bb_tar)" busybox >/dev/null
podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null

line=0123456789012345678901234567890123456789012345678901234567890123456789012345678
writer="yes $line | head -c $((SIZE_MB * 1024 * 1024))"

# Sanity and the containers the read test reads.
cid=$("$COCIN" run -d busybox sh -c "$writer")
"$COCIN" wait "$cid" >/dev/null
pid=$(podman run -d --network none --log-driver k8s-file localhost/busybox sh -c "$writer")
podman wait "$pid" >/dev/null
cbytes=$("$COCIN" logs "$cid" | wc -c)
pbytes=$(podman logs "$pid" | wc -c)
[ "$cbytes" -eq $((SIZE_MB * 1024 * 1024)) ] || warn "cocin logs gave $cbytes bytes"
[ "$pbytes" -eq $((SIZE_MB * 1024 * 1024)) ] || warn "podman logs gave $pbytes bytes"

wjson=$OUTDIR/logs-write.json
rjson=$OUTDIR/logs-read.json
hyperfine --style basic --runs "$RUNS" --export-json "$wjson" \
	-n "cocin write" "id=\$($COCIN run -d busybox sh -c '$writer') && $COCIN wait \$id >/dev/null && $COCIN rm -f \$id >/dev/null" \
	-n "podman write" "id=\$(podman run -d --network none --log-driver k8s-file localhost/busybox sh -c '$writer') && podman wait \$id >/dev/null && podman rm -f -t 0 \$id >/dev/null" >&2
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$rjson" --output=pipe \
	-n "cocin logs" "$COCIN logs $cid" -n "podman logs" "podman logs $pid" >&2

mbps() { jq -r --arg c "$2" --argjson mb "$SIZE_MB" '
	[.results[] | select(.command == $c) | .median][0] as $m | ($mb / $m * 10 | round / 10)' "$1"; }
echo
echo "### container logs, $SIZE_MB MB to stdout ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "write (run -d, wait, rm -f):"
echo
hf_table "$wjson"
echo
echo "read (logs into a pipe):"
echo
hf_table "$rjson"
echo
echo "MB/s: cocin write $(mbps "$wjson" "cocin write"), podman write $(mbps "$wjson" "podman write"); cocin logs $(mbps "$rjson" "cocin logs"), podman logs $(mbps "$rjson" "podman logs")"
echo "$("$COCIN" version 2>/dev/null | head -n 1 | tr -s ' '); $(podman --version); $(conmon --version | head -n 1)"
