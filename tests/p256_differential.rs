//! Differential test of the hand-written ES256 verifier (`crypto::p256_fast`) against the
//! `p256` crate: seeded random keys and messages, valid signatures, mutated ones, edge
//! values of `r`, `s` and the digest, and constructed signatures that reach the rare
//! paths (`x(R) ≥ n`, `R` at infinity, equal points inside the sum). Both must agree on
//! every input.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use jwt_gate::alg::Alg;
use jwt_gate::crypto::p256_fast::P256Verifier;
use jwt_gate::keys::Key;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::elliptic_curve::PrimeField;
use p256::{AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar, U256};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sha2::{Digest, Sha256};

const N: [u8; 32] = hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const P: [u8; 32] = hex32("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

/// `v + k` as a 256-bit big-endian number (wrapping).
fn plus(v: [u8; 32], k: i64) -> [u8; 32] {
    let mut out = v;
    let mut carry = k;
    for byte in out.iter_mut().rev() {
        let x = i64::from(*byte) + carry;
        *byte = x.rem_euclid(256) as u8;
        carry = x.div_euclid(256);
    }
    out
}

/// The edge values of `r` and `s`.
fn edges() -> Vec<[u8; 32]> {
    let zero = [0u8; 32];
    vec![
        zero,
        plus(zero, 1),
        plus(zero, 2),
        plus(N, -1),
        N,
        plus(N, 1),
        plus(P, -1),
        P,
        plus(P, 1),
        [0xff; 32],
    ]
}

fn sig_of(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r);
    sig[32..].copy_from_slice(s);
    sig
}

/// Both verifiers on one input; panics with the input when they disagree.
fn agree(vk: &VerifyingKey, fast: &P256Verifier, digest: &[u8; 32], sig: &[u8; 64]) -> bool {
    let want = Signature::from_slice(sig).is_ok_and(|s| vk.verify_prehash(digest, &s).is_ok());
    let got = fast.verify_prehash(digest, sig);
    assert_eq!(
        got,
        want,
        "disagreement: key {:?}, digest {digest:02x?}, sig {sig:02x?}",
        vk.to_encoded_point(false)
    );
    got
}

fn fast_of(vk: &VerifyingKey) -> P256Verifier {
    P256Verifier::from_verifying_key(vk).unwrap()
}

fn scalar(bytes: &[u8; 32]) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*bytes))
}

fn bytes(s: &Scalar) -> [u8; 32] {
    s.to_repr().into()
}

#[test]
fn random_keys_messages_and_mutations_agree() {
    let config = Config {
        cases: 48,
        ..Config::default()
    };
    let seed = [7u8; 32];
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let strategy = (
        any::<[u8; 32]>(),
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec((any::<u16>(), any::<u8>()), 16),
    );
    runner
        .run(&strategy, |(key, msg, flips)| {
            let Ok(sk) = SigningKey::from_slice(&key) else {
                return Ok(());
            };
            let vk = *sk.verifying_key();
            let fast = fast_of(&vk);
            let digest: [u8; 32] = Sha256::digest(&msg).into();
            let sig: Signature = sk.sign_prehash(&digest).unwrap();
            let sig: [u8; 64] = sig.to_bytes().into();
            prop_assert!(agree(&vk, &fast, &digest, &sig));
            // The high-s twin (r, n − s) is valid ECDSA too.
            let (r, s) = (sig[..32].try_into().unwrap(), sig[32..].try_into().unwrap());
            let high_s = bytes(&-scalar(&s));
            prop_assert!(agree(&vk, &fast, &digest, &sig_of(&r, &high_s)));
            // Single-byte mutations of the signature and of the digest.
            for &(pos, mask) in &flips {
                let mask = mask.max(1);
                let mut bad = sig;
                bad[usize::from(pos) % 64] ^= mask;
                agree(&vk, &fast, &digest, &bad);
                let mut bad_digest = digest;
                bad_digest[usize::from(pos) % 32] ^= mask;
                agree(&vk, &fast, &bad_digest, &sig);
            }
            // r and s swapped, r or s replaced by each edge value.
            agree(&vk, &fast, &digest, &sig_of(&s, &r));
            for e in edges() {
                agree(&vk, &fast, &digest, &sig_of(&e, &s));
                agree(&vk, &fast, &digest, &sig_of(&r, &e));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn edge_values_of_r_s_and_digest_agree() {
    let sk = SigningKey::from_slice(&hex32(
        "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
    ))
    .unwrap();
    let vk = *sk.verifying_key();
    let fast = fast_of(&vk);
    let digest: [u8; 32] = Sha256::digest(b"sample").into();
    let sig: [u8; 64] = PrehashSigner::<Signature>::sign_prehash(&sk, &digest)
        .unwrap()
        .to_bytes()
        .into();
    let mut values = edges();
    values.push(sig[..32].try_into().unwrap());
    values.push(sig[32..].try_into().unwrap());
    let mut digests = edges();
    digests.push(digest);
    for d in &digests {
        for r in &values {
            for s in &values {
                agree(&vk, &fast, d, &sig_of(r, s));
            }
        }
    }
    // The "psychic signature" (CVE-2022-21449): r = s = 0 with any digest.
    assert!(!fast.verify_prehash(&digest, &[0u8; 64]));
    assert!(agree(&vk, &fast, &digest, &sig));
}

/// ECDSA signature `(r, s)` with nonce `k` for key `d` over digest scalar `e`.
fn sign_with(d: &Scalar, k: &Scalar, e: &Scalar) -> [u8; 64] {
    let big_r = (ProjectivePoint::GENERATOR * k).to_affine();
    let r = <Scalar as Reduce<U256>>::reduce_bytes(&big_r.x());
    let s = k.invert().unwrap() * (*e + r * d);
    sig_of(&bytes(&r), &bytes(&s))
}

#[test]
fn digests_that_reduce_to_zero_or_wrap_agree() {
    let d = scalar(&hex32(
        "2b1c0e8a0d5e1f3f1a7e4e2d6c9b8a7f6e5d4c3b2a19080706050403020100ff",
    ));
    let vk = VerifyingKey::from_affine((ProjectivePoint::GENERATOR * d).to_affine()).unwrap();
    let fast = fast_of(&vk);
    for digest in [[0u8; 32], N, plus(N, 1), plus(N, -1), [0xff; 32]] {
        let e = scalar(&digest);
        let sig = sign_with(&d, &scalar(&plus([0; 32], 12345)), &e);
        assert!(agree(&vk, &fast, &digest, &sig));
    }
}

#[test]
fn x_of_r_at_least_n_is_accepted_via_r_plus_n() {
    // Points with x ≥ n exist (p − n ≈ 2^128); pick some and build keys for which a
    // chosen (r = x − n, s) is valid: Q = r⁻¹·(s·R − e·G).
    let mut found = 0;
    let mut x = N;
    while found < 4 {
        x = plus(x, 1);
        let mut compressed = [2u8; 33];
        compressed[1..].copy_from_slice(&x);
        let point = EncodedPoint::from_bytes(compressed).unwrap();
        let Some(big_r) = Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&point))
        else {
            continue;
        };
        found += 1;
        let r = scalar(&x); // x − n
        let e = scalar(&plus([0; 32], 1000 + found));
        let s = Scalar::from(7u64 + found as u64);
        let q = (ProjectivePoint::from(big_r) * s - ProjectivePoint::GENERATOR * e)
            * r.invert().unwrap();
        let vk = VerifyingKey::from_affine(q.to_affine()).unwrap();
        let fast = fast_of(&vk);
        let digest = bytes(&e);
        let sig = sig_of(&bytes(&r), &bytes(&s));
        assert!(agree(&vk, &fast, &digest, &sig), "x = {x:02x?}");
        // x itself is not a valid r (≥ n).
        assert!(!agree(&vk, &fast, &digest, &sig_of(&x, &bytes(&s))));
    }
}

#[test]
fn exceptional_sums_agree() {
    // Key Q = G (d = 1): the G and Q halves of the sum add equal or opposite points.
    let one = Scalar::ONE;
    let vk = VerifyingKey::from_affine(AffinePoint::GENERATOR).unwrap();
    let fast = fast_of(&vk);
    // u1 = u2 = 5: 5G + 5G (the doubling branch), R = 10G.
    // u1 = 5, u2 = 59 = 64 − 5: 5G − 5G = ∞ mid-sum, then + 64G.
    for (u1, u2) in [(5u64, 5u64), (5, 59), (1, 1), (64, 64)] {
        let k = Scalar::from(u1 + u2);
        let r = <Scalar as Reduce<U256>>::reduce_bytes(
            &(ProjectivePoint::GENERATOR * k).to_affine().x(),
        );
        // u2 = r·w → w = u2/r; u1 = e·w → e = u1/w; s = 1/w.
        let w = Scalar::from(u2) * r.invert().unwrap();
        let e = Scalar::from(u1) * w.invert().unwrap();
        let s = w.invert().unwrap();
        let sig = sig_of(&bytes(&r), &bytes(&s));
        assert!(agree(&vk, &fast, &bytes(&e), &sig), "u1 = {u1}, u2 = {u2}");
        assert_eq!(sign_with(&one, &k, &e), sig);
    }
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
            &bytes(&e),
            &sig_of(&bytes(&r), &bytes(&s))
        ));
    }
}

#[test]
fn key_verify_uses_the_fast_path() {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let sk = SigningKey::from_slice(&[0x42; 32]).unwrap();
    let pem = sk
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let key = Key::from_pem(&pem, None, None).unwrap();
    let input = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0";
    let sig: Signature = sk.sign(input);
    let sig = sig.to_bytes();
    assert!(key.verify(Alg::ES256, input, &sig));
    let mut bad = sig;
    bad[10] ^= 1;
    assert!(!key.verify(Alg::ES256, input, &bad));
    assert!(!key.verify(Alg::ES256, input, &sig[..63]));
    assert!(!key.verify(Alg::ES256, input, &[0u8; 64]));
}

#[test]
fn invalid_public_points_are_refused() {
    assert!(P256Verifier::new(&[0; 32], &[0; 32]).is_none());
    let g = AffinePoint::GENERATOR.to_encoded_point(false);
    let (x, y): ([u8; 32], [u8; 32]) = (
        g.x().unwrap()[..].try_into().unwrap(),
        g.y().unwrap()[..].try_into().unwrap(),
    );
    assert!(P256Verifier::new(&x, &y).is_some());
    assert!(P256Verifier::new(&x, &plus(y, 1)).is_none());
    assert!(P256Verifier::new(&P, &y).is_none());
}
