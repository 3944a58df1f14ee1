# shellcheck shell=bash
# Helpers shared by scripts/*.sh and bench/*.sh. Source it; needs bash.
#
#   log MSG...           progress message on stderr ("==> MSG")
#   warn MSG...          warning on stderr
#   die MSG...           error on stderr, exit 1
#   repo_root            absolute path of the repository
#   ensure_go            put /usr/local/go/bin on PATH if go is not found; die if absent
#   apt_install PKG...   install the Debian packages that are missing (root only);
#                        runs "apt-get update" at most once per process
#                        (APT_RECOMMENDS=1 installs recommended packages too)
#   have CMD             true when CMD is on PATH

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

repo_root() {
	local here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	(cd "$here/.." && pwd)
}

ensure_go() {
	if ! have go && [ -x /usr/local/go/bin/go ]; then
		PATH=/usr/local/go/bin:$PATH
		export PATH
	fi
	have go || die "go not found (expected on PATH or in /usr/local/go/bin)"
}

COCIN_APT_UPDATED=${COCIN_APT_UPDATED:-}
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (run as root to install them)"
	have apt-get || die "missing packages: ${missing[*]} and no apt-get to install them"
	log "installing ${missing[*]}"
	if [ -z "$COCIN_APT_UPDATED" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
		COCIN_APT_UPDATED=1
	fi
	local rec=--no-install-recommends
	[ "${APT_RECOMMENDS:-0}" = 1 ] && rec=--install-recommends
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$rec" "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

# Debian packages that running containers and the test suite need:
# busybox-static for the test image, iproute2 and nftables so the integration
# harness can list (and clean) links and nftables tables, ca-certificates for
# module downloads, libseccomp-dev to build cocin (seccomp profiles are compiled
# with libseccomp), gcc and libc6-dev for the static probe the security tests build.
COCIN_PACKAGES=(busybox-static ca-certificates iproute2 nftables libseccomp-dev gcc libc6-dev containerd)

# install_deps: install COCIN_PACKAGES when root; otherwise only report what is missing.
install_deps() {
	if [ "$(id -u)" -eq 0 ]; then
		apt_install "${COCIN_PACKAGES[@]}"
		return
	fi
	local p missing=()
	for p in "${COCIN_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] || warn "not root: cannot install ${missing[*]}"
}
