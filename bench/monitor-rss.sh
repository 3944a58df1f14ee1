#!/usr/bin/env bash
# Memory of the per-container monitor: N detached "sleep" containers each
# for cocin (cocin-monitor) and Podman (conmon), started in the same sitting;
# sums and per-container averages of RSS and PSS (from smaps_rollup: PSS
# splits shared pages, such as the binary's, between the processes that map
# them). Only the monitors of the containers made here are counted.
# cocin runs with private roots (removed afterwards), so it touches no one's data.
#
# Env: COCIN (default: cocin on PATH)  N (20)
# usage: bench/monitor-rss.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
N=${N:-20}
[ "$(id -u)" -eq 0 ] || die "run as root"
have podman || die "podman not installed (bench/setup-peers.sh)"
[ -x "$COCIN" ] || die "$COCIN not found (scripts/setup.sh builds it)"

work=$(mktemp -d /tmp/cocin-bench-rss.XXXXXX)
export COCIN_ROOT=$work/root COCIN_RUNROOT=$work/run COCIN_CGROUP_PARENT=cocin-bench-rss-$$
cocin_ids=()
podman_ids=()
cleanup() {
	# Containers, and the bridge and nftables table of this private root.
	"$COCIN" ps -aq 2>/dev/null | xargs -r "$COCIN" rm -f >/dev/null 2>&1
	"$COCIN" system prune -f >/dev/null 2>&1
	[ ${#cocin_ids[@]} -gt 0 ] && "$COCIN" rm -f "${cocin_ids[@]}" >/dev/null 2>&1
	[ ${#podman_ids[@]} -gt 0 ] && podman rm -f -t 0 "${podman_ids[@]}" >/dev/null 2>&1
	for d in /sys/fs/cgroup/*/"$COCIN_CGROUP_PARENT" /sys/fs/cgroup/"$COCIN_CGROUP_PARENT"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

"$COCIN" import "$(bb_tar)" busybox >/dev/null
podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null

log "starting $N containers with each engine"
for ((i = 0; i < N; i++)); do
	cocin_ids+=("$("$COCIN" run -d busybox sleep 600)")
	podman_ids+=("$(podman run -d --network none localhost/busybox sleep 600)")
done
sleep 2 # let the monitors settle (GC, first log writes)

# mem PID...: "rss_kb pss_kb" summed over the PIDs
mem() {
	local pid rss=0 pss=0 r p
	for pid in "$@"; do
		r=$(awk '/^Rss:/ { print $2 }' "/proc/$pid/smaps_rollup")
		p=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")
		rss=$((rss + r))
		pss=$((pss + p))
	done
	echo "$rss $pss"
}

cocin_pids=()
for id in "${cocin_ids[@]}"; do
	cocin_pids+=("$(jq -r .MonitorPid "$COCIN_ROOT/containers/$id/container.json")")
done
conmon_pids=()
for id in "${podman_ids[@]}"; do
	conmon_pids+=("$(podman inspect --format '{{.State.ConmonPid}}' "$id")")
done
read -r c_rss c_pss < <(mem "${cocin_pids[@]}")
read -r p_rss p_pss < <(mem "${conmon_pids[@]}")

echo
echo "### monitor memory, $N containers each ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs)"
echo
echo "| monitor | RSS sum MiB | PSS sum MiB | RSS per ctr KiB | PSS per ctr KiB |"
echo "|---|---:|---:|---:|---:|"
row() { printf '| %s | %.1f | %.1f | %d | %d |\n' "$1" "$(echo "$2/1024" | bc -l)" "$(echo "$3/1024" | bc -l)" $(($2 / N)) $(($3 / N)); }
row "cocin-monitor ($("$COCIN" version 2>/dev/null | head -n 1 | tr -s " "))" "$c_rss" "$c_pss"
row "conmon ($(conmon --version | head -n 1))" "$p_rss" "$p_pss"
echo
echo "cocin/conmon PSS = $(echo "scale=2; $c_pss / $p_pss" | bc)"
