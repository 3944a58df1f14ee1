#!/usr/bin/env bash
# Run every test of the project: formatting, vet, staticcheck, shellcheck (when
# installed), unit and integration tests (go test ./...; the integration suite in
# tests/integration needs root and skips itself otherwise).
# Installs what the tests need first (scripts/lib.sh: COCIN_PACKAGES) when root.
# The last line of output is "N passed, M failed" (go tests and checks together).
# Env: GO_TEST_FLAGS  extra flags for go test (e.g. "-run TestRun -count=1")
#      GO_TEST_TIMEOUT go test -timeout (default 30m)
# usage: scripts/test.sh
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(repo_root)
cd "$ROOT" || die "cannot cd to $ROOT"
ensure_go

OUT=$(mktemp -d "${TMPDIR:-/tmp}/cocin-test.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

checks_passed=0
checks_failed=0
failed_names=()
check_result() { # NAME STATUS
	if [ "$2" -eq 0 ]; then
		checks_passed=$((checks_passed + 1))
		log "$1: ok"
	else
		checks_failed=$((checks_failed + 1))
		failed_names+=("$1")
		log "$1: FAILED"
	fi
}

log "dependencies"
install_deps

log "go mod download"
go mod download || die "go mod download failed (network or go.sum problem)"

# --- gofmt -----------------------------------------------------------------
log "gofmt"
unformatted=$(gofmt -l . 2>&1)
if [ -n "$unformatted" ]; then
	printf 'not gofmt-formatted (run gofmt -w):\n%s\n' "$unformatted" >&2
	check_result gofmt 1
else
	check_result gofmt 0
fi

# --- go vet ----------------------------------------------------------------
log "go vet ./..."
go vet ./...
check_result "go vet" $?

# --- staticcheck -------------------------------------------------------------
GOBIN_DIR=$(go env GOBIN)
[ -n "$GOBIN_DIR" ] || GOBIN_DIR="$(go env GOPATH)/bin"
SC=""
if have staticcheck; then
	SC=$(command -v staticcheck)
elif [ -x "$GOBIN_DIR/staticcheck" ]; then
	SC="$GOBIN_DIR/staticcheck"
else
	log "installing staticcheck into $GOBIN_DIR"
	if sc_err=$(GOBIN=$GOBIN_DIR go install honnef.co/go/tools/cmd/staticcheck@latest 2>&1); then
		SC="$GOBIN_DIR/staticcheck"
	else
		warn "staticcheck skipped: 'go install honnef.co/go/tools/cmd/staticcheck@latest' failed:"
		printf '%s\n' "$sc_err" | tail -n 5 >&2
	fi
fi
if [ -n "$SC" ]; then
	log "staticcheck ./... ($("$SC" -version 2>/dev/null))"
	"$SC" ./...
	check_result staticcheck $?
fi

# --- shellcheck (lint only when installed; setup does not require it) --------
if have shellcheck; then
	log "shellcheck"
	mapfile -t shells < <(
		git ls-files 'scripts/*.sh' 'bench/*.sh' '.ci/run' 2>/dev/null ||
			find scripts bench .ci -type f \( -name '*.sh' -o -name run \)
	)
	if [ ${#shells[@]} -gt 0 ]; then
		shellcheck -x "${shells[@]}"
		check_result shellcheck $?
	fi
fi

# --- go test -----------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || warn "not root: the integration tests (tests/integration) will skip themselves"
log "go test ./..."
# shellcheck disable=SC2086 # GO_TEST_FLAGS is a list of flags
go test -v -timeout "${GO_TEST_TIMEOUT:-30m}" ${GO_TEST_FLAGS:-} ./... 2>&1 | tee "$OUT/go-test.log"
go_status=${PIPESTATUS[0]}

# Count test functions and subtests; packages that did not build count as failures.
t_pass=$(grep -cE '^[[:space:]]*--- PASS: ' "$OUT/go-test.log")
t_fail=$(grep -cE '^[[:space:]]*--- FAIL: ' "$OUT/go-test.log")
t_skip=$(grep -cE '^[[:space:]]*--- SKIP: ' "$OUT/go-test.log")
# A package that fails without a failing test (did not build, TestMain failed,
# e.g. a host leak after the integration suite, or timed out) counts as one failure.
# go test -v ./... prints each package's output as one block ending in ok/FAIL.
p_broken=$(awk '
	/^[[:space:]]*--- FAIL: / { bf++ }
	/^FAIL[[:space:]].*\[(build|setup) failed\]/ { broken++; bf = 0; next }
	/^FAIL[[:space:]]+[^[:space:]]+[[:space:]]+[0-9.]+s$/ { if (bf == 0) broken++; bf = 0 }
	/^ok[[:space:]]/ { bf = 0 }
	END { print broken + 0 }' "$OUT/go-test.log")
if [ "$go_status" -ne 0 ] && [ "$t_fail" -eq 0 ] && [ "$p_broken" -eq 0 ]; then
	p_broken=1 # go test failed in a way not recognised above
fi

# --- OCI runtime conformance and containerd ------------------------------------
# The runtime-tools validation suite against a fresh cocin-runtime (fails on a
# regression against scripts/oci-conformance-baseline.tsv), then containerd
# running containers through it. Both need root; COCIN_SKIP_OCI=1 skips them.
if [ "$(id -u)" -eq 0 ] && [ -z "${COCIN_SKIP_OCI:-}" ]; then
	log "oci conformance"
	bash scripts/oci-conformance.sh
	check_result "oci conformance" $?
	if have containerd && have ctr; then
		log "containerd smoke"
		go build -o "$OUT/cocin" ./cmd/cocin && ln -sf cocin "$OUT/cocin-runtime" &&
			bash scripts/containerd-smoke.sh "$OUT/cocin-runtime"
		check_result "containerd smoke" $?
	fi
fi

# --- summary -------------------------------------------------------------------
echo
echo "checks: $checks_passed passed, $checks_failed failed${failed_names[*]:+ (${failed_names[*]})}"
echo "go test: $t_pass passed, $t_fail failed, $t_skip skipped, $p_broken package(s) failed outside a test (exit $go_status)"
passed=$((checks_passed + t_pass))
failed=$((checks_failed + t_fail + p_broken))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$go_status" -eq 0 ]
