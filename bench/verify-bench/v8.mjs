// Runs the verify micro-benchmark module under V8, as Envoy does (Liftoff off):
//   node --no-liftoff bench/verify-bench/v8.mjs [PATH.wasm] [ROUNDS]
// Prints the median and the minimum µs per Key::verify for each case, and the median
// µs to build the case's key again (configure time or a JWKS refresh), in process CPU
// time (user + system), which a loaded machine disturbs less than wall time. The module's proxy-wasm and WASI
// imports are stubbed: the benchmark never calls them.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const path = process.argv[2] ?? `${here}target/wasm32-wasip1/release/verify_bench.wasm`;
const rounds = Number(process.argv[3] ?? 7);
const module = new WebAssembly.Module(readFileSync(path));
const imports = {};
for (const imp of WebAssembly.Module.imports(module)) {
  imports[imp.module] ??= {};
  if (imp.kind === "function") {
    imports[imp.module][imp.name] = () => {
      throw new Error(`unexpected host call ${imp.module}.${imp.name}`);
    };
  }
}
const { exports } = new WebAssembly.Instance(module, imports);
const count = exports.vb_setup();
if (count === 0) throw new Error("vb_setup failed: a signature did not verify");
console.log(`${path} (V8 ${process.versions.v8}, ${process.execArgv.join(" ")}, ${rounds} rounds, µs per verify: median, min; µs per key build: median)`);
for (let i = 0; i < count; i++) {
  const bytes = new Uint8Array(exports.memory.buffer, exports.vb_name_ptr(i), exports.vb_name_len(i));
  const name = new TextDecoder().decode(bytes);
  const verify = time(name, (n) => exports.vb_run(i, n));
  const build = time(name, (n) => exports.vb_build(i, n));
  const cell = (v) => v.toFixed(1).padStart(9);
  console.log(`${name.padStart(12)} ${cell(verify.median)} ${cell(verify.min)} ${cell(build.median)}`);
}

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// µs per call of `run(n)` (which returns its successes): median and minimum over the
// rounds, each round sized to take about 100 ms after a warm-up.
function time(name, run) {
  run(3);
  let t = cpuMs();
  run(3);
  const per = (cpuMs() - t) / 3;
  const iterations = Math.min(200000, Math.max(3, Math.round(100 / Math.max(per, 1e-4))));
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    t = cpuMs();
    const ok = run(iterations);
    const elapsed = cpuMs() - t;
    if (ok !== iterations) throw new Error(`${name}: ${ok} of ${iterations} succeeded`);
    samples.push((elapsed * 1000) / iterations);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(rounds / 2)], min: samples[0] };
}
