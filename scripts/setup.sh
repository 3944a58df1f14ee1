#!/usr/bin/env bash
# Prepare a Debian 12 machine (as root) to run cocin:
#   1. install the Debian packages containers and tests need (scripts/lib.sh: COCIN_PACKAGES)
#   2. build cocin into /usr/local/bin/cocin
#   3. create the local "busybox" image from Debian's busybox-static (skipped if present)
#   4. run a first container
# Idempotent: run it again after pulling new code to rebuild and re-check.
# Honours COCIN_ROOT / COCIN_RUNROOT like cocin itself. usage: scripts/setup.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "run as root (cocin creates namespaces, mounts and cgroups)"
ROOT=$(repo_root)
BIN=${COCIN_BIN:-/usr/local/bin/cocin}

log "1/4 Debian packages: ${COCIN_PACKAGES[*]}"
install_deps

log "2/4 building $BIN"
ensure_go
cd "$ROOT"
go mod download || die "go mod download failed (network or go.sum problem)"
go build -o "$BIN.new" ./cmd/cocin || die "go build ./cmd/cocin failed (see above)"
mv -f "$BIN.new" "$BIN"
"$BIN" version || die "$BIN version failed"

log "3/4 busybox image"
if "$BIN" images 2>/dev/null | awk '($1 == "busybox" || $1 == "localhost/busybox") && $2 == "latest" { found = 1 } END { exit !found }'; then
	log "busybox:latest already present"
else
	tarball=$(mktemp "${TMPDIR:-/tmp}/cocin-busybox.XXXXXX.tar")
	trap 'rm -f "$tarball"' EXIT
	bash "$ROOT/scripts/mk-busybox-rootfs.sh" "$tarball" >/dev/null
	id=$("$BIN" import "$tarball" busybox:latest) || die "cocin import failed"
	log "imported busybox:latest as $id"
fi

log "4/4 first container"
"$BIN" run --rm busybox echo hello from cocin || die "cocin run failed (exit $?)"
log "cocin is ready: $BIN"
