//! Arithmetic modulo the P-256 group order `n`, just what ECDSA verification needs: range
//! checks, `s⁻¹`, two products, and signed-window recoding of the scalars.
//!
//! Variable time throughout (binary inversion, branches on values): verification only
//! ever handles public values, never a private key or nonce.

use super::field::{add_carry, lt, sub_borrow};

/// `n`, little-endian 32-bit limbs.
pub(crate) const N: [u32; 8] = [
    0xfc63_2551,
    0xf3b9_cac2,
    0xa717_9e84,
    0xbce6_faad,
    0xffff_ffff,
    0xffff_ffff,
    0,
    0xffff_ffff,
];
/// `−n⁻¹ mod 2^32`.
const N0: u32 = 0xee00_bc4f;
/// `R² mod n`, `R = 2^256`.
const R2: [u32; 8] = [
    0xbe79_eea2,
    0x8324_4c95,
    0x49bd_6fa6,
    0x4699_799c,
    0x2b6b_ec59,
    0x2845_b239,
    0xf3d9_5620,
    0x66e1_2d94,
];

/// `0 < v < n`.
pub(crate) fn in_range(v: &[u32; 8]) -> bool {
    *v != [0; 8] && lt(v, &N)
}

/// `v mod n` for any 256-bit `v` (`v < 2^256 < 2n`).
pub(crate) fn reduce(v: &[u32; 8]) -> [u32; 8] {
    let (d, borrow) = sub_borrow(v, &N);
    if borrow == 0 {
        d
    } else {
        *v
    }
}

/// Montgomery product `a·b·R⁻¹ mod n` (CIOS), for `a < 2^256`, `b < n`.
#[allow(clippy::indexing_slicing)] // loop counters over fixed-size arrays, constant bounds
fn mont_mul(a: &[u32; 8], b: &[u32; 8]) -> [u32; 8] {
    let mut t = [0u64; 10];
    for &ai in a {
        let ai = u64::from(ai);
        let mut carry = 0u64;
        for j in 0..8 {
            let v = ai * u64::from(b[j]) + t[j] + carry;
            t[j] = v & 0xffff_ffff;
            carry = v >> 32;
        }
        let v = t[8] + carry;
        t[8] = v & 0xffff_ffff;
        t[9] = v >> 32;
        let m = u64::from((t[0] as u32).wrapping_mul(N0));
        let mut carry = (m * u64::from(N[0]) + t[0]) >> 32;
        for j in 1..8 {
            let v = m * u64::from(N[j]) + t[j] + carry;
            t[j - 1] = v & 0xffff_ffff;
            carry = v >> 32;
        }
        let v = t[8] + carry;
        t[7] = v & 0xffff_ffff;
        t[8] = t[9] + (v >> 32);
    }
    let mut r = [0u32; 8];
    for (rk, &tk) in r.iter_mut().zip(&t) {
        *rk = tk as u32;
    }
    let (d, borrow) = sub_borrow(&r, &N);
    if t[8] != 0 || borrow == 0 {
        d
    } else {
        r
    }
}

/// `a·b mod n` for `a < 2^256`, `b < n`.
pub(crate) fn mul(a: &[u32; 8], b: &[u32; 8]) -> [u32; 8] {
    mont_mul(&mont_mul(a, b), &R2)
}

/// Four 64-bit limbs of eight 32-bit ones (the binary inversion only shifts, adds and
/// subtracts, which wasm does natively on 64 bits).
fn to_u64(v: &[u32; 8]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (o, pair) in out.iter_mut().zip(v.chunks_exact(2)) {
        *o = pair
            .iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 32) | u64::from(x));
    }
    out
}

fn from_u64(v: &[u64; 4]) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (pair, &x) in out.chunks_exact_mut(2).zip(v) {
        for (o, shift) in pair.iter_mut().zip([0, 32]) {
            *o = (x >> shift) as u32;
        }
    }
    out
}

fn sub64(a: &mut [u64; 4], b: &[u64; 4]) -> bool {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
    borrow
}

fn add64(a: &mut [u64; 4], b: &[u64; 4]) -> bool {
    let mut carry = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (s1, c1) = x.overflowing_add(y);
        let (s2, c2) = s1.overflowing_add(u64::from(carry));
        *x = s2;
        carry = c1 || c2;
    }
    carry
}

/// `v >> 1`, with `top` shifted in as bit 255.
fn shr1(v: &mut [u64; 4], top: bool) {
    let mut incoming = u64::from(top);
    for x in v.iter_mut().rev() {
        let out = *x & 1;
        *x = (*x >> 1) | (incoming << 63);
        incoming = out;
    }
}

/// `x/2 mod n` for `x < n`.
fn half_mod(x: &mut [u64; 4], n: &[u64; 4]) {
    if x[0] & 1 == 0 {
        shr1(x, false);
    } else {
        let carry = add64(x, n);
        shr1(x, carry);
    }
}

/// `a − b mod n` for `a, b < n`, in place.
fn sub_mod(a: &mut [u64; 4], b: &[u64; 4], n: &[u64; 4]) {
    if sub64(a, b) {
        add64(a, n);
    }
}

fn ge64(a: &[u64; 4], b: &[u64; 4]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x > y;
        }
    }
    true
}

/// `a⁻¹ mod n` for `0 < a < n`, by the binary extended Euclidean algorithm
/// (variable time; `a` is a public signature value). `None` for `a = 0`.
pub(crate) fn invert_vartime(a: &[u32; 8]) -> Option<[u32; 8]> {
    if !in_range(a) {
        return None;
    }
    const ONE: [u64; 4] = [1, 0, 0, 0];
    let n = to_u64(&N);
    let (mut u, mut v) = (to_u64(a), n);
    let (mut x1, mut x2) = (ONE, [0u64; 4]);
    // Invariants: x1·a ≡ u, x2·a ≡ v (mod n); u, v > 0 while gcd(u, v) = 1.
    while u != ONE && v != ONE {
        while u[0] & 1 == 0 {
            shr1(&mut u, false);
            half_mod(&mut x1, &n);
        }
        while v[0] & 1 == 0 {
            shr1(&mut v, false);
            half_mod(&mut x2, &n);
        }
        if ge64(&u, &v) {
            sub64(&mut u, &v);
            sub_mod(&mut x1, &x2, &n);
        } else {
            sub64(&mut v, &u);
            sub_mod(&mut x2, &x1, &n);
        }
    }
    Some(from_u64(if u == ONE { &x1 } else { &x2 }))
}

/// `r + n` if it is below `bound` (the field prime), for the `x(R) mod n` comparison.
pub(crate) fn plus_n_below(r: &[u32; 8], bound: &[u32; 8]) -> Option<[u32; 8]> {
    let (s, carry) = add_carry(r, &N);
    (carry == 0 && lt(&s, bound)).then_some(s)
}
