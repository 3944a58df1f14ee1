#!/usr/bin/env bash
# load and save of a ~200 MB image (busybox plus 200 MB of random, so
# incompressible, data in one layer), cocin against podman, same sitting:
#   cocin   load -i A / save -o B big:1
#   podman  load -i A / save -o B big:1   (overlay storage, its own root)
# Both run on private roots under OUTDIR; before each load run the image is
# removed (layers and blobs included), before each save run the output is.
# hyperfine runs ROUNDS rounds of RUNS_PER_ROUND timed runs per command;
# prints markdown tables of medians, with the ratio cocin/podman (<1: podman
# is slower) in the last column.
#
# Env: COCIN (default: cocin on PATH)  SIZE_MB (200)  ROUNDS (2)
#      RUNS_PER_ROUND (3)  OUTDIR (default /tmp/cocin-bench-images)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COCIN=${COCIN:-$(command -v cocin || echo /usr/local/bin/cocin)}
SIZE_MB=${SIZE_MB:-200}
ROUNDS=${ROUNDS:-2}
RUNS_PER_ROUND=${RUNS_PER_ROUND:-3}
OUTDIR=${OUTDIR:-/tmp/cocin-bench-images}
[ "$(id -u)" -eq 0 ] || die "run as root"
have hyperfine || die "hyperfine not installed (bench/setup-peers.sh)"
have jq || die "jq not installed"
have podman || die "podman not installed (bench/setup-peers.sh)"
[ -x "$COCIN" ] || die "cocin not found at $COCIN"

mkdir -p "$OUTDIR"
C="$COCIN --root $OUTDIR/cocin-root --runroot $OUTDIR/cocin-run"
P="podman --root $OUTDIR/podman-root --runroot $OUTDIR/podman-run --storage-driver overlay --events-backend none"
cleanup() {
	# Containers, and the bridge and nftables table of this private root.
	# shellcheck disable=SC2086 # $C is a command with its flags
	$C ps -aq 2>/dev/null | xargs -r $C rm -f >/dev/null 2>&1
	$C system prune -f >/dev/null 2>&1
	$C rmi -f big:1 >/dev/null 2>&1 || true
	$P rmi -af >/dev/null 2>&1 || true
	$P system reset -f >/dev/null 2>&1 || true
	rm -rf "$OUTDIR/cocin-root" "$OUTDIR/cocin-run" "$OUTDIR/rootfs" "$OUTDIR"/*.tar
}
trap cleanup EXIT

# The image: one layer, built once by cocin and saved as a docker-archive
# that both engines load.
mkdir -p "$OUTDIR/rootfs"
tar -C "$OUTDIR/rootfs" -xf "$(bb_tar)"
head -c "$((SIZE_MB << 20))" /dev/urandom >"$OUTDIR/rootfs/blob"
tar -C "$OUTDIR/rootfs" -cf "$OUTDIR/rootfs.tar" .
rm -rf "$OUTDIR/rootfs"
$C import "$OUTDIR/rootfs.tar" big:1 >/dev/null
$C save -o "$OUTDIR/big.tar" big:1
rm -f "$OUTDIR/rootfs.tar"
$P load -q -i "$OUTDIR/big.tar" >/dev/null
echo "image archive: $(du -m "$OUTDIR/big.tar" | cut -f1) MB"

hf() { # NAME JSON ARGS...
	local name=$1 json=$2
	shift 2
	local i
	for i in $(seq "$ROUNDS"); do
		hyperfine -N --runs "$RUNS_PER_ROUND" --warmup 0 --export-json "$json.$i" "$@" >/dev/null
	done
	echo "### $name"
	hf_table "$json".*
	echo
}

hf "load (${SIZE_MB} MB)" "$OUTDIR/load.json" \
	--prepare "$C rmi -f big:1" -n cocin "$C load -i $OUTDIR/big.tar" \
	--prepare "$P rmi -f big:1" -n podman "$P load -q -i $OUTDIR/big.tar"
$C load -i "$OUTDIR/big.tar" >/dev/null
$P load -q -i "$OUTDIR/big.tar" >/dev/null
hf "save (${SIZE_MB} MB)" "$OUTDIR/save.json" \
	--prepare "rm -f $OUTDIR/out.tar" -n cocin "$C save -o $OUTDIR/out.tar big:1" \
	--prepare "rm -f $OUTDIR/out.tar" -n podman "$P save -o $OUTDIR/out.tar big:1"
