//! Unit tests of the P-256 arithmetic against `num-bigint` (through `rsa::BigUint`) and
//! the `p256` crate's group law.

use proptest::prelude::*;
use rsa::BigUint;

use super::field::{limbs_from_be, limbs_to_be, Fe, P};
use super::point::{normalize_all, Affine, Jacobian, GX, GY};
use super::scalar::{self, N};
use super::table::Table;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::elliptic_curve::PrimeField;

use crate::weierstrass::FieldElement;

fn big(l: &[u32; 8]) -> BigUint {
    BigUint::from_bytes_be(&limbs_to_be(l))
}

fn limbs(b: &BigUint) -> [u32; 8] {
    let bytes = b.to_bytes_be();
    assert!(bytes.len() <= 32);
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    limbs_from_be(&out)
}

fn p() -> BigUint {
    big(&P)
}

fn n() -> BigUint {
    big(&N)
}

fn fe(b: &BigUint) -> Fe {
    Fe::from_limbs(&limbs(&(b % p())))
}

fn val(f: &Fe) -> BigUint {
    big(&f.to_limbs())
}

/// Interesting 256-bit values: small, near p, near n, near 2^256, and word patterns.
fn edges() -> Vec<BigUint> {
    let one = BigUint::from(1u32);
    let top = (BigUint::from(1u32) << 256usize) - &one;
    let mut v = vec![
        BigUint::from(0u32),
        one.clone(),
        BigUint::from(2u32),
        BigUint::from(3u32),
        p() - &one,
        p() - BigUint::from(2u32),
        p(),
        p() + &one,
        n() - &one,
        n(),
        n() + &one,
        top.clone(),
        BigUint::from(1u32) << 255usize,
        BigUint::from(1u32) << 224usize,
        (BigUint::from(1u32) << 192usize) - &one,
        (BigUint::from(1u32) << 96usize) - &one,
        BigUint::from(u32::MAX),
        BigUint::from(u64::MAX),
    ];
    v.push(top - &p());
    v
}

#[test]
fn field_ops_match_bigint_on_edge_values() {
    let p = p();
    for a in edges() {
        for b in edges() {
            let (x, y) = (fe(&a), fe(&b));
            let (a, b) = (&a % &p, &b % &p);
            assert_eq!(val(&x.mul(&y)), (&a * &b) % &p, "{a} * {b}");
            assert_eq!(val(&x.add(&y)), (&a + &b) % &p, "{a} + {b}");
            assert_eq!(val(&x.sub(&y)), (&a + &p - &b) % &p, "{a} - {b}");
        }
        let x = fe(&a);
        let a = &a % &p;
        assert_eq!(val(&x.square()), (&a * &a) % &p, "{a}^2");
        assert_eq!(val(&x.neg()), (&p - &a) % &p, "-{a}");
        assert_eq!(
            val(&x.invert()),
            a.modpow(&(&p - BigUint::from(2u32)), &p),
            "1/{a}"
        );
    }
}

#[test]
fn field_encoding_is_canonical() {
    assert!(Fe::from_be(&limbs_to_be(&P)).is_none());
    let (pm1, _) = super::field::sub_borrow(&P, &[1, 0, 0, 0, 0, 0, 0, 0]);
    let x = Fe::from_be(&limbs_to_be(&pm1)).unwrap();
    assert_eq!(x.to_be(), limbs_to_be(&pm1));
    assert_eq!(Fe::ONE, Fe::from_limbs(&[1, 0, 0, 0, 0, 0, 0, 0]));
}

#[test]
fn scalar_ops_match_bigint_on_edge_values() {
    let n = n();
    for a in edges() {
        let al = limbs(&(&a % (BigUint::from(1u32) << 256usize)));
        assert_eq!(big(&scalar::reduce(&al)), &a % &n, "{a} mod n");
        assert_eq!(
            scalar::in_range(&al),
            a > BigUint::from(0u32) && a < n,
            "{a} in range"
        );
        let inv = scalar::invert_vartime(&al);
        if scalar::in_range(&al) {
            let want = a.modpow(&(&n - BigUint::from(2u32)), &n);
            assert_eq!(inv.map(|i| big(&i)), Some(want), "1/{a}");
        } else {
            assert!(inv.is_none());
        }
        for b in edges() {
            let b = &b % &n;
            let got = scalar::mul(&al, &limbs(&b));
            assert_eq!(big(&got), (&a * &b) % &n, "{a} * {b} mod n");
        }
    }
}

fn check_digits(v: &[u32; 8], w: u32) {
    let count = 257_u32.div_ceil(w) as usize;
    let mut digits = vec![0i32; count];
    crate::weierstrass::signed_digits(v, w, &mut digits);
    let (mut pos, mut neg) = (BigUint::from(0u32), BigUint::from(0u32));
    let half = 1i32 << (w - 1);
    for (i, &d) in digits.iter().enumerate() {
        assert!(d > -half && d <= half, "digit {d} for w = {w}");
        let term = BigUint::from(d.unsigned_abs()) << (w as usize * i);
        if d > 0 {
            pos += term;
        } else {
            neg += term;
        }
    }
    assert_eq!(pos - neg, big(v), "w = {w}");
}

#[test]
fn signed_digits_reconstruct_edge_values() {
    for v in edges() {
        let v = limbs(&(&v % (BigUint::from(1u32) << 256usize)));
        for w in 2..=8 {
            check_digits(&v, w);
        }
    }
}

fn to_affine_be(p: &Jacobian) -> Option<([u8; 32], [u8; 32])> {
    let a = normalize_all(&[*p])?;
    Some((a[0].x.to_be(), a[0].y.to_be()))
}

fn reference_mul(v: &[u32; 8]) -> Option<([u8; 32], [u8; 32])> {
    let s = p256::Scalar::from_repr(limbs_to_be(&scalar::reduce(v)).into()).unwrap();
    let point = (p256::ProjectivePoint::GENERATOR * s).to_affine();
    let enc = point.to_encoded_point(false);
    Some((enc.x()?[..].try_into().ok()?, enc.y()?[..].try_into().ok()?))
}

fn generator() -> Affine {
    Affine::from_be(&GX, &GY).unwrap()
}

#[test]
fn generator_matches_p256_crate() {
    let enc = p256::AffinePoint::GENERATOR.to_encoded_point(false);
    assert_eq!(&enc.x().unwrap()[..], GX);
    assert_eq!(&enc.y().unwrap()[..], GY);
}

#[test]
fn points_off_the_curve_or_out_of_range_are_rejected() {
    let mut y = GY;
    y[31] ^= 1;
    assert!(Affine::from_be(&GX, &y).is_none());
    assert!(Affine::from_be(&[0; 32], &[0; 32]).is_none());
    assert!(Affine::from_be(&limbs_to_be(&P), &GY).is_none());
    assert!(Affine::from_be(&GX, &[0xff; 32]).is_none());
    // (x, p − y) is the negation, on the curve.
    let neg = generator().neg();
    assert!(Affine::from_be(&neg.x.to_be(), &neg.y.to_be()).is_some());
}

#[test]
fn table_multiples_match_p256_crate_on_edge_values() {
    let g = generator();
    for w in [2, 4, 6, 7, 8] {
        let table = Table::new(&g, w).unwrap();
        for v in edges() {
            let v = limbs(&(&v % (BigUint::from(1u32) << 256usize)));
            let got = to_affine_be(&table.mul_add(Jacobian::INFINITY, &v));
            let want = if scalar::reduce(&v) == [0; 8] {
                None
            } else {
                reference_mul(&v)
            };
            assert_eq!(got, want, "w = {w}, v = {}", big(&v));
        }
    }
    assert!(Table::new(&g, 1).is_none());
    assert!(Table::new(&g, 9).is_none());
}

#[test]
fn doubling_and_exceptional_additions() {
    let g = generator();
    let j = Jacobian::from_affine(&g);
    // G + G goes through the doubling branch; G + (−G) is infinity; ∞ + G = G.
    let two = to_affine_be(&j.add_affine(&g));
    assert_eq!(two, to_affine_be(&j.double()));
    assert_eq!(two, reference_mul(&[2, 0, 0, 0, 0, 0, 0, 0]));
    assert!(j.add_affine(&g.neg()).is_infinity());
    assert!(Jacobian::INFINITY.double().is_infinity());
    assert_eq!(
        to_affine_be(&Jacobian::INFINITY.add_affine(&g)),
        Some((GX, GY))
    );
}

fn any_limbs() -> impl Strategy<Value = [u32; 8]> {
    any::<[u32; 8]>()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..ProptestConfig::default()
    })]

    #[test]
    fn field_ops_match_bigint(a in any_limbs(), b in any_limbs()) {
        let p = p();
        let (a, b) = (big(&a) % &p, big(&b) % &p);
        let (x, y) = (fe(&a), fe(&b));
        prop_assert_eq!(val(&x.mul(&y)), (&a * &b) % &p);
        prop_assert_eq!(val(&x.square()), (&a * &a) % &p);
        prop_assert_eq!(val(&x.add(&y)), (&a + &b) % &p);
        prop_assert_eq!(val(&x.sub(&y)), (&a + &p - &b) % &p);
    }

    #[test]
    fn scalar_ops_match_bigint(a in any_limbs(), b in any_limbs()) {
        let n = n();
        let b = limbs(&(big(&b) % &n));
        prop_assert_eq!(big(&scalar::mul(&a, &b)), (big(&a) * big(&b)) % &n);
        let a = scalar::reduce(&a);
        if let Some(inv) = scalar::invert_vartime(&a) {
            prop_assert_eq!((big(&inv) * big(&a)) % &n, BigUint::from(1u32));
        } else {
            prop_assert_eq!(a, [0; 8]);
        }
        for w in 2..=8 {
            check_digits(&a, w);
        }
    }

    #[test]
    fn table_multiples_match_p256_crate(v in any_limbs()) {
        let g = generator();
        let table = Table::new(&g, 6).unwrap();
        prop_assert_eq!(to_affine_be(&table.mul_add(Jacobian::INFINITY, &v)), reference_mul(&v));
    }
}
