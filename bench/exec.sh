#!/usr/bin/env bash
# Latency of running "true" in an already running container, cocin against
# its peers, measured in the same sitting:
#   cocin   exec C true          (C: run -d busybox sleep)
#   podman  exec C true          (C: run -d --network none localhost/busybox sleep)
#   runc    exec ID true         (ID: runc run -d on a busybox bundle running sleep)
# hyperfine (no shell) runs all commands ROUNDS times with RUNS_PER_ROUND timed
# runs each, interleaved, so drifts of the machine's load hit every command
# alike; medians are over all rounds. Every container is removed at the end.
#
# Env: COCIN (default: cocin on PATH)  ROUNDS (4)  RUNS_PER_ROUND (10)  WARMUP (3)
#      OUTDIR (hyperfine JSON, default /tmp/cocin-bench)
# usage: bench/exec.sh         (peers: bench/setup-peers.sh; cocin: scripts/setup.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
ROUNDS=${ROUNDS:-4}
RUNS_PER_ROUND=${RUNS_PER_ROUND:-10}
WARMUP=${WARMUP:-3}
OUTDIR=${OUTDIR:-/tmp/cocin-bench}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have jq || die "jq not installed (bench/setup-peers.sh)"
mkdir -p "$OUTDIR"

names=()
cmds=()
cleanup=()
add() { # NAME COMMAND
	names+=("$1")
	cmds+=("$2")
}
finish() {
	for c in "${cleanup[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
trap finish EXIT
id=cocin-bench-exec-$$

# cocin
if [ -x "$COCIN" ]; then
	if ! "$COCIN" images 2>/dev/null | awk '$1 == "busybox" && $2 == "latest" { f = 1 } END { exit !f }'; then
		"$COCIN" import "$(bb_tar)" busybox:latest >/dev/null || warn "cocin import failed"
	fi
	if "$COCIN" run -d --name "$id" busybox sleep 100000 >/dev/null; then
		cleanup+=("'$COCIN' rm -f $id")
		add cocin "$COCIN exec $id true"
	else
		warn "cocin left out: run -d failed"
	fi
else
	warn "cocin left out: $COCIN not found (scripts/setup.sh builds it)"
fi

# podman
if have podman; then
	podman image exists localhost/busybox || podman import "$(bb_tar)" localhost/busybox >/dev/null
	if podman run -d --name "$id" --network none localhost/busybox sleep 100000 >/dev/null; then
		cleanup+=("podman rm -f -t 0 $id")
		add podman "podman exec $id true"
	else
		warn "podman left out: run -d failed (bench/setup-peers.sh sets its rlimits)"
	fi
else
	warn "podman left out: not installed (bench/setup-peers.sh)"
fi

# runc on an OCI bundle
if have runc; then
	bundle=$(mktemp -d /tmp/cocin-bench-bundle.XXXXXX)
	cleanup+=("rm -rf $bundle")
	make_bundle "$bundle"
	jq '.process.args = ["sleep", "100000"]' "$bundle/config.json" >"$bundle/c.new" && mv "$bundle/c.new" "$bundle/config.json"
	if runc run -d --bundle "$bundle" "$id" </dev/null >/dev/null 2>&1; then
		cleanup=("runc delete -f $id" "${cleanup[@]}")
		add runc "runc exec $id true"
	else
		warn "runc left out: runc run -d failed"
	fi
else
	warn "runc left out: not installed (bench/setup-peers.sh)"
fi

[ ${#cmds[@]} -gt 0 ] || die "nothing to measure"
for ((i = 0; i < ${#cmds[@]}; i++)); do
	${cmds[i]} || die "${names[i]}: '${cmds[i]}' failed its sanity run"
done

hf_rounds exec

echo
echo "### exec latency: exec C true ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
hf_table "${jsons[@]}"
echo
versions="cocin: $("$COCIN" version 2>/dev/null | awk 'NR == 1 { print $2 }')"
have podman && versions+="; $(podman --version)"
have runc && versions+="; $(runc --version | head -n 1)"
echo "$versions"
