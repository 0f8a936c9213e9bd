//! Runs the unit tests of the token-minting helper (tests/util/mint.rs).
mod util;
