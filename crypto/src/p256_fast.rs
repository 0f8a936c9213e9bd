//! ECDSA P-256 verification written for wasm (ES256), after `reference/wasm-crypto.md`.
//!
//! * Field: 32-bit limbs, Montgomery form, reduction specialised to the P-256 prime
//!   (`p256/field.rs`); scalars mod `n` with a binary inversion (`p256/scalar.rs`).
//! * Points: Jacobian accumulator plus affine table entries, mixed additions only
//!   (`p256/point.rs`).
//! * `u1·G + u2·Q` with no doubling at verify time: fixed-base tables of signed
//!   `w`-bit windows (`p256/table.rs`), built once per key when the key is configured,
//!   and once per VM for `G`.
//! * `x(R) ≡ r (mod n)` checked in Jacobian coordinates: `X = r·Z²`, or `X = (r+n)·Z²`
//!   when `r + n < p`; no field inversion per verify.
//!
//! Everything here is variable time. That is sound for verification: the key, the
//! signature and the message digest are all public; no secret passes through.
//!
//! Window widths, trading memory per key for speed (additions per verify ≈ 2·⌈257/w⌉,
//! table bytes = ⌈257/w⌉·2^(w−1)·64): `G`'s table exists once per VM, so it takes
//! `w = 7` (148 KiB, 37 additions); each configured key takes `w = 6` (86 KiB,
//! 43 additions), so a JWKS of ten keys costs under 1 MiB per VM. `w = 8` would save
//! about 10 % more time for three times the memory per key.

#[path = "p256/field.rs"]
mod field;
#[path = "p256/point.rs"]
mod point;
#[path = "p256/scalar.rs"]
mod scalar;
#[path = "p256/table.rs"]
mod table;

use std::fmt;
use std::sync::OnceLock;

use field::{limbs_from_be, Fe, P};
use point::{Affine, Jacobian, GX, GY};
use table::Table;

use crate::weierstrass::FieldElement;

/// Window width of the generator's table (shared by every key of the VM).
const G_WINDOW: u32 = 7;
/// Window width of each public key's table.
const Q_WINDOW: u32 = 6;

/// The generator's table, built on first use (the first P-256 key configured).
fn g_table() -> Option<&'static Table> {
    static G_TABLE: OnceLock<Option<Table>> = OnceLock::new();
    G_TABLE
        .get_or_init(|| Affine::from_be(&GX, &GY).and_then(|g| Table::new(&g, G_WINDOW)))
        .as_ref()
}

/// A P-256 public key ready for fast verification: the point (checked to lie on the
/// curve) and its precomputed table.
pub struct P256Verifier {
    q: Table,
}

impl P256Verifier {
    /// The verifier for the public point `(x, y)` (big-endian coordinates). `None` if
    /// a coordinate is not below `p` or the point is not on the curve (the point at
    /// infinity has no affine coordinates, so it is excluded too).
    #[must_use]
    pub fn new(x: &[u8; 32], y: &[u8; 32]) -> Option<P256Verifier> {
        let q = Affine::from_be(x, y)?;
        // Build G's table now, at configure time, rather than on the first request.
        g_table()?;
        Some(P256Verifier {
            q: Table::new(&q, Q_WINDOW)?,
        })
    }

    /// The verifier for a key already decoded (and validated) by the `p256` crate.
    #[must_use]
    pub fn from_verifying_key(key: &p256::ecdsa::VerifyingKey) -> Option<P256Verifier> {
        let point = key.to_encoded_point(false);
        let x = <[u8; 32]>::try_from(AsRef::<[u8]>::as_ref(point.x()?)).ok()?;
        let y = <[u8; 32]>::try_from(AsRef::<[u8]>::as_ref(point.y()?)).ok()?;
        P256Verifier::new(&x, &y)
    }

    /// Bytes of precomputed points held for this key.
    #[must_use]
    pub fn table_bytes(&self) -> usize {
        self.q.size_bytes()
    }

    /// ECDSA verification of a raw `r || s` signature over a 32-byte digest (SHA-256,
    /// so no truncation): `r, s ∈ [1, n−1]`, `w = s⁻¹`, `R = (e·w)·G + (r·w)·Q`,
    /// accept iff `R` is finite and `x(R) ≡ r (mod n)`.
    #[must_use]
    pub fn verify_prehash(&self, digest: &[u8; 32], sig: &[u8; 64]) -> bool {
        let (r_bytes, s_bytes) = split(sig);
        let (r, s) = (limbs_from_be(&r_bytes), limbs_from_be(&s_bytes));
        if !scalar::in_range(&r) || !scalar::in_range(&s) {
            return false;
        }
        let Some(w) = scalar::invert_vartime(&s) else {
            return false;
        };
        let Some(g) = g_table() else {
            return false;
        };
        let e = scalar::reduce(&limbs_from_be(digest));
        let u1 = scalar::mul(&e, &w);
        let u2 = scalar::mul(&r, &w);
        let sum = self.q.mul_add(g.mul_add(Jacobian::INFINITY, &u1), &u2);
        if sum.is_infinity() {
            return false;
        }
        // x(R) = X/Z²; x(R) mod n = r iff x(R) = r or (when r + n < p) x(R) = r + n.
        let z2 = sum.z.square();
        if Fe::from_limbs(&r).mul(&z2) == sum.x {
            return true;
        }
        scalar::plus_n_below(&r, &P).is_some_and(|rn| Fe::from_limbs(&rn).mul(&z2) == sum.x)
    }
}

/// `r` and `s` of a raw 64-byte signature.
fn split(sig: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let (mut r, mut s) = ([0u8; 32], [0u8; 32]);
    let (a, b) = sig.split_at(32);
    r.copy_from_slice(a);
    s.copy_from_slice(b);
    (r, s)
}

impl fmt::Debug for P256Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P256Verifier")
            .field("table_bytes", &self.table_bytes())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "p256/tests.rs"]
mod tests;
