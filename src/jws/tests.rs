use super::*;
use crate::testing::{self, simple_token, token};

fn limits() -> Limits {
    Limits::default()
}

fn keys() -> Vec<Key> {
    Alg::ALL
        .iter()
        .map(|a| testing::public_key(*a, None))
        .collect()
}

fn raw(header: &str, payload: &str, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode_url(header.as_bytes()),
        b64::encode_url(payload.as_bytes()),
        b64::encode_url(sig)
    )
}

#[test]
fn valid_token_of_every_algorithm_verifies() {
    let keys = keys();
    for alg in Alg::ALL {
        let t = simple_token(alg, None);
        let jws = parse(&t, &limits()).unwrap();
        assert_eq!(jws.header().alg, alg);
        assert_eq!(jws.header().typ.as_deref(), Some("JWT"));
        let key = jws.verify(&keys, &Alg::ALL).unwrap();
        assert_eq!(key.family(), alg.family());
        assert_eq!(jws.payload(&limits()).unwrap()["sub"], "alice");
        assert_eq!(jws.payload_segment(), t.split('.').nth(1).unwrap());
    }
}

#[test]
fn token_over_the_size_limit_is_too_large() {
    let t = simple_token(Alg::HS256, None);
    let tight = Limits {
        max_token_bytes: t.len() - 1,
        ..limits()
    };
    assert_eq!(parse(&t, &tight).unwrap_err(), AuthError::TooLarge);
    assert!(parse(
        &t,
        &Limits {
            max_token_bytes: t.len(),
            ..limits()
        }
    )
    .is_ok());
}

#[test]
fn segment_count_must_be_exactly_three() {
    let t = simple_token(Alg::HS256, None);
    for bad in [
        String::new(),
        ".".into(),
        t.replacen('.', "", 1),
        format!("{t}."),
        format!("{t}.x"),
        format!(".{t}"),
        t.replacen('.', "..", 1),
    ] {
        assert_eq!(
            parse(&bad, &limits()).unwrap_err(),
            AuthError::Malformed(NOT_THREE),
            "{bad:?}"
        );
    }
}

/// The signature is decoded into a fixed buffer as long as the longest key's (RSA-4096):
/// one byte more is malformed, not a panic and not an overflow; exactly that long
/// reaches the keys (and fails there).
#[test]
fn signature_longer_than_any_key_is_malformed() {
    let header = r#"{"alg":"RS256"}"#;
    let payload = r#"{"sub":"u"}"#;
    let too_long = raw(header, payload, &[7u8; MAX_SIGNATURE_BYTES + 1]);
    assert_eq!(
        parse(&too_long, &limits()).unwrap_err(),
        AuthError::Malformed(NOT_THREE)
    );
    let longest = raw(header, payload, &[7u8; MAX_SIGNATURE_BYTES]);
    let jws = parse(&longest, &limits()).unwrap();
    assert_eq!(jws.signature.as_slice().len(), MAX_SIGNATURE_BYTES);
    assert_eq!(
        jws.verify(&keys(), &[Alg::RS256]).err(),
        Some(AuthError::BadSignature)
    );
}

#[test]
fn padding_whitespace_and_standard_alphabet_are_malformed() {
    let t = simple_token(Alg::HS256, None);
    let (h, rest) = t.split_once('.').unwrap();
    for bad in [
        format!("{h}=.{rest}"),
        format!("{t}="),
        format!(" {t}"),
        format!("{t}\n"),
        t.replace('-', "+").replace('_', "/"),
    ] {
        if bad == t {
            continue;
        }
        assert!(
            matches!(parse(&bad, &limits()), Err(AuthError::Malformed(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn duplicate_header_key_is_malformed() {
    let t = raw(r#"{"alg":"HS256","alg":"none"}"#, "{}", b"x");
    assert_eq!(
        parse(&t, &limits()).unwrap_err(),
        AuthError::Malformed(DUPLICATE)
    );
    let t = raw(r#"{"alg":"HS256","kid":"a","kid":"b"}"#, "{}", b"x");
    assert_eq!(
        parse(&t, &limits()).unwrap_err(),
        AuthError::Malformed(DUPLICATE)
    );
}

#[test]
fn duplicate_payload_key_is_malformed_even_after_a_valid_signature() {
    let t = token(
        Alg::HS256,
        r#"{"alg":"HS256"}"#,
        r#"{"sub":"alice","sub":"admin"}"#,
    );
    let jws = parse(&t, &limits()).unwrap();
    assert!(jws.verify(&keys(), &Alg::ALL).is_ok());
    assert_eq!(
        jws.payload(&limits()).unwrap_err(),
        AuthError::Malformed(DUPLICATE)
    );
}

#[test]
fn header_must_be_a_json_object() {
    assert_eq!(
        parse(&raw("[]", "{}", b"x"), &limits()).unwrap_err(),
        AuthError::Malformed(HEADER_NOT_OBJECT)
    );
    assert_eq!(
        parse(&raw("{", "{}", b"x"), &limits()).unwrap_err(),
        AuthError::Malformed(BAD_HEADER_JSON)
    );
    assert_eq!(
        parse(&raw("", "{}", b"x"), &limits()).unwrap_err(),
        AuthError::Malformed(BAD_HEADER_JSON)
    );
}

#[test]
fn missing_unknown_and_none_alg_are_not_allowed() {
    for h in [
        r#"{}"#,
        r#"{"alg":"none"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"HS257"}"#,
        r#"{"alg":"RSA-OAEP"}"#,
    ] {
        assert_eq!(
            parse(&raw(h, "{}", b""), &limits()).unwrap_err(),
            AuthError::AlgNotAllowed,
            "{h}"
        );
    }
    assert_eq!(
        parse(&raw(r#"{"alg":7}"#, "{}", b""), &limits()).unwrap_err(),
        AuthError::Malformed(BAD_HEADER_FIELD)
    );
}

#[test]
fn alg_outside_the_allow_list_is_rejected_before_any_key() {
    let t = simple_token(Alg::HS256, None);
    let jws = parse(&t, &limits()).unwrap();
    assert_eq!(
        jws.verify(&keys(), &[Alg::RS256]).unwrap_err(),
        AuthError::AlgNotAllowed
    );
}

#[test]
fn crit_and_unencoded_payload_are_unsupported() {
    for h in [
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","crit":[]}"#,
        r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
        r#"{"alg":"HS256","b64":false}"#,
    ] {
        assert_eq!(
            parse(&raw(h, "{}", b""), &limits()).unwrap_err(),
            AuthError::UnsupportedCrit,
            "{h}"
        );
    }
    assert!(parse(&raw(r#"{"alg":"HS256","b64":true}"#, "{}", b""), &limits()).is_ok());
}

#[test]
fn kid_must_be_a_string() {
    let t = raw(r#"{"alg":"HS256","kid":1}"#, "{}", b"");
    assert_eq!(
        parse(&t, &limits()).unwrap_err(),
        AuthError::Malformed(BAD_HEADER_FIELD)
    );
}

#[test]
fn embedded_keys_in_the_header_are_ignored() {
    // An attacker-supplied jwk/jku/x5u/x5c never becomes a key source.
    let (ed, _) = (testing::public_key(Alg::EdDSA, None), ());
    let h = r#"{"alg":"HS256","jwk":{"kty":"oct","k":"YQ"},"jku":"https://evil","x5u":"https://evil","x5c":["AA"]}"#;
    let input = format!(
        "{}.{}",
        b64::encode_url(h.as_bytes()),
        b64::encode_url(b"{}")
    );
    use hmac::{Hmac, Mac};
    let sig = Hmac::<sha2::Sha256>::new_from_slice(b"a")
        .unwrap()
        .chain_update(input.as_bytes())
        .finalize()
        .into_bytes();
    let t = format!("{input}.{}", b64::encode_url(&sig));
    let jws = parse(&t, &limits()).unwrap();
    assert_eq!(
        jws.verify(&[testing::public_key(Alg::HS256, None)], &Alg::ALL)
            .unwrap_err(),
        AuthError::BadSignature
    );
    assert_eq!(
        jws.verify(&[ed], &Alg::ALL).unwrap_err(),
        AuthError::NoMatchingKey
    );
}

#[test]
fn kid_selects_the_key_and_unknown_kid_is_reported() {
    let keys = vec![
        Key::from_pem(testing::RSA_OTHER_PUB, Some("other".into()), None).unwrap(),
        testing::public_key(Alg::RS256, Some("main")),
    ];
    let t = simple_token(Alg::RS256, Some("main"));
    let jws = parse(&t, &limits()).unwrap();
    assert_eq!(jws.verify(&keys, &Alg::ALL).unwrap().kid(), Some("main"));
    let t = simple_token(Alg::RS256, Some("other"));
    assert_eq!(
        parse(&t, &limits())
            .unwrap()
            .verify(&keys, &Alg::ALL)
            .unwrap_err(),
        AuthError::BadSignature
    );
    let t = simple_token(Alg::RS256, Some("nope"));
    assert_eq!(
        parse(&t, &limits())
            .unwrap()
            .verify(&keys, &Alg::ALL)
            .unwrap_err(),
        AuthError::UnknownKid
    );
    // Without a kid every usable key is tried.
    let t = simple_token(Alg::RS256, None);
    assert_eq!(
        parse(&t, &limits())
            .unwrap()
            .verify(&keys, &Alg::ALL)
            .unwrap()
            .kid(),
        Some("main")
    );
}

#[test]
fn key_without_kid_serves_tokens_with_any_kid() {
    let keys = vec![testing::public_key(Alg::ES256, None)];
    let t = simple_token(Alg::ES256, Some("rotating-123"));
    assert!(parse(&t, &limits())
        .unwrap()
        .verify(&keys, &Alg::ALL)
        .is_ok());
}

#[test]
fn kid_of_another_family_is_no_matching_key() {
    let keys = vec![testing::public_key(Alg::ES256, Some("k"))];
    let t = simple_token(Alg::HS256, Some("k"));
    assert_eq!(
        parse(&t, &limits())
            .unwrap()
            .verify(&keys, &Alg::ALL)
            .unwrap_err(),
        AuthError::NoMatchingKey
    );
    let t = simple_token(Alg::HS256, None);
    assert_eq!(
        parse(&t, &limits())
            .unwrap()
            .verify(&keys, &Alg::ALL)
            .unwrap_err(),
        AuthError::NoMatchingKey
    );
}

#[test]
fn alg_switching_from_rs256_to_hs256_fails() {
    let keys = vec![testing::public_key(Alg::RS256, None)];
    use hmac::{Hmac, Mac};
    let input = format!(
        "{}.{}",
        b64::encode_url(br#"{"alg":"HS256"}"#),
        b64::encode_url(b"{}")
    );
    let mac = Hmac::<sha2::Sha256>::new_from_slice(testing::RSA_PUB.as_bytes()).unwrap();
    let sig = mac.chain_update(input.as_bytes()).finalize().into_bytes();
    let t = format!("{input}.{}", b64::encode_url(&sig));
    assert_eq!(
        parse(&t, &limits())
            .unwrap()
            .verify(&keys, &Alg::ALL)
            .unwrap_err(),
        AuthError::NoMatchingKey
    );
}

#[test]
fn tampered_payload_or_signature_fails() {
    let keys = keys();
    for alg in Alg::ALL {
        let t = simple_token(alg, None);
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = b64::encode_url(br#"{"sub":"admin","exp":2000000000}"#);
        parts[1] = &other;
        let forged = parts.join(".");
        assert_eq!(
            parse(&forged, &limits())
                .unwrap()
                .verify(&keys, &Alg::ALL)
                .unwrap_err(),
            AuthError::BadSignature
        );
        let stripped = format!("{}.{}.", parts[0], other);
        assert_eq!(
            parse(&stripped, &limits())
                .unwrap()
                .verify(&keys, &Alg::ALL)
                .unwrap_err(),
            AuthError::BadSignature
        );
    }
}

#[test]
fn payload_must_be_an_object_within_the_depth_limit() {
    let t = token(Alg::HS256, r#"{"alg":"HS256"}"#, "[1]");
    assert_eq!(
        parse(&t, &limits())
            .unwrap()
            .payload(&limits())
            .unwrap_err(),
        AuthError::Malformed(PAYLOAD_NOT_OBJECT)
    );
    let deep = format!("{}1{}", r#"{"a":"#.repeat(20), "}".repeat(20));
    let t = token(Alg::HS256, r#"{"alg":"HS256"}"#, &deep);
    assert_eq!(
        parse(&t, &limits())
            .unwrap()
            .payload(&limits())
            .unwrap_err(),
        AuthError::Malformed(TOO_DEEP)
    );
    let t = raw(
        &format!(
            r#"{{"alg":"HS256","x":{}1{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        ),
        "{}",
        b"",
    );
    assert_eq!(
        parse(&t, &limits()).unwrap_err(),
        AuthError::Malformed(TOO_DEEP)
    );
}

#[test]
fn error_descriptions_are_header_safe() {
    for what in [
        NOT_THREE,
        BAD_HEADER_JSON,
        BAD_PAYLOAD_JSON,
        DUPLICATE,
        TOO_DEEP,
        HEADER_NOT_OBJECT,
        PAYLOAD_NOT_OBJECT,
        BAD_HEADER_FIELD,
    ] {
        assert!(
            what.bytes()
                .all(|b| b == b' ' || (b.is_ascii_graphic() && b != b'"' && b != b'\\')),
            "{what}"
        );
    }
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn random_strings_never_panic(s in ".{0,400}") {
            if let Ok(jws) = parse(&s, &limits()) {
                let _ = jws.verify(&keys(), &Alg::ALL);
                let _ = jws.payload(&limits());
            }
        }

        #[test]
        fn random_segments_never_panic(h in prop::collection::vec(any::<u8>(), 0..80),
                                       p in prop::collection::vec(any::<u8>(), 0..80),
                                       s in prop::collection::vec(any::<u8>(), 0..140)) {
            let t = format!("{}.{}.{}", b64::encode_url(&h), b64::encode_url(&p), b64::encode_url(&s));
            if let Ok(jws) = parse(&t, &limits()) {
                prop_assert!(jws.verify(&keys(), &Alg::ALL).is_err());
                let _ = jws.payload(&limits());
            }
        }

        #[test]
        fn random_headers_with_a_real_alg_never_verify(alg in prop::sample::select(Alg::ALL.to_vec()),
                                                       s in prop::collection::vec(any::<u8>(), 0..140)) {
            let t = raw(&format!(r#"{{"alg":"{alg}"}}"#), "{}", &s);
            let jws = parse(&t, &limits()).unwrap();
            prop_assert!(jws.verify(&keys(), &Alg::ALL).is_err());
        }
    }
}
