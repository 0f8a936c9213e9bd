//! Arithmetic modulo an odd `M` of `N` 32-bit limbs, in Montgomery form (`R = 2^(32·N)`),
//! always fully reduced (`< M`). One implementation for the P-384 and P-521 primes and
//! their group orders: the moduli are compile-time constants (`Modulus`), so LLVM sees
//! the limb counts and the modulus words and specialises each instance (for both primes
//! `−M⁻¹ mod 2^32` is 1, which folds the multiplier away).
//!
//! Not constant time (branches on values in the final subtraction and in `pow_vartime`):
//! only public values (keys, signatures, digests) ever pass through this code.

use std::fmt;
use std::marker::PhantomData;

use super::limbs::{add_carry, bit, is_zero, lt, sub_borrow};
use crate::weierstrass::FieldElement;

/// An odd modulus of `N` limbs and the Montgomery constants derived from it at compile
/// time.
pub(crate) trait Modulus<const N: usize>: Copy + Eq + fmt::Debug + 'static {
    /// The modulus, little-endian limbs.
    const M: [u32; N];
    /// `−M⁻¹ mod 2^32`.
    const M0: u32 = neg_inv32(Self::M[0]);
    /// `R mod M`: one in Montgomery form.
    const R1: [u32; N] = pow2_mod(&Self::M, 32 * N);
    /// `R² mod M`, to enter Montgomery form.
    const R2: [u32; N] = pow2_mod(&Self::M, 64 * N);

    /// The Montgomery product `a·b·R⁻¹ mod M` for `a, b < M`. The default works for any
    /// odd `M`; a prime of a special shape overrides it with [`sparse_mont_mul`].
    #[inline]
    fn mont_mul(a: &[u32; N], b: &[u32; N]) -> [u32; N] {
        mont_mul::<Self, N>(a, b)
    }
}

/// `−m⁻¹ mod 2^32` for odd `m` (Newton's iteration doubles the correct bits each step).
const fn neg_inv32(m: u32) -> u32 {
    let mut inv = 1u32;
    let mut i = 0;
    while i < 5 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(m.wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg()
}

/// `2^k mod m` by doubling, for `m > 1` (compile time).
#[allow(clippy::indexing_slicing)] // evaluated by the compiler only
const fn pow2_mod<const N: usize>(m: &[u32; N], k: usize) -> [u32; N] {
    let mut x = [0u32; N];
    x[0] = 1;
    let mut step = 0;
    while step < k {
        // x = 2x, then subtract m if that overflowed N limbs or reached m.
        let mut carry = 0u32;
        let mut i = 0;
        while i < N {
            let next = x[i] >> 31;
            x[i] = (x[i] << 1) | carry;
            carry = next;
            i += 1;
        }
        let mut ge = carry == 1;
        if !ge {
            ge = true; // x == m counts as ≥
            let mut i = N;
            while i > 0 {
                i -= 1;
                if x[i] != m[i] {
                    ge = x[i] > m[i];
                    break;
                }
            }
        }
        if ge {
            let mut borrow = 0u64;
            let mut i = 0;
            while i < N {
                let v = (x[i] as u64).wrapping_sub(m[i] as u64).wrapping_sub(borrow);
                x[i] = v as u32;
                borrow = (v >> 63) & 1;
                i += 1;
            }
        }
        step += 1;
    }
    x
}

/// An element of `Z/M`, in Montgomery form, `< M`.
pub(crate) struct Fe<M, const N: usize> {
    limbs: [u32; N],
    modulus: PhantomData<M>,
}

// Derives would demand `M: Clone + PartialEq + …` of the marker; the element is plain data.
impl<M, const N: usize> Clone for Fe<M, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, const N: usize> Copy for Fe<M, N> {}
impl<M, const N: usize> PartialEq for Fe<M, N> {
    fn eq(&self, other: &Self) -> bool {
        self.limbs == other.limbs
    }
}
impl<M, const N: usize> Eq for Fe<M, N> {}
impl<M, const N: usize> fmt::Debug for Fe<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fe({:08x?})", self.limbs)
    }
}

/// Subtracts `M` once if `carry` is set or `v ≥ M` (input `< 2M`).
#[inline]
fn reduce_once<M: Modulus<N>, const N: usize>(v: [u32; N], carry: u32) -> [u32; N] {
    let (d, borrow) = sub_borrow(&v, &M::M);
    if carry != 0 || borrow == 0 {
        d
    } else {
        v
    }
}

/// Montgomery product `a·b·R⁻¹ mod M` for `a, b < M` (CIOS: each row's product and
/// reduction interleaved, so the running sum stays `N + 2` words).
// The limb loops index fixed-size arrays with counters bounded by the constant `N`: no
// index derives from input, and the compiler removes the checks.
#[allow(clippy::indexing_slicing)]
#[inline]
fn mont_mul<M: Modulus<N>, const N: usize>(a: &[u32; N], b: &[u32; N]) -> [u32; N] {
    let mut t = [0u32; N];
    let mut top = 0u32; // word N of the running sum (word N + 1 is folded per row)
    for &bi in b {
        let bi = u64::from(bi);
        let mut carry = 0u64;
        for j in 0..N {
            let v = u64::from(a[j]) * bi + u64::from(t[j]) + carry;
            t[j] = v as u32;
            carry = v >> 32;
        }
        let v = u64::from(top) + carry;
        top = v as u32;
        let over = (v >> 32) as u32;
        // Add m·M with m chosen so that word 0 becomes zero, then shift down one word.
        let m = u64::from(t[0].wrapping_mul(M::M0));
        let mut carry = (m * u64::from(M::M[0]) + u64::from(t[0])) >> 32;
        for j in 1..N {
            let v = m * u64::from(M::M[j]) + u64::from(t[j]) + carry;
            t[j - 1] = v as u32;
            carry = v >> 32;
        }
        let v = u64::from(top) + carry;
        t[N - 1] = v as u32;
        top = over + (v >> 32) as u32;
    }
    reduce_once::<M, N>(t, top)
}

/// The Montgomery product for a prime `M = Σ cₖ·2^(32·k) − 1` whose other signed word
/// coefficients `terms = [(k, cₖ)]` are few and small (P-384: `2^384 − 2^128 − 2^96 +
/// 2^32 − 1`; P-521: `2^521 − 1 = 512·2^(32·16) − 1`). Then `−M⁻¹ ≡ 1 (mod 2^32)`, each
/// reduction step's multiplier `m` is the low word itself, and adding `m·M` clears that
/// word and adds `cₖ·m` to a few others: `N` additions per step instead of `N`
/// products, as the P-256 field does (`p256/field.rs`). The product is computed first
/// into `W = 2·N` words.
///
/// The caller guarantees `W == 2·N`, `M ≡ −1 (mod 2^32)` and that `terms` spell `M`
/// (`tests.rs` checks both moduli against the generic product).
// Loop counters bounded by the constants N and W index fixed-size arrays; the term
// offsets are constants below N + 1, so every index is below W.
#[allow(clippy::indexing_slicing)]
#[inline]
pub(crate) fn sparse_mont_mul<M: Modulus<N>, const N: usize, const W: usize>(
    a: &[u32; N],
    b: &[u32; N],
    terms: &[(usize, i64)],
) -> [u32; N] {
    // Schoolbook product, each word kept below 2^32 (so it is also a valid i64).
    let mut w = [0i64; W];
    for i in 0..N {
        let bi = u64::from(b[i]);
        let mut carry = 0u64;
        for j in 0..N {
            let v = u64::from(a[j]) * bi + w[i + j] as u64 + carry;
            w[i + j] = (v & 0xffff_ffff) as i64;
            carry = v >> 32;
        }
        w[i + N] = carry as i64;
    }
    // Reduction: word i's value m (with the carry from below) is cancelled by −m and
    // cₖ·m lands on word i + k. Words stay far inside i64: |cₖ| ≤ 2^9, m < 2^32.
    let mut carry = 0i64;
    for i in 0..N {
        let v = w[i] + carry;
        let m = v & 0xffff_ffff;
        carry = (v - m) >> 32;
        for &(k, c) in terms {
            w[i + k] += c * m;
        }
    }
    let mut r = [0u32; N];
    for (k, rk) in r.iter_mut().enumerate() {
        let v = w[k + N] + carry;
        *rk = v as u32;
        carry = v >> 32;
    }
    // The result is below 2M, so the final carry is 0 or 1.
    reduce_once::<M, N>(r, carry as u32)
}

impl<M: Modulus<N>, const N: usize> Fe<M, N> {
    const fn raw(limbs: [u32; N]) -> Self {
        Fe {
            limbs,
            modulus: PhantomData,
        }
    }

    /// Plain limbs into Montgomery form, if `v < M`.
    pub(crate) fn from_limbs(v: &[u32; N]) -> Option<Self> {
        lt(v, &M::M).then(|| Self::raw(M::mont_mul(v, &M::R2)))
    }

    /// Out of Montgomery form: the plain value.
    #[cfg(test)]
    pub(crate) fn to_limbs(self) -> [u32; N] {
        let mut one = [0u32; N];
        if let Some(low) = one.first_mut() {
            *low = 1;
        }
        M::mont_mul(&self.limbs, &one)
    }

    /// `self^e`, square-and-multiply from the top bit (variable time: public values).
    pub(crate) fn pow_vartime(&self, e: &[u32; N]) -> Self {
        let mut acc = Self::ONE;
        for i in (0..32 * N).rev() {
            acc = acc.square();
            if bit(e, i) {
                acc = acc.mul(self);
            }
        }
        acc
    }
}

impl<M: Modulus<N>, const N: usize> FieldElement for Fe<M, N> {
    const ZERO: Self = Self::raw([0; N]);
    const ONE: Self = Self::raw(M::R1);

    fn is_zero(&self) -> bool {
        is_zero(&self.limbs)
    }

    fn add(&self, b: &Self) -> Self {
        let (s, carry) = add_carry(&self.limbs, &b.limbs);
        Self::raw(reduce_once::<M, N>(s, carry))
    }

    fn sub(&self, b: &Self) -> Self {
        let (d, borrow) = sub_borrow(&self.limbs, &b.limbs);
        if borrow == 0 {
            Self::raw(d)
        } else {
            Self::raw(add_carry(&d, &M::M).0)
        }
    }

    fn neg(&self) -> Self {
        Self::ZERO.sub(self)
    }

    fn double(&self) -> Self {
        self.add(self)
    }

    fn mul(&self, b: &Self) -> Self {
        Self::raw(M::mont_mul(&self.limbs, &b.limbs))
    }

    fn square(&self) -> Self {
        self.mul(self)
    }

    /// `self⁻¹` by Fermat (`self^(M−2)`, `M` prime); zero maps to zero. Configure time
    /// only (table building); a verification never inverts a field element.
    fn invert(&self) -> Self {
        let mut two = [0u32; N];
        if let Some(low) = two.first_mut() {
            *low = 2;
        }
        self.pow_vartime(&sub_borrow(&M::M, &two).0)
    }
}
