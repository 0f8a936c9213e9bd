#!/usr/bin/env bash
# Post-link optimization of the filter artifact with Binaryen (Debian package `binaryen`,
# installed here when missing): wasm-metadce drops the exports jwt-gate does not use,
# then wasm-opt -O2 shrinks the module by about 13% and does
# not slow verification under V8 (bench/verify-bench, same run); the 1 MiB budget of the
# .wasm (SPEC §4) has room again for features. Runs only when cargo wrote a new artifact
# (a stamp file beside it), so `make build` stays idempotent.
#   scripts/wasm-opt.sh target/wasm32-wasip1/release/jwt_gate.wasm [EXPORT ...]
set -euo pipefail

wasm=$1
stamp="$wasm.opt-stamp"
[[ -f $stamp && ! $wasm -nt $stamp ]] && exit 0

if ! command -v wasm-opt >/dev/null 2>&1; then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "wasm-opt: installing binaryen from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends binaryen >/dev/null
fi

# The features rustc's wasm32-wasip1 target emits (Binaryen 108 enables none by default),
# plus SIMD128, which .cargo/config.toml turns on.
features=(--enable-bulk-memory --enable-sign-ext --enable-mutable-globals
          --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types
          --enable-simd)
before=$(stat -c %s "$wasm")
tmp="$wasm.opt.tmp"
graph="$wasm.exports.json"

# Only the exports jwt-gate uses. The SDK exports every proxy-wasm callback, and a host
# calls each one it finds (proxy-wasm-cpp-host skips a missing one and takes the
# default: continue, done): response headers/body, on_done and on_log are four VM
# entries per request that do nothing. A callback the filter starts to implement must
# be added here: wasm-test/tests/exports.rs reads this list, checks the artifact exports
# exactly it, and fails when a proxy-wasm trait method in src/ maps to an export not in it.
# Other modules (the bench's empty filter) pass their own list after the path.
keep=(memory _initialize proxy_abi_version_0_2_1 proxy_on_memory_allocate
      proxy_on_context_create proxy_on_vm_start proxy_on_configure proxy_on_tick
      proxy_on_request_headers proxy_on_http_call_response proxy_on_delete)
[[ $# -gt 1 ]] && keep=("${@:2}")
{
    printf '[{"name":"host","root":true,"reaches":['
    sep=
    for e in "${keep[@]}"; do printf '%s"export:%s"' "$sep" "$e"; sep=,; done
    printf ']}'
    for e in "${keep[@]}"; do printf ',{"name":"export:%s","export":"%s"}' "$e" "$e"; done
    printf ']\n'
} > "$graph"
wasm-metadce "${features[@]}" --graph-file "$graph" "$wasm" -o "$tmp" >/dev/null
wasm-opt "${features[@]}" -O2 "$tmp" -o "$tmp"
# Overwrite in place (cargo's copy is a hard link to deps/; both get the optimized module).
cat "$tmp" > "$wasm"
rm -f "$tmp" "$graph"
touch "$stamp"
echo "wasm-metadce (${#keep[@]} exports) + wasm-opt -O2: $before -> $(stat -c %s "$wasm") bytes" >&2
