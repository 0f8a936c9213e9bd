use serde_json::json;

use super::*;
use crate::testing::{self, *};

const INPUT: &[u8] = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";

#[test]
fn every_algorithm_verifies_with_its_fixture_key() {
    for alg in Alg::ALL {
        let key = testing::public_key(alg, None);
        let sig = testing::sign(alg, INPUT);
        assert!(key.verify(alg, INPUT, &sig), "{alg}");
        assert!(!key.verify(alg, b"tampered", &sig), "{alg}");
        let mut flipped = sig.clone();
        flipped[3] ^= 1;
        assert!(!key.verify(alg, INPUT, &flipped), "{alg}");
    }
}

#[test]
fn a_key_never_verifies_another_family() {
    for key_alg in Alg::ALL {
        let key = testing::public_key(key_alg, None);
        for alg in Alg::ALL
            .into_iter()
            .filter(|a| a.family() != key_alg.family())
        {
            assert!(!key.usable_with(alg));
            assert!(
                !key.verify(alg, INPUT, &testing::sign(alg, INPUT)),
                "{key_alg} key, {alg} token"
            );
        }
    }
}

#[test]
fn rsa_key_never_verifies_hs256() {
    // The classic confusion: the RSA public key's PEM text used as an HMAC secret.
    let key = Key::from_pem(RSA_PUB, None, None).unwrap();
    use hmac::{Hmac, Mac};
    let forged = Hmac::<sha2::Sha256>::new_from_slice(RSA_PUB.as_bytes())
        .unwrap()
        .chain_update(INPUT)
        .finalize();
    assert!(!key.verify(Alg::HS256, INPUT, &forged.into_bytes()));
    assert_eq!(key.family(), KeyFamily::Rsa);
}

#[test]
fn bound_alg_restricts_the_key() {
    let key = Key::from_pem(RSA_PUB, Some("r1".into()), Some(Alg::RS256)).unwrap();
    assert!(key.usable_with(Alg::RS256));
    assert!(!key.usable_with(Alg::PS256));
    assert!(!key.verify(Alg::RS384, INPUT, &testing::sign(Alg::RS384, INPUT)));
    assert!(key.verify(Alg::RS256, INPUT, &testing::sign(Alg::RS256, INPUT)));
    assert_eq!((key.kid(), key.alg()), (Some("r1"), Some(Alg::RS256)));
}

#[test]
fn alg_must_fit_the_family() {
    assert!(Key::hmac(b"k".to_vec(), None, Some(Alg::RS256))
        .unwrap_err()
        .contains("does not fit"));
    assert!(Key::from_pem(RSA_PUB, None, Some(Alg::HS256)).is_err());
    assert!(Key::from_pem(EC256_PUB, None, Some(Alg::ES384)).is_err());
    assert!(Key::from_pem(ED25519_PUB, None, Some(Alg::EdDSA)).is_ok());
}

#[test]
fn empty_secret_is_rejected() {
    assert_eq!(
        Key::hmac(Vec::new(), None, None).unwrap_err(),
        "secret must not be empty"
    );
}

#[test]
fn debug_never_shows_hmac_material() {
    let key = Key::hmac(b"hunter2-very-secret".to_vec(), Some("k1".into()), None).unwrap();
    let shown = format!("{key:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("104"),
        "{shown}"
    );
    assert!(shown.contains("k1"));
}

#[test]
fn pem_forms_are_recognised() {
    assert_eq!(
        Key::from_pem(RSA_PUB, None, None).unwrap().family(),
        KeyFamily::Rsa
    );
    assert_eq!(
        Key::from_pem(RSA_PKCS1_PUB, None, None).unwrap().family(),
        KeyFamily::Rsa
    );
    assert_eq!(
        Key::from_pem(EC256_PUB, None, None).unwrap().family(),
        KeyFamily::EcP256
    );
    assert_eq!(
        Key::from_pem(EC384_PUB, None, None).unwrap().family(),
        KeyFamily::EcP384
    );
    assert_eq!(
        Key::from_pem(EC521_PUB, None, None).unwrap().family(),
        KeyFamily::EcP521
    );
    assert_eq!(
        Key::from_pem(ED25519_PUB, None, None).unwrap().family(),
        KeyFamily::Ed25519
    );
    // Whitespace around, CRLF line ends and one long base64 line are all fine.
    let crlf = format!("\n  {}  \n", RSA_PUB.replace('\n', "\r\n"));
    assert!(Key::from_pem(&crlf, None, None).is_ok());
    let body: String = EC256_PUB
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let one_line = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----");
    assert!(Key::from_pem(&one_line, None, None).is_ok());
}

#[test]
fn non_public_pem_is_rejected_with_a_clear_message() {
    let private = include_str!("../../tests/fixtures/keys/ec256.key.pem");
    let e = Key::from_pem(private, None, None).unwrap_err();
    assert!(e.contains("private key"), "{e}");
    assert!(!e.contains("MI"), "must not echo key material: {e}");
    assert_eq!(
        Key::from_pem("hello", None, None).unwrap_err(),
        "not a PEM public key"
    );
    let mismatched = RSA_PUB.replace("END PUBLIC", "END RSA PUBLIC");
    assert_eq!(
        Key::from_pem(&mismatched, None, None).unwrap_err(),
        "not a PEM public key"
    );
    let truncated: String = RSA_PUB
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    assert!(Key::from_pem(&truncated, None, None).is_err());
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
    assert!(Key::from_pem(cert, None, None)
        .unwrap_err()
        .contains("certificate"));
}

#[test]
fn small_rsa_key_is_rejected_at_load() {
    // 1024-bit modulus (RFC 7515 A.2 style small test key is 2048; build a 1024 one).
    let mut n = [0xc5; 128];
    n[127] |= 1;
    let e = pem::rsa(&n, &[1, 0, 1]).map(|_| ()).unwrap_err();
    assert!(e.contains("1024 bits is too small"), "{e}");
}

#[test]
fn ecdsa_der_signature_is_rejected() {
    let key = testing::public_key(Alg::ES256, None);
    let raw = testing::sign(Alg::ES256, INPUT);
    let sig = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    let der = sig.to_der();
    assert!(key.verify(Alg::ES256, INPUT, &raw));
    assert!(!key.verify(Alg::ES256, INPUT, der.as_bytes()));
    // Truncated or padded raw signatures are not accepted either.
    assert!(!key.verify(Alg::ES256, INPUT, &raw[..63]));
    let mut padded = raw.clone();
    padded.push(0);
    assert!(!key.verify(Alg::ES256, INPUT, &padded));
}

#[test]
fn hmac_tag_must_be_full_length() {
    let key = testing::public_key(Alg::HS256, None);
    let tag = testing::sign(Alg::HS256, INPUT);
    assert!(!key.verify(Alg::HS256, INPUT, &tag[..16]));
    assert!(!key.verify(Alg::HS256, INPUT, &[]));
}

#[test]
fn rsa_signature_of_wrong_length_or_above_modulus_is_rejected() {
    let key = testing::public_key(Alg::RS256, None);
    let sig = testing::sign(Alg::RS256, INPUT);
    let mut short = sig.clone();
    short.remove(0);
    assert!(!key.verify(Alg::RS256, INPUT, &short));
    let mut long = vec![0u8];
    long.extend_from_slice(&sig);
    assert!(!key.verify(Alg::RS256, INPUT, &long));
    assert!(!key.verify(Alg::RS256, INPUT, &[0xff; 256]));
}

fn rsa_jwk() -> serde_json::Value {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let k = rsa::RsaPublicKey::from_public_key_pem(RSA_PUB).unwrap();
    json!({"kty": "RSA", "kid": "r1", "n": crate::b64::encode_url(&k.n().to_bytes_be()),
           "e": crate::b64::encode_url(&k.e().to_bytes_be())})
}

fn ec_jwk(crv: &str, pem: &str) -> serde_json::Value {
    use p256::pkcs8::DecodePublicKey;
    let point = match crv {
        "P-256" => p256::PublicKey::from_public_key_pem(pem)
            .unwrap()
            .to_sec1_bytes()
            .to_vec(),
        "P-384" => p384::PublicKey::from_public_key_pem(pem)
            .unwrap()
            .to_sec1_bytes()
            .to_vec(),
        _ => p521::PublicKey::from_public_key_pem(pem)
            .unwrap()
            .to_sec1_bytes()
            .to_vec(),
    };
    let size = (point.len() - 1) / 2;
    json!({"kty": "EC", "crv": crv, "kid": crv, "x": crate::b64::encode_url(&point[1..=size]),
           "y": crate::b64::encode_url(&point[size + 1..])})
}

fn ed_jwk() -> serde_json::Value {
    let body: String = ED25519_PUB
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap();
    json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": crate::b64::encode_url(&der[12..])})
}

#[test]
fn jwks_keys_of_every_type_load_and_verify() {
    let set = json!({"keys": [rsa_jwk(), ec_jwk("P-256", EC256_PUB), ec_jwk("P-384", EC384_PUB),
                              ec_jwk("P-521", EC521_PUB), ed_jwk(),
                              {"kty": "oct", "kid": "h", "k": crate::b64::encode_url(HS_SECRET.trim().as_bytes())}]});
    let out = parse_jwks(&set, &Alg::ALL, true).unwrap();
    assert_eq!(out.keys.len(), 6, "{:?}", out.skipped);
    assert!(out.skipped.is_empty());
    for alg in Alg::ALL {
        let sig = testing::sign(alg, INPUT);
        assert!(out.keys.iter().any(|k| k.verify(alg, INPUT, &sig)), "{alg}");
    }
}

#[test]
fn jwks_refresh_reuses_the_material_of_unchanged_keys() {
    let every = || {
        json!({"keys": [rsa_jwk(), ec_jwk("P-256", EC256_PUB), ec_jwk("P-384", EC384_PUB),
                        ec_jwk("P-521", EC521_PUB), ed_jwk()]})
    };
    let first = parse_jwks(&every(), &Alg::ALL, true).unwrap().keys;
    let again = parse_jwks_reusing(&every(), &Alg::ALL, true, &first)
        .unwrap()
        .keys;
    assert_eq!(again.len(), 5);
    for (new, old) in again.iter().zip(&first) {
        assert!(new.shares_material_with(old), "{new:?} was built again");
    }
    // Without the previous keys nothing is shared.
    let fresh = parse_jwks(&every(), &Alg::ALL, true).unwrap().keys;
    assert!(!fresh[1].shares_material_with(&first[1]));
    for alg in [Alg::RS256, Alg::ES256, Alg::ES384, Alg::ES512, Alg::EdDSA] {
        let sig = testing::sign(alg, INPUT);
        assert!(again.iter().any(|k| k.verify(alg, INPUT, &sig)), "{alg}");
    }
}

#[test]
fn jwks_refresh_takes_kid_and_alg_from_the_new_jwk_and_rebuilds_changed_keys() {
    let old = parse_jwks(
        &json!({"keys": [ec_jwk("P-384", EC384_PUB)]}),
        &Alg::ALL,
        true,
    )
    .unwrap()
    .keys;
    // The same point under a new kid and a bound alg: shared material, new binding.
    let mut renamed = ec_jwk("P-384", EC384_PUB);
    renamed["kid"] = json!("rotated-name");
    renamed["alg"] = json!("ES384");
    let new = parse_jwks_reusing(&json!({"keys": [renamed]}), &Alg::ALL, true, &old)
        .unwrap()
        .keys;
    assert!(new[0].shares_material_with(&old[0]));
    assert_eq!(new[0].kid(), Some("rotated-name"));
    assert_eq!(new[0].alg(), Some(Alg::ES384));
    // A different point under the old kid is built from its own bytes: it verifies
    // the other key's signatures, not the old key's.
    let mut replaced = ec_jwk("P-384", EC384_PUB);
    let other = p384::SecretKey::from_slice(&[7u8; 48])
        .unwrap()
        .public_key();
    let point = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&other, false);
    replaced["x"] = json!(crate::b64::encode_url(point.x().unwrap()));
    replaced["y"] = json!(crate::b64::encode_url(point.y().unwrap()));
    let new = parse_jwks_reusing(&json!({"keys": [replaced]}), &Alg::ALL, true, &old)
        .unwrap()
        .keys;
    assert!(!new[0].shares_material_with(&old[0]));
    assert_eq!(new[0].kid(), old[0].kid());
    assert!(!new[0].verify(Alg::ES384, INPUT, &testing::sign(Alg::ES384, INPUT)));
    // A point off the curve is still refused in a refresh: its bytes match no built key.
    let mut off_curve = ec_jwk("P-384", EC384_PUB);
    off_curve["y"] = json!(crate::b64::encode_url(&[1u8; 48]));
    assert!(parse_jwks_reusing(&json!({"keys": [off_curve]}), &Alg::ALL, true, &old).is_err());
}

#[test]
fn jwks_skips_encryption_and_unsupported_keys_with_a_warning() {
    let mut enc = rsa_jwk();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc-1");
    let mut oaep = rsa_jwk();
    oaep["alg"] = json!("RSA-OAEP");
    let mut sign_only = rsa_jwk();
    sign_only["key_ops"] = json!(["sign"]);
    let x25519 = json!({"kty": "OKP", "crv": "X25519", "x": "AAAA"});
    let k256 = json!({"kty": "EC", "crv": "secp256k1", "x": "!", "y": "!"});
    let unknown_kty = json!({"kty": "PQC", "kid": "future"});
    let mut good = rsa_jwk();
    good["x5c"] = json!(["MIIB..."]);
    good["issuer"] = json!("https://example.com");
    let set = json!({"keys": [enc, oaep, sign_only, x25519, k256, unknown_kty, good]});
    let out = parse_jwks(&set, &[Alg::RS256], true).unwrap();
    assert_eq!(out.keys.len(), 1);
    assert_eq!(out.skipped.len(), 6, "{:?}", out.skipped);
    assert_eq!(
        out.skipped[0],
        r#"keys[0] (kid "enc-1") skipped: use is "enc", not "sig""#
    );
    assert!(out.skipped[1].contains("RSA-OAEP"));
    assert!(out.skipped[5].contains(r#"kid "future""#));
}

#[test]
fn jwk_alg_outside_the_allow_list_is_skipped_and_alg_binds() {
    let mut rs = rsa_jwk();
    rs["alg"] = json!("RS256");
    let mut ps = rsa_jwk();
    ps["alg"] = json!("PS256");
    let out = parse_jwks(&json!({"keys": [rs, ps]}), &[Alg::RS256, Alg::PS384], true).unwrap();
    assert_eq!(out.keys.len(), 1);
    assert_eq!(out.keys[0].alg(), Some(Alg::RS256));
    assert!(!out.keys[0].usable_with(Alg::PS384));
    assert!(out.skipped[0].contains("PS256 is not in the provider's algorithms"));
    // A key whose family no allowed algorithm uses is skipped too.
    let out = parse_jwks(&json!({"keys": [rsa_jwk(), ed_jwk()]}), &[Alg::EdDSA], true).unwrap();
    assert_eq!(out.keys.len(), 1);
    assert!(out.skipped[0].contains("RSA key"));
}

#[test]
fn malformed_jwk_is_an_error_inline_and_a_warning_when_fetched() {
    let mut bad_n = rsa_jwk();
    bad_n["n"] = json!("abc=");
    let set = json!({"keys": [rsa_jwk(), bad_n]});
    let e = parse_jwks(&set, &Alg::ALL, true).unwrap_err();
    assert_eq!(e.path, "keys[1].n");
    let out = parse_jwks(&set, &Alg::ALL, false).unwrap();
    assert_eq!(out.keys.len(), 1);
    assert!(
        out.skipped[0].starts_with(r#"keys[1] (kid "r1") skipped: keys[1].n: not valid base64url"#),
        "{:?}",
        out.skipped
    );
}

#[test]
fn ec_point_not_on_the_curve_is_malformed() {
    let mut jwk = ec_jwk("P-256", EC256_PUB);
    let mut y = crate::b64::decode_url(jwk["y"].as_str().unwrap()).unwrap();
    y[31] ^= 1;
    jwk["y"] = json!(crate::b64::encode_url(&y));
    let e = parse_jwks(&json!({"keys": [jwk]}), &Alg::ALL, true).unwrap_err();
    assert_eq!(e.to_string(), "keys[0].x: point is not on the curve");
    let mut short = ec_jwk("P-384", EC384_PUB);
    short["x"] = json!("AAAA");
    assert_eq!(
        parse_jwks(&json!({"keys": [short]}), &Alg::ALL, true)
            .unwrap_err()
            .path,
        "keys[0].x"
    );
}

#[test]
fn jwks_with_no_usable_key_is_an_error() {
    let mut enc = rsa_jwk();
    enc["use"] = json!("enc");
    let e = parse_jwks(&json!({"keys": [enc]}), &Alg::ALL, false).unwrap_err();
    assert_eq!(e.path, "keys");
    assert!(e.message.starts_with("no usable key"), "{e}");
    assert_eq!(
        parse_jwks(&json!({"keys": []}), &Alg::ALL, true)
            .unwrap_err()
            .path,
        "keys"
    );
    assert_eq!(
        parse_jwks(&json!({}), &Alg::ALL, false).unwrap_err().path,
        "keys"
    );
    assert_eq!(
        parse_jwks(&json!([]), &Alg::ALL, false).unwrap_err().path,
        ""
    );
    assert_eq!(
        parse_jwks(&json!({"keys": {}}), &Alg::ALL, false)
            .unwrap_err()
            .message,
        "must be an array"
    );
}

#[test]
fn jwk_member_types_are_checked() {
    let mut k = rsa_jwk();
    k["kid"] = json!(7);
    assert_eq!(
        parse_jwks(&json!({"keys": [k]}), &Alg::ALL, true)
            .unwrap_err()
            .path,
        "keys[0].kid"
    );
    let mut k = rsa_jwk();
    k["key_ops"] = json!("verify");
    assert_eq!(
        parse_jwks(&json!({"keys": [k]}), &Alg::ALL, true)
            .unwrap_err()
            .path,
        "keys[0].key_ops"
    );
    let mut k = rsa_jwk();
    k["alg"] = json!("ES256");
    assert_eq!(
        parse_jwks(&json!({"keys": [k]}), &Alg::ALL, true)
            .unwrap_err()
            .path,
        "keys[0].alg"
    );
    assert_eq!(
        parse_jwks(&json!({"keys": [1]}), &Alg::ALL, true)
            .unwrap_err()
            .path,
        "keys[0]"
    );
    assert_eq!(
        parse_jwks(&json!({"keys": [{"n": "AQAB"}]}), &Alg::ALL, true)
            .unwrap_err()
            .path,
        "keys[0].kty"
    );
    let mut k = rsa_jwk();
    k["key_ops"] = json!(["verify", "sign"]);
    k["use"] = json!("sig");
    assert_eq!(
        parse_jwks(&json!({"keys": [k]}), &Alg::ALL, true)
            .unwrap()
            .keys
            .len(),
        1
    );
}

#[test]
fn oct_jwk_secret_never_appears_in_warnings() {
    let set = json!({"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0LXZhbHVl", "alg": "HS256"}, rsa_jwk()]});
    let out = parse_jwks(&set, &[Alg::RS256], false).unwrap();
    assert_eq!(out.keys.len(), 1);
    assert!(out
        .skipped
        .iter()
        .all(|w| !w.contains("c2VjcmV0") && !w.contains("secret-value")));
}

#[test]
fn an_ed25519_key_replaced_under_its_kid_is_built_again() {
    let old = parse_jwks(&json!({"keys": [ed_jwk()]}), &Alg::ALL, true)
        .unwrap()
        .keys;
    let other = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]).verifying_key();
    let mut replaced = ed_jwk();
    replaced["x"] = json!(crate::b64::encode_url(other.as_bytes()));
    let new = parse_jwks_reusing(&json!({"keys": [replaced]}), &Alg::ALL, true, &old)
        .unwrap()
        .keys;
    assert!(!new[0].shares_material_with(&old[0]));
    assert_eq!(new[0].kid(), old[0].kid());
    assert!(!new[0].verify(Alg::EdDSA, INPUT, &testing::sign(Alg::EdDSA, INPUT)));
    // A key of small order is refused in a refresh too: its bytes match no built key.
    let mut weak = ed_jwk();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    weak["x"] = json!(crate::b64::encode_url(&identity));
    assert!(parse_jwks_reusing(&json!({"keys": [weak]}), &Alg::ALL, true, &old).is_err());
}

#[test]
fn a_jwk_set_gives_at_most_max_jwks_keys_usable_keys() {
    use super::jwk::MAX_JWKS_KEYS;
    let oct = |i: usize| json!({"kty": "oct", "kid": format!("k{i}"), "k": crate::b64::encode_url(format!("secret-{i}-0123456789abcdef0123456789").as_bytes())});
    let encryption =
        |i: usize| json!({"kty": "oct", "kid": format!("e{i}"), "use": "enc", "k": "AAAA"});
    // Keys that are not usable do not count: ten encryption keys, then 70 signature keys.
    let mut list: Vec<serde_json::Value> = (0..10).map(encryption).collect();
    list.extend((0..70).map(oct));
    let out = parse_jwks(&json!({"keys": list}), &Alg::ALL, true).unwrap();
    assert_eq!(out.keys.len(), MAX_JWKS_KEYS);
    assert_eq!(
        out.keys.last().unwrap().kid(),
        Some(format!("k{}", MAX_JWKS_KEYS - 1).as_str())
    );
    // One warning for all the entries left unread (besides the ten skipped keys).
    assert_eq!(out.skipped.len(), 11, "{:?}", out.skipped);
    assert_eq!(
        out.skipped.last().unwrap(),
        &format!(
            "keys[{}..79] skipped: a JWK Set is read up to its first {MAX_JWKS_KEYS} usable keys",
            10 + MAX_JWKS_KEYS
        )
    );
    // Exactly the limit: nothing is left out.
    let exact: Vec<serde_json::Value> = (0..MAX_JWKS_KEYS).map(oct).collect();
    let out = parse_jwks(&json!({"keys": exact}), &Alg::ALL, true).unwrap();
    assert_eq!((out.keys.len(), out.skipped.len()), (MAX_JWKS_KEYS, 0));
}
