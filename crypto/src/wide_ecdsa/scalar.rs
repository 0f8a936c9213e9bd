//! Arithmetic modulo a group order `n` (as plain limbs, not Montgomery form), just what
//! ECDSA verification needs: range checks, `s⁻¹`, two products, and signed-window
//! recoding of the scalars.
//!
//! Variable time throughout (binary inversion, branches on values): verification only
//! ever handles public values, never a private key or nonce.

use super::field::Modulus;
use super::limbs::{add_carry, is_zero, lt, shr1, sub_borrow};

/// `0 < v < n`.
pub(crate) fn in_range<Q: Modulus<N>, const N: usize>(v: &[u32; N]) -> bool {
    !is_zero(v) && lt(v, &Q::M)
}

/// `v mod n` for `v < 2n`.
pub(crate) fn reduce<Q: Modulus<N>, const N: usize>(v: &[u32; N]) -> [u32; N] {
    let (d, borrow) = sub_borrow(v, &Q::M);
    if borrow == 0 {
        d
    } else {
        *v
    }
}

/// `a·b mod n` for `a, b < n`, plain in and out: the Montgomery product `a·b·R⁻¹`, then
/// one more with `R²` to cancel the `R⁻¹`, never entering Montgomery form.
pub(crate) fn mul<Q: Modulus<N>, const N: usize>(a: &[u32; N], b: &[u32; N]) -> [u32; N] {
    Q::mont_mul(&Q::mont_mul(a, b), &Q::R2)
}

/// `x/2 mod n` for `x < n`.
fn half_mod<const N: usize>(x: &mut [u32; N], n: &[u32; N]) {
    if x.first().is_some_and(|low| low & 1 == 1) {
        let (sum, carry) = add_carry(x, n);
        *x = sum;
        shr1(x, carry);
    } else {
        shr1(x, 0);
    }
}

/// `a − b mod n` for `a, b < n`, in place.
fn sub_mod<const N: usize>(a: &mut [u32; N], b: &[u32; N], n: &[u32; N]) {
    let (d, borrow) = sub_borrow(a, b);
    *a = if borrow == 0 { d } else { add_carry(&d, n).0 };
}

fn is_even<const N: usize>(v: &[u32; N]) -> bool {
    v.first().is_some_and(|low| low & 1 == 0)
}

fn is_one<const N: usize>(v: &[u32; N]) -> bool {
    v.split_first()
        .is_some_and(|(low, rest)| *low == 1 && is_zero_slice(rest))
}

fn is_zero_slice(v: &[u32]) -> bool {
    v.iter().all(|&x| x == 0)
}

/// `a⁻¹ mod n` for `0 < a < n`, by the binary extended Euclidean algorithm (variable
/// time; `a` is a public signature value). `None` outside that range.
pub(crate) fn invert_vartime<Q: Modulus<N>, const N: usize>(a: &[u32; N]) -> Option<[u32; N]> {
    if !in_range::<Q, N>(a) {
        return None;
    }
    let n = Q::M;
    let mut one = [0u32; N];
    *one.first_mut()? = 1;
    let (mut u, mut v) = (*a, n);
    let (mut x1, mut x2) = (one, [0u32; N]);
    // Invariants: x1·a ≡ u, x2·a ≡ v (mod n); u, v > 0 while gcd(u, v) = 1 (n prime).
    while !is_one(&u) && !is_one(&v) {
        while is_even(&u) {
            shr1(&mut u, 0);
            half_mod(&mut x1, &n);
        }
        while is_even(&v) {
            shr1(&mut v, 0);
            half_mod(&mut x2, &n);
        }
        if lt(&u, &v) {
            v = sub_borrow(&v, &u).0;
            sub_mod(&mut x2, &x1, &n);
        } else {
            u = sub_borrow(&u, &v).0;
            sub_mod(&mut x1, &x2, &n);
        }
    }
    Some(if is_one(&u) { x1 } else { x2 })
}

/// `r + n` if it is below `bound` (the field prime), for the `x(R) mod n` comparison.
pub(crate) fn plus_n_below<Q: Modulus<N>, const N: usize>(
    r: &[u32; N],
    bound: &[u32; N],
) -> Option<[u32; N]> {
    let (s, carry) = add_carry(r, &Q::M);
    (carry == 0 && lt(&s, bound)).then_some(s)
}
