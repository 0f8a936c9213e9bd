//! Helpers shared by the integration tests: the probe filter, the release
//! artifact and token minting.
#![allow(dead_code)]

pub mod mint;
pub mod probe;

use std::path::PathBuf;

/// The jwt-gate release artifact; panics with the command to build it.
pub fn jwt_gate_wasm() -> PathBuf {
    let path = wasm_test::artifact::release_wasm_path();
    assert!(
        path.is_file(),
        "{} is missing. Run `make build` first",
        path.display()
    );
    path
}
