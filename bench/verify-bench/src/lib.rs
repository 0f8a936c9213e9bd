//! Micro-benchmark of `jwt_gate::keys::Key::verify` per algorithm, compiled to
//! `wasm32-wasip1` with jwt-gate's release profile and run by a host that times it:
//! `wasm-test`'s `verify-bench` binary (wasmtime) or `v8.mjs` (node, `--no-liftoff`, as
//! Envoy runs V8). Each case is one key parsed once, as at configure time, and one valid
//! signature over a 341-byte JWS signing input; a verify includes hashing that input.
//!
//! Exports: `vb_setup() -> count` (parses keys, signs; 0 on failure), `vb_name_ptr(i)`
//! and `vb_name_len(i)` (the case's name, UTF-8 in linear memory),
//! `vb_run(i, iterations) -> successes`, which the host times, and
//! `vb_build(i, iterations) -> successes`, which builds the case's key from its source
//! again (what configuring it, or a JWKS refresh, costs per key; the P-256/384/521
//! generator tables exist once per VM and are not rebuilt).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use base64::Engine as _;
use jwt_gate::alg::Alg;
use jwt_gate::keys::Key;
use sha2::{Digest, Sha256};

struct Case {
    name: &'static str,
    alg: Alg,
    key: Key,
    /// Where `key` came from: a PEM public key or an HMAC secret.
    source: Source,
    sig: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Source {
    Pem(&'static str),
    Secret(&'static str),
}

impl Source {
    fn key(self) -> Option<Key> {
        match self {
            Source::Pem(pem) => Key::from_pem(pem, None, None).ok(),
            Source::Secret(s) => Key::hmac(s.as_bytes().to_vec(), None, None).ok(),
        }
    }
}

static CASES: OnceLock<Vec<Case>> = OnceLock::new();

/// A JWS signing input of the size the reference measurements use (341 bytes).
fn input() -> Vec<u8> {
    let mut text = b"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImJlbmNoIn0.".to_vec();
    let mut i = 0u8;
    while text.len() < 341 {
        text.push(b'A' + i % 26);
        i = i.wrapping_add(7);
    }
    text
}

/// A fixed-seed generator: PSS salts and the ES512 nonce of a benchmark signature (never
/// for anything secret).
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
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = (self.next_u64() >> 33) as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for Lcg {}

fn cases() -> Vec<Case> {
    use p256::ecdsa::signature::Signer;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::{Pkcs1v15Sign, Pss};

    let msg = input();
    let digest = Sha256::digest(&msg);
    let mut out = Vec::new();

    // HMAC: verify = recompute and compare in constant time.
    let secret = include_str!("../../../tests/fixtures/keys/hs256.secret").trim();
    let hs = {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&msg);
        mac.finalize().into_bytes().to_vec()
    };
    out.push(Case {
        name: "HS256",
        alg: Alg::HS256,
        key: Source::Secret(secret).key().unwrap(),
        source: Source::Secret(secret),
        sig: hs,
    });

    let rsa_cases: [(&str, &str, &str); 2] = [
        (
            "2048",
            include_str!("../../../tests/fixtures/keys/rsa2048.key.pem"),
            include_str!("../../../tests/fixtures/keys/rsa2048.pub.pem"),
        ),
        (
            "4096",
            include_str!("../keys/rsa4096.key.pem"),
            include_str!("../keys/rsa4096.pub.pem"),
        ),
    ];
    for (bits, private, public) in rsa_cases {
        let sk = rsa::RsaPrivateKey::from_pkcs8_pem(private).unwrap();
        let key = Key::from_pem(public, None, None).unwrap();
        let rs = sk.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap();
        let ps = sk
            .sign_with_rng(&mut Lcg(7), Pss::new::<Sha256>(), &digest)
            .unwrap();
        let (rs_name, ps_name) = if bits == "2048" {
            ("RS256", "PS256")
        } else {
            ("RS256-4096", "PS256-4096")
        };
        out.push(Case {
            name: rs_name,
            alg: Alg::RS256,
            key: key.clone(),
            source: Source::Pem(public),
            sig: rs,
        });
        out.push(Case {
            name: ps_name,
            alg: Alg::PS256,
            key,
            source: Source::Pem(public),
            sig: ps,
        });
    }

    let ec256 = p256::ecdsa::SigningKey::from_pkcs8_pem(include_str!(
        "../../../tests/fixtures/keys/ec256.key.pem"
    ))
    .unwrap();
    let sig: p256::ecdsa::Signature = ec256.sign(&msg);
    out.push(Case {
        name: "ES256",
        alg: Alg::ES256,
        key: Source::Pem(include_str!("../../../tests/fixtures/keys/ec256.pub.pem"))
            .key()
            .unwrap(),
        source: Source::Pem(include_str!("../../../tests/fixtures/keys/ec256.pub.pem")),
        sig: sig.to_bytes().to_vec(),
    });

    let ec384 = p384::ecdsa::SigningKey::from_pkcs8_pem(include_str!(
        "../../../tests/fixtures/keys/ec384.key.pem"
    ))
    .unwrap();
    let sig: p384::ecdsa::Signature = ec384.sign(&msg);
    out.push(Case {
        name: "ES384",
        alg: Alg::ES384,
        key: Source::Pem(include_str!("../../../tests/fixtures/keys/ec384.pub.pem"))
            .key()
            .unwrap(),
        source: Source::Pem(include_str!("../../../tests/fixtures/keys/ec384.pub.pem")),
        sig: sig.to_bytes().to_vec(),
    });

    let ec521 =
        p521::SecretKey::from_pkcs8_pem(include_str!("../../../tests/fixtures/keys/ec521.key.pem"))
            .unwrap();
    let ec521 = p521::ecdsa::SigningKey::from_bytes(&ec521.to_bytes()).unwrap();
    // The crate's deterministic signer needs an OS RNG; the fixed-seed one is enough for
    // a nonce here (the signature only has to verify).
    let sig: p521::ecdsa::Signature =
        p521::ecdsa::signature::RandomizedSigner::sign_with_rng(&ec521, &mut Lcg(7), &msg);
    out.push(Case {
        name: "ES512",
        alg: Alg::ES512,
        key: Source::Pem(include_str!("../../../tests/fixtures/keys/ec521.pub.pem"))
            .key()
            .unwrap(),
        source: Source::Pem(include_str!("../../../tests/fixtures/keys/ec521.pub.pem")),
        sig: sig.to_bytes().to_vec(),
    });

    // PKCS#8 Ed25519 private key: the last 32 bytes of the DER are the seed.
    let pem = include_str!("../../../tests/fixtures/keys/ed25519.key.pem");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let seed: [u8; 32] = der[der.len() - 32..].try_into().unwrap();
    let ed = ed25519_dalek::SigningKey::from_bytes(&seed);
    out.push(Case {
        name: "EdDSA",
        alg: Alg::EdDSA,
        key: Source::Pem(include_str!("../../../tests/fixtures/keys/ed25519.pub.pem"))
            .key()
            .unwrap(),
        source: Source::Pem(include_str!("../../../tests/fixtures/keys/ed25519.pub.pem")),
        sig: ed.sign(&msg).to_bytes().to_vec(),
    });
    out
}

/// Builds every case (keys parsed, signatures made and checked once). Returns how many.
#[no_mangle]
pub extern "C" fn vb_setup() -> u32 {
    let cases = CASES.get_or_init(cases);
    let msg = input();
    if cases.iter().all(|c| c.key.verify(c.alg, &msg, &c.sig)) {
        cases.len() as u32
    } else {
        0
    }
}

/// Address of case `i`'s name (UTF-8), or 0.
#[no_mangle]
pub extern "C" fn vb_name_ptr(i: u32) -> *const u8 {
    CASES
        .get()
        .and_then(|c| c.get(i as usize))
        .map_or(std::ptr::null(), |c| c.name.as_ptr())
}

/// Length of case `i`'s name.
#[no_mangle]
pub extern "C" fn vb_name_len(i: u32) -> u32 {
    CASES
        .get()
        .and_then(|c| c.get(i as usize))
        .map_or(0, |c| c.name.len() as u32)
}

/// Verifies case `i` `iterations` times; returns how many verifications succeeded.
#[no_mangle]
pub extern "C" fn vb_run(i: u32, iterations: u32) -> u32 {
    let Some(case) = CASES.get().and_then(|c| c.get(i as usize)) else {
        return 0;
    };
    let msg = input();
    let mut ok = 0;
    for _ in 0..iterations {
        if case.key.verify(
            case.alg,
            std::hint::black_box(&msg),
            std::hint::black_box(&case.sig),
        ) {
            ok += 1;
        }
    }
    ok
}

/// Builds case `i`'s key from its source `iterations` times; returns how many builds
/// succeeded.
#[no_mangle]
pub extern "C" fn vb_build(i: u32, iterations: u32) -> u32 {
    let Some(case) = CASES.get().and_then(|c| c.get(i as usize)) else {
        return 0;
    };
    let mut ok = 0;
    for _ in 0..iterations {
        if std::hint::black_box(case.source).key().is_some() {
            ok += 1;
        }
    }
    ok
}
