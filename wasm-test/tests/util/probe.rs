//! Builds (once per test binary) and locates the probe filter of
//! `testdata/probe-filter`, a small proxy-wasm filter that touches every
//! host feature.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn probe_wasm() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let target_dir = root.join("../target/probe-filter");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--locked",
                    "--release",
                    "--target",
                    "wasm32-wasip1",
                    "--manifest-path",
                ])
                .arg(root.join("testdata/probe-filter/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target_dir)
                .status()
                .expect("run cargo to build the probe filter");
            assert!(
                status.success(),
                "building testdata/probe-filter failed (is the wasm32-wasip1 target installed?)"
            );
            target_dir.join("wasm32-wasip1/release/probe_filter.wasm")
        })
        .clone()
}
