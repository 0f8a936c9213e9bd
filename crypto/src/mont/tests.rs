//! Montgomery arithmetic against a simple reference (`num-bigint-dig` through `rsa`).

use rsa::BigUint;

use super::*;

/// xorshift64*: deterministic test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() >> 24) as u8).collect()
    }
    /// An odd number of exactly `bits` bits.
    fn odd(&mut self, bits: usize) -> Vec<u8> {
        let mut b = self.bytes(bits.div_ceil(8));
        let extra = b.len() * 8 - bits;
        b[0] &= 0xff >> extra;
        b[0] |= 0x80 >> extra;
        *b.last_mut().unwrap() |= 1;
        b
    }
    /// A number below `bound`.
    fn below(&mut self, bound: &BigUint) -> BigUint {
        BigUint::from_bytes_be(&self.bytes(bound.bits().div_ceil(8) + 8)) % bound
    }
}

fn limbs_of(x: &BigUint, k: usize) -> Vec<Limb> {
    let mut out = vec![0; k];
    assert!(from_be_bytes(&x.to_bytes_be(), &mut out));
    out
}

fn big(limbs: &[Limb]) -> BigUint {
    let mut bytes = vec![0u8; limbs.len() * 4];
    to_be_bytes(limbs, &mut bytes);
    BigUint::from_bytes_be(&bytes)
}

const SIZES: [usize; 8] = [2, 17, 61, 512, 2048, 3072, 4095, 4096];

#[test]
fn bytes_round_trip() {
    let mut rng = Rng(1);
    for len in [0, 1, 3, 4, 7, 255, 256, 512] {
        let b = rng.bytes(len);
        let mut limbs = [0 as Limb; MAX_LIMBS];
        assert!(from_be_bytes(&b, &mut limbs));
        assert!(limbs.iter().all(|&l| u64::from(l) <= MASK));
        let mut back = vec![0u8; len];
        to_be_bytes(&limbs, &mut back);
        assert_eq!(b, back);
    }
    // Too long for the limbs given.
    let mut two = [0 as Limb; 2];
    assert!(!from_be_bytes(&[1, 0, 0, 0, 0, 0, 0, 0], &mut two));
    assert!(from_be_bytes(&[0, 0, 0, 0, 0, 0, 0, 0], &mut two));
}

#[test]
fn constants_match_the_definition() {
    let mut rng = Rng(2);
    for bits in SIZES {
        let nb = rng.odd(bits);
        let m = Modulus::new(&nb).unwrap();
        let n = BigUint::from_bytes_be(&nb);
        let k = m.limbs();
        assert!(k * 28 >= bits + 2, "4n < R");
        let r = BigUint::from(1u8) << (28 * k);
        assert_eq!(big(&m.r2), (&r * &r) % &n, "{bits} bits");
        let n0 = u64::from(m.n[0]);
        assert_eq!(BigUint::from(n0), &n % BigUint::from(1u64 << 28));
        assert_eq!((n0 * m.n0inv) & MASK, MASK, "n·n' ≡ −1 mod 2^28");
    }
}

#[test]
fn modulus_is_refused_when_even_or_too_large() {
    assert!(Modulus::new(&[]).is_none());
    assert!(Modulus::new(&[1]).is_none());
    assert!(Modulus::new(&[4]).is_none());
    assert!(Modulus::new(&[3]).is_some());
    let mut big = vec![0xff; 513];
    big[0] = 1;
    assert!(Modulus::new(&big).is_none());
    assert!(Modulus::new(&[0xff; 512]).is_some());
}

#[test]
fn products_and_squares_match_the_reference() {
    let mut rng = Rng(3);
    for bits in SIZES {
        let nb = rng.odd(bits);
        let m = Modulus::new(&nb).unwrap();
        let n = BigUint::from_bytes_be(&nb);
        let k = m.limbs();
        let r = BigUint::from(1u8) << (28 * k);
        let two_n = &n * 2u8;
        let mut cases: Vec<(BigUint, BigUint)> = (0..20)
            .map(|_| (rng.below(&two_n), rng.below(&two_n)))
            .collect();
        let nm1 = &n - 1u8;
        let top = &two_n - 1u8;
        for edge in [BigUint::from(0u8), BigUint::from(1u8), nm1, n.clone(), top] {
            cases.push((edge.clone(), edge.clone()));
            cases.push((edge, rng.below(&two_n)));
        }
        for (a, b) in cases {
            let (al, bl) = (limbs_of(&a, k), limbs_of(&b, k));
            let mut out = vec![0; k];
            m.mul(&mut out, &al, &bl);
            assert!(out.iter().all(|&l| u64::from(l) <= MASK));
            let got = big(&out);
            assert!(got < two_n, "{bits} bits: result ≥ 2n");
            assert_eq!((&got * &r) % &n, (&a * &b) % &n, "{bits} bits: a·b");
            let mut sq = vec![0; k];
            m.sqr(&mut sq, &al);
            let mut prod = vec![0; k];
            m.mul(&mut prod, &al, &al);
            assert_eq!(sq, prod, "{bits} bits: a² by squaring and by product");
        }
    }
}

#[test]
fn public_exponentiation_matches_the_reference() {
    let mut rng = Rng(4);
    for bits in SIZES {
        let nb = rng.odd(bits);
        let m = Modulus::new(&nb).unwrap();
        let n = BigUint::from_bytes_be(&nb);
        let k = m.limbs();
        let mut bases: Vec<BigUint> = (0..4).map(|_| rng.below(&n)).collect();
        bases.extend([BigUint::from(0u8), BigUint::from(1u8), &n - 1u8]);
        let exps = [3, 5, 17, 65537, 65539, (1 << 33) - 1, rng.next() | 1];
        for s in &bases {
            let sl = limbs_of(s, k);
            for e in exps {
                let mut out = vec![0; k];
                m.pow_public(&mut out, &sl, e);
                let want = s.modpow(&BigUint::from(e), &n);
                assert_eq!(big(&out), want, "{bits} bits, e = {e}");
            }
        }
    }
}
