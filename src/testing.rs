//! Test-only helpers: sign with the fixture keys in `tests/fixtures/keys` and build
//! tokens, so unit tests of `keys` and `jws` exercise real signatures.

use base64::Engine as _;
use p256::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::alg::Alg;
use crate::b64;
use crate::keys::Key;

pub(crate) const HS_SECRET: &str = include_str!("../tests/fixtures/keys/hs256.secret");
pub(crate) const RSA_PUB: &str = include_str!("../tests/fixtures/keys/rsa2048.pub.pem");
pub(crate) const RSA_PKCS1_PUB: &str = include_str!("../tests/fixtures/keys/rsa2048.pkcs1.pub.pem");
pub(crate) const RSA_OTHER_PUB: &str = include_str!("../tests/fixtures/keys/rsa2048-other.pub.pem");
pub(crate) const EC256_PUB: &str = include_str!("../tests/fixtures/keys/ec256.pub.pem");
pub(crate) const EC384_PUB: &str = include_str!("../tests/fixtures/keys/ec384.pub.pem");
pub(crate) const EC521_PUB: &str = include_str!("../tests/fixtures/keys/ec521.pub.pem");
pub(crate) const ED25519_PUB: &str = include_str!("../tests/fixtures/keys/ed25519.pub.pem");
const RSA_KEY: &str = include_str!("../tests/fixtures/keys/rsa2048.key.pem");
const EC256_KEY: &str = include_str!("../tests/fixtures/keys/ec256.key.pem");
const EC384_KEY: &str = include_str!("../tests/fixtures/keys/ec384.key.pem");
const EC521_KEY: &str = include_str!("../tests/fixtures/keys/ec521.key.pem");
const ED25519_KEY: &str = include_str!("../tests/fixtures/keys/ed25519.key.pem");

/// The fixture public key (or secret) for `alg`'s family, not bound to an alg.
pub(crate) fn public_key(alg: Alg, kid: Option<&str>) -> Key {
    let kid = kid.map(str::to_string);
    match alg {
        Alg::HS256 | Alg::HS384 | Alg::HS512 => {
            Key::hmac(HS_SECRET.trim().as_bytes().to_vec(), kid, None)
        }
        Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
            Key::from_pem(RSA_PUB, kid, None)
        }
        Alg::ES256 => Key::from_pem(EC256_PUB, kid, None),
        Alg::ES384 => Key::from_pem(EC384_PUB, kid, None),
        Alg::ES512 => Key::from_pem(EC521_PUB, kid, None),
        Alg::EdDSA => Key::from_pem(ED25519_PUB, kid, None),
    }
    .unwrap()
}

/// A deterministic "random" source for PSS salts and ECDSA-free tests only.
struct TestRng(u64);

impl rsa::rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
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

impl rsa::rand_core::CryptoRng for TestRng {}

/// Signs `input` with the fixture private key for `alg`.
pub(crate) fn sign(alg: Alg, input: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    use p256::ecdsa::signature::Signer;
    let secret = HS_SECRET.trim().as_bytes();
    let rsa = || RsaPrivateKey::from_pkcs8_pem(RSA_KEY).unwrap();
    let mut rng = TestRng(7);
    match alg {
        Alg::HS256 => Hmac::<Sha256>::new_from_slice(secret)
            .unwrap()
            .chain_update(input)
            .finalize()
            .into_bytes()
            .to_vec(),
        Alg::HS384 => Hmac::<Sha384>::new_from_slice(secret)
            .unwrap()
            .chain_update(input)
            .finalize()
            .into_bytes()
            .to_vec(),
        Alg::HS512 => Hmac::<Sha512>::new_from_slice(secret)
            .unwrap()
            .chain_update(input)
            .finalize()
            .into_bytes()
            .to_vec(),
        Alg::RS256 => rsa()
            .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(input))
            .unwrap(),
        Alg::RS384 => rsa()
            .sign(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(input))
            .unwrap(),
        Alg::RS512 => rsa()
            .sign(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(input))
            .unwrap(),
        Alg::PS256 => rsa()
            .sign_with_rng(&mut rng, Pss::new::<Sha256>(), &Sha256::digest(input))
            .unwrap(),
        Alg::PS384 => rsa()
            .sign_with_rng(&mut rng, Pss::new::<Sha384>(), &Sha384::digest(input))
            .unwrap(),
        Alg::PS512 => rsa()
            .sign_with_rng(&mut rng, Pss::new::<Sha512>(), &Sha512::digest(input))
            .unwrap(),
        Alg::ES256 => {
            let key = p256::ecdsa::SigningKey::from_pkcs8_pem(EC256_KEY).unwrap();
            let sig: p256::ecdsa::Signature = key.sign(input);
            sig.to_bytes().to_vec()
        }
        Alg::ES384 => {
            let key = p384::ecdsa::SigningKey::from_pkcs8_pem(EC384_KEY).unwrap();
            let sig: p384::ecdsa::Signature = key.sign(input);
            sig.to_bytes().to_vec()
        }
        Alg::ES512 => {
            let secret = p521::SecretKey::from_pkcs8_pem(EC521_KEY).unwrap();
            let key = p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).unwrap();
            let sig: p521::ecdsa::Signature =
                p521::ecdsa::signature::RandomizedSigner::sign_with_rng(&key, &mut rng, input);
            sig.to_bytes().to_vec()
        }
        Alg::EdDSA => {
            let body: String = ED25519_KEY
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap();
            let seed: [u8; 32] = der[der.len() - 32..].try_into().unwrap();
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            ed25519_dalek::Signer::sign(&key, input).to_bytes().to_vec()
        }
    }
}

/// `header.payload.signature` with the given JSON texts, signed with the fixture key.
pub(crate) fn token(alg: Alg, header_json: &str, payload_json: &str) -> String {
    let input = format!(
        "{}.{}",
        b64::encode_url(header_json.as_bytes()),
        b64::encode_url(payload_json.as_bytes())
    );
    let sig = sign(alg, input.as_bytes());
    format!("{input}.{}", b64::encode_url(&sig))
}

/// A token with header `{"alg":..,"typ":"JWT"}` (plus `kid` if given).
pub(crate) fn simple_token(alg: Alg, kid: Option<&str>) -> String {
    let header = match kid {
        Some(kid) => format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#),
        None => format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
    };
    token(alg, &header, r#"{"sub":"alice","exp":2000000000}"#)
}
