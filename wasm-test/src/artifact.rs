//! Where the filter artifact lives, with an actionable error when it does not.

use std::path::{Path, PathBuf};

/// `target/wasm32-wasip1/release/jwt_gate.wasm` of this workspace.
pub fn release_wasm_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip1/release/jwt_gate.wasm")
}

/// The release artifact, or an error telling the user how to build it.
pub fn release_wasm() -> anyhow::Result<PathBuf> {
    let path = release_wasm_path();
    if path.is_file() {
        Ok(path)
    } else {
        anyhow::bail!("{} does not exist. Run `make build` first", path.display())
    }
}

/// The names a `.wasm` file exports, in module order (compiled through the same
/// memoised, disk-cached path as a host).
pub fn exports(path: &Path) -> anyhow::Result<Vec<String>> {
    let module = crate::module::load_file(path)?;
    Ok(module.exports().map(|e| e.name().to_string()).collect())
}
