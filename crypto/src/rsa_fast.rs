//! RSA signature verification (RSASSA-PKCS1-v1_5 and RSASSA-PSS, RFC 8017 §8) with
//! arithmetic written for wasm: see [`mont`](super::mont) for the Montgomery
//! multiplication and [`emsa`](super::emsa) for the encoding checks.
//!
//! A [`RsaVerifier`] is built once per key, when the key is configured (PEM or JWK): it
//! holds the modulus in limbs with its Montgomery constants, so a verification is one
//! conversion into Montgomery form, 16 squarings and one product for `e = 65537`.
//!
//! Variable-time by design: the key and the signature are public, nothing secret is
//! involved. Not for decryption or signing.

use std::fmt;

use super::emsa::{self, hash};
use super::mont::{self, Limbs, Modulus, MAX_LIMBS};
use super::Sha;

/// Largest public exponent accepted (that of the `rsa` crate: `2^33 − 1`).
const MAX_EXPONENT: u64 = (1 << 33) - 1;

/// An RSA public key prepared for verification.
#[derive(Clone)]
pub struct RsaVerifier {
    modulus: Modulus,
    /// `n`, big-endian, without leading zeros: a signature must be exactly this long
    /// and, compared as bytes, below it.
    n: Vec<u8>,
    /// The public exponent: odd, `3 ≤ e ≤ 2^33 − 1`.
    e: u64,
    /// Bits in `n`.
    bits: usize,
}

impl RsaVerifier {
    /// A key from its big-endian modulus and exponent (leading zeros allowed). Refuses
    /// an even or 1-bit modulus, one above 4096 bits, and an even, too small (< 3),
    /// too large (> 2^33 − 1) or not-below-`n` exponent, as the `rsa` crate does. The
    /// minimum key size is the caller's to check ([`bits`](Self::bits)).
    pub fn new(n: &[u8], e: &[u8]) -> Result<RsaVerifier, String> {
        let n = n
            .get(n.iter().take_while(|&&b| b == 0).count()..)
            .unwrap_or_default();
        let bits = mont::bit_length(n);
        if bits > 4096 {
            return Err(format!(
                "RSA key of {bits} bits is too large (at most 4096)"
            ));
        }
        let modulus = Modulus::new(n).ok_or("not a valid RSA public key (modulus)")?;
        let e_bits = mont::bit_length(e);
        let e = if e_bits <= 64 {
            e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        } else {
            u64::MAX
        };
        if e % 2 == 0 || !(3..=MAX_EXPONENT).contains(&e) || e_bits >= bits {
            return Err("not a valid RSA public key (exponent)".to_string());
        }
        Ok(RsaVerifier {
            modulus,
            n: n.to_vec(),
            e,
            bits,
        })
    }

    /// Bits in the modulus.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The modulus, big-endian, without leading zeros.
    #[must_use]
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent.
    #[must_use]
    pub fn exponent(&self) -> u64 {
        self.e
    }

    /// RSASSA-PKCS1-v1_5 (`pss == false`) or RSASSA-PSS with MGF1 of the same hash and
    /// a salt as long as the hash (`pss == true`) over `input`, hashed with `sha`. The
    /// signature must be exactly as long as the modulus and numerically below it.
    #[must_use]
    pub fn verify(&self, sha: Sha, pss: bool, input: &[u8], sig: &[u8]) -> bool {
        let mut em_buf = [0u8; 512];
        let Some(em) = em_buf.get_mut(..self.n.len()) else {
            return false;
        };
        if !self.open(sig, em) {
            return false;
        }
        let digest = hash(sha, &[input]);
        if pss {
            emsa::pss_matches(sha, em, self.bits, digest.as_slice())
        } else {
            emsa::pkcs1_v15_matches(sha, em, digest.as_slice())
        }
    }

    /// `em = sig^e mod n` (RSAVP1), big-endian in `em` (as long as `n`); false when the
    /// signature is not as long as `n` or not below it.
    fn open(&self, sig: &[u8], em: &mut [u8]) -> bool {
        if sig.len() != self.n.len() || sig >= self.n.as_slice() {
            return false;
        }
        let k = self.modulus.limbs();
        let (mut s, mut m): (Limbs, Limbs) = ([0; MAX_LIMBS], [0; MAX_LIMBS]);
        let (Some(s), Some(m)) = (s.get_mut(..k), m.get_mut(..k)) else {
            return false;
        };
        if !mont::from_be_bytes(sig, s) {
            return false;
        }
        self.modulus.pow_public(m, s, self.e);
        mont::to_be_bytes(m, em);
        true
    }

    /// `sig^e mod n`, big-endian and as long as `n` (RSAVP1), or `None` when the
    /// signature is not as long as `n` or not below it. For tests and diagnostics.
    #[must_use]
    pub fn public_op(&self, sig: &[u8]) -> Option<Vec<u8>> {
        let mut em = vec![0u8; self.n.len()];
        self.open(sig, &mut em).then_some(em)
    }
}

impl fmt::Debug for RsaVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaVerifier")
            .field("bits", &self.bits)
            .field("e", &self.e)
            .finish_non_exhaustive()
    }
}
