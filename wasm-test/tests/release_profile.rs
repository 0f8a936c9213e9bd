//! `bench/verify-bench` is its own workspace and repeats jwt-gate's release profile
//! (Cargo reads profiles only from the workspace root), so that `make verify-bench`
//! times the code the filter ships. This keeps the two copies equal: the `[profile.release]`
//! settings and the packages built at another `opt-level`.

use std::collections::BTreeMap;
use std::path::Path;

/// `[profile.release]` and `[profile.release.package.*]` of a Cargo.toml, as
/// `section → (key → value)`, values as written.
fn release_profiles(path: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
    {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = (name == "profile.release" || name.starts_with("profile.release.package."))
                .then(|| name.to_string());
            continue;
        }
        if let (Some(s), Some((key, value))) = (&section, line.split_once('=')) {
            out.entry(s.clone())
                .or_default()
                .insert(key.trim().to_string(), value.trim().to_string());
        }
    }
    out
}

#[test]
fn verify_bench_builds_with_the_filters_release_profile() {
    let filter = release_profiles("Cargo.toml");
    let bench = release_profiles("bench/verify-bench/Cargo.toml");
    // The parser found what the filter is known to have.
    assert_eq!(filter["profile.release"]["opt-level"], "\"s\"");
    assert_eq!(
        filter["profile.release.package.jwt-gate-crypto"]["opt-level"],
        "3"
    );
    assert_eq!(
        filter, bench,
        "bench/verify-bench/Cargo.toml must repeat Cargo.toml's release profiles"
    );
}
