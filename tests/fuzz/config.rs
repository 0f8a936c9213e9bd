//! The plugin configuration parser, fed random JSON, random bytes and mutations of the
//! valid configurations the documentation shows (README, docs/*.md, envoy.yaml). Every
//! result is `Ok` or an error naming a JSON path that exists in the document (the last
//! step may be the missing field), never a panic, never a secret in the message; and
//! where only providers were mutated, no forged token is forwarded.

use std::cell::RefCell;

use jwt_gate::config::{Config, ConfigError};
use jwt_gate::gate::{evaluate, Env, Outcome, Request, VerifiedCache};
use jwt_gate::header_map::Header;
use jwt_gate::keystore::KeyStore;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::keys::{b64, fixture, gate_config, hmac_sha256, hs_secret, valid_tokens, NOW};
use crate::{check, Tally};

const AUTH_SECRET: &str = "fuzz-auth-secret-0123456789abcdefghijklmnop";
const HEX_SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn env(name: &str) -> Option<String> {
    match name {
        "AUTH_SECRET" => Some(AUTH_SECRET.to_string()),
        "HS_SECRET" => Some(hs_secret()),
        _ => None,
    }
}

fn parse(doc: &[u8]) -> Result<Config, ConfigError> {
    Config::parse(doc, &env).map(|(c, _)| c)
}

fn hs_provider() -> Value {
    json!({"issuer": "https://issuer.test", "audiences": ["api"], "algorithms": ["HS256"],
           "keys": [{"secret": hs_secret()}], "claim_headers": {"x-user-id": "sub"}})
}

/// ```json blocks of a Markdown file, as objects (`"rules": [...]` fragments wrapped).
fn json_blocks(markdown: &str) -> Vec<Map<String, Value>> {
    markdown
        .split("```json\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .filter_map(|block| {
            serde_json::from_str::<Value>(block)
                .or_else(|_| serde_json::from_str(&format!("{{{block}}}")))
                .ok()?
                .as_object()
                .cloned()
        })
        .collect()
}

/// The plugin configuration inside `envoy.yaml` (the block scalar after `value: |`).
fn envoy_yaml_config() -> Value {
    let yaml = include_str!("../../envoy.yaml");
    let after = yaml.split("value: |\n").nth(1).unwrap();
    let indent = after.len() - after.trim_start().len();
    let block: Vec<&str> = after
        .lines()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .collect();
    serde_json::from_str(&block.join("\n")).unwrap()
}

/// Valid configurations from the documentation, completed where they are fragments
/// (fragments that stay invalid are left out: the documentation is not under test here).
fn seeds() -> Vec<Value> {
    let mut docs = vec![gate_config(), envoy_yaml_config()];
    let markdown = [
        include_str!("../../README.md"),
        include_str!("../../docs/rules.md"),
        include_str!("../../docs/authjs.md"),
    ];
    for block in markdown.iter().flat_map(|m| json_blocks(m)) {
        if block.contains_key("providers") {
            docs.push(Value::Object(block));
            continue;
        }
        let mut provider = hs_provider();
        let mut doc = json!({"login": {"url": "/login"}});
        let block = if block.contains_key("match") {
            // One rule.
            let mut rules = Map::new();
            rules.insert("rules".into(), json!([block]));
            rules
        } else {
            block
        };
        for (k, v) in block {
            match k.as_str() {
                "keys" => {
                    provider["keys"] = v;
                    provider["algorithms"] = json!(["RS256", "ES256"]);
                }
                "user_check" => provider["user_check"] = v,
                _ => doc[k] = v,
            }
        }
        doc["providers"] = json!({"corp": provider});
        // A fragment that needs more context than this gives is not a seed.
        if parse(doc.to_string().as_bytes()).is_ok() {
            docs.push(doc);
        }
    }
    // Every other key kind and top-level field.
    let oct = json!({"kty": "oct", "kid": "k1", "alg": "HS256", "k": b64(hs_secret().as_bytes())});
    docs.push(json!({
        "mode": "audit", "realm": "api", "cache_size": 0, "deny_body": "no",
        "default_action": "optional",
        "providers": {
            "env": {"issuer": null, "algorithms": ["HS256", "HS512"],
                    "keys": [{"secret_env": "HS_SECRET", "kid": "e"}, {"secret": HEX_SECRET, "encoding": "hex", "alg": "HS512"}],
                    "from": [{"query": "access_token"}, {"header": "x-token"}], "require_exp": false,
                    "leeway_s": 0, "max_lifetime_s": 3600, "payload_header": "x-payload", "forward_token": true,
                    "max_token_bytes": 4096},
            "jwks": {"issuer": "https://issuer.test", "algorithms": ["HS256"], "keys": [{"jwks": {"keys": [oct]}}]},
            "pem": {"issuer": "https://issuer.test", "algorithms": ["RS256", "ES256", "EdDSA"],
                    "keys": [{"pem": fixture("rsa2048.pkcs1.pub.pem")}, {"pem": fixture("ec256.pub.pem"), "alg": "ES256"},
                             {"pem": fixture("ed25519.pub.pem")}]}
        }
    }));
    docs
}

/// Secrets the seeds carry: no error message may repeat them.
fn secrets() -> [String; 3] {
    [hs_secret(), AUTH_SECRET.to_string(), HEX_SECRET.to_string()]
}

/// Where an error path leads in the document.
#[derive(Debug, PartialEq)]
enum Place {
    /// Every step exists, except maybe the last (a missing required field).
    Found,
    /// A named step inside an array: serde reads a struct from a JSON array
    /// positionally (`"match": ["/a"]` is `{"path": "/a"}`), so the error names the
    /// field. Not strict (reported in the issue); counted, not failed.
    ArrayAsStruct,
    Missing,
}

/// Resolves `path` (`providers.corp.keys[1].pem`) in `doc`. Member names may contain
/// dots, so every name that fits is tried, longest first.
fn locate(doc: &Value, path: &str) -> Place {
    if path.is_empty() {
        return Place::Found;
    }
    match doc {
        Value::Object(map) => {
            let mut names: Vec<&String> = map
                .keys()
                .filter(|k| {
                    path.strip_prefix(k.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
                })
                .collect();
            names.sort_by_key(|k| std::cmp::Reverse(k.len()));
            let found = names.into_iter().map(|k| {
                let rest = &path[k.len()..];
                locate(&map[k], rest.strip_prefix('.').unwrap_or(rest))
            });
            let best = found.min_by_key(|p| match p {
                Place::Found => 0,
                Place::ArrayAsStruct => 1,
                Place::Missing => 2,
            });
            match best {
                Some(Place::Missing) | None if !path.contains(['.', '[']) => Place::Found,
                Some(p) => p,
                None => Place::Missing,
            }
        }
        Value::Array(items) => {
            let Some(rest) = path.strip_prefix('[') else {
                return Place::ArrayAsStruct;
            };
            let Some((index, rest)) = rest.split_once(']') else {
                return Place::Missing;
            };
            match index.parse::<usize>().ok().and_then(|i| items.get(i)) {
                Some(item) => locate(item, rest.strip_prefix('.').unwrap_or(rest)),
                None => Place::Missing,
            }
        }
        _ => Place::Missing,
    }
}

/// Checks a refusal: a message, a path in the document, no secret. Secrets are checked
/// only where the mutations kept every secret in a secret field (`secret_moved` false):
/// serde's own messages quote a misplaced string value (`invalid type: string "…"`), so
/// a secret written where an object belongs is echoed; counted, reported in the issue.
fn check_error(
    doc: &Value,
    e: &ConfigError,
    secret_moved: bool,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    prop_assert!(!e.message.is_empty(), "empty message at {:?}", e.path);
    match locate(doc, &e.path) {
        Place::Found => {}
        Place::ArrayAsStruct => tally.saw("struct_read_from_array"),
        Place::Missing => prop_assert!(false, "error path {:?} not in the document: {e}", e.path),
    }
    let shown = e.to_string();
    for secret in secrets() {
        if shown.contains(&secret) {
            prop_assert!(secret_moved, "secret in {shown}");
            tally.saw("secret_echoed_by_serde");
        }
    }
    Ok(())
}

/// Whether a mutation can carry a secret out of its field (into a string where an object
/// belongs, or under another member name).
fn moves_secrets(ms: &[Mutation]) -> bool {
    ms.iter()
        .any(|m| matches!(m, Mutation::Retype(_, _, false) | Mutation::Rename(..)))
}

fn cfg_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        prop::sample::select(vec![
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-1),
            json!(1),
            json!(u64::MAX),
            json!(1e300),
            json!(0.5),
            json!(""),
            json!("HS256"),
            json!("RS256"),
            json!("none"),
            json!("ES256"),
            json!("EdDSA"),
            json!("corp"),
            json!("nope"),
            json!("/api/"),
            json!("("),
            json!("[0-9"),
            json!("Bearer "),
            json!("a b"),
            json!("x-user-id"),
            json!(":path"),
            json!("sub"),
            json!("a..b"),
            json!("utf8"),
            json!("hex"),
            json!("base64"),
            json!("AUTH_SECRET"),
            json!("UNSET_VAR"),
            json!("enforce"),
            json!("bypass"),
            json!("allow"),
            json!("deny"),
            json!("optional"),
            json!("browser"),
            json!("http://x/"),
            json!("\r\n"),
            json!("\u{0}"),
            json!("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        ]),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "mode", "providers", "rules", "default_action", "login", "realm", "cache_size", "deny_body",
            "issuer", "audiences", "algorithms", "keys", "from", "require_exp", "leeway_s", "max_lifetime_s",
            "claim_headers", "payload_header", "forward_token", "max_token_bytes", "user_check", "authjs",
            "secret", "secret_env", "encoding", "pem", "pem_env", "jwks", "remote_jwks", "kid", "alg",
            "header", "prefix", "cookie", "query", "match", "path", "regex", "methods", "headers", "action",
            "require", "claims", "scopes", "url", "return_param", "cluster", "uri", "timeout_ms", "refresh_s",
            "min_refetch_s", "version", "present", "kty", "k", "n", "e", "crv", "x", "y", "use", "key_ops",
        ])
        .prop_map(str::to_string),
        // Not starting with `.`: `Config::parse` trims leading dots off serde's path, so
        // an unknown key `.a` is reported as `a` (cosmetic, reported in the issue).
        1 => "([a-z_][a-z_.]{0,7})?",
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Remove(usize, usize),
    Replace(usize, usize, Value),
    Add(usize, String, Value),
    Rename(usize, usize, String),
    /// Wraps a member's value in an array, or turns it into its JSON text.
    Retype(usize, usize, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(o, m)| Mutation::Remove(o, m)),
        (any::<usize>(), any::<usize>(), cfg_value())
            .prop_map(|(o, m, v)| Mutation::Replace(o, m, v)),
        (any::<usize>(), field_name(), cfg_value()).prop_map(|(o, k, v)| Mutation::Add(o, k, v)),
        (any::<usize>(), any::<usize>(), field_name())
            .prop_map(|(o, m, k)| Mutation::Rename(o, m, k)),
        (any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(o, m, w)| Mutation::Retype(o, m, w)),
    ]
}

/// JSON pointers of every object in `v`.
fn objects(v: &Value, at: &str, out: &mut Vec<String>) {
    let child = |k: &str| format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
    match v {
        Value::Object(map) => {
            out.push(at.to_string());
            for (k, c) in map {
                objects(c, &child(k), out);
            }
        }
        Value::Array(items) => {
            for (i, c) in items.iter().enumerate() {
                objects(c, &child(&i.to_string()), out);
            }
        }
        _ => {}
    }
}

fn mutate(mut doc: Value, m: &Mutation) -> Value {
    let mut pointers = Vec::new();
    objects(&doc, "", &mut pointers);
    let (o, m) = match m {
        Mutation::Remove(o, _)
        | Mutation::Replace(o, ..)
        | Mutation::Add(o, ..)
        | Mutation::Rename(o, ..)
        | Mutation::Retype(o, ..) => (*o, m),
    };
    let Some(Value::Object(map)) = doc.pointer_mut(&pointers[o % pointers.len()]) else {
        return doc;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    let key = |i: &usize| keys.get(i % keys.len().max(1)).cloned();
    match m {
        Mutation::Remove(_, i) => {
            if let Some(k) = key(i) {
                map.remove(&k);
            }
        }
        Mutation::Replace(_, i, v) => {
            if let Some(k) = key(i) {
                map.insert(k, v.clone());
            }
        }
        Mutation::Add(_, k, v) => {
            map.insert(k.clone(), v.clone());
        }
        Mutation::Rename(_, i, new) => {
            if let Some(v) = key(i).and_then(|k| map.remove(&k)) {
                map.insert(new.clone(), v);
            }
        }
        Mutation::Retype(_, i, wrap) => {
            if let Some(k) = key(i) {
                let v = map[&k].take();
                map[&k] = if *wrap {
                    json!([v])
                } else {
                    Value::String(v.to_string())
                };
            }
        }
    }
    doc
}

#[test]
fn documented_configurations_are_valid_seeds() {
    let seeds = seeds();
    assert!(seeds.len() >= 8, "{} seeds", seeds.len());
    for doc in &seeds {
        if let Err(e) = parse(doc.to_string().as_bytes()) {
            panic!("seed refused: {e}\n{doc}");
        }
    }
}

#[test]
fn random_documents_are_accepted_or_refused_with_a_path() {
    let doc = prop_oneof![
        2 => cfg_value().prop_map(|v| (v.to_string().into_bytes(), v)),
        2 => prop::collection::btree_map(field_name(), cfg_value(), 0..6).prop_map(|m| {
            let v = Value::Object(m.into_iter().collect());
            (v.to_string().into_bytes(), v)
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| (b, Value::Null)),
    ];
    check("config.random", doc, |(bytes, doc), tally| {
        match parse(&bytes) {
            Ok(_) => tally.saw("accepted"),
            Err(e) => {
                if !doc.is_null() {
                    check_error(&doc, &e, false, tally)?;
                }
                tally.saw("refused");
            }
        }
        Ok(())
    });
}

#[test]
fn mutated_documented_configurations_are_accepted_or_refused_with_a_path() {
    let seeds = seeds();
    let n = seeds.len();
    check(
        "config.mutated",
        (0..n, prop::collection::vec(mutation(), 1..3)),
        |(i, ms), tally| {
            let doc = ms.iter().fold(seeds[i].clone(), mutate);
            let text = doc.to_string();
            let first = parse(text.as_bytes());
            // Parsing is a pure function of the document.
            let again = parse(text.as_bytes());
            prop_assert_eq!(first.as_ref().err(), again.as_ref().err());
            match first {
                Ok(_) => tally.saw("accepted"),
                Err(e) => {
                    check_error(&doc, &e, moves_secrets(&ms), tally)?;
                    tally.saw("refused");
                }
            }
            Ok(())
        },
    );
}

/// Tokens no configuration derived from the gate seed by provider mutations may accept.
fn forged_tokens() -> Vec<String> {
    let mut forged: Vec<String> = valid_tokens()
        .iter()
        .map(|t| {
            let (input, sig) = t.rsplit_once('.').unwrap();
            let flipped = if sig.starts_with('A') { "B" } else { "A" };
            format!("{input}.{flipped}{}", &sig[1..])
        })
        .collect();
    let claims = b64(crate::keys::good_claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE"] {
        forged.push(format!(
            "{}.{claims}.",
            b64(json!({"alg": alg}).to_string().as_bytes())
        ));
    }
    let input = format!("{}.{claims}", b64(br#"{"alg":"HS256","kid":"rsa"}"#));
    let sig = hmac_sha256(fixture("rsa2048.pub.pem").as_bytes(), input.as_bytes());
    forged.push(format!("{input}.{}", b64(&sig)));
    forged
}

#[test]
fn provider_mutations_never_open_the_gate_to_forged_tokens() {
    let forged = forged_tokens();
    check(
        "config.forgeries",
        prop::collection::vec(mutation(), 1..3),
        |ms, tally| {
            let mut doc = gate_config();
            doc["providers"] = ms.iter().fold(doc["providers"].take(), mutate);
            let config = match parse(doc.to_string().as_bytes()) {
                Ok(c) => c,
                Err(e) => {
                    check_error(&doc, &e, moves_secrets(&ms), tally)?;
                    tally.saw("refused");
                    return Ok(());
                }
            };
            tally.saw("accepted");
            let keys = KeyStore::new(&config, NOW);
            let cache = RefCell::new(VerifiedCache::new(4));
            for token in &forged {
                let placements: [Vec<Header<'_>>; 2] = [
                    vec![("authorization".into(), format!("Bearer {token}").into())],
                    vec![("cookie".into(), format!("access_token={token}").into())],
                ];
                for headers in placements {
                    let req = Request {
                        method: "GET",
                        path: "/api/x",
                        headers: &headers,
                    };
                    if let Outcome::Forward { .. } =
                        evaluate(&config, &Env::new(&keys, &cache), &req, NOW).outcome
                    {
                        return Err(tally.forgery(format!("{token} under {doc}")));
                    }
                }
            }
            Ok(())
        },
    );
}
