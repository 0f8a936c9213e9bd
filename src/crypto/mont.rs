//! Montgomery arithmetic modulo an odd RSA modulus, written for wasm32.
//!
//! Wasm multiplies 64×64→64 natively but has no 64×64→128, so numbers are held in
//! 28-bit limbs (least significant first), one per `u64`: a limb product is below 2^56
//! and a column of up to 256 such products still fits a `u64`. Multiplication is
//! column-wise (product scanning, the "FIPS" Montgomery method of Koç et al.): each
//! output column sums its `a·b` products and its `m·n` products in two accumulators and
//! propagates the carry once per column instead of once per product. With at most
//! [`MAX_LIMBS`] = 147 limbs a column holds at most 147 products per accumulator, below
//! 2^63.2.
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
/// Limbs of the largest modulus (4096 bits, plus 2 bits of headroom for `4n < R`).
pub(crate) const MAX_LIMBS: usize = (4096usize + 2).div_ceil(LIMB_BITS as usize);

/// Scratch space for one number of up to [`MAX_LIMBS`] limbs.
pub(crate) type Limbs = [u64; MAX_LIMBS];

/// An odd modulus with its per-key Montgomery constants, computed once per key.
#[derive(Clone)]
pub(crate) struct Modulus {
    /// The modulus, `k` limbs.
    n: Vec<u64>,
    /// `R² mod n`, `k` limbs, to bring a number into Montgomery form with one product.
    r2: Vec<u64>,
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
        let n0 = n.first().copied().unwrap_or(1);
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
        Some(Modulus { n, r2, n0inv })
    }

    /// Limbs of this modulus.
    pub(crate) fn limbs(&self) -> usize {
        self.n.len()
    }

    /// `out = a·b·R⁻¹ mod n` up to one multiple of `n`: for `a, b < 2n`, `out < 2n`.
    /// All slices are `k` limbs long.
    pub(crate) fn mul(&self, out: &mut [u64], a: &[u64], b: &[u64]) {
        let n = self.n.as_slice();
        let k = n.len();
        let mut m: Limbs = [0; MAX_LIMBS];
        let mut carry = 0u64;
        for i in 0..k {
            let s1 = dot(a.get(..=i), b.get(..=i));
            let s2 = dot(m.get(..i), n.get(1..=i));
            carry = self.low_column(&mut m, i, s1, s2, carry);
        }
        for i in k..2 * k - 1 {
            let lo = i + 1 - k;
            let s1 = dot(a.get(lo..), b.get(lo..));
            let s2 = dot(m.get(lo..k), n.get(lo..));
            carry = high_column(out, i - k, s1, s2, carry);
        }
        if let Some(top) = out.get_mut(k - 1) {
            *top = carry;
        }
    }

    /// `out = a²·R⁻¹ mod n` up to one multiple of `n`, like [`mul`](Self::mul) with each
    /// cross product `a_i·a_j` computed once and doubled.
    pub(crate) fn sqr(&self, out: &mut [u64], a: &[u64]) {
        let n = self.n.as_slice();
        let k = n.len();
        let mut m: Limbs = [0; MAX_LIMBS];
        let mut carry = 0u64;
        for i in 0..k {
            let h = i.div_ceil(2); // pairs (j, i − j) with j < i − j
            let s1 = 2 * dot(a.get(..h), a.get(i + 1 - h..=i)) + diagonal(a, i);
            let s2 = dot(m.get(..i), n.get(1..=i));
            carry = self.low_column(&mut m, i, s1, s2, carry);
        }
        for i in k..2 * k - 1 {
            let lo = i + 1 - k;
            let h = i.div_ceil(2); // pairs (j, i − j) with j < i − j
            let s1 = 2 * dot(a.get(lo..h), a.get(i + 1 - h..k)) + diagonal(a, i);
            let s2 = dot(m.get(lo..k), n.get(lo..));
            carry = high_column(out, i - k, s1, s2, carry);
        }
        if let Some(top) = out.get_mut(k - 1) {
            *top = carry;
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
            *slot = mi;
        }
        let n0 = self.n.first().copied().unwrap_or(0);
        hi + ((lo + mi * n0) >> LIMB_BITS)
    }

    /// `out = s^e mod n`, fully reduced, for `s < n` (`k` limbs) and an odd `e ≥ 3`.
    /// `e = 65537` takes 16 squarings and 2 products; any other `e` is left-to-right
    /// square-and-multiply in the Montgomery domain.
    pub(crate) fn pow_public(&self, out: &mut [u64], s: &[u64], e: u64) {
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

/// `Σ x_j·y_(len-1-j)`: `y` is read backwards. Limbs are below 2^28 and slices at most
/// [`MAX_LIMBS`] long, so the sum cannot overflow. Unrolled by four by hand: the crate is
/// built with `opt-level = "s"`, which does not unroll, and this loop is the whole cost.
#[inline(always)]
fn dot(x: Option<&[u64]>, y: Option<&[u64]>) -> u64 {
    let (x, y) = (x.unwrap_or_default(), y.unwrap_or_default());
    let (xs, x_rest) = x.as_chunks::<4>();
    let (y_rest, ys) = y.as_rchunks::<4>();
    let mut sum = 0;
    for (a, b) in xs.iter().zip(ys.iter().rev()) {
        sum += a[0] * b[3] + a[1] * b[2] + a[2] * b[1] + a[3] * b[0];
    }
    for (a, b) in x_rest.iter().zip(y_rest.iter().rev()) {
        sum += a * b;
    }
    sum
}

/// `a_(i/2)²` for an even column `i`, else 0.
#[inline(always)]
fn diagonal(a: &[u64], i: usize) -> u64 {
    if i.is_multiple_of(2) {
        a.get(i / 2).map_or(0, |x| x * x)
    } else {
        0
    }
}

/// Column `i ≥ k` of a Montgomery product: writes output limb `at`, returns the carry.
#[inline(always)]
fn high_column(out: &mut [u64], at: usize, s1: u64, s2: u64, carry: u64) -> u64 {
    let lo = (s1 & MASK) + (s2 & MASK) + (carry & MASK);
    let hi = (s1 >> LIMB_BITS) + (s2 >> LIMB_BITS) + (carry >> LIMB_BITS);
    if let Some(slot) = out.get_mut(at) {
        *slot = lo & MASK;
    }
    hi + (lo >> LIMB_BITS)
}

fn copy_of(x: &[u64]) -> Limbs {
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
pub(crate) fn from_be_bytes(be: &[u8], out: &mut [u64]) -> bool {
    out.fill(0);
    let mut limbs = out.iter_mut();
    let (mut acc, mut bits) = (0u64, 0u32);
    for &byte in be.iter().rev() {
        acc |= u64::from(byte) << bits;
        bits += 8;
        if bits >= LIMB_BITS {
            match limbs.next() {
                Some(limb) => *limb = acc & MASK,
                None => return false,
            }
            acc >>= LIMB_BITS;
            bits -= LIMB_BITS;
        }
    }
    match limbs.next() {
        Some(limb) => {
            *limb = acc;
            true
        }
        None => acc == 0,
    }
}

/// The low `out.len()` bytes of a fully reduced number, big-endian.
pub(crate) fn to_be_bytes(limbs: &[u64], out: &mut [u8]) {
    let mut limbs = limbs.iter();
    let (mut acc, mut bits) = (0u64, 0u32);
    for byte in out.iter_mut().rev() {
        if bits < 8 {
            acc |= limbs.next().copied().unwrap_or(0) << bits;
            bits += LIMB_BITS;
        }
        *byte = (acc & 0xff) as u8;
        acc >>= 8;
        bits -= 8;
    }
}

/// `a < b` for equal-length limb slices.
pub(crate) fn less_than(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a -= b` for `a ≥ b`, equal lengths.
fn sub_in_place(a: &mut [u64], b: &[u64]) {
    let mut borrow = 0u64;
    for (x, y) in a.iter_mut().zip(b) {
        let d = x.wrapping_sub(*y).wrapping_sub(borrow);
        borrow = d >> 63;
        *x = d & MASK;
    }
}

/// `x = 2x mod n` for `x < n`.
fn double_mod(x: &mut [u64], n: &[u64]) {
    let mut carry = 0u64;
    for limb in x.iter_mut() {
        let v = (*limb << 1) | carry;
        carry = v >> LIMB_BITS;
        *limb = v & MASK;
    }
    // n < 2^(28k-2), so 2x < 2n fits in k limbs and the carry out is 0.
    if !less_than(x, n) {
        sub_in_place(x, n);
    }
}

#[cfg(test)]
mod tests;
