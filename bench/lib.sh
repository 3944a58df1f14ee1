# shellcheck shell=bash
# Helpers for bench/*.sh. Source it after setting -euo pipefail.
#   bb_tar              path of the busybox rootfs tarball (built once with
#                       scripts/mk-busybox-rootfs.sh; BB_TAR overrides the path)
#   make_bundle DIR     OCI bundle in DIR: busybox rootfs + "crun spec" config
#                       running "true" without a terminal
#   hf_table JSON...    markdown table of hyperfine --export-json files, merged per
#                       command (medians over all runs), with ratios first/this
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

bb_tar() {
	local t=${BB_TAR:-/var/tmp/cocin-bench-busybox.tar}
	if [ ! -s "$t" ]; then
		bash "$BENCH_DIR/../scripts/mk-busybox-rootfs.sh" "$t" >/dev/null || die "could not build $t"
	fi
	echo "$t"
}

make_bundle() {
	local b=$1
	mkdir -p "$b/rootfs"
	tar -C "$b/rootfs" -xf "$(bb_tar)"
	rm -f "$b/config.json"
	(cd "$b" && crun spec) || die "crun spec failed"
	jq '.process.args = ["true"] | .process.terminal = false | .hostname = "bench"' \
		"$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
}

hf_table() {
	jq -rs '
		def median: sort | if length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def ms: . * 10000 | round / 10;
		. as $files
		| [$files[0].results[].command] as $cmds
		| [$cmds[] as $c
			| ([$files[].results[] | select(.command == $c) | .times[]]) as $t
			| {command: $c, median: ($t | median), min: ($t | min), max: ($t | max), n: ($t | length)}]
		| .[0].median as $base
		| "| command | median ms | min ms | max ms | n | \(.[0].command) / this |",
		  "|---|---:|---:|---:|---:|---:|",
		  (.[] | "| `\(.command)` | \(.median | ms) | \(.min | ms) | \(.max | ms) | \(.n) | \($base / .median * 100 | round / 100) |")
	' "$@"
}

# hf_rounds TAG: run the commands in names[]/cmds[] for ROUNDS rounds of
# RUNS_PER_ROUND timed runs each (WARMUP warm-ups in the first round), all
# commands in one hyperfine call per round so load drifts hit them alike;
# the JSON files go to $OUTDIR/TAG-roundN.json and their paths into jsons[].
# names and cmds are the caller's arrays.
# shellcheck disable=SC2154
hf_rounds() {
	local tag=$1 r i w json named
	jsons=()
	for ((r = 1; r <= ROUNDS; r++)); do
		log "round $r/$ROUNDS: ${names[*]}"
		json="$OUTDIR/$tag-round$r.json"
		w=0
		[ "$r" -eq 1 ] && w=$WARMUP
		named=()
		for ((i = 0; i < ${#cmds[@]}; i++)); do
			named+=(-n "${names[i]}" "${cmds[i]}")
		done
		hyperfine -N --style basic --warmup "$w" --runs "$RUNS_PER_ROUND" --export-json "$json" "${named[@]}" >&2
		jsons+=("$json")
	done
}
