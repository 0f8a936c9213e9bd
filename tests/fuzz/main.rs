//! Native fuzzing (issue 8 item 2): property-based, on the stable toolchain, of every
//! parser that reads attacker-controlled bytes: tokens, JSON and claims, the plugin
//! configuration, cookies and Auth.js session cookies, paths, header extraction and
//! fetched JWK Sets. Each property asserts what must hold of the result (a mutated
//! token never verifies, `normalize` is idempotent, …), not only that nothing panics.
//!
//! `FUZZ_CASES` sets the cases per property (default 256, what `make test` runs;
//! `make fuzz` runs 20,000). Every property prints one line, e.g.
//! `fuzz tokens.mutated: 256 cases, accepted forgeries = 0, panics = 0`, straight to the
//! stderr handle so that it shows in `make test` output (libtest captures only the
//! print macros). A failing case is shrunk and reported by proptest; it then becomes a
//! named regression test in the module it came from.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // a test crate

mod config;
mod cookies;
mod harness;
mod headers;
mod json_claims;
mod jwks;
mod keys;
mod paths;
mod tokens;

pub use harness::{check, Tally};
