# Entry points; scripts/ holds the logic.
GO ?= go
BIN ?= bin/cocin

.PHONY: build test conformance containerd-smoke bench-oci

# cocin, plus the cocin-runtime link containerd's shim can be pointed at.
build:
	$(GO) build -o $(BIN) ./cmd/cocin
	ln -sf cocin $(dir $(BIN))cocin-runtime

# Every test, as CI runs it.
test:
	bash scripts/test.sh

# OCI runtime-tools validation suite against cocin-runtime (root).
conformance:
	bash scripts/oci-conformance.sh

# containerd (Debian's package) running containers through cocin-runtime (root).
containerd-smoke: build
	bash scripts/containerd-smoke.sh $(dir $(BIN))cocin-runtime

# create/start/delete latency against runc and crun.
bench-oci: build
	COCIN=$(BIN) bash bench/oci.sh
