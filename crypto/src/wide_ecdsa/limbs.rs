//! Unsigned integers of a fixed width as little-endian 32-bit limbs, `[u32; N]`: the
//! carry-propagating primitives under the field, the scalars and the encodings. 32-bit
//! limbs because wasm multiplies 32×32→64 natively but has no 64×64→128 product.

/// `v` from big-endian hexadecimal digits (no prefix). Compile-time constants only: a
/// digit that is not lowercase hex, or a value wider than `N` limbs, fails the build.
// Evaluated by the compiler only (constants): an overflow or a bad digit indexes out of
// bounds, which const evaluation reports as a build error.
#[allow(clippy::indexing_slicing)]
pub(crate) const fn from_hex<const N: usize>(hex: &str) -> [u32; N] {
    let digits = hex.as_bytes();
    let mut out = [0u32; N];
    let mut i = 0;
    while i < digits.len() {
        let c = digits[digits.len() - 1 - i];
        let nibble = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => [0u8; 0][c as usize], // not a lowercase hex digit: a build error
        };
        out[i / 8] |= (nibble as u32) << (4 * (i % 8));
        i += 1;
    }
    out
}

/// `v` from a big-endian byte string of any length, if it fits in `N` limbs.
pub(crate) fn from_be<const N: usize>(bytes: &[u8]) -> Option<[u32; N]> {
    let mut out = [0u32; N];
    for (k, &byte) in bytes.iter().rev().enumerate() {
        if byte == 0 {
            continue;
        }
        let limb = out.get_mut(k / 4)?;
        *limb |= u32::from(byte) << (8 * (k % 4));
    }
    Some(out)
}

/// Big-endian bytes of `v` into `out` (its low `out.len()` bytes).
#[cfg(test)]
pub(crate) fn to_be<const N: usize>(v: &[u32; N], out: &mut [u8]) {
    let len = out.len();
    for (k, byte) in out.iter_mut().enumerate() {
        let pos = len - 1 - k;
        *byte = v
            .get(pos / 4)
            .map_or(0, |limb| (limb >> (8 * (pos % 4))) as u8);
    }
}

pub(crate) fn is_zero<const N: usize>(v: &[u32; N]) -> bool {
    v.iter().all(|&x| x == 0)
}

/// `a < b`.
pub(crate) fn lt<const N: usize>(a: &[u32; N], b: &[u32; N]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a + b` and the carry out (0 or 1).
pub(crate) fn add_carry<const N: usize>(a: &[u32; N], b: &[u32; N]) -> ([u32; N], u32) {
    let mut out = [0u32; N];
    let mut carry = 0u64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let v = u64::from(x) + u64::from(y) + carry;
        *o = v as u32;
        carry = v >> 32;
    }
    (out, carry as u32)
}

/// `a − b` and the borrow out (1 if `a < b`).
pub(crate) fn sub_borrow<const N: usize>(a: &[u32; N], b: &[u32; N]) -> ([u32; N], u32) {
    let mut out = [0u32; N];
    let mut borrow = 0u64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let v = u64::from(x).wrapping_sub(u64::from(y)).wrapping_sub(borrow);
        *o = v as u32;
        borrow = (v >> 63) & 1;
    }
    (out, borrow as u32)
}

/// `v >> 1`, with `top` shifted in as the highest bit.
pub(crate) fn shr1<const N: usize>(v: &mut [u32; N], top: u32) {
    let mut incoming = top & 1;
    for x in v.iter_mut().rev() {
        let out = *x & 1;
        *x = (*x >> 1) | (incoming << 31);
        incoming = out;
    }
}

/// Bit `i` of `v` (0 beyond the width).
pub(crate) fn bit<const N: usize>(v: &[u32; N], i: usize) -> bool {
    v.get(i / 32)
        .is_some_and(|limb| (limb >> (i % 32)) & 1 == 1)
}
