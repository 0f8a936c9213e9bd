//! Differential test of the table-based Ed25519 verifier (`crypto::ed25519_fast`) against
//! `ed25519_dalek`'s `verify_strict`, whose acceptance rules it claims: seeded random keys
//! and messages, valid signatures, mutated ones, non-canonical `s` (`s + ℓ`), every
//! small-order `R` and `y ≥ p` encodings, keys of small and of mixed order, and
//! constructed signatures under mixed-order keys that only the cofactorless equation
//! accepts. Both must agree on every input.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use jwt_gate::crypto::ed25519_fast::Ed25519Verifier;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sha2::{Digest, Sha512};

/// ℓ, the order of the base point, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Both verifiers' answers must be equal; returns that answer.
fn agree(vk: &VerifyingKey, fast: &Ed25519Verifier, msg: &[u8], sig: &[u8; 64]) -> bool {
    let reference = vk.verify_strict(msg, &Signature::from_bytes(sig)).is_ok();
    let ours = fast.verify(msg, sig);
    assert_eq!(
        ours,
        reference,
        "key {:02x?} sig {:02x?} msg {:02x?}",
        vk.as_bytes(),
        sig,
        msg
    );
    ours
}

/// RFC 8032's challenge `k = SHA-512(R ‖ A ‖ M) mod ℓ`, for constructed signatures.
fn challenge(r: &[u8; 32], vk: &VerifyingKey, msg: &[u8]) -> Scalar {
    Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(vk.as_bytes())
            .chain_update(msg),
    )
}

fn sig_of(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r);
    sig[32..].copy_from_slice(s);
    sig
}

fn halves(sig: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    (sig[..32].try_into().unwrap(), sig[32..].try_into().unwrap())
}

/// `a + b` as 256-bit little-endian numbers (wrapping).
fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let x = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = x as u8;
        carry = x >> 8;
    }
    out
}

/// Encodings of the eight small-order points, each with both sign bits.
fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for t in EIGHT_TORSION {
        let e = t.compress().to_bytes();
        out.push(e);
        let mut flipped = e;
        flipped[31] ^= 0x80;
        out.push(flipped);
    }
    out
}

/// Encodings with `y ≥ p` (`p + 0 … p + 18`), each with both sign bits: some decode.
fn non_canonical_y_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for low in 0xedu8..=0xff {
        for sign in [0x7f, 0xff] {
            let mut e = [0xffu8; 32];
            e[0] = low;
            e[31] = sign;
            out.push(e);
        }
    }
    out
}

#[test]
fn random_keys_messages_and_mutations_agree() {
    let config = Config {
        cases: 64,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[25u8; 32]),
    );
    let strategy = (
        any::<[u8; 32]>(),
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec((any::<u8>(), any::<u8>()), 12),
    );
    runner
        .run(&strategy, |(seed, msg, flips)| {
            let sk = SigningKey::from_bytes(&seed);
            let vk = sk.verifying_key();
            let fast = Ed25519Verifier::new(&vk);
            let sig = sk.sign(&msg).to_bytes();
            prop_assert!(agree(&vk, &fast, &msg, &sig), "a valid signature");
            let (r, s) = halves(&sig);
            // The same s + ℓ: the same equation, refused as non-canonical by both.
            prop_assert!(!agree(&vk, &fast, &msg, &sig_of(&r, &add_le(&s, &L))));
            for &(pos, mask) in &flips {
                let mask = mask.max(1);
                let mut bad = sig;
                bad[usize::from(pos) % 64] ^= mask;
                agree(&vk, &fast, &msg, &bad);
                if !msg.is_empty() {
                    let mut bad_msg = msg.clone();
                    let at = usize::from(pos) % bad_msg.len();
                    bad_msg[at] ^= mask;
                    agree(&vk, &fast, &bad_msg, &sig);
                }
            }
            for e in small_order_encodings()
                .into_iter()
                .chain(non_canonical_y_encodings())
            {
                agree(&vk, &fast, &msg, &sig_of(&e, &s));
            }
            // Another key's valid signature, and R and s swapped.
            let other = SigningKey::from_bytes(&Sha512::digest(seed)[..32].try_into().unwrap());
            agree(&vk, &fast, &msg, &other.sign(&msg).to_bytes());
            agree(&vk, &fast, &msg, &sig_of(&s, &r));
            Ok(())
        })
        .unwrap();
}

#[test]
fn edge_values_of_s_agree() {
    let sk = SigningKey::from_bytes(&[9u8; 32]);
    let vk = sk.verifying_key();
    let fast = Ed25519Verifier::new(&vk);
    let msg = b"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0";
    let (r, s) = halves(&sk.sign(msg).to_bytes());
    let one = {
        let mut o = [0u8; 32];
        o[0] = 1;
        o
    };
    let mut l_minus_one = L;
    l_minus_one[0] -= 1;
    let mut top_bits = s;
    top_bits[31] |= 0xe0;
    for edge in [
        [0u8; 32],
        one,
        l_minus_one,
        L,
        add_le(&L, &one),
        add_le(&s, &L),
        top_bits,
        [0xff; 32],
    ] {
        agree(&vk, &fast, msg, &sig_of(&r, &edge));
    }
    assert!(agree(&vk, &fast, msg, &sig_of(&r, &s)));
}

/// A key `A = aB + T` with a torsion part `T` of order 8 is not of small order, so
/// `verify_strict` uses it; a signature `(R, s)` with `R = rB + T_R` verifies under the
/// cofactorless equation exactly when `T_R = −[k]T`. Found by trying `T_R` values, these
/// signatures (and the near misses) reach the torsion arithmetic of both verifiers.
#[test]
fn mixed_order_keys_and_signatures_agree() {
    let torsion = EIGHT_TORSION[1]; // order 8
    let mut accepted = 0;
    let mut refused = 0;
    for i in 0u8..24 {
        let a = Scalar::from_bytes_mod_order([i.wrapping_mul(37).wrapping_add(5); 32]);
        let big_a = ED25519_BASEPOINT_POINT * a + torsion;
        let vk = VerifyingKey::from_bytes(&big_a.compress().to_bytes()).unwrap();
        assert!(!big_a.is_small_order() && !big_a.is_torsion_free());
        let fast = Ed25519Verifier::new(&vk);
        let msg = [i; 40];
        let r = Scalar::from_bytes_mod_order([i.wrapping_add(101); 32]);
        for t_r in EIGHT_TORSION {
            let big_r = ED25519_BASEPOINT_POINT * r + t_r;
            if big_r.is_small_order() {
                continue;
            }
            let r_bytes = big_r.compress().to_bytes();
            let k = challenge(&r_bytes, &vk, &msg);
            let s = r + k * a;
            let sig = sig_of(&r_bytes, &s.to_bytes());
            let expected = t_r + torsion * k == EdwardsPoint::default();
            assert_eq!(agree(&vk, &fast, &msg, &sig), expected, "key {i}");
            if expected {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
    }
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn small_order_keys_verify_nothing() {
    for t in EIGHT_TORSION {
        let Ok(vk) = VerifyingKey::from_bytes(&t.compress().to_bytes()) else {
            continue;
        };
        let fast = Ed25519Verifier::new(&vk);
        let msg = b"anything";
        // R = [s]B satisfies the equation whenever [k]A = 0; both refuse it all the same.
        let s = Scalar::from_bytes_mod_order([3u8; 32]);
        let r = (ED25519_BASEPOINT_POINT * s).compress().to_bytes();
        assert!(!agree(&vk, &fast, msg, &sig_of(&r, &s.to_bytes())));
        for e in small_order_encodings() {
            agree(&vk, &fast, msg, &sig_of(&e, &[0u8; 32]));
        }
    }
}

#[test]
fn r_encodings_that_do_not_decode_agree() {
    let sk = SigningKey::from_bytes(&[4u8; 32]);
    let vk = sk.verifying_key();
    let fast = Ed25519Verifier::new(&vk);
    let msg = b"m";
    let (_, s) = halves(&sk.sign(msg).to_bytes());
    let mut off_curve = 0;
    for y in 0u8..=255 {
        let mut e = [0u8; 32];
        e[0] = y;
        e[7] = y.wrapping_mul(3);
        if CompressedEdwardsY(e).decompress().is_none() {
            off_curve += 1;
        }
        agree(&vk, &fast, msg, &sig_of(&e, &s));
    }
    assert!(off_curve > 0);
}

/// `R` of small order that satisfies the cofactorless equation: the identity with
/// `s = k·a` under `A = aB`, and under a mixed-order key the torsion point `−[k]T`.
/// `verify_strict` refuses a small-order `R` whatever the equation says; so must we.
#[test]
fn a_small_order_r_that_satisfies_the_equation_is_refused() {
    let torsion = EIGHT_TORSION[1];
    for i in 0u8..8 {
        let a = Scalar::from_bytes_mod_order([i.wrapping_mul(29).wrapping_add(3); 32]);
        for t_a in [EdwardsPoint::default(), torsion] {
            let vk = VerifyingKey::from_bytes(
                &(ED25519_BASEPOINT_POINT * a + t_a).compress().to_bytes(),
            )
            .unwrap();
            let fast = Ed25519Verifier::new(&vk);
            let mut satisfied = 0;
            // Each message gives each R its own k; a few suffice for some R = −[k]T_A.
            for nonce in 0u8..32 {
                let msg = [i, nonce];
                for t_r in EIGHT_TORSION {
                    let r_bytes = t_r.compress().to_bytes();
                    let k = challenge(&r_bytes, &vk, &msg);
                    // [s]B − [k]A = −[k]T_A with s = k·a: the equation holds when that is R.
                    let sig = sig_of(&r_bytes, &(k * a).to_bytes());
                    satisfied += usize::from(-(t_a * k) == t_r);
                    assert!(!agree(&vk, &fast, &msg, &sig), "key {i}, R {r_bytes:02x?}");
                }
            }
            assert!(
                satisfied > 0,
                "key {i}: no small-order R satisfied the equation"
            );
        }
    }
}
