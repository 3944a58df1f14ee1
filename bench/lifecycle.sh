#!/usr/bin/env bash
# Latency of a detached container's whole life, cocin against Podman in the
# same sitting: `run -d busybox sleep 60` then `rm -f` of the printed ID.
#   cocin   id=$(cocin run -d busybox sleep 60) && cocin rm -f $id
#   podman  id=$(podman run -d --network none localhost/busybox sleep 60) && podman rm -f -t 0 $id
# (-t 0: Podman's rm -f otherwise waits 10 s for SIGTERM; cocin's rm -f kills
# at once, as Docker's does). hyperfine runs both through the shell, whose
# start it subtracts. cocin uses private roots, removed afterwards.
#
# Env: COCIN (default: cocin on PATH)  RUNS (20)  WARMUP (3)  OUTDIR (/tmp/cocin-bench)
# usage: bench/lifecycle.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
OUTDIR=${OUTDIR:-/tmp/cocin-bench}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have podman || die "podman not installed (bench/setup-peers.sh)"
[ -x "$COCIN" ] || die "$COCIN not found (scripts/setup.sh builds it)"
mkdir -p "$OUTDIR"

work=$(mktemp -d /tmp/cocin-bench-life.XXXXXX)
export COCIN_ROOT=$work/root COCIN_RUNROOT=$work/run COCIN_CGROUP_PARENT=cocin-bench-life-$$
cleanup() {
	# Containers, and the bridge and nftables table of this private root.
	"$COCIN" ps -aq 2>/dev/null | xargs -r "$COCIN" rm -f >/dev/null 2>&1
	"$COCIN" system prune -f >/dev/null 2>&1
	for d in /sys/fs/cgroup/*/"$COCIN_CGROUP_PARENT" /sys/fs/cgroup/"$COCIN_CGROUP_PARENT"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
"$COCIN" import "$(bb_tar)" busybox >/dev/null
podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null

json=$OUTDIR/lifecycle.json
hyperfine --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$json" \
	-n cocin "id=\$($COCIN run -d busybox sleep 60) && $COCIN rm -f \$id >/dev/null" \
	-n podman "id=\$(podman run -d --network none localhost/busybox sleep 60) && podman rm -f -t 0 \$id >/dev/null" >&2

echo
echo "### run -d + rm -f ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
hf_table "$json"
echo
echo "$("$COCIN" version 2>/dev/null | head -n 1 | tr -s ' '); $(podman --version)"
