//! Montgomery arithmetic modulo an odd RSA modulus, written for wasm32.
//!
//! Wasm multiplies 64×64→64 natively but has no 64×64→128, so numbers are held in
//! 28-bit limbs (least significant first), one per `u32`: a limb product is below 2^56
//! and a column of up to 256 such products still fits a `u64`. Multiplication is
//! column-wise (product scanning, the "FIPS" Montgomery method of Koç et al.): each
//! output column sums its `a·b` products and its `m·n` products in two accumulators and
//! propagates the carry once per column instead of once per product. With at most
//! [`MAX_LIMBS`] = 147 limbs a column holds at most 147 products per accumulator, below
//! 2^63.2.
//!
//! A column is a dot product of one operand read forwards and the other backwards. The
//! backward operand is kept reversed (the modulus once per key, the other factor once per
//! product), so every column is a dot product of two contiguous, same-direction `u32`
//! slices: in wasm with SIMD128 that is four limb products per two `i64x2.extmul`
//! instructions (`pmuludq` on x86), about twice the scalar speed under V8.
//!
//! `R = 2^(28·k)` with `k` chosen so that `4n < R`: then a Montgomery product of two
//! values below `2n` is again below `2n`, and no conditional subtraction is needed until
//! the end of an exponentiation ("almost Montgomery" form).
//!
//! Nothing here is constant-time. It only ever handles public values (an RSA public key
//! and a signature received in a token), so variable-time code is acceptable; never use
//! it with secrets.

/// Bits per limb.
const LIMB_BITS: u32 = 28;
/// Mask of one limb.
const MASK: u64 = (1 << LIMB_BITS) - 1;
/// One limb: 28 bits in a `u32` (SIMD lanes of four).
pub(crate) type Limb = u32;
/// Limbs of the largest modulus (4096 bits, plus 2 bits of headroom for `4n < R`).
pub(crate) const MAX_LIMBS: usize = (4096usize + 2).div_ceil(LIMB_BITS as usize);

/// Scratch space for one number of up to [`MAX_LIMBS`] limbs.
pub(crate) type Limbs = [Limb; MAX_LIMBS];

/// An odd modulus with its per-key Montgomery constants, computed once per key.
#[derive(Clone)]
pub(crate) struct Modulus {
    /// The modulus, `k` limbs.
    n: Vec<Limb>,
    /// The modulus's limbs in reverse order (most significant first): the backward
    /// operand of every column's `m·n` dot product.
    n_rev: Vec<Limb>,
    /// `R² mod n`, `k` limbs, to bring a number into Montgomery form with one product.
    r2: Vec<Limb>,
    /// `-n⁻¹ mod 2^28`.
    n0inv: u64,
}

impl Modulus {
    /// The modulus given big-endian; `None` if it is even, below 3 or above 4096 bits.
    pub(crate) fn new(be: &[u8]) -> Option<Modulus> {
        let bits = bit_length(be);
        if !(2..=4096).contains(&bits) || be.last().is_none_or(|b| b & 1 == 0) {
            return None;
        }
        let k = (bits + 2).div_ceil(LIMB_BITS as usize);
        let mut n = vec![0; k];
        if !from_be_bytes(be, &mut n) {
            return None;
        }
        let n0 = u64::from(n.first().copied().unwrap_or(1));
        // Newton's iteration doubles the correct low bits each step: 1 → 2 → … → 32.
        let mut inv: u64 = 1;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inv))) & 0xffff_ffff;
        }
        let n0inv = inv.wrapping_neg() & MASK;
        let mut r2 = vec![0; k];
        if let Some(one) = r2.first_mut() {
            *one = 1;
        }
        // 1 · 2^(2·28·k) mod n by doubling: a few milliseconds at configure time at most.
        for _ in 0..2 * LIMB_BITS as usize * k {
            double_mod(&mut r2, &n);
        }
        let n_rev = n.iter().rev().copied().collect();
        Some(Modulus {
            n,
            n_rev,
            r2,
            n0inv,
        })
    }

    /// Limbs of this modulus.
    pub(crate) fn limbs(&self) -> usize {
        self.n.len()
    }

    /// `out = a·b·R⁻¹ mod n` up to one multiple of `n`: for `a, b < 2n`, `out < 2n`.
    /// All slices are `k` limbs long.
    pub(crate) fn mul(&self, out: &mut [Limb], a: &[Limb], b: &[Limb]) {
        let n_rev = self.n_rev.as_slice();
        let k = n_rev.len();
        let b_rev = reversed(b);
        let mut m: Limbs = [0; MAX_LIMBS];
        let mut carry = 0u64;
        // Column i sums a_j·b_(i−j) and m_j·n_(i−j); x_(i−j) is x_rev[k−1−i+j].
        for i in 0..k {
            let s1 = dot(a.get(..=i), b_rev.get(k - 1 - i..k));
            let s2 = dot(m.get(..i), n_rev.get(k - 1 - i..k - 1));
            carry = self.low_column(&mut m, i, s1, s2, carry);
        }
        for i in k..2 * k - 1 {
            let lo = i + 1 - k;
            let s1 = dot(a.get(lo..k), b_rev.get(..k - lo));
            let s2 = dot(m.get(lo..k), n_rev.get(..k - lo));
            carry = high_column(out, i - k, s1, s2, carry);
        }
        if let Some(top) = out.get_mut(k - 1) {
            *top = limb(carry);
        }
    }

    /// `out = a²·R⁻¹ mod n` up to one multiple of `n`, like [`mul`](Self::mul) with each
    /// cross product `a_i·a_j` computed once and doubled.
    pub(crate) fn sqr(&self, out: &mut [Limb], a: &[Limb]) {
        let n_rev = self.n_rev.as_slice();
        let k = n_rev.len();
        let a_rev = reversed(a);
        let mut m: Limbs = [0; MAX_LIMBS];
        let mut carry = 0u64;
        for i in 0..k {
            let h = i.div_ceil(2); // pairs (j, i − j) with j < i − j
            let s1 = 2 * dot(a.get(..h), a_rev.get(k - 1 - i..k - 1 - i + h)) + diagonal(a, i);
            let s2 = dot(m.get(..i), n_rev.get(k - 1 - i..k - 1));
            carry = self.low_column(&mut m, i, s1, s2, carry);
        }
        for i in k..2 * k - 1 {
            let lo = i + 1 - k;
            let h = i.div_ceil(2); // pairs (j, i − j) with j < i − j
            let s1 = 2 * dot(a.get(lo..h), a_rev.get(..h - lo)) + diagonal(a, i);
            let s2 = dot(m.get(lo..k), n_rev.get(..k - lo));
            carry = high_column(out, i - k, s1, s2, carry);
        }
        if let Some(top) = out.get_mut(k - 1) {
            *top = limb(carry);
        }
    }

    /// Column `i < k` of the reduction: picks `m_i` so that the column's low limb
    /// vanishes, and returns the carry into the next column.
    #[inline(always)]
    fn low_column(&self, m: &mut Limbs, i: usize, s1: u64, s2: u64, carry: u64) -> u64 {
        let lo = (s1 & MASK) + (s2 & MASK) + (carry & MASK);
        let hi = (s1 >> LIMB_BITS) + (s2 >> LIMB_BITS) + (carry >> LIMB_BITS);
        let mi = lo.wrapping_mul(self.n0inv) & MASK;
        if let Some(slot) = m.get_mut(i) {
            *slot = limb(mi);
        }
        let n0 = u64::from(self.n.first().copied().unwrap_or(0));
        hi + ((lo + mi * n0) >> LIMB_BITS)
    }

    /// `out = s^e mod n`, fully reduced, for `s < n` (`k` limbs) and an odd `e ≥ 3`.
    /// `e = 65537` takes 16 squarings and 2 products; any other `e` is left-to-right
    /// square-and-multiply in the Montgomery domain.
    pub(crate) fn pow_public(&self, out: &mut [Limb], s: &[Limb], e: u64) {
        let k = self.limbs();
        let (mut x, mut y): (Limbs, Limbs) = ([0; MAX_LIMBS], [0; MAX_LIMBS]);
        let (Some(x), Some(y)) = (x.get_mut(..k), y.get_mut(..k)) else {
            return;
        };
        self.mul(x, s, &self.r2); // x = s·R mod n (Montgomery form of s)
        if e == 65537 {
            for _ in 0..8 {
                self.sqr(y, x);
                self.sqr(x, y);
            }
            // (s^65536·R)·s·R⁻¹ = s^65537: the last product also leaves Montgomery form.
            self.mul(out, x, s);
        } else {
            let sm: Limbs = copy_of(x);
            let sm = sm.get(..k).unwrap_or_default();
            let top = 63 - e.leading_zeros();
            for bit in (0..top).rev() {
                self.sqr(y, x);
                if (e >> bit) & 1 == 1 {
                    self.mul(x, y, sm);
                } else {
                    x.copy_from_slice(y);
                }
            }
            let mut one: Limbs = [0; MAX_LIMBS];
            one[0] = 1;
            self.mul(out, x, one.get(..k).unwrap_or_default());
        }
        if !less_than(out, &self.n) {
            sub_in_place(out, &self.n);
        }
    }
}

/// `Σ x_j·y_j` over the common length. Limbs are below 2^28 and slices at most
/// [`MAX_LIMBS`] long, so the sum cannot overflow. Four products at a time, in two
/// accumulators (`opt-level = "s"` does not unroll, and this loop is the whole cost).
#[inline(always)]
fn dot(x: Option<&[Limb]>, y: Option<&[Limb]>) -> u64 {
    let (x, y) = (x.unwrap_or_default(), y.unwrap_or_default());
    let (xs, x_rest) = x.as_chunks::<4>();
    let (ys, y_rest) = y.as_chunks::<4>();
    let mut sum = dot4(xs, ys);
    for (a, b) in x_rest.iter().zip(y_rest) {
        sum += u64::from(*a) * u64::from(*b);
    }
    sum
}

/// `Σ x_j·y_j` of whole chunks of four limbs, with wasm SIMD128: `i64x2.extmul` of the
/// low and of the high lane pairs.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn dot4(xs: &[[Limb; 4]], ys: &[[Limb; 4]]) -> u64 {
    use core::arch::wasm32::{
        u64x2_add, u64x2_extmul_high_u32x4, u64x2_extmul_low_u32x4, u64x2_extract_lane,
        u64x2_splat, v128, v128_load,
    };
    let (mut low, mut high) = (u64x2_splat(0), u64x2_splat(0));
    for (a, b) in xs.iter().zip(ys) {
        // SAFETY: `a` and `b` are 16 readable bytes each, and `v128.load` has no
        // alignment requirement.
        let (a, b) = unsafe {
            (
                v128_load(a.as_ptr().cast::<v128>()),
                v128_load(b.as_ptr().cast::<v128>()),
            )
        };
        low = u64x2_add(low, u64x2_extmul_low_u32x4(a, b));
        high = u64x2_add(high, u64x2_extmul_high_u32x4(a, b));
    }
    let sum = u64x2_add(low, high);
    u64x2_extract_lane::<0>(sum) + u64x2_extract_lane::<1>(sum)
}

/// `Σ x_j·y_j` of whole chunks of four limbs, lane by lane as the SIMD version does
/// (native builds, where the unit tests run this same column logic).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn dot4(xs: &[[Limb; 4]], ys: &[[Limb; 4]]) -> u64 {
    let mul = |x: Limb, y: Limb| u64::from(x) * u64::from(y);
    xs.iter()
        .zip(ys)
        .map(|(a, b)| mul(a[0], b[0]) + mul(a[1], b[1]) + mul(a[2], b[2]) + mul(a[3], b[3]))
        .sum()
}

/// The limbs of `x` in reverse order, in a scratch array (the rest zero).
#[inline(always)]
fn reversed(x: &[Limb]) -> Limbs {
    let mut out: Limbs = [0; MAX_LIMBS];
    out.iter_mut()
        .zip(x.iter().rev())
        .for_each(|(o, v)| *o = *v);
    out
}

/// A limb value (`< 2^28`, or a final carry that fits) as a [`Limb`].
#[inline(always)]
fn limb(x: u64) -> Limb {
    (x & u64::from(u32::MAX)) as Limb
}

/// `a_(i/2)²` for an even column `i`, else 0.
#[inline(always)]
fn diagonal(a: &[Limb], i: usize) -> u64 {
    if i.is_multiple_of(2) {
        a.get(i / 2).map_or(0, |&x| u64::from(x) * u64::from(x))
    } else {
        0
    }
}

/// Column `i ≥ k` of a Montgomery product: writes output limb `at`, returns the carry.
#[inline(always)]
fn high_column(out: &mut [Limb], at: usize, s1: u64, s2: u64, carry: u64) -> u64 {
    let lo = (s1 & MASK) + (s2 & MASK) + (carry & MASK);
    let hi = (s1 >> LIMB_BITS) + (s2 >> LIMB_BITS) + (carry >> LIMB_BITS);
    if let Some(slot) = out.get_mut(at) {
        *slot = limb(lo & MASK);
    }
    hi + (lo >> LIMB_BITS)
}

fn copy_of(x: &[Limb]) -> Limbs {
    let mut out: Limbs = [0; MAX_LIMBS];
    out.iter_mut().zip(x).for_each(|(o, v)| *o = *v);
    out
}

/// Bits in a big-endian number (leading zero bytes allowed).
pub(crate) fn bit_length(be: &[u8]) -> usize {
    match be.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => {
            let top = be.get(i).copied().unwrap_or(0);
            (be.len() - i - 1) * 8 + (8 - top.leading_zeros() as usize)
        }
    }
}

/// Big-endian bytes into `out`'s limbs (zero-filled); false if the number does not fit.
pub(crate) fn from_be_bytes(be: &[u8], out: &mut [Limb]) -> bool {
    out.fill(0);
    let mut slots = out.iter_mut();
    let (mut acc, mut bits) = (0u64, 0u32);
    for &byte in be.iter().rev() {
        acc |= u64::from(byte) << bits;
        bits += 8;
        if bits >= LIMB_BITS {
            match slots.next() {
                Some(slot) => *slot = limb(acc & MASK),
                None => return false,
            }
            acc >>= LIMB_BITS;
            bits -= LIMB_BITS;
        }
    }
    match slots.next() {
        Some(slot) => {
            *slot = limb(acc);
            true
        }
        None => acc == 0,
    }
}

/// The low `out.len()` bytes of a fully reduced number, big-endian.
pub(crate) fn to_be_bytes(limbs: &[Limb], out: &mut [u8]) {
    let mut limbs = limbs.iter();
    let (mut acc, mut bits) = (0u64, 0u32);
    for byte in out.iter_mut().rev() {
        if bits < 8 {
            acc |= u64::from(limbs.next().copied().unwrap_or(0)) << bits;
            bits += LIMB_BITS;
        }
        *byte = (acc & 0xff) as u8;
        acc >>= 8;
        bits -= 8;
    }
}

/// `a < b` for equal-length limb slices.
pub(crate) fn less_than(a: &[Limb], b: &[Limb]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a -= b` for `a ≥ b`, equal lengths.
fn sub_in_place(a: &mut [Limb], b: &[Limb]) {
    let mut borrow = 0u64;
    for (x, y) in a.iter_mut().zip(b) {
        let d = u64::from(*x)
            .wrapping_sub(u64::from(*y))
            .wrapping_sub(borrow);
        borrow = d >> 63;
        *x = limb(d & MASK);
    }
}

/// `x = 2x mod n` for `x < n`.
fn double_mod(x: &mut [Limb], n: &[Limb]) {
    let mut carry = 0u64;
    for slot in x.iter_mut() {
        let v = (u64::from(*slot) << 1) | carry;
        carry = v >> LIMB_BITS;
        *slot = limb(v & MASK);
    }
    // n < 2^(28k-2), so 2x < 2n fits in k limbs and the carry out is 0.
    if !less_than(x, n) {
        sub_in_place(x, n);
    }
}

#[cfg(test)]
mod tests;
