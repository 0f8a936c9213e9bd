//! Unit tests of the generic field, scalars and curve constants against `num-bigint`
//! (through `rsa::BigUint`) and the `p384`/`p521` crates. The verifier itself is
//! differential-tested against those crates in `tests/wide_ecdsa_differential.rs` and
//! against Wycheproof in `tests/wycheproof.rs`.

use proptest::prelude::*;
use rsa::BigUint;

use super::curves::{P384Field, P384Order, P521Field, P521Order, P384, P521};
use super::field::{Fe, Modulus};
use super::limbs::{from_be, to_be};
use super::scalar;
use super::Curve;
use crate::weierstrass::{normalize_all, FieldElement, Jacobian, Table};

fn big<const N: usize>(v: &[u32; N]) -> BigUint {
    let mut bytes = vec![0u8; 4 * N];
    to_be(v, &mut bytes);
    BigUint::from_bytes_be(&bytes)
}

fn limbs<const N: usize>(b: &BigUint) -> [u32; N] {
    from_be(&b.to_bytes_be()).unwrap()
}

fn modulus<M: Modulus<N>, const N: usize>() -> BigUint {
    big(&M::M)
}

/// Values that stress carries and the final subtraction: small, around `M`, around
/// `2^(32·N)`, single bits and word patterns, all reduced mod `M`.
fn edges<M: Modulus<N>, const N: usize>() -> Vec<BigUint> {
    let m = modulus::<M, N>();
    let one = BigUint::from(1u32);
    let top = (BigUint::from(1u32) << (32 * N)) - &one;
    let mut v = vec![
        BigUint::from(0u32),
        one.clone(),
        BigUint::from(2u32),
        &m - &one,
        &m - BigUint::from(2u32),
        &m >> 1usize,
        top.clone() % &m,
        BigUint::from(u32::MAX),
        BigUint::from(u64::MAX),
    ];
    for shift in [31usize, 32, 63, 64, 127, 128, 255, 256, 383] {
        v.push((&one << shift) % &m);
    }
    v
}

fn check_field<M: Modulus<N>, const N: usize>(extra: &[BigUint]) {
    let m = modulus::<M, N>();
    let r = BigUint::from(1u32) << (32 * N);
    assert_eq!(big(&M::R1), &r % &m, "R mod M");
    assert_eq!(big(&M::R2), (&r * &r) % &m, "R² mod M");
    assert_eq!(
        (BigUint::from(M::M0) * (&m % BigUint::from(1u64 << 32)) + 1u32)
            % BigUint::from(1u64 << 32),
        BigUint::from(0u32),
        "M0 = −M⁻¹ mod 2^32"
    );
    let mut values = edges::<M, N>();
    values.extend(extra.iter().map(|x| x % &m));
    for a in &values {
        let fa = Fe::<M, N>::from_limbs(&limbs(a)).unwrap();
        assert_eq!(&big(&fa.to_limbs()), a, "round trip");
        for b in &values {
            let fb = Fe::<M, N>::from_limbs(&limbs(b)).unwrap();
            assert_eq!(big(&fa.mul(&fb).to_limbs()), (a * b) % &m, "{a} · {b}");
            let plain = scalar::mul::<M, N>(&limbs(a), &limbs(b));
            assert_eq!(big(&plain), (a * b) % &m, "plain {a} · {b}");
            assert_eq!(big(&fa.add(&fb).to_limbs()), (a + b) % &m, "{a} + {b}");
            assert_eq!(big(&fa.sub(&fb).to_limbs()), (a + &m - b) % &m, "{a} − {b}");
        }
        if *a != BigUint::from(0u32) {
            assert_eq!(
                big(&fa.invert().mul(&fa).to_limbs()),
                BigUint::from(1u32),
                "{a}⁻¹"
            );
            if Fe::<M, N>::from_limbs(&limbs(a)).is_some() {
                let inv = scalar::invert_vartime::<M, N>(&limbs(a)).unwrap();
                assert_eq!((big(&inv) * a) % &m, BigUint::from(1u32), "binary {a}⁻¹");
            }
        }
    }
    // Not canonical: M itself and above.
    assert!(Fe::<M, N>::from_limbs(&M::M).is_none());
    assert!(Fe::<M, N>::from_limbs(&[u32::MAX; N]).is_none());
    assert!(scalar::invert_vartime::<M, N>(&[0; N]).is_none());
    assert!(scalar::invert_vartime::<M, N>(&M::M).is_none());
}

#[test]
fn field_and_order_arithmetic_match_bigint() {
    check_field::<P384Field, 12>(&[]);
    check_field::<P384Order, 12>(&[]);
    check_field::<P521Field, 17>(&[]);
    check_field::<P521Order, 17>(&[]);
}

fn arb_bytes(len: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), len)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_field_values_match_bigint(a in arb_bytes(66), b in arb_bytes(66)) {
        let (a, b) = (BigUint::from_bytes_be(&a), BigUint::from_bytes_be(&b));
        let pair = [a, b];
        check_field::<P384Field, 12>(&pair);
        check_field::<P384Order, 12>(&pair);
        check_field::<P521Field, 17>(&pair);
        check_field::<P521Order, 17>(&pair);
    }
}

fn affine_be<C: Curve<N>, const N: usize>(p: &Jacobian<Fe<C::Field, N>>) -> Vec<u8> {
    let a = normalize_all(&[*p]).unwrap();
    let mut out = vec![4u8];
    for c in [a[0].x, a[0].y] {
        let mut bytes = vec![0u8; C::BYTES];
        to_be(&c.to_limbs(), &mut bytes);
        out.extend(bytes);
    }
    out
}

#[test]
fn constants_match_the_rustcrypto_curves() {
    use p384::elliptic_curve::sec1::ToEncodedPoint;
    use p384::elliptic_curve::PrimeField;
    // The orders, as the crates spell them.
    assert_eq!(
        format!("{:096x}", modulus::<P384Order, 12>()),
        <p384::Scalar as PrimeField>::MODULUS
    );
    assert_eq!(
        format!("{:0132x}", modulus::<P521Order, 17>()),
        <p521::Scalar as PrimeField>::MODULUS
    );
    // The primes: p384 = 2^384 − 2^128 − 2^96 + 2^32 − 1, p521 = 2^521 − 1.
    let pow2 = |k: usize| BigUint::from(1u32) << k;
    assert_eq!(
        modulus::<P384Field, 12>() + pow2(128) + pow2(96) + 1u32,
        pow2(384) + pow2(32)
    );
    assert_eq!(modulus::<P521Field, 17>() + 1u32, pow2(521));
    // The generators (on the curve with b, so b is right too).
    let g384 = P384::point(&P384::GX, &P384::GY).unwrap();
    assert_eq!(
        affine_be::<P384, 12>(&Jacobian::from_affine(&g384)),
        p384::AffinePoint::GENERATOR
            .to_encoded_point(false)
            .as_bytes()
    );
    let g521 = P521::point(&P521::GX, &P521::GY).unwrap();
    assert_eq!(
        affine_be::<P521, 17>(&Jacobian::from_affine(&g521)),
        p521::AffinePoint::GENERATOR
            .to_encoded_point(false)
            .as_bytes()
    );
}

/// `v·G` by `G`'s table, as an uncompressed point (or `None` at infinity).
fn table_mul<C: Curve<N>, const N: usize>(w: u32, v: &[u32; N]) -> Option<Vec<u8>> {
    let g = C::point(&C::GX, &C::GY).unwrap();
    let table = Table::new(&g, w, C::windows(w)).unwrap();
    let p = table.mul_add(Jacobian::INFINITY, v);
    (!p.is_infinity()).then(|| affine_be::<C, N>(&p))
}

fn scalar_edges<Q: Modulus<N>, const N: usize>() -> Vec<[u32; N]> {
    let n = modulus::<Q, N>();
    [
        BigUint::from(1u32),
        BigUint::from(2u32),
        BigUint::from(0xffff_ffffu32),
        &n - 1u32,
        &n - 2u32,
        &n >> 1usize,
        (BigUint::from(1u32) << (n.bits() - 1)) - 1u32,
    ]
    .iter()
    .map(limbs)
    .collect()
}

#[test]
fn tables_multiply_like_the_rustcrypto_curves() {
    use p384::elliptic_curve::sec1::ToEncodedPoint;
    use p384::elliptic_curve::PrimeField;
    for v in scalar_edges::<P384Order, 12>() {
        let mut bytes = [0u8; 48];
        to_be(&v, &mut bytes);
        let s = p384::Scalar::from_repr(bytes.into()).unwrap();
        let want = (p384::ProjectivePoint::GENERATOR * s).to_encoded_point(false);
        for w in [2, 5, 7, 8] {
            assert_eq!(
                table_mul::<P384, 12>(w, &v).as_deref(),
                Some(want.as_bytes()),
                "w {w}"
            );
        }
    }
    for v in scalar_edges::<P521Order, 17>() {
        let mut bytes = [0u8; 66];
        to_be(&v, &mut bytes);
        let mut repr = p521::FieldBytes::default();
        repr.copy_from_slice(&bytes);
        let s = p521::Scalar::from_repr(repr).unwrap();
        let want = (p521::ProjectivePoint::GENERATOR * s).to_encoded_point(false);
        for w in [2, 5, 6, 8] {
            assert_eq!(
                table_mul::<P521, 17>(w, &v).as_deref(),
                Some(want.as_bytes()),
                "w {w}"
            );
        }
    }
    // n·G is the point at infinity; widths outside 2..=8 have no table.
    assert_eq!(table_mul::<P384, 12>(6, &P384Order::M), None);
    assert_eq!(table_mul::<P521, 17>(5, &P521Order::M), None);
    let g = P384::point(&P384::GX, &P384::GY).unwrap();
    assert!(Table::new(&g, 1, 385).is_none());
    assert!(Table::new(&g, 9, 43).is_none());
}
