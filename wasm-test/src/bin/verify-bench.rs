//! `verify-bench`: runs the verify micro-benchmark module (`bench/verify-bench`, built
//! for `wasm32-wasip1`) in wasmtime and prints the median µs per `Key::verify` for each
//! algorithm (issue 11 item 6), so a regression in signature verification shows without
//! Envoy. `bench/verify-bench/v8.mjs` runs the same module under V8 (node).
//!
//! Usage: `verify-bench [PATH.wasm] [ROUNDS]`; the default path is
//! `bench/verify-bench/target/wasm32-wasip1/release/verify_bench.wasm`.

use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use wasmtime::{Config, Engine, Linker, Module, Store, TypedFunc};

const DEFAULT_WASM: &str = "bench/verify-bench/target/wasm32-wasip1/release/verify_bench.wasm";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| DEFAULT_WASM.to_string());
    let rounds: usize = match args.next() {
        Some(r) => r.parse().context("ROUNDS must be a number")?,
        None => 7,
    };
    let engine = Engine::new(&Config::new()).map_err(|e| anyhow!("{e:?}"))?;
    let module = Module::from_file(&engine, &path)
        .map_err(wasm_test::wasmtime_error)
        .with_context(|| {
            format!("{path}: build it with `make -C bench/verify-bench` or see its README")
        })?;
    let mut linker: Linker<()> = Linker::new(&engine);
    // The benchmark calls no host function; the proxy-wasm and WASI imports it drags in
    // with jwt-gate only need to resolve.
    linker
        .define_unknown_imports_as_traps(&module)
        .map_err(wasm_test::wasmtime_error)?;
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(wasm_test::wasmtime_error)?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or_else(|| anyhow!("no exported memory"))?;
    let setup: TypedFunc<(), u32> = instance
        .get_typed_func(&mut store, "vb_setup")
        .map_err(wasm_test::wasmtime_error)?;
    let name_ptr: TypedFunc<u32, u32> = instance
        .get_typed_func(&mut store, "vb_name_ptr")
        .map_err(wasm_test::wasmtime_error)?;
    let name_len: TypedFunc<u32, u32> = instance
        .get_typed_func(&mut store, "vb_name_len")
        .map_err(wasm_test::wasmtime_error)?;
    let run: TypedFunc<(u32, u32), u32> = instance
        .get_typed_func(&mut store, "vb_run")
        .map_err(wasm_test::wasmtime_error)?;

    let count = setup
        .call(&mut store, ())
        .map_err(wasm_test::wasmtime_error)?;
    if count == 0 {
        return Err(anyhow!("vb_setup failed: a signature did not verify"));
    }
    println!("{path} (wasmtime, {rounds} rounds, median µs per verify)");
    for i in 0..count {
        let ptr = name_ptr
            .call(&mut store, i)
            .map_err(wasm_test::wasmtime_error)? as usize;
        let len = name_len
            .call(&mut store, i)
            .map_err(wasm_test::wasmtime_error)? as usize;
        let name = memory
            .data(&store)
            .get(ptr..ptr + len)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        // Size one round to take about 100 ms, after a warm-up call.
        run.call(&mut store, (i, 1))
            .map_err(wasm_test::wasmtime_error)?;
        let start = Instant::now();
        run.call(&mut store, (i, 3))
            .map_err(wasm_test::wasmtime_error)?;
        let per = start.elapsed().as_secs_f64() / 3.0;
        let iterations = ((0.1 / per.max(1e-7)) as u32).clamp(3, 200_000);
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            let ok = run
                .call(&mut store, (i, iterations))
                .map_err(wasm_test::wasmtime_error)?;
            let elapsed = start.elapsed().as_secs_f64();
            if ok != iterations {
                return Err(anyhow!(
                    "{name}: {ok} of {iterations} verifications succeeded"
                ));
            }
            samples.push(elapsed * 1e6 / f64::from(iterations));
        }
        samples.sort_by(f64::total_cmp);
        let median = samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN);
        println!("{name:>12} {median:>9.1} µs");
    }
    Ok(())
}
