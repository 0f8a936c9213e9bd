//! Random requests through the artifact: pseudo-headers and headers of random bytes
//! (non-UTF-8, huge, hundreds), tokens valid, mutated or forged, in every source. Each
//! request is also decided by `jwt_gate::gate::evaluate` natively on the same (lossily
//! decoded) headers; the artifact must forward exactly what the core forwards, with the
//! same identity headers, and reply with the status the core's reply carries.

use std::cell::RefCell;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_gate::config::Config;
use jwt_gate::gate::{evaluate, Env, HeaderOp, Outcome, Request, VerifiedCache};
use jwt_gate::header_map::Header;
use jwt_gate::keystore::KeyStore;
use jwt_gate::response;
use proptest::prelude::*;
use serde_json::{json, Value};
use wasm_test::Host;

use crate::util::mint::{fixture_key, hs_secret, mint, tamper, ISSUER};
use crate::util::{good_claims, NOW};
use crate::{check, ended, no_trap, vm, Tally};

/// Static keys only (nothing to wait for): `/public/` open, `/admin` needs a role no
/// token has, `/blocked` denied, `/app/` redirects browsers, the rest needs a token.
fn config() -> Value {
    json!({
        "providers": {
            "hs": {"issuer": ISSUER, "audiences": ["api"], "algorithms": ["HS256"],
                   "keys": [{"secret": hs_secret()}],
                   "claim_headers": {"x-user-id": "sub"}, "payload_header": "x-jwt-payload"},
            "pk": {"issuer": ISSUER, "audiences": ["api"], "algorithms": ["RS256", "ES256", "EdDSA"],
                   "keys": [{"pem": fixture_key("rsa2048.pub.pem"), "kid": "rsa"},
                            {"pem": fixture_key("ec256.pub.pem"), "kid": "ec"},
                            {"pem": fixture_key("ed25519.pub.pem")}],
                   "from": [{"header": "authorization", "prefix": "Bearer "}, {"cookie": "access_token"},
                            {"query": "access_token"}],
                   "claim_headers": {"x-user-id": "sub"}}
        },
        "rules": [
            {"match": {"prefix": "/public/"}, "action": "allow"},
            {"match": {"prefix": "/admin"}, "require": {"claims": {"roles": ["admin"]}}},
            {"match": {"prefix": "/blocked"}, "action": "deny"},
            {"match": {"prefix": "/app/"}, "login": "browser"}
        ],
        "login": {"url": "/login", "return_param": "return_to"}
    })
}

/// What a local reply may be: bad request or path, no or bad token, denied route or
/// missing role, browser redirect. No 5xx: every key is static.
const STATUSES: [u32; 4] = [302, 400, 401, 403];

fn valid_tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let c = good_claims();
        vec![
            mint("HS256", &c, &Value::Null),
            mint("RS256", &c, &json!({"kid": "rsa"})),
            mint("ES256", &c, &json!({"kid": "ec"})),
            mint("EdDSA", &c, &Value::Null),
        ]
    })
}

#[derive(Debug, Clone)]
enum Token {
    Valid(usize),
    /// A valid token with one byte replaced / inserted / removed, or cut.
    Edited(usize, usize, Option<u8>, bool),
    Tampered(usize),
    AlgNone(&'static str),
    Bytes(Vec<u8>),
}

fn token() -> impl Strategy<Value = Token> {
    let n = valid_tokens().len();
    let byte = prop::sample::select(b"AZaz09-_.=+/ \t\"\x00\x7f\x80\xff;,".to_vec());
    prop_oneof![
        3 => (0..n).prop_map(Token::Valid),
        3 => (0..n, any::<usize>(), prop::option::of(byte), any::<bool>()).prop_map(|(t, i, b, cut)| Token::Edited(t, i, b, cut)),
        1 => (0..n).prop_map(Token::Tampered),
        1 => prop::sample::select(vec!["none", "None", "NONE"]).prop_map(Token::AlgNone),
        1 => prop::collection::vec(any::<u8>(), 0..80).prop_map(Token::Bytes),
    ]
}

/// The token bytes, and whether it is one of the valid tokens, unchanged.
fn token_bytes(t: &Token) -> (Vec<u8>, bool) {
    let tokens = valid_tokens();
    match t {
        Token::Valid(i) => (tokens[*i].clone().into_bytes(), true),
        Token::Edited(i, at, byte, cut) => {
            let mut b = tokens[*i].clone().into_bytes();
            let at = at % b.len();
            match (byte, cut) {
                (_, true) => b.truncate(at),
                (Some(x), false) => b.insert(at, *x),
                (None, false) => {
                    b.remove(at);
                }
            }
            (b, false)
        }
        Token::Tampered(i) => (tamper(&tokens[*i]).into_bytes(), false),
        Token::AlgNone(alg) => {
            let b64 = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
            (
                format!("{}.{}.", b64(json!({"alg": alg})), b64(good_claims())).into_bytes(),
                false,
            )
        }
        Token::Bytes(b) => (b.clone(), false),
    }
}

fn path() -> impl Strategy<Value = Vec<u8>> {
    // Mostly paths that normalize (so rules and tokens are reached), some refused ones.
    let segment = prop_oneof![
        8 => prop::sample::select(vec![
            "public", "admin", "blocked", "app", "api", "..", ".", "", "%2e%2e", "%61dmin", "%70ublic",
            "admin;x", "..;", "ADMIN", "x?access_token=",
        ]),
        1 => prop::sample::select(vec!["%2F", "%00", "\\", "%zz", "#"]),
    ];
    prop_oneof![
        6 => (prop::collection::vec(segment, 0..6), prop::option::of("[ -~]{0,12}"))
            .prop_map(|(s, q)| format!("/{}{}", s.join("/"), q.map(|q| format!("?{q}")).unwrap_or_default()).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..32),
        1 => (1usize..70_000).prop_map(|n| format!("/api/{}", "a".repeat(n)).into_bytes()),
    ]
}

fn header_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "authorization", "Authorization", "cookie", "x-user-id", "x-jwt-payload", "x-jwt-gate-decision",
            "accept", "sec-fetch-mode", ":path", ":method", "x-forwarded-for", "",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        2 => "[a-z0-9-]{1,16}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 1..12),
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[ -~]{0,40}".prop_map(String::into_bytes),
        2 => prop::collection::vec(any::<u8>(), 0..40),
        2 => prop::sample::select(vec!["text/html", "navigate", "Bearer ", "bearer a.b.c", "access_token=", "x\r\nx-user-id: admin"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => (1usize..300_000).prop_map(|n| vec![b'v'; n]),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Place {
    Bearer,
    Cookie,
    Query,
    Nowhere,
}

#[derive(Debug, Clone)]
struct Req {
    /// Sent as a browser navigation (`Accept: text/html`).
    browser: bool,
    method: Vec<u8>,
    path: Vec<u8>,
    token: Token,
    place: Place,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

fn request() -> impl Strategy<Value = Req> {
    let method = prop_oneof![
        4 => prop::sample::select(vec!["GET", "POST", "HEAD", "OPTIONS", "DELETE", "get", "BREW", ""]).prop_map(|m| m.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ];
    let headers = prop_oneof![
        6 => prop::collection::vec((header_name(), header_value()), 0..8),
        1 => prop::collection::vec((header_name(), header_value().prop_map(|mut v| { v.truncate(64); v })), 100..400),
    ];
    let place = prop_oneof![
        Just(Place::Bearer),
        Just(Place::Cookie),
        Just(Place::Query),
        Just(Place::Nowhere)
    ];
    (any::<bool>(), method, path(), token(), place, headers).prop_map(
        |(browser, method, path, token, place, headers)| Req {
            browser,
            method,
            path,
            token,
            place,
            headers,
        },
    )
}

/// Header names and values as bytes, in order.
type Wire = Vec<(Vec<u8>, Vec<u8>)>;

/// The core's verdict: `Ok(x-user-id values set)` to forward, `Err((status, reason))`.
type Decision = Result<Vec<String>, (u32, &'static str)>;

/// The request's header list as the host hands it over (pseudo-headers first), and
/// whether a valid token was placed in it.
fn wire_headers(r: &Req) -> (Wire, bool) {
    let (token, valid) = token_bytes(&r.token);
    let mut path = r.path.clone();
    let mut headers = vec![(b":method".to_vec(), r.method.clone())];
    match r.place {
        Place::Bearer => headers.push((
            b"authorization".to_vec(),
            [b"Bearer ".as_slice(), &token].concat(),
        )),
        Place::Cookie => headers.push((
            b"cookie".to_vec(),
            [b"a=1; access_token=".as_slice(), &token].concat(),
        )),
        Place::Query => {
            path.extend_from_slice(if path.contains(&b'?') {
                b"&access_token="
            } else {
                b"?access_token="
            });
            path.extend_from_slice(&token);
        }
        Place::Nowhere => {}
    }
    headers.insert(1, (b":path".to_vec(), path));
    headers.insert(2, (b":authority".to_vec(), b"gw".to_vec()));
    if r.browser {
        headers.push((b"accept".to_vec(), b"text/html,*/*".to_vec()));
    }
    headers.extend(r.headers.iter().cloned());
    (headers, valid && !matches!(r.place, Place::Nowhere))
}

/// What the core decides for the same headers (read lossily, as the filter does), and
/// the rule that decided.
fn native(config: &Config, wire: &[(Vec<u8>, Vec<u8>)]) -> (Option<usize>, Decision) {
    let headers: Vec<Header<'_>> = wire
        .iter()
        .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v)))
        .collect();
    let request = Request::from_headers(&headers);
    let keys = KeyStore::new(config, NOW);
    let cache = RefCell::new(VerifiedCache::new(4));
    let verdict = evaluate(config, &Env::new(&keys, &cache), &request, NOW);
    let outcome = match verdict.outcome {
        Outcome::Forward { ops, .. } => Ok(ops
            .into_iter()
            .filter_map(|op| match op {
                HeaderOp::Add(n, v) if &*n == "x-user-id" => Some(v.to_string()),
                _ => None,
            })
            .collect()),
        Outcome::Deny { denial, .. } => Err((
            response::build(config, &denial, request.path).status,
            denial.error.label(),
        )),
    };
    (verdict.rule, outcome)
}

fn send(host: &mut Host, config: &Config, r: &Req, tally: &Tally) -> Result<(), TestCaseError> {
    let (wire, valid_placed) = wire_headers(r);
    let id = host.init_http_context();
    let action = host.call_on_request_headers(id, &wire, true);
    no_trap(host, tally, &format!("on {r:?}"))?;
    let Some(end) = ended(host, id, action) else {
        return Err(TestCaseError::fail(format!("left paused: {r:?}")));
    };
    let (rule, expected) = native(config, &wire);
    match (end, &expected) {
        (Some(status), Err((want, reason))) => {
            prop_assert!(STATUSES.contains(&status), "status {status} for {r:?}");
            prop_assert_eq!(status, *want, "the core replies {} to {:?}", want, r);
            tally.saw(format!("{status}_{reason}"));
        }
        (None, Ok(users)) => {
            let upstream: Vec<String> = host
                .request_headers(id)
                .into_iter()
                .filter(|(n, _)| n == "x-user-id")
                .map(|(_, v)| v)
                .collect();
            prop_assert_eq!(&upstream, users, "identity headers upstream for {:?}", r);
            // Protected: every rule but `/public/` (0); the default rule too.
            if rule != Some(0) {
                let any_valid = valid_placed
                    || wire.iter().any(|(_, v)| {
                        valid_tokens()
                            .iter()
                            .any(|t| String::from_utf8_lossy(v).contains(t.as_str()))
                    });
                if !any_valid {
                    return Err(tally.forgery(format!(
                        "forwarded on rule {rule:?} without a valid token: {r:?}"
                    )));
                }
                prop_assert_eq!(upstream, vec!["user-1".to_string()]);
                tally.saw("forwarded");
            } else {
                tally.saw("public");
            }
        }
        (end, expected) => prop_assert!(false, "artifact {end:?}, core {expected:?} for {r:?}"),
    }
    Ok(())
}

#[test]
fn random_requests_are_decided_as_the_core_decides_and_forgeries_never_pass() {
    let doc = config();
    let config = Config::parse(doc.to_string().as_bytes(), &|_| None)
        .unwrap()
        .0;
    let host = RefCell::new(None::<Host>);
    check(
        "wasm.requests",
        prop::collection::vec(request(), 1..4),
        |reqs, tally| {
            let mut slot = host.borrow_mut();
            // One VM for the whole run (its token cache sees every case); a new one only
            // after a failure left it trapped.
            if slot.as_ref().is_none_or(|h| h.trap().is_some()) {
                let mut h = vm(&doc, &[]);
                prop_assert!(h.start_plugin(), "{:?}", h.logs());
                *slot = Some(h);
            }
            let h = slot.as_mut().unwrap();
            for r in &reqs {
                send(h, &config, r, tally)?;
            }
            h.clear_logs();
            Ok(())
        },
    );
}
