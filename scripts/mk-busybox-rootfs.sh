#!/usr/bin/env bash
# Build a minimal busybox root filesystem tarball from Debian's busybox-static.
# usage: scripts/mk-busybox-rootfs.sh OUT.tar
#
# Layout: bin/busybox plus one symlink per applet; etc/passwd with root, nobody
# and app (uid 1000, gid 1000, supplementary group staff gid 50); etc/group;
# tmp (1777), proc, sys, dev, root, var, usr/bin, sbin, home/app.
# The tarball is reproducible (sorted, numeric owners, fixed mtime), so importing
# it twice yields the same image ID.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=${1:-}
[ -n "$out" ] || die "usage: $0 OUT.tar"

bb=/bin/busybox
# The rootfs has no libc: only the static build will do.
if ! [ -x "$bb" ] || ldd "$bb" >/dev/null 2>&1; then
	apt_install busybox-static
fi
if ldd "$bb" >/dev/null 2>&1; then
	die "$bb is dynamically linked; install busybox-static"
fi

d=$(mktemp -d "${TMPDIR:-/tmp}/cocin-rootfs.XXXXXX")
trap 'rm -rf "$d"' EXIT

mkdir -p "$d"/{bin,etc,proc,sys,dev,tmp,root,var,usr/bin,sbin,home/app}
cp "$bb" "$d/bin/busybox"
for a in $("$bb" --list); do
	[ -e "$d/bin/$a" ] || ln -s busybox "$d/bin/$a"
done

cat >"$d/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$d/etc/group" <<'GROUP'
root:x:0:
staff:x:50:app
app:x:1000:
nogroup:x:65534:
GROUP
chmod 0644 "$d/etc/passwd" "$d/etc/group"
chmod 0755 "$d" "$d"/{bin,etc,proc,sys,dev,root,var,usr,usr/bin,sbin,home,home/app}
chmod 0700 "$d/root"
chmod 1777 "$d/tmp"

owner=(--owner=0 --group=0)
if [ "$(id -u)" -eq 0 ]; then
	chown -R 0:0 "$d"
	chown 1000:1000 "$d/home/app"
	owner=()
fi
tmp_out="$out.tmp.$$"
tar -C "$d" --sort=name --numeric-owner "${owner[@]}" --mtime=@0 -cf "$tmp_out" .
mv -f "$tmp_out" "$out"
echo "$out"
