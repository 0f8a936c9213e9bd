#!/usr/bin/env bash
# `make bench`: installs wrk, the venv and the empty filter, then runs bench/bench.py.
# Expects the jwt-gate .wasm built (`make build`); JWT_GATE_WASM overrides its path.
# BENCH_QUICK=1 for a ~3-minute smoke run; see bench/README.md for the other knobs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash bench/install-tools.sh
bash scripts/venv.sh
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
cargo build --quiet --release --locked --target wasm32-wasip1 \
    --manifest-path bench/empty-filter/Cargo.toml --target-dir target/bench-empty
# The same post-link step as jwt-gate's, so (b) exports only the callbacks it uses too
# and stays the floor under jwt-gate's cost (see scripts/wasm-opt.sh).
bash scripts/wasm-opt.sh target/bench-empty/wasm32-wasip1/release/bench_empty_filter.wasm \
    memory _initialize proxy_abi_version_0_2_1 proxy_on_memory_allocate \
    proxy_on_context_create proxy_on_vm_start proxy_on_configure \
    proxy_on_request_headers proxy_on_delete
exec "${VENV:-$root/.venv}/bin/python" bench/bench.py
