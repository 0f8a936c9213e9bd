//! Differential tests of jwt-gate's RSA verification (`crypto::rsa_fast`, Montgomery
//! arithmetic written for wasm) against the `rsa` crate, natively: random keys of 2048,
//! 3072 and 4096 bits (and one with `e = 3` for the general exponent path), random
//! messages, valid signatures, mutated signatures, edge values (0, 1, n−1, n, all 0xff)
//! and encoded messages mutated before being "signed" with the raw private operation.
//! Both implementations must agree on every input, through `Key::verify` too.

// A test crate: helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::OnceLock;

use jwt_gate::alg::Alg;
use jwt_gate::crypto::rsa_fast::RsaVerifier;
use jwt_gate::crypto::Sha;
use jwt_gate::keys::Key;
use proptest::prelude::*;
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// A fixed-seed generator for key generation and PSS salts (tests only).
struct Lcg(u64);

impl rsa::rand_core::RngCore for Lcg {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 ^ (self.0 >> 29)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = (self.next_u64() >> 40) as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for Lcg {}

struct TestKey {
    private: RsaPrivateKey,
    public: RsaPublicKey,
    fast: RsaVerifier,
    key: Key,
}

fn keys() -> &'static [TestKey] {
    static KEYS: OnceLock<Vec<TestKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = Lcg(2024);
        [(2048, 65537u32), (3072, 65537), (4096, 65537), (2048, 3)]
            .into_iter()
            .map(|(bits, e)| {
                let private =
                    RsaPrivateKey::new_with_exp(&mut rng, bits, &BigUint::from(e)).unwrap();
                let public = private.to_public_key();
                let fast =
                    RsaVerifier::new(&public.n().to_bytes_be(), &public.e().to_bytes_be()).unwrap();
                let pem = public.to_public_key_pem(Default::default()).unwrap();
                let key = Key::from_pem(&pem, None, None).unwrap();
                TestKey {
                    private,
                    public,
                    fast,
                    key,
                }
            })
            .collect()
    })
}

const ALGS: [(Alg, Sha, bool); 6] = [
    (Alg::RS256, Sha::S256, false),
    (Alg::RS384, Sha::S384, false),
    (Alg::RS512, Sha::S512, false),
    (Alg::PS256, Sha::S256, true),
    (Alg::PS384, Sha::S384, true),
    (Alg::PS512, Sha::S512, true),
];

fn digest(sha: Sha, msg: &[u8]) -> Vec<u8> {
    match sha {
        Sha::S256 => Sha256::digest(msg).to_vec(),
        Sha::S384 => Sha384::digest(msg).to_vec(),
        Sha::S512 => Sha512::digest(msg).to_vec(),
    }
}

/// The previous implementation (the `rsa` crate, with jwt-gate's length and `s < n`
/// rules): the reference.
fn reference(key: &RsaPublicKey, sha: Sha, pss: bool, msg: &[u8], sig: &[u8]) -> bool {
    let n = key.n().to_bytes_be();
    if sig.len() != n.len() || sig >= n.as_slice() {
        return false;
    }
    let hashed = digest(sha, msg);
    match (pss, sha) {
        (false, Sha::S256) => key.verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, sig),
        (false, Sha::S384) => key.verify(Pkcs1v15Sign::new::<Sha384>(), &hashed, sig),
        (false, Sha::S512) => key.verify(Pkcs1v15Sign::new::<Sha512>(), &hashed, sig),
        (true, Sha::S256) => key.verify(Pss::new::<Sha256>(), &hashed, sig),
        (true, Sha::S384) => key.verify(Pss::new::<Sha384>(), &hashed, sig),
        (true, Sha::S512) => key.verify(Pss::new::<Sha512>(), &hashed, sig),
    }
    .is_ok()
}

fn sign(k: &TestKey, sha: Sha, pss: bool, msg: &[u8], seed: u64, salt: Option<usize>) -> Vec<u8> {
    let hashed = digest(sha, msg);
    let mut rng = Lcg(seed);
    let p = &k.private;
    let salt = |d: usize| salt.unwrap_or(d);
    match (pss, sha) {
        (false, Sha::S256) => p.sign(Pkcs1v15Sign::new::<Sha256>(), &hashed),
        (false, Sha::S384) => p.sign(Pkcs1v15Sign::new::<Sha384>(), &hashed),
        (false, Sha::S512) => p.sign(Pkcs1v15Sign::new::<Sha512>(), &hashed),
        (true, Sha::S256) => {
            p.sign_with_rng(&mut rng, Pss::new_with_salt::<Sha256>(salt(32)), &hashed)
        }
        (true, Sha::S384) => {
            p.sign_with_rng(&mut rng, Pss::new_with_salt::<Sha384>(salt(48)), &hashed)
        }
        (true, Sha::S512) => {
            p.sign_with_rng(&mut rng, Pss::new_with_salt::<Sha512>(salt(64)), &hashed)
        }
    }
    .unwrap()
}

/// The raw private operation `em^d mod n`, left-padded to the modulus length.
fn raw_sign(k: &TestKey, em: &[u8]) -> Vec<u8> {
    let m = BigUint::from_bytes_be(em) % k.public.n();
    let s = m.modpow(k.private.d(), k.public.n()).to_bytes_be();
    let mut out = vec![0u8; k.public.size() - s.len()];
    out.extend_from_slice(&s);
    out
}

/// Both implementations, directly and through `Key::verify`, must agree.
fn agree(k: &TestKey, alg_index: usize, msg: &[u8], sig: &[u8]) -> bool {
    let (alg, sha, pss) = ALGS[alg_index];
    let want = reference(&k.public, sha, pss, msg, sig);
    let fast = k.fast.verify(sha, pss, msg, sig);
    let through_key = k.key.verify(alg, msg, sig);
    assert_eq!(
        (fast, through_key),
        (want, want),
        "{alg} with a {}-bit key, e = {}: rsa_fast / Key::verify disagree with the rsa crate \
         (msg {msg:02x?}, sig {sig:02x?})",
        k.fast.bits(),
        k.fast.exponent()
    );
    want
}

#[test]
fn valid_signatures_verify_for_every_key_and_algorithm() {
    for k in keys() {
        for (i, (_, sha, pss)) in ALGS.into_iter().enumerate() {
            let msg = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0";
            let sig = sign(k, sha, pss, msg, 1, None);
            assert!(agree(k, i, msg, &sig));
            assert!(!agree(k, i, b"another message", &sig));
            // Another hash of the same family, or the other padding, never verifies.
            for (j, _) in ALGS.iter().enumerate().filter(|(j, _)| *j != i) {
                assert!(!agree(k, j, msg, &sig));
            }
        }
    }
}

#[test]
fn edge_signatures_agree() {
    for k in keys() {
        let n = k.public.n().to_bytes_be();
        let len = n.len();
        let int = |v: &BigUint| {
            let b = v.to_bytes_be();
            let mut out = vec![0u8; len.saturating_sub(b.len())];
            out.extend_from_slice(&b);
            out
        };
        let big_n = k.public.n().clone();
        let edges = [
            vec![0u8; len],
            int(&BigUint::from(1u8)),
            int(&(&big_n - 1u8)),
            int(&(&big_n - 2u8)),
            n.clone(),
            int(&(&big_n + 1u8)),
            vec![0xff; len],
            vec![],
            vec![0u8; len - 1],
            vec![0u8; len + 1],
            vec![0x01; len + 1],
        ];
        for sig in &edges {
            for i in 0..ALGS.len() {
                assert!(!agree(k, i, b"m", sig));
            }
        }
    }
}

#[test]
fn pss_with_another_salt_length_and_unprefixed_pkcs1_are_rejected() {
    for k in keys() {
        let msg = b"payload";
        for (i, (_, sha, _)) in ALGS.into_iter().enumerate().skip(3) {
            for salt in [0, 20, 31, 33] {
                let sig = sign(k, sha, true, msg, 2, Some(salt));
                assert!(!agree(k, i, msg, &sig), "salt {salt}");
            }
        }
        // A bare digest without DigestInfo.
        let sig = k
            .private
            .sign(Pkcs1v15Sign::new_unprefixed(), &Sha256::digest(msg))
            .unwrap();
        assert!(!agree(k, 0, msg, &sig));
    }
}

#[test]
fn public_operation_matches_modpow() {
    let mut rng = Lcg(99);
    for k in keys() {
        for _ in 0..8 {
            let mut bytes = vec![0u8; k.public.size()];
            rsa::rand_core::RngCore::fill_bytes(&mut rng, &mut bytes);
            let s = BigUint::from_bytes_be(&bytes) % k.public.n();
            let sig = {
                let b = s.to_bytes_be();
                let mut out = vec![0u8; k.public.size() - b.len()];
                out.extend_from_slice(&b);
                out
            };
            let want = s.modpow(k.public.e(), k.public.n()).to_bytes_be();
            let got = k.fast.public_op(&sig).unwrap();
            let skip = got.len() - want.len();
            assert!(got[..skip].iter().all(|&b| b == 0));
            assert_eq!(&got[skip..], want.as_slice());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Valid signatures over random messages, then one mutation of the signature.
    #[test]
    fn random_messages_and_mutated_signatures_agree(
        key in 0usize..4,
        alg in 0usize..6,
        msg in proptest::collection::vec(any::<u8>(), 0..400),
        seed in any::<u64>(),
        mutation in 0u8..6,
        at in any::<usize>(),
        bit in 0u8..8,
    ) {
        let k = &keys()[key];
        let (_, sha, pss) = ALGS[alg];
        let mut sig = sign(k, sha, pss, &msg, seed, None);
        prop_assert!(agree(k, alg, &msg, &sig));
        let len = sig.len();
        match mutation {
            0 => sig[at % len] ^= 1 << bit,
            1 => sig[0] ^= 0x80 >> bit,
            2 => sig[len - 1] ^= 1 << bit,
            3 => { sig.remove(at % len); }
            4 => sig.insert(at % (len + 1), 0),
            _ => sig = raw_sign(k, &k.fast.public_op(&sig).unwrap()),
        }
        let valid = agree(k, alg, &msg, &sig);
        prop_assert_eq!(valid, mutation == 5);
    }

    /// Encoded messages mutated before the raw private operation: every check of the
    /// encodings (leading bytes, padding, DigestInfo, trailer, DB, salt, H) is reached.
    #[test]
    fn mutated_encodings_agree(
        key in 0usize..4,
        alg in 0usize..6,
        msg in proptest::collection::vec(any::<u8>(), 0..64),
        at in any::<usize>(),
        bit in 0u8..8,
        region in 0u8..4,
    ) {
        let k = &keys()[key];
        let (_, sha, pss) = ALGS[alg];
        let sig = sign(k, sha, pss, &msg, 3, None);
        let mut em = k.fast.public_op(&sig).unwrap();
        let len = em.len();
        // Bias towards the ends, where the structure is.
        let i = match region {
            0 => at % 4,
            1 => len - 1 - at % 80,
            2 => len - 1,
            _ => at % len,
        };
        em[i] ^= 1 << bit;
        let forged = raw_sign(k, &em);
        prop_assert!(!agree(k, alg, &msg, &forged) || forged == sig);
    }
}
