//! On-disk cache of compiled modules.
//!
//! Cranelift needs seconds for the ~1 MB filter; `jwt-gate-check` must answer
//! in well under one. The cache key is the SHA-256 of the wasm bytes plus
//! wasmtime's own compatibility hash (version, target, engine settings), and
//! wasmtime re-checks compatibility on load, so a stale entry is a miss, never
//! a wrong module. Entries are written to a temporary file and renamed, so a
//! concurrent reader never sees a partial file.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::wasmtime_error;

/// `JWT_GATE_WASM_CACHE=off` disables the cache; any other value is the
/// directory to use. Default: `target/wasm-test-cache` of this workspace.
const ENV: &str = "JWT_GATE_WASM_CACHE";
/// How many compiled artifacts to keep (each rebuild of the filter adds one).
const KEEP: usize = 8;

fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os(ENV) {
        Some(value) if value == "off" => None,
        Some(value) => Some(PathBuf::from(value)),
        None => Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm-test-cache")),
    }
}

/// Hex SHA-256 of the wasm, also used to memoise modules in-process.
pub(crate) fn digest(wasm: &[u8]) -> String {
    Sha256::digest(wasm)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn entry_name(engine: &Engine, digest: &str) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{digest}-{:016x}.cwasm", hasher.finish())
}

/// Loads the compiled module from the cache, or compiles and stores it.
/// Cache problems (read-only disk, corrupt entry) only cost a compile.
pub(crate) fn load_or_compile(
    engine: &Engine,
    wasm: &[u8],
    digest: &str,
) -> anyhow::Result<Module> {
    let Some(dir) = cache_dir() else {
        return Module::new(engine, wasm).map_err(wasmtime_error);
    };
    let path = dir.join(entry_name(engine, digest));
    if path.exists() {
        // SAFETY: the file was produced by `Module::serialize` of this
        // engine configuration (the name carries the wasm digest and the
        // engine compatibility hash), written atomically by `store`;
        // wasmtime additionally validates the header and compatibility.
        if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
            return Ok(module);
        }
    }
    let module = Module::new(engine, wasm).map_err(wasmtime_error)?;
    if let Ok(bytes) = module.serialize() {
        store(&dir, &path, &bytes);
    }
    Ok(module)
}

fn store(dir: &Path, path: &Path, bytes: &[u8]) {
    if fs::create_dir_all(dir).is_err() {
        return;
    }
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let tmp = dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
    if fs::write(&tmp, bytes).is_ok() && fs::rename(&tmp, path).is_ok() {
        prune(dir);
    } else {
        let _ = fs::remove_file(&tmp);
    }
}

/// Keeps the `KEEP` most recently written entries.
fn prune(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, old) in files.into_iter().skip(KEEP) {
        let _ = fs::remove_file(old);
    }
}
