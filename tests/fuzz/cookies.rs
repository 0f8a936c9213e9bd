//! `Cookie` header parsing and removal, and Auth.js session cookies: random headers,
//! valid cookies with single-byte changes, truncation, and chunks split, reordered or
//! dropped. A session cookie decrypts only when its bytes are exactly the ones Auth.js
//! wrote; chunking never changes what it decrypts to.

use jwt_gate::authjs::{self, AuthJs, RawAuthJs, DEFAULT_MAX_BYTES};
use jwt_gate::cookie;
use jwt_gate::error::AuthError;
use jwt_gate::header_map::Header;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::check;

fn cookie_header() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        "[a-z_.-]{0,6}=[A-Za-z0-9._=-]{0,8}",
        "[ ;=\"a-c]{0,6}",
        Just("access_token=x.y.z".to_string()),
        Just("a=\"quoted\"".to_string()),
        Just(" =v".to_string()),
        "\\PC{0,6}",
    ];
    prop::collection::vec(part, 0..8).prop_map(|p| p.join(";"))
}

#[test]
fn cookie_pairs_and_removal_agree() {
    let strategy = (
        cookie_header(),
        prop_oneof!["[a-c]{1,2}", Just("access_token".to_string())],
    );
    check("cookies.pairs", strategy, |(header, name), tally| {
        let all: Vec<(&str, &str)> = cookie::pairs(&header).collect();
        for (n, v) in &all {
            prop_assert!(
                !n.is_empty() && n.trim() == *n && !n.contains([';', '=']),
                "name {n:?}"
            );
            prop_assert!(!v.contains(';'), "value {v:?}");
        }
        let kept = cookie::without(&header, &name);
        let expected: Vec<(&str, &str)> = all.iter().copied().filter(|(n, _)| *n != name).collect();
        let got: Vec<(&str, &str)> = kept
            .as_deref()
            .map(|k| cookie::pairs(k).collect())
            .unwrap_or_default();
        // Removing one name keeps every other cookie, in order, with its value.
        prop_assert_eq!(got, expected);
        if let Some(k) = &kept {
            prop_assert!(!k.is_empty());
            let again = cookie::without(k, &name);
            prop_assert_eq!(again.as_deref(), Some(k.as_str()));
        }
        tally.saw(if kept.is_some() { "kept" } else { "emptied" });
        Ok(())
    });
}

struct Fixture {
    provider: AuthJs,
    /// The session cookie name (`authjs.session-token`) and its whole value.
    name: String,
    value: String,
    payload: Value,
}

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../authjs/fixtures.json")).unwrap()
}

/// The `v5_valid`, `v5_gcm_valid` and `v4_valid` cookies made by the real libraries,
/// their chunked forms joined, and a provider holding the secrets that made them.
fn session_fixtures() -> Vec<Fixture> {
    let f = fixtures();
    let secrets = f["secrets"].clone();
    ["v5_valid", "v5_gcm_valid", "v4_valid", "v5_chunked"]
        .iter()
        .map(|name| {
            let case = f["cases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == *name)
                .unwrap();
            let raw: RawAuthJs = serde_json::from_value(json!({
                "secret": [secrets["current"], secrets["previous"]],
                "cookie": case["config_cookie"], "version": case["version"]
            }))
            .unwrap();
            let value: String = case["cookies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|kv| kv[1].as_str().unwrap())
                .collect();
            Fixture {
                provider: authjs::compile(raw, &|_| None).unwrap(),
                name: case["cookie_name"].as_str().unwrap().to_string(),
                value,
                payload: case["payload"].clone(),
            }
        })
        .collect()
}

/// Finds and decrypts the session cookie in one `Cookie` header. Every cookie the reader
/// took must be one the filter strips upstream.
fn decrypt_header(
    p: &AuthJs,
    header: &str,
) -> Result<Result<Option<Value>, AuthError>, TestCaseError> {
    let headers: Vec<Header<'_>> = vec![("cookie".into(), header.into())];
    Ok(match p.find(&headers) {
        Err(e) => Err(e),
        Ok(None) => Ok(None),
        Ok(Some(found)) => {
            for n in &found.cookie_names {
                prop_assert!(p.is_session_cookie(n), "{n} used but not stripped");
            }
            p.decrypt(&found, DEFAULT_MAX_BYTES).map(Some)
        }
    })
}

/// How the session cookie is sent.
#[derive(Debug, Clone)]
enum Send {
    /// The value with one byte changed (index, new byte).
    Byte(usize, u8),
    Truncate(usize),
    /// Split into chunks of this size, in this rotation, maybe one dropped or repeated.
    Chunks(usize, usize, Option<usize>, bool),
}

#[test]
fn session_cookies_decrypt_only_when_unchanged() {
    let fx = session_fixtures();
    let send = prop_oneof![
        3 => (any::<usize>(), b'-'..=b'z').prop_map(|(i, b)| Send::Byte(i, b)),
        1 => any::<usize>().prop_map(Send::Truncate),
        2 => (1usize..4000, 0usize..4, prop::option::of(any::<usize>()), any::<bool>())
            .prop_map(|(size, rot, drop, dup)| Send::Chunks(size, rot, drop, dup)),
    ];
    let strategy = (0..fx.len(), send, cookie_header());
    check("cookies.authjs", strategy, |(i, send, noise), tally| {
        let f = &fx[i];
        // `intact`: Some(true) must decrypt, Some(false) must not, None: either.
        let (header, intact) = match &send {
            Send::Byte(at, b) => {
                let mut v = f.value.clone().into_bytes();
                let at = at % v.len();
                let same = v[at] == *b;
                v[at] = *b;
                (
                    format!("{}={}", f.name, String::from_utf8(v).unwrap()),
                    Some(same),
                )
            }
            Send::Truncate(n) => {
                let n = n % (f.value.len() + 1);
                (
                    format!("{}={}", f.name, &f.value[..n]),
                    Some(n == f.value.len()),
                )
            }
            Send::Chunks(size, rot, drop, dup) => {
                let chunks: Vec<&str> = f
                    .value
                    .as_bytes()
                    .chunks(*size)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect();
                let mut named: Vec<String> = chunks
                    .iter()
                    .enumerate()
                    .map(|(k, c)| format!("{}.{k}={c}", f.name))
                    .collect();
                // Up to 64 chunks are read; a gap is never bridged.
                let mut intact = Some(named.len() <= 64);
                if let Some(d) = drop.filter(|_| named.len() > 1) {
                    named.remove(d % named.len());
                    intact = Some(false);
                }
                if *dup {
                    // The same chunk twice: refusing it is as right as reading it once.
                    named.push(named[0].clone());
                    intact = intact.and_then(|i| (!i).then_some(false));
                }
                let r = rot % named.len();
                named.rotate_left(r);
                (named.join("; "), intact)
            }
        };
        // Other cookies around it (never named like the session cookie).
        let noise: String = noise
            .split(';')
            .filter(|p| !p.contains("session-token"))
            .collect::<Vec<_>>()
            .join(";");
        let full = format!("{noise}; {header}; {noise}");
        match decrypt_header(&f.provider, &full)? {
            Ok(Some(claims)) => {
                if intact == Some(false) {
                    return Err(tally.forgery(format!("{send:?} decrypted")));
                }
                prop_assert_eq!(claims, f.payload.clone());
                tally.saw("decrypted");
            }
            Ok(None) => {
                prop_assert!(intact != Some(true), "intact cookie not found in {full}");
                tally.saw("absent");
            }
            Err(e) => {
                prop_assert!(intact != Some(true), "intact cookie refused: {e:?}");
                tally.saw(e.label());
            }
        }
        Ok(())
    });
}

#[test]
fn random_cookie_headers_never_yield_a_session() {
    let fx = session_fixtures();
    let names = prop_oneof![
        Just("authjs.session-token".to_string()),
        Just("__Secure-authjs.session-token".to_string()),
        Just("next-auth.session-token".to_string()),
        "authjs\\.session-token\\.[0-9]{1,4}",
        "authjs\\.session-token[.a-z0-9]{0,3}",
    ];
    let pair = (names, "[A-Za-z0-9._~-]{0,120}");
    let strategy = (
        0..fx.len(),
        prop::collection::vec(pair, 0..6),
        cookie_header(),
    );
    check(
        "cookies.authjs_random",
        strategy,
        |(i, pairs, noise), tally| {
            let header = pairs
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .chain(std::iter::once(noise))
                .collect::<Vec<_>>()
                .join("; ");
            match decrypt_header(&fx[i].provider, &header)? {
                Ok(Some(_)) => return Err(tally.forgery(header)),
                Ok(None) => tally.saw("absent"),
                Err(e) => tally.saw(e.label()),
            }
            Ok(())
        },
    );
}
