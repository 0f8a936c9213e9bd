//! Differential test of the hand-written ES384 and ES512 verifiers
//! (`crypto::wide_ecdsa`) against the `p384` and `p521` crates: seeded random keys and
//! messages, valid signatures, mutated ones, edge values of `r`, `s` and the digest, and
//! constructed signatures that reach the rare paths (`x(R) ≥ n`, `R` at infinity, equal
//! points inside the sum). Both must agree on every input. One suite per curve, from
//! one macro (the crates' types differ, the checks do not).

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

/// `v + k` as a big-endian number of `v.len()` bytes (wrapping).
fn plus(v: &[u8], k: i64) -> Vec<u8> {
    let mut out = v.to_vec();
    let mut carry = k;
    for byte in out.iter_mut().rev() {
        let x = i64::from(*byte) + carry;
        *byte = x.rem_euclid(256) as u8;
        carry = x.div_euclid(256);
    }
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The edge values of `r` and `s` for a curve of order `n` over `p`.
fn edges(n: &[u8], p: &[u8]) -> Vec<Vec<u8>> {
    let zero = vec![0u8; n.len()];
    vec![
        zero.clone(),
        plus(&zero, 1),
        plus(&zero, 2),
        plus(n, -1),
        n.to_vec(),
        plus(n, 1),
        plus(p, -1),
        p.to_vec(),
        plus(p, 1),
        vec![0xff; n.len()],
    ]
}

fn sig_of(r: &[u8], s: &[u8]) -> Vec<u8> {
    [r, s].concat()
}

macro_rules! suite {
    ($suite:ident, $krate:ident, $curve:ident, $fast:ident, $sha:ty, $alg:ident, $p:literal, $key_pem:literal) => {
        mod $suite {
            use super::{edges, hex, plus, sig_of};
            use jwt_gate::alg::Alg;
            use jwt_gate::crypto::wide_ecdsa::$fast;
            use jwt_gate::keys::Key;
            use proptest::prelude::*;
            use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
            use sha2::Digest;
            use $krate::ecdsa::signature::hazmat::PrehashVerifier;
            use $krate::ecdsa::{Signature, VerifyingKey};
            use $krate::elliptic_curve::bigint::Encoding;
            use $krate::elliptic_curve::ops::Reduce;
            use $krate::elliptic_curve::point::AffineCoordinates;
            use $krate::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
            use $krate::elliptic_curve::{Curve, PrimeField};
            use $krate::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
            use $krate::{
                AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar, SecretKey,
            };

            type Uint = <$krate::$curve as Curve>::Uint;

            /// Bytes of a coordinate, of `r` and of `s`.
            const BYTES: usize = std::mem::size_of::<FieldBytes>();

            fn n() -> Vec<u8> {
                let order = <$krate::$curve as Curve>::ORDER.to_be_bytes();
                order.as_ref()[order.as_ref().len() - BYTES..].to_vec()
            }

            fn p() -> Vec<u8> {
                hex($p)
            }

            /// Both verifiers on one input; panics with the input when they disagree.
            fn agree(vk: &VerifyingKey, fast: &$fast, digest: &[u8], sig: &[u8]) -> bool {
                let want =
                    Signature::from_slice(sig).is_ok_and(|s| vk.verify_prehash(digest, &s).is_ok());
                let got = fast.verify_prehash(digest, sig);
                assert_eq!(
                    got,
                    want,
                    "disagreement: key {:?}, digest {digest:02x?}, sig {sig:02x?}",
                    vk.to_encoded_point(false)
                );
                got
            }

            fn fast_of(vk: &VerifyingKey) -> $fast {
                $fast::from_verifying_key(vk).unwrap()
            }

            fn scalar(bytes: &[u8]) -> Scalar {
                let mut repr = FieldBytes::default();
                repr.copy_from_slice(bytes);
                <Scalar as Reduce<Uint>>::reduce_bytes(&repr)
            }

            fn bytes(s: &Scalar) -> Vec<u8> {
                s.to_repr().to_vec()
            }

            fn key_of(d: &Scalar) -> VerifyingKey {
                VerifyingKey::from_affine((ProjectivePoint::GENERATOR * d).to_affine()).unwrap()
            }

            /// ECDSA signature `(r, s)` with nonce `k` for key `d` over digest scalar `e`.
            fn sign_with(d: &Scalar, k: &Scalar, e: &Scalar) -> Vec<u8> {
                let big_r = (ProjectivePoint::GENERATOR * k).to_affine();
                let r = <Scalar as Reduce<Uint>>::reduce_bytes(&big_r.x());
                let s = k.invert().unwrap() * (*e + r * d);
                sig_of(&bytes(&r), &bytes(&s))
            }

            /// The JWS hash of `msg`, as the filter computes it.
            fn digest(msg: &[u8]) -> Vec<u8> {
                <$sha as Digest>::digest(msg).to_vec()
            }

            /// The digest as a scalar (left-padded: the digest is never longer than `n`).
            fn digest_scalar(digest: &[u8]) -> Scalar {
                let mut padded = vec![0u8; BYTES - digest.len()];
                padded.extend_from_slice(digest);
                scalar(&padded)
            }

            #[test]
            fn random_keys_messages_and_mutations_agree() {
                let config = Config {
                    cases: 16,
                    ..Config::default()
                };
                let mut runner = TestRunner::new_with_rng(
                    config,
                    TestRng::from_seed(RngAlgorithm::ChaCha, &[9u8; 32]),
                );
                let strategy = (
                    proptest::collection::vec(any::<u8>(), BYTES),
                    proptest::collection::vec(any::<u8>(), BYTES),
                    proptest::collection::vec(any::<u8>(), 0..200),
                    proptest::collection::vec((any::<u16>(), any::<u8>()), 8),
                );
                runner
                    .run(&strategy, |(d, k, msg, flips)| {
                        let (d, k) = (scalar(&d), scalar(&k));
                        if bool::from(d.is_zero()) || bool::from(k.is_zero()) {
                            return Ok(());
                        }
                        let vk = key_of(&d);
                        let fast = fast_of(&vk);
                        let digest = digest(&msg);
                        let sig = sign_with(&d, &k, &digest_scalar(&digest));
                        prop_assert!(agree(&vk, &fast, &digest, &sig));
                        // The high-s twin (r, n − s) is valid ECDSA too.
                        let (r, s) = sig.split_at(BYTES);
                        let high_s = bytes(&-scalar(s));
                        prop_assert!(agree(&vk, &fast, &digest, &sig_of(r, &high_s)));
                        // Single-byte mutations of the signature and of the digest.
                        for &(pos, mask) in &flips {
                            let mask = mask.max(1);
                            let mut bad = sig.clone();
                            bad[usize::from(pos) % sig.len()] ^= mask;
                            agree(&vk, &fast, &digest, &bad);
                            let mut bad_digest = digest.clone();
                            bad_digest[usize::from(pos) % digest.len()] ^= mask;
                            agree(&vk, &fast, &bad_digest, &sig);
                        }
                        // r and s swapped, r or s replaced by each edge value.
                        agree(&vk, &fast, &digest, &sig_of(s, r));
                        for e in edges(&n(), &p()) {
                            agree(&vk, &fast, &digest, &sig_of(&e, s));
                            agree(&vk, &fast, &digest, &sig_of(r, &e));
                        }
                        // Truncated and extended signatures.
                        prop_assert!(!fast.verify_prehash(&digest, &sig[1..]));
                        prop_assert!(!fast.verify_prehash(&digest, &[&sig[..], &[0]].concat()));
                        Ok(())
                    })
                    .unwrap();
            }

            #[test]
            fn edge_values_of_r_s_and_digest_agree() {
                let d = scalar(&plus(&[0u8; BYTES], 0x1234_5678));
                let vk = key_of(&d);
                let fast = fast_of(&vk);
                let digest = digest(b"sample");
                let sig = sign_with(&d, &Scalar::from(777u64), &digest_scalar(&digest));
                let mut values = edges(&n(), &p());
                values.push(sig[..BYTES].to_vec());
                values.push(sig[BYTES..].to_vec());
                let mut digests: Vec<Vec<u8>> = edges(&n(), &p())
                    .into_iter()
                    .map(|e| e[BYTES - digest.len()..].to_vec())
                    .collect();
                digests.push(digest.clone());
                for dg in &digests {
                    for r in &values {
                        for s in &values {
                            agree(&vk, &fast, dg, &sig_of(r, s));
                        }
                    }
                }
                // The "psychic signature" (CVE-2022-21449): r = s = 0 with any digest.
                assert!(!fast.verify_prehash(&digest, &[0u8; 2 * BYTES]));
                assert!(agree(&vk, &fast, &digest, &sig));
            }

            #[test]
            fn x_of_r_at_least_n_is_accepted_via_r_plus_n() {
                // Points with x ≥ n exist (p − n is large); pick some and build keys for
                // which a chosen (r = x − n, s) is valid: Q = r⁻¹·(s·R − e·G).
                let mut found = 0;
                let mut x = n();
                while found < 3 {
                    x = plus(&x, 1);
                    let point = EncodedPoint::from_bytes([&[2u8][..], &x].concat()).unwrap();
                    let Some(big_r) =
                        Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&point))
                    else {
                        continue;
                    };
                    found += 1;
                    let r = scalar(&x); // x − n
                    let e = Scalar::from(1000 + found as u64);
                    let s = Scalar::from(7u64 + found as u64);
                    let q = (ProjectivePoint::from(big_r) * s - ProjectivePoint::GENERATOR * e)
                        * r.invert().unwrap();
                    let vk = VerifyingKey::from_affine(q.to_affine()).unwrap();
                    let fast = fast_of(&vk);
                    let digest = &bytes(&e)[BYTES - <$sha as Digest>::output_size()..];
                    let sig = sig_of(&bytes(&r), &bytes(&s));
                    assert!(agree(&vk, &fast, digest, &sig), "x = {x:02x?}");
                    // x itself is not a valid r (≥ n).
                    assert!(!agree(&vk, &fast, digest, &sig_of(&x, &bytes(&s))));
                }
            }

            #[test]
            fn exceptional_sums_agree() {
                // Key Q = G (d = 1): the G and Q halves of the sum add equal or opposite
                // points. u1 = u2 = a: aG + aG (the doubling branch), R = 2aG.
                // u1 = a, u2 = 2^20 − a: the Q half's lowest signed digit is −a, so
                // aG − aG = ∞ mid-sum, then the rest. The digest e = u1·r/u2 must fit the
                // hash length (P-521's n is wider than SHA-512), so search small a.
                let vk = VerifyingKey::from_affine(AffinePoint::GENERATOR).unwrap();
                let fast = fast_of(&vk);
                let dlen = <$sha as Digest>::output_size();
                let (mut doubled, mut cancelled) = (0, 0);
                for a in 1u64..4000 {
                    if doubled >= 3 && cancelled >= 3 {
                        break;
                    }
                    for (u1, u2) in [(a, a), (a, (1 << 20) - a)] {
                        let k = Scalar::from(u1 + u2);
                        let r = <Scalar as Reduce<Uint>>::reduce_bytes(
                            &(ProjectivePoint::GENERATOR * k).to_affine().x(),
                        );
                        // u2 = r·w → w = u2/r; u1 = e·w → e = u1/w; s = 1/w.
                        let w = Scalar::from(u2) * r.invert().unwrap();
                        let e = Scalar::from(u1) * w.invert().unwrap();
                        let eb = bytes(&e);
                        if eb[..BYTES - dlen].iter().any(|&b| b != 0) {
                            continue;
                        }
                        let s = w.invert().unwrap();
                        let sig = sig_of(&bytes(&r), &bytes(&s));
                        assert!(
                            agree(&vk, &fast, &eb[BYTES - dlen..], &sig),
                            "u1 {u1}, u2 {u2}"
                        );
                        if u1 == u2 {
                            doubled += 1;
                        } else {
                            cancelled += 1;
                        }
                    }
                }
                assert!(
                    doubled >= 3 && cancelled >= 3,
                    "{doubled} doubled, {cancelled} cancelled"
                );
                // R = ∞: Q = −(e/r)·G makes u1·G + u2·Q = w·(e − e)·G.
                let e = Scalar::from(99u64);
                let r = Scalar::from(12345u64);
                let q = -(ProjectivePoint::GENERATOR * (e * r.invert().unwrap()));
                let vk = VerifyingKey::from_affine(q.to_affine()).unwrap();
                let fast = fast_of(&vk);
                for s in [Scalar::ONE, Scalar::from(3u64), -Scalar::ONE] {
                    assert!(!agree(
                        &vk,
                        &fast,
                        &bytes(&e)[BYTES - dlen..],
                        &sig_of(&bytes(&r), &bytes(&s))
                    ));
                }
            }

            #[test]
            fn key_verify_uses_the_fast_path() {
                let secret = SecretKey::from_pkcs8_pem(include_str!($key_pem)).unwrap();
                let pem = secret
                    .public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .unwrap();
                let key = Key::from_pem(&pem, None, None).unwrap();
                let input = b"eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0";
                let d = *secret.to_nonzero_scalar();
                let sig = sign_with(&d, &Scalar::from(4242u64), &digest_scalar(&digest(input)));
                assert!(key.verify(Alg::$alg, input, &sig));
                let mut bad = sig.clone();
                bad[10] ^= 1;
                assert!(!key.verify(Alg::$alg, input, &bad));
                assert!(!key.verify(Alg::$alg, input, &sig[..sig.len() - 1]));
                assert!(!key.verify(Alg::$alg, input, &vec![0u8; sig.len()]));
                // The other ECDSA algorithms do not take this key.
                assert!(!key.verify(Alg::ES256, input, &sig));
            }

            #[test]
            fn invalid_public_points_are_refused() {
                let zero = [0u8; BYTES];
                assert!($fast::new(&zero, &zero).is_none());
                let g = AffinePoint::GENERATOR.to_encoded_point(false);
                let (x, y) = (g.x().unwrap().to_vec(), g.y().unwrap().to_vec());
                assert!($fast::new(&x, &y).is_some());
                assert!($fast::new(&x, &plus(&y, 1)).is_none());
                assert!($fast::new(&p(), &y).is_none());
                assert!($fast::new(&x[1..], &y).is_none());
            }
        }
    };
}

suite!(
    p384_suite,
    p384,
    NistP384,
    P384Verifier,
    sha2::Sha384,
    ES384,
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
    "fixtures/keys/ec384.key.pem"
);

suite!(
    p521_suite,
    p521,
    NistP521,
    P521Verifier,
    sha2::Sha512,
    ES512,
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fixtures/keys/ec521.key.pem"
);
