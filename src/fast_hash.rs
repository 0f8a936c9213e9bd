//! A fast, unkeyed hasher for maps the hot path reads on every request (the
//! verified-token cache index, metric ids). SipHash (std's default) costs about a
//! microsecond for a 300-byte token under V8; this costs a few dozen nanoseconds.
//!
//! Unkeyed is safe here because colliding keys cannot pile up: the token cache keeps
//! one entry per hash (a colliding token, even a forged one the attacker picked, only
//! replaces it), and metric names are ours. A lookup still compares the whole key, so a
//! collision can never return another key's entry.

use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate over 8-byte words (the FxHash construction).
#[derive(Debug, Default, Clone, Copy)]
pub struct WordHasher(u64);

/// `BuildHasher` for `HashMap::with_hasher`.
pub type BuildWordHasher = BuildHasherDefault<WordHasher>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for chunk in &mut words {
            // An array conversion, not `copy_from_slice`: at opt-level "s" that stays a
            // call per word, a third of the hash's time under a wasm JIT.
            if let Ok(word) = <[u8; 8]>::try_from(chunk) {
                self.add(u64::from_le_bytes(word));
            }
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            for (slot, byte) in word.iter_mut().zip(rest) {
                *slot = *byte;
            }
            // The length keeps "ab" and "ab\0" apart.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hash(s: &str) -> u64 {
        BuildWordHasher::default().hash_one(s)
    }

    #[test]
    fn equal_keys_hash_equal_and_near_keys_differ() {
        assert_eq!(hash("a.b.c"), hash("a.b.c"));
        let base = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.sig";
        let mut seen = std::collections::HashSet::new();
        for i in 0..base.len() {
            let mut flipped = base.as_bytes().to_vec();
            flipped[i] ^= 1;
            assert!(seen.insert(hash(std::str::from_utf8(&flipped).unwrap())));
        }
        assert_ne!(hash("ab"), hash("ab\0"));
        assert_ne!(hash(""), hash("\0"));
    }

    #[test]
    fn a_map_with_it_finds_exactly_its_keys() {
        let mut m: std::collections::HashMap<String, usize, BuildWordHasher> =
            std::collections::HashMap::default();
        for i in 0..5000 {
            m.insert(format!("token-{i}"), i);
        }
        for i in 0..5000 {
            assert_eq!(m.get(&format!("token-{i}")), Some(&i));
        }
        assert_eq!(m.get("token-5000"), None);
    }
}
