#!/usr/bin/env bash
# Install and configure the peers cocin is measured against, on Debian 12 as root:
# podman (+ conmon), crun, runc, hyperfine, jq, busybox-static. Idempotent.
#   - /etc/containers/containers.conf: default_ulimits that this host can grant
#     (root podman asks for nofile=1048576 and nproc=4194304; without
#     CAP_SYS_RESOURCE or with a lower hard limit crun fails in setrlimit)
#   - cgroup v1 hybrid hosts: crun 1.8 refuses to run while a controller sits on
#     the v2 hierarchy ("cgroups in hybrid mode not supported, drop all controllers
#     from cgroupv2"); such controllers (typically hugetlb) are mounted as v1
#     hierarchies of their own. CRUN_HYBRID_FIX=0 skips this.
#   - podman image localhost/busybox from scripts/mk-busybox-rootfs.sh
# usage: bench/setup-peers.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "run as root"

log "packages"
APT_RECOMMENDS=1 apt_install podman crun runc hyperfine jq busybox-static

log "podman rlimits (/etc/containers/containers.conf)"
conf=/etc/containers/containers.conf
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=4194304
# podman 4.3 runs conmon and crun with a hard RLIMIT_NPROC of at most 32768
# (seen on Debian 12), whatever the caller's limit: more cannot be granted.
[ "$nproc" -gt 32768 ] && nproc=32768
if [ -f "$conf" ] && grep -q '^# Written by cocin bench/setup-peers.sh' "$conf"; then
	rm -f "$conf" # ours: rewrite it with the current limits
fi
if [ -f "$conf" ] && grep -q '^[[:space:]]*default_ulimits' "$conf"; then
	log "$conf already sets default_ulimits; left as is"
elif [ -f "$conf" ] && [ -s "$conf" ]; then
	warn "$conf exists without default_ulimits; add to its [containers] table:"
	printf '  default_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$nofile" "$nofile" "$nproc" "$nproc" >&2
else
	mkdir -p /etc/containers
	cat >"$conf" <<CONF
# Written by cocin bench/setup-peers.sh. Root podman asks for nofile=1048576 and
# nproc=4194304 by default; what its runtime can get here: nofile=$nofile nproc=$nproc.
[containers]
default_ulimits = [
  "nofile=$nofile:$nofile",
  "nproc=$nproc:$nproc",
]
CONF
	log "wrote $conf (nofile=$nofile nproc=$nproc)"
fi

log "cgroup hybrid check for crun"
u=/sys/fs/cgroup/unified
if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && [ -r "$u/cgroup.controllers" ]; then
	read -r -a on_v2 <"$u/cgroup.controllers" || true
	if [ ${#on_v2[@]} -eq 0 ]; then
		log "no controller on the v2 hierarchy: nothing to do"
	elif [ "${CRUN_HYBRID_FIX:-1}" = 0 ]; then
		warn "controllers on v2 (${on_v2[*]}): crun will refuse to run (CRUN_HYBRID_FIX=0)"
	else
		for c in "${on_v2[@]}"; do
			m=/sys/fs/cgroup/$c
			mountpoint -q "$m" && continue
			mkdir -p "$m"
			mount -t cgroup -o "$c" cgroup "$m"
			log "mounted the $c controller as a v1 hierarchy at $m"
		done
	fi
else
	log "not a cgroup v1 hybrid host: nothing to do"
fi

log "podman image localhost/busybox"
if podman image exists localhost/busybox; then
	log "already present"
else
	podman import "$(bb_tar)" localhost/busybox >/dev/null
	log "imported"
fi

log "sanity runs"
podman run --rm --network none localhost/busybox true || die "podman run failed"
b=$(mktemp -d /tmp/cocin-bench-bundle.XXXXXX)
trap 'rm -rf "$b"' EXIT
make_bundle "$b"
crun run --bundle "$b" "cocin-bench-setup-$$" </dev/null || die "crun run failed"
runc run --bundle "$b" "cocin-bench-setup-$$" </dev/null || die "runc run failed"

echo "peers ready: $(podman --version) (conmon $(conmon --version 2>/dev/null | awk 'NR==1 {print $3}')), $(crun --version | head -n 1), $(runc --version | head -n 1), $(hyperfine --version)"
