//! The fuzz harness shared by `tests/fuzz` (native) and `wasm-test/tests/fuzz` (the
//! real artifact): cases from `FUZZ_CASES`, panics caught and counted, one summary line
//! per property written where `cargo test` shows it.

#![allow(dead_code)] // each suite uses part of it

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per property: `FUZZ_CASES`, else 256.
pub fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(256)
}

/// What one property saw: cases, panics, accepted forgeries, and outcome counts (so a
/// reader can tell the cases reached past the first check).
#[derive(Default)]
pub struct Tally {
    cases: AtomicU64,
    panics: AtomicU64,
    forgeries: AtomicU64,
    outcomes: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    /// Counts one outcome (`verified`, `bad_signature`, …).
    pub fn saw(&self, outcome: impl Into<String>) {
        *self
            .outcomes
            .lock()
            .unwrap()
            .entry(outcome.into())
            .or_default() += 1;
    }

    /// Records a panic the harness could not catch itself (a trap in the `.wasm`) and
    /// fails the case.
    pub fn panic(&self, what: String) -> TestCaseError {
        self.panics.fetch_add(1, Ordering::Relaxed);
        TestCaseError::fail(format!("PANIC: {what}"))
    }

    /// Records an accepted forgery and fails the case.
    pub fn forgery(&self, what: String) -> TestCaseError {
        self.forgeries.fetch_add(1, Ordering::Relaxed);
        TestCaseError::fail(format!("ACCEPTED FORGERY: {what}"))
    }
}

/// Runs `body` on `cases()` values of `strategy`, catching panics (each counted), then
/// prints the summary line and fails the test if any case failed.
pub fn check<S>(
    name: &str,
    strategy: S,
    body: impl Fn(S::Value, &Tally) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let tally = Tally::default();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        // Failures become named regression tests, not files proptest writes.
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |value| {
        tally.cases.fetch_add(1, Ordering::Relaxed);
        match catch_unwind(AssertUnwindSafe(|| body(value, &tally))) {
            Ok(result) => result,
            Err(payload) => {
                tally.panics.fetch_add(1, Ordering::Relaxed);
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_default();
                Err(TestCaseError::fail(format!("PANIC: {msg}")))
            }
        }
    });
    let outcomes = tally.outcomes.lock().unwrap();
    let detail: Vec<String> = outcomes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let line = format!(
        "fuzz {name}: {} cases, accepted forgeries = {}, panics = {}{}{}\n",
        tally.cases.load(Ordering::Relaxed),
        tally.forgeries.load(Ordering::Relaxed),
        tally.panics.load(Ordering::Relaxed),
        if detail.is_empty() { "" } else { "; " },
        detail.join(" ")
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
    append_summary(&line);
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
}

/// Appends `line` to the file `$HARDENING_SUMMARY` names, if any: `make test` prints the
/// collected counts (fuzz, attacks, soak) at the very end of its run.
pub fn append_summary(line: &str) {
    if let Some(path) = std::env::var_os("HARDENING_SUMMARY") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = file.write_all(line.trim_end().as_bytes());
            let _ = file.write_all(b"\n");
        }
    }
}
