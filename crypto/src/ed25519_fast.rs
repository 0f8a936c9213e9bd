//! Ed25519 verification (RFC 8032) with a precomputed table per key.
//!
//! The verification equation `[s]B − [k]A = R` is what `ed25519_dalek`'s
//! `verify_strict` checks with one double-base multiplication: about 253 doublings
//! plus the additions, every time. Here both products are fixed-base: `[s]B` from
//! curve25519-dalek's static table of `B`, `[k](−A)` from a table of `−A` built once
//! when the key is configured (radix 16: 30 KiB, 64 additions and 4 doublings per
//! product, no other doubling). Under V8 that about halves a verification
//! (`make verify-bench`).
//!
//! The acceptance rules are `verify_strict`'s (ed25519-dalek 2.2, without
//! `legacy_compatibility`), checked here in the same order:
//! * `s` must be canonical (`s < ℓ`);
//! * `R` must decode to a point that is not of small order, and so must `A` (a key of
//!   small order verifies nothing);
//! * `k = SHA-512(R ‖ A ‖ M) mod ℓ` over the bytes as received;
//! * dalek compares the encoding of `[s]B − [k]A` with `R`'s bytes. Here the points are
//!   compared instead (no inversion to encode) and `R`'s encoding must be canonical,
//!   which is the same condition: a decodable encoding differs from the canonical one
//!   of its point only by `y ≥ p`, or by a sign bit set on `x = 0`, and the points with
//!   `x = 0` (`y = ±1`) are of small order, refused above.
//!
//! `tests/ed25519_differential.rs` holds it to `verify_strict` on random and edge-case
//! inputs; Wycheproof's EdDSA vectors and the RFC 8032/8037 examples run through
//! `Key::verify` in jwt-gate's tests. The table lookups are constant time (the crate's);
//! nothing else here needs to be: every input is public.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsBasepointTable, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::BasepointTable;
use sha2::{Digest, Sha512};

/// An Ed25519 public key ready to verify: its encoding and the table of `−A`.
pub struct Ed25519Verifier {
    /// `A` as encoded in the key: the challenge hashes these bytes.
    encoded: [u8; 32],
    /// Multiples of `−A`; `None` for a key of small order, under which nothing verifies.
    minus_a: Option<Box<EdwardsBasepointTable>>,
}

impl std::fmt::Debug for Ed25519Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Verifier")
            .field("encoded", &self.encoded)
            .finish_non_exhaustive()
    }
}

impl Ed25519Verifier {
    /// Builds the table of `−A` (about 1.2 ms under V8: 256 points made affine).
    #[must_use]
    pub fn new(key: &ed25519_dalek::VerifyingKey) -> Self {
        let a = key.to_edwards();
        Ed25519Verifier {
            encoded: key.to_bytes(),
            minus_a: (!a.is_small_order()).then(|| Box::new(EdwardsBasepointTable::create(&-a))),
        }
    }

    /// Whether `signature` (`R ‖ s`) is a valid Ed25519 signature of `message`.
    #[must_use]
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Some(minus_a) = &self.minus_a else {
            return false;
        };
        let (r_bytes, s_bytes) = split(signature);
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        if !is_canonical_y(&r_bytes) {
            return false;
        }
        let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
            return false;
        };
        if r.is_small_order() {
            return false;
        }
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(r_bytes)
                .chain_update(self.encoded)
                .chain_update(message),
        );
        EdwardsPoint::mul_base(&s) + minus_a.mul_base(&k) == r
    }
}

/// `R ‖ s` as two 32-byte arrays.
fn split(signature: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    s.copy_from_slice(&signature[32..]);
    (r, s)
}

/// Whether the `y` of an encoded point (the sign bit masked off) is below
/// `p = 2²⁵⁵ − 19`. The encodings of `y ≥ p` are `p + 0 … p + 18`: all bytes `0xff`
/// but the first (`0xed` … `0xff`) and the last (`0x7f` once masked).
fn is_canonical_y(encoded: &[u8; 32]) -> bool {
    let (first, rest) = encoded.split_at(1);
    let (middle, last) = rest.split_at(30);
    let high = last.first().is_some_and(|b| b & 0x7f == 0x7f);
    let low = first.first().is_some_and(|b| *b >= 0xed);
    !(high && low && middle.iter().all(|b| *b == 0xff))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer value of `y` (sign bit masked), little-endian, compared with `p`.
    fn y_at_least_p(encoded: &[u8; 32]) -> bool {
        let mut y = *encoded;
        y[31] &= 0x7f;
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        // Little-endian comparison from the most significant byte.
        for i in (0..32).rev() {
            if y[i] != p[i] {
                return y[i] > p[i];
            }
        }
        true
    }

    #[test]
    fn canonical_y_is_below_p_whatever_the_sign_bit() {
        let mut cases: Vec<[u8; 32]> = Vec::new();
        for first in [0x00, 0x01, 0xeb, 0xec, 0xed, 0xee, 0xfe, 0xff] {
            for last in [0x00, 0x7e, 0x7f, 0x80, 0xfe, 0xff] {
                for middle in [0x00, 0xfe, 0xff] {
                    let mut e = [middle; 32];
                    e[0] = first;
                    e[31] = last;
                    cases.push(e);
                }
            }
        }
        let mut one_byte_off = [0xffu8; 32];
        one_byte_off[17] = 0xfe;
        cases.push(one_byte_off);
        for e in cases {
            assert_eq!(is_canonical_y(&e), !y_at_least_p(&e), "{e:02x?}");
        }
    }
}
