//! Arithmetic modulo the P-256 prime `p = 2^256 − 2^224 + 2^192 + 2^96 − 1`.
//!
//! Eight 32-bit limbs, little-endian, in Montgomery form (`R = 2^256`), always fully
//! reduced (`< p`). 32-bit limbs because wasm has a native 32×32→64 product but no
//! 64×64→128 one (see `reference/wasm-crypto.md`). The Montgomery reduction uses the
//! shape of `p`: `−p⁻¹ ≡ 1 (mod 2^32)`, so each step's multiplier is the low word itself,
//! and adding `m·p` is four shifted additions, no multiplication.
//!
//! Not constant time (branches on values in the final subtraction and in `invert`): only
//! public values (keys, signatures, hashes) ever pass through this code.

use crate::weierstrass::FieldElement;

/// `p`, little-endian 32-bit limbs.
pub(crate) const P: [u32; 8] = [
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0,
    0,
    0,
    1,
    0xffff_ffff,
];
/// `R² mod p`, to enter Montgomery form.
const R2: [u32; 8] = [
    3,
    0,
    0xffff_ffff,
    0xffff_fffb,
    0xffff_fffe,
    0xffff_ffff,
    0xffff_fffd,
    4,
];

/// A field element in Montgomery form, `< p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fe(pub(crate) [u32; 8]);

/// Limbs of a big-endian 32-byte string.
pub(crate) fn limbs_from_be(bytes: &[u8; 32]) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (limb, chunk) in out.iter_mut().zip(bytes.rchunks_exact(4)) {
        *limb = chunk
            .iter()
            .fold(0u32, |acc, &byte| (acc << 8) | u32::from(byte));
    }
    out
}

/// Big-endian 32-byte string of limbs.
#[cfg(test)]
pub(crate) fn limbs_to_be(limbs: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, limb) in out.rchunks_exact_mut(4).zip(limbs) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    out
}

/// `a < b` for 256-bit numbers.
pub(crate) fn lt(a: &[u32; 8], b: &[u32; 8]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a − b` and the borrow (1 if `a < b`).
pub(crate) fn sub_borrow(a: &[u32; 8], b: &[u32; 8]) -> ([u32; 8], u32) {
    let mut out = [0u32; 8];
    let mut borrow = 0u64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let v = u64::from(x).wrapping_sub(u64::from(y)).wrapping_sub(borrow);
        *o = v as u32;
        borrow = (v >> 63) & 1;
    }
    (out, borrow as u32)
}

/// `a + b` and the carry.
pub(crate) fn add_carry(a: &[u32; 8], b: &[u32; 8]) -> ([u32; 8], u32) {
    let mut out = [0u32; 8];
    let mut carry = 0u64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let v = u64::from(x) + u64::from(y) + carry;
        *o = v as u32;
        carry = v >> 32;
    }
    (out, carry as u32)
}

/// Subtracts `p` once if `carry` is set or `v ≥ p` (input `< 2p`).
#[inline]
fn reduce_once(v: [u32; 8], carry: u32) -> Fe {
    let (d, borrow) = sub_borrow(&v, &P);
    if carry != 0 || borrow == 0 {
        Fe(d)
    } else {
        Fe(v)
    }
}

// The limb loops index fixed-size arrays with loop counters whose bounds are constants:
// no index derives from input, and the compiler removes the checks.
#[allow(clippy::indexing_slicing)]
/// Montgomery reduction of a 512-bit `t < p·R`: `t·R⁻¹ mod p`.
#[inline]
fn mont_reduce(t: &[u64; 16]) -> Fe {
    let mut w = [0i64; 16];
    for (wk, &tk) in w.iter_mut().zip(t) {
        *wk = tk as i64;
    }
    let mut carry = 0i64;
    for i in 0..8 {
        // m = low word; t + m·p, where m·p = m·2^256 − m·2^224 + m·2^192 + m·2^96 − m,
        // clears word i exactly (−m) and adds ±m to words i+3, i+6, i+7, i+8.
        let v = w[i] + carry;
        let m = v & 0xffff_ffff;
        carry = (v - m) >> 32;
        w[i + 3] += m;
        w[i + 6] += m;
        w[i + 7] -= m;
        w[i + 8] += m;
    }
    let mut r = [0u32; 8];
    for (k, rk) in r.iter_mut().enumerate() {
        let v = w[k + 8] + carry;
        *rk = v as u32;
        carry = v >> 32;
    }
    reduce_once(r, carry as u32)
}

impl Fe {
    /// A canonical (`< p`) big-endian encoding, or `None`.
    pub(crate) fn from_be(bytes: &[u8; 32]) -> Option<Fe> {
        let v = limbs_from_be(bytes);
        lt(&v, &P).then(|| Fe::from_limbs(&v))
    }

    /// Plain limbs `< p` into Montgomery form.
    pub(crate) fn from_limbs(v: &[u32; 8]) -> Fe {
        Fe(*v).mul(&Fe(R2))
    }

    /// Out of Montgomery form: plain limbs.
    #[cfg(test)]
    pub(crate) fn to_limbs(self) -> [u32; 8] {
        let mut t = [0u64; 16];
        for (tk, &x) in t.iter_mut().zip(&self.0) {
            *tk = u64::from(x);
        }
        mont_reduce(&t).0
    }

    /// Big-endian encoding of the value.
    #[cfg(test)]
    pub(crate) fn to_be(self) -> [u8; 32] {
        limbs_to_be(&self.to_limbs())
    }

    /// `self^(2^k)`.
    pub(crate) fn square_n(&self, k: u32) -> Fe {
        let mut x = *self;
        for _ in 0..k {
            x = x.square();
        }
        x
    }
}

impl FieldElement for Fe {
    const ZERO: Fe = Fe([0; 8]);
    /// `R mod p`: one in Montgomery form.
    const ONE: Fe = Fe([
        1,
        0,
        0,
        0xffff_ffff,
        0xffff_ffff,
        0xffff_ffff,
        0xffff_fffe,
        0,
    ]);

    fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }

    fn add(&self, b: &Fe) -> Fe {
        let (s, carry) = add_carry(&self.0, &b.0);
        reduce_once(s, carry)
    }

    fn sub(&self, b: &Fe) -> Fe {
        let (d, borrow) = sub_borrow(&self.0, &b.0);
        if borrow == 0 {
            Fe(d)
        } else {
            Fe(add_carry(&d, &P).0)
        }
    }

    fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    fn double(&self) -> Fe {
        self.add(self)
    }

    /// Montgomery product `a·b·R⁻¹ mod p` (operand scanning, 64 products).
    #[allow(clippy::indexing_slicing)] // constant bounds, see mont_reduce
    fn mul(&self, b: &Fe) -> Fe {
        let (a, b) = (&self.0, &b.0);
        let mut t = [0u64; 16];
        for i in 0..8 {
            let bi = u64::from(b[i]);
            let mut carry = 0u64;
            for j in 0..8 {
                let v = u64::from(a[j]) * bi + t[i + j] + carry;
                t[i + j] = v & 0xffff_ffff;
                carry = v >> 32;
            }
            t[i + 8] = carry;
        }
        mont_reduce(&t)
    }

    /// Montgomery square (cross products once, doubled: 36 products).
    #[allow(clippy::indexing_slicing)] // constant bounds, see mont_reduce
    fn square(&self) -> Fe {
        let a = &self.0;
        let mut t = [0u64; 16];
        // Off-diagonal products a_i·a_j, i < j.
        for i in 0..7 {
            let ai = u64::from(a[i]);
            let mut carry = 0u64;
            for j in (i + 1)..8 {
                let v = u64::from(a[j]) * ai + t[i + j] + carry;
                t[i + j] = v & 0xffff_ffff;
                carry = v >> 32;
            }
            t[i + 8] = carry;
        }
        // Double them and add the squares a_i².
        let mut carry = 0u64;
        for i in 0..8 {
            let sq = u64::from(a[i]) * u64::from(a[i]);
            let lo = (t[2 * i] << 1) + (sq & 0xffff_ffff) + carry;
            t[2 * i] = lo & 0xffff_ffff;
            let hi = (t[2 * i + 1] << 1) + (sq >> 32) + (lo >> 32);
            t[2 * i + 1] = hi & 0xffff_ffff;
            carry = hi >> 32;
        }
        mont_reduce(&t)
    }

    /// `self⁻¹` by Fermat (`self^(p−2)`); zero maps to zero. Used at configure time only.
    fn invert(&self) -> Fe {
        // p − 2 = 2^256 − 2^224 + 2^192 + 2^96 − 3: the usual addition chain.
        let x2 = self.square().mul(self); // 2^2 − 1
        let x4 = x2.square_n(2).mul(&x2); // 2^4 − 1
        let x8 = x4.square_n(4).mul(&x4);
        let x16 = x8.square_n(8).mul(&x8);
        let x32 = x16.square_n(16).mul(&x16);
        let mut t = x32.square_n(32).mul(self); // (2^32 − 1)·2^32 + 1
        t = t.square_n(128).mul(&x32);
        t = t.square_n(32).mul(&x32);
        t = t.square_n(16).mul(&x16);
        t = t.square_n(8).mul(&x8);
        t = t.square_n(4).mul(&x4);
        t = t.square_n(2).mul(&x2); // ends in …11 1111 1111 … 1111
        t.square_n(2).mul(self) // … 01
    }
}
