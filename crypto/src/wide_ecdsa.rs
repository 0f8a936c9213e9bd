//! ECDSA verification on P-384 (ES384) and P-521 (ES512) written for wasm, by the design
//! of `p256_fast`, over a Montgomery field generic in the limb count.
//!
//! The RustCrypto `p384`/`p521` crates do their field arithmetic in 64-bit limbs with
//! 128-bit products, which wasm has to emulate, and multiply the points with doublings:
//! under V8 an ES384 verification took about 6.6 ms (`make verify-bench`), so a stream
//! of forged ES384 tokens could hold a worker at a few hundred requests per second.
//! Here:
//! * Field and scalars: 32-bit limbs, Montgomery form with the moduli as compile-time
//!   constants (`wide_ecdsa/field.rs`); `s⁻¹` by binary inversion (`wide_ecdsa/scalar.rs`).
//! * Points and tables: the shared `a = −3` arithmetic (`weierstrass`).
//! * `u1·G + u2·Q` with no doubling at verify time: fixed-base tables of signed windows,
//!   built once per key when the key is configured, and once per VM for `G`.
//! * `x(R) ≡ r (mod n)` checked in Jacobian coordinates: `X = r·Z²`, or `X = (r+n)·Z²`
//!   when `r + n < p`; no field inversion per verify.
//!
//! Everything here is variable time. That is sound for verification: the key, the
//! signature and the message digest are all public; no secret passes through.

#[path = "wide_ecdsa/curves.rs"]
mod curves;
#[path = "wide_ecdsa/field.rs"]
mod field;
#[path = "wide_ecdsa/limbs.rs"]
mod limbs;
#[path = "wide_ecdsa/scalar.rs"]
mod scalar;

use std::fmt;
use std::marker::PhantomData;

use crate::weierstrass::{Affine, FieldElement, Jacobian, Table};
use field::{Fe, Modulus};

pub use curves::{P384Verifier, P521Verifier};

/// A prime-order curve `y² = x³ − 3x + b` with its encodings and table widths.
trait Curve<const N: usize>: Sized + 'static {
    /// The field prime `p`.
    type Field: Modulus<N>;
    /// The group order `n` (the cofactor is 1, so a point on the curve is in the group).
    type Order: Modulus<N>;
    /// Bytes of a coordinate, of `r` and of `s` in the encodings.
    const BYTES: usize;
    /// Bits of `n`. A digest longer than this is refused (ECDSA would truncate it; the
    /// JWS algorithms never produce one).
    const ORDER_BITS: u32;
    const B: [u32; N];
    const GX: [u32; N];
    const GY: [u32; N];
    /// Window width of `G`'s table (shared by every key of the VM).
    const G_WINDOW: u32;
    /// Window width of each public key's table.
    const Q_WINDOW: u32;

    /// `G`'s table, built on first use and kept for the VM's lifetime.
    fn g_table() -> Option<&'static Table<Fe<Self::Field, N>>>;

    /// Windows of a table of width `w`: enough for any scalar below `n` plus the carry.
    fn windows(w: u32) -> usize {
        (Self::ORDER_BITS + 1).div_ceil(w.max(1)) as usize
    }

    /// The on-curve point `(x, y)` of plain limbs.
    fn point(x: &[u32; N], y: &[u32; N]) -> Option<Affine<Fe<Self::Field, N>>> {
        Affine::on_curve(
            Fe::from_limbs(x)?,
            Fe::from_limbs(y)?,
            &Fe::from_limbs(&Self::B)?,
        )
    }

    /// `G`'s table, for `g_table`'s initialiser.
    fn build_g_table() -> Option<Table<Fe<Self::Field, N>>> {
        let g = Self::point(&Self::GX, &Self::GY)?;
        Table::new(&g, Self::G_WINDOW, Self::windows(Self::G_WINDOW))
    }
}

/// A public key ready for fast verification: the point (checked to lie on the curve)
/// and its precomputed table.
struct Verifier<C: Curve<N>, const N: usize> {
    q: Table<Fe<C::Field, N>>,
    curve: PhantomData<C>,
}

impl<C: Curve<N>, const N: usize> Verifier<C, N> {
    /// The verifier for the big-endian coordinates `(x, y)`, each `C::BYTES` long.
    fn new(x: &[u8], y: &[u8]) -> Option<Self> {
        if x.len() != C::BYTES || y.len() != C::BYTES {
            return None;
        }
        let q = C::point(&limbs::from_be(x)?, &limbs::from_be(y)?)?;
        // Build G's table now, at configure time, rather than on the first request.
        C::g_table()?;
        Some(Verifier {
            q: Table::new(&q, C::Q_WINDOW, C::windows(C::Q_WINDOW))?,
            curve: PhantomData,
        })
    }

    /// ECDSA verification of a raw `r || s` signature over a digest no longer than `n`:
    /// `r, s ∈ [1, n−1]`, `w = s⁻¹`, `R = (e·w)·G + (r·w)·Q`, accept iff `R` is finite
    /// and `x(R) ≡ r (mod n)`.
    fn verify_prehash(&self, digest: &[u8], sig: &[u8]) -> bool {
        self.check(digest, sig).unwrap_or(false)
    }

    fn check(&self, digest: &[u8], sig: &[u8]) -> Option<bool> {
        if sig.len() != 2 * C::BYTES || digest.len() * 8 > C::ORDER_BITS as usize {
            return Some(false);
        }
        let (r_bytes, s_bytes) = sig.split_at(C::BYTES);
        let r: [u32; N] = limbs::from_be(r_bytes)?;
        let s: [u32; N] = limbs::from_be(s_bytes)?;
        if !scalar::in_range::<C::Order, N>(&r) || !scalar::in_range::<C::Order, N>(&s) {
            return Some(false);
        }
        let w = scalar::invert_vartime::<C::Order, N>(&s)?;
        // e < 2^ORDER_BITS < 2n, so one subtraction reduces it.
        let e = scalar::reduce::<C::Order, N>(&limbs::from_be(digest)?);
        let u1 = scalar::mul::<C::Order, N>(&e, &w);
        let u2 = scalar::mul::<C::Order, N>(&r, &w);
        let sum = self
            .q
            .mul_add(C::g_table()?.mul_add(Jacobian::INFINITY, &u1), &u2);
        if sum.is_infinity() {
            return Some(false);
        }
        // x(R) = X/Z²; x(R) mod n = r iff x(R) = r or (when r + n < p) x(R) = r + n.
        let z2 = sum.z.square();
        if Fe::<C::Field, N>::from_limbs(&r)?.mul(&z2) == sum.x {
            return Some(true);
        }
        let Some(rn) = scalar::plus_n_below::<C::Order, N>(&r, &<C::Field as Modulus<N>>::M) else {
            return Some(false);
        };
        Some(Fe::<C::Field, N>::from_limbs(&rn)?.mul(&z2) == sum.x)
    }
}

impl<C: Curve<N>, const N: usize> fmt::Debug for Verifier<C, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("table_bytes", &self.q.size_bytes())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "wide_ecdsa/tests.rs"]
mod tests;
