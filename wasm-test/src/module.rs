//! One wasmtime `Engine` per process and a memo of compiled modules, so a
//! test binary compiles (or loads from the disk cache) the filter once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use anyhow::Context;
use wasmtime::{Config, Engine, Module};

use crate::cache;

fn engine() -> anyhow::Result<&'static Engine> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Engine::new(&Config::new()).map_err(|e| format!("{e:?}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine: {e}"))
}

/// Compiled modules by wasm digest. Modules are immutable and cheap to
/// clone (reference-counted), so sharing them keeps hosts independent.
fn memo() -> &'static Mutex<HashMap<String, Module>> {
    static MEMO: OnceLock<Mutex<HashMap<String, Module>>> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// Reads and compiles a `.wasm` file (memoised, disk-cached).
pub(crate) fn load_file(path: &Path) -> anyhow::Result<Module> {
    let wasm = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    load_bytes(&wasm).with_context(|| format!("cannot load {}", path.display()))
}

/// Compiles wasm bytes (memoised, disk-cached).
pub(crate) fn load_bytes(wasm: &[u8]) -> anyhow::Result<Module> {
    let engine = engine()?;
    let digest = cache::digest(wasm);
    let mut memo = memo().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(module) = memo.get(&digest) {
        return Ok(module.clone());
    }
    let module = cache::load_or_compile(engine, wasm, &digest)?;
    memo.insert(digest, module.clone());
    Ok(module)
}

/// The host needs the ABI 0.2.1 entry points; refuse anything else early
/// with a message instead of failing on the first callback.
pub(crate) fn check_abi(module: &Module) -> anyhow::Result<()> {
    let has = |name: &str| module.get_export(name).is_some();
    if !has("proxy_abi_version_0_2_1") {
        anyhow::bail!("not a proxy-wasm ABI 0.2.1 module: no `proxy_abi_version_0_2_1` export");
    }
    for name in ["memory", "proxy_on_context_create", "proxy_on_configure"] {
        if !has(name) {
            anyhow::bail!("proxy-wasm module lacks the `{name}` export");
        }
    }
    Ok(())
}
