#!/usr/bin/env bash
# Run the OCI runtime validation suite (github.com/opencontainers/runtime-tools,
# validation/* and cmd/runtimetest) against cocin's runtime and compare the result
# with the baseline committed in scripts/oci-conformance-baseline.tsv.
#
# usage: scripts/oci-conformance.sh [RUNTIME_BINARY]
#   RUNTIME_BINARY defaults to a freshly built cocin, called through a
#   cocin-runtime link (the name under which cocin is a runc-compatible runtime).
# Env: OCI_RT_TOOLS_VERSION (pinned below), OCI_CONFORMANCE_CACHE (build cache,
#      default ~/.cache/cocin-oci-validation), OCI_CONFORMANCE_TESTS (subset),
#      OCI_CONFORMANCE_TIMEOUT (per test, default 60 s), OCI_CONFORMANCE_OUT (results dir).
# Each test file is pass (assertions, none failed, exit 0), empty (silent exit 0:
# some tests pass that way) or fail. The script fails on a regression against the
# baseline (pass -> empty/fail, empty -> fail; a test marked "flaky" in the
# baseline, racy in the suite itself, is reported but never a regression); new passes are reported so the
# baseline can be raised. Last line: "N passed, M failed" (test files; empty
# counts as passed).
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(repo_root)
cd "$ROOT" || die "cannot cd to $ROOT"
[ "$(id -u)" = 0 ] || die "oci-conformance: must run as root"
ensure_go

MODULE=github.com/opencontainers/runtime-tools
# Last master commit on runtime-spec v1.1.0 (ociVersion 1.1.0 bundles).
VERSION=${OCI_RT_TOOLS_VERSION:-v0.9.1-0.20250523060157-0ea5ed0382a2}
CACHE=${OCI_CONFORMANCE_CACHE:-$HOME/.cache/cocin-oci-validation}/$VERSION
BASELINE=$ROOT/scripts/oci-conformance-baseline.tsv
TIMEOUT=${OCI_CONFORMANCE_TIMEOUT:-60}

WORK=$(mktemp -d /tmp/cocin-oci.XXXXXX) || die "mktemp failed"
chmod 755 "$WORK"
OUT=${OCI_CONFORMANCE_OUT:-$WORK/out} # kept only when given
mkdir -p "$OUT/tap" "$WORK/run/tmp" && chmod 755 "$WORK/run" "$WORK/run/tmp"

RT=${1:-}
if [ -z "$RT" ]; then
	go build -o "$WORK/cocin" ./cmd/cocin || die "build of cocin failed"
	ln -s cocin "$WORK/cocin-runtime"
	RT=$WORK/cocin-runtime
fi
RT=$(cd "$(dirname "$RT")" && pwd)/$(basename "$RT")
RTROOT=$WORK/state

# build_suite: go mod download in a throw-away module, then build runtimetest
# and one binary per validation test into $CACHE (kept between runs).
build_suite() {
	[ -f "$CACHE/.built" ] && return 0
	local mod src
	mod=$(mktemp -d) || return 1
	src=$(cd "$mod" && GOFLAGS=-mod=mod go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",*$/\1/p')
	rm -rf "$mod"
	[ -d "$src" ] || return 1
	rm -rf "$CACHE" && mkdir -p "$CACHE/bin" && cp -r "$src" "$CACHE/src" && chmod -R u+w "$CACHE/src" || return 1
	rm -rf "$CACHE/src/vendor"
	(
		cd "$CACHE/src" || exit 1
		export GOFLAGS=-mod=mod GOWORK=off
		go mod download &&
			CGO_ENABLED=0 go build -trimpath -tags "netgo osusergo" -o "$CACHE/bin/runtimetest" ./cmd/runtimetest &&
			mkdir -p "$CACHE/bin/t" && go build -trimpath -o "$CACHE/bin/t/" ./validation/...
	) >&2 || return 1
	local arch
	arch=$(go env GOARCH)
	cp "$CACHE/src/rootfs-$arch.tar.gz" "$CACHE/bin/" && touch "$CACHE/.built"
}

# our_cleanup: the tests leave containers behind when they fail half-way;
# remove them, the processes running from our directory and the suite's
# fixed cgroups.
our_cleanup() {
	local id p
	for id in $("$RT" --root "$RTROOT" list -q 2>/dev/null); do
		"$RT" --root "$RTROOT" delete --force "$id" >/dev/null 2>&1
	done
	for p in /proc/[0-9]*; do
		case $(readlink "$p/root" 2>/dev/null) in "$WORK"/*) kill -KILL "${p#/proc/}" 2>/dev/null ;; esac
	done
	find /sys/fs/cgroup/*/cgrouptest /sys/fs/cgroup/*/testdir /sys/fs/cgroup/cgrouptest /sys/fs/cgroup/testdir \
		-depth -type d -exec rmdir {} \; 2>/dev/null
	find "$WORK/run" -mindepth 1 -maxdepth 1 ! -name runtimetest ! -name 'rootfs-*' ! -name tmp \
		-exec rm -rf --one-file-system {} + 2>/dev/null
	rm -rf --one-file-system "$WORK/run/tmp" && mkdir -m 755 "$WORK/run/tmp"
}
finish() {
	our_cleanup
	rm -rf --one-file-system "$WORK"
}
trap finish EXIT

log "building $MODULE@$VERSION (cached in $CACHE)"
build_suite || die "cannot fetch or build $MODULE@$VERSION"
cp "$CACHE/bin/runtimetest" "$CACHE"/bin/rootfs-*.tar.gz "$WORK/run/"
# The suite calls "$RUNTIME" without --root: a wrapper keeps our state private.
printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$RT" "$RTROOT" >"$WORK/rt" && chmod 755 "$WORK/rt"

passed=0 failed=0 regressions=() gains=()
printf 'test\tstatus\trc\n' >"$OUT/results.tsv"
for t in "$CACHE"/bin/t/*; do
	n=$(basename "$t")
	case " ${OCI_CONFORMANCE_TESTS:-$n} " in *" $n "*) ;; *) continue ;; esac
	(cd "$WORK/run" && TMPDIR=$WORK/run/tmp RUNTIME=$WORK/rt timeout -k 5 "$TIMEOUT" \
		unshare -m --propagation slave -- "$t") >"$OUT/tap/$n.tap" 2>"$OUT/tap/$n.err" </dev/null
	rc=$?
	our_cleanup
	# pass: assertions and none failed; empty: silent exit 0 (some tests
	# pass that way, e.g. prestart_fail); fail: anything else.
	# An "error" in a YAML diagnostic counts only when nothing else was
	# reported (the hook tests); passing assertions may carry expected errors.
	status=pass
	if [ $rc -ne 0 ] || grep -q '^not ok' "$OUT/tap/$n.tap"; then
		status=fail
	elif ! grep -q '^ok' "$OUT/tap/$n.tap"; then
		status=empty
		grep -q '"error": *"[^"]' "$OUT/tap/$n.tap" && status=fail
	fi
	printf '%s\t%s\t%s\n' "$n" "$status" "$rc" >>"$OUT/results.tsv"
	base=$(awk -F'\t' -v n="$n" '$1 == n { print $2 }' "$BASELINE" 2>/dev/null)
	if [ $status != fail ]; then
		passed=$((passed + 1))
		[ "$base" = fail ] && gains+=("$n")
		[ "$base" = flaky ] && status="$status (flaky test)"
	else
		failed=$((failed + 1))
	fi
	case $base/$status in
	pass/empty | pass/fail | empty/fail) regressions+=("$n") ;;
	esac
	printf '%-34s %s%s\n' "$n" "$status" "${base:+ (baseline $base)}"
done
[ ${#gains[@]} -eq 0 ] || log "now passing, raise the baseline: ${gains[*]}"
[ ${#regressions[@]} -eq 0 ] || warn "regressions against the baseline: ${regressions[*]}"
echo "$passed passed, $failed failed"
[ ${#regressions[@]} -eq 0 ]
