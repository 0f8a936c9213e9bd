//! The strict JSON parser (`json::parse_strict`) against serde_json, which it wraps: it
//! may only be stricter (duplicate keys, nesting), never more lenient or different; and
//! the registered-claim checks (`claims::validate`) against the policy as documented.

use jwt_gate::claims::{validate, ClaimPolicy};
use jwt_gate::error::AuthError;
use jwt_gate::json::{parse_strict, JsonError};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::check;
use crate::keys::NOW;

/// Nesting depth as `parse_strict` counts it: scalars 0, `[]`/`{}` 1.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            json!(0),
            json!(-0.0),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1e300),
            json!(5e-324)
        ]),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,6}",
        "\\PC{0,8}",
        Just("\u{0}\"\\/\u{1f}\u{2028}\u{fffd}😀".to_string())
    ]
}

pub fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(8, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-e]{0,3}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Serializes `v`, repeating one member of the `target`-th non-empty object (pre-order),
/// its key optionally written with a `\u` escape. Returns the text and the repeated key.
fn with_duplicate(v: &Value, target: usize, pick: usize, escape: bool) -> (String, Option<String>) {
    fn emit(
        v: &Value,
        target: usize,
        pick: usize,
        escape: bool,
        seen: &mut usize,
        dup: &mut Option<String>,
        out: &mut String,
    ) {
        match v {
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    emit(item, target, pick, escape, seen, dup, out);
                }
                out.push(']');
            }
            Value::Object(map) if !map.is_empty() => {
                let here = *seen == target;
                *seen += 1;
                out.push('{');
                for (i, (k, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&format!("{}:", Value::from(k.as_str())));
                    emit(item, target, pick, escape, seen, dup, out);
                }
                if here {
                    let (k, item) = map.iter().nth(pick % map.len()).unwrap();
                    let key = match (escape, k.chars().next()) {
                        (true, Some(c)) if c.is_ascii() => {
                            // `"\u0061bc"` for `"abc"`: the rest as serde_json escapes it.
                            let rest = Value::from(&k[1..]).to_string();
                            format!("\"\\u{:04x}{}", u32::from(c), &rest[1..])
                        }
                        _ => Value::from(k.as_str()).to_string(),
                    };
                    out.push_str(&format!(",{key}:{item}"));
                    *dup = Some(k.clone());
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let (mut out, mut seen, mut dup) = (String::new(), 0, None);
    emit(v, target, pick, escape, &mut seen, &mut dup, &mut out);
    (out, dup)
}

/// Tokens of JSON, valid or not, to concatenate: brackets, separators, literals, huge and
/// odd numbers, escapes (lone surrogates), raw bytes that are not UTF-8.
fn json_piece() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"{"[..],
        b"}",
        b"[",
        b"]",
        b":",
        b",",
        b" ",
        b"\"a\"",
        b"\"a\"",
        b"\"\\u0061\"",
        b"\"b\"",
        b"1",
        b"-0",
        b"1e400",
        b"-1e400",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"1.5e-7",
        b"0.1",
        b"01",
        b"1.",
        b"true",
        b"null",
        b"nul",
        b"\"\\ud800\"",
        b"\"\\ud83d\\ude00\"",
        b"\"\xff\"",
        b"\"\\x\"",
        b"\"\n\"",
        b"\xef\xbb\xbf",
        b"\0",
    ])
}

#[test]
fn strict_parser_agrees_with_serde_json_and_only_adds_limits() {
    let doc = prop_oneof![
        prop::collection::vec(json_piece(), 0..40).prop_map(|p| p.concat()),
        prop::collection::vec(any::<u8>(), 0..64),
        value().prop_map(|v| v.to_string().into_bytes()),
        value().prop_map(|v| serde_json::to_vec_pretty(&v).unwrap()),
    ];
    check(
        "json.differential",
        (doc, 0..12usize),
        |(bytes, max_depth), tally| {
            let strict = parse_strict(&bytes, max_depth);
            let lenient = serde_json::from_slice::<Value>(&bytes);
            match (&strict, &lenient) {
                (Ok(v), Ok(w)) => {
                    prop_assert_eq!(v, w);
                    prop_assert!(depth(v) <= max_depth);
                    tally.saw("ok");
                }
                (Ok(v), Err(e)) => {
                    prop_assert!(false, "strict accepted what serde_json refuses ({e}): {v}")
                }
                (Err(JsonError::Invalid(_)), Ok(w)) => {
                    prop_assert!(false, "strict called valid JSON invalid: {w}")
                }
                (Err(JsonError::TooDeep { .. }), Ok(w)) => {
                    prop_assert!(depth(w) > max_depth, "too deep at {}", depth(w));
                    tally.saw("too_deep");
                }
                (Err(JsonError::DuplicateKey { .. }), Ok(_)) => tally.saw("duplicate"),
                (Err(_), Err(_)) => tally.saw("invalid"),
            }
            Ok(())
        },
    );
}

#[test]
fn duplicate_keys_are_found_at_any_depth_and_under_escapes() {
    // A non-empty object at the root, so there is always a member to repeat.
    let root = prop::collection::btree_map("[a-e]{0,3}", value(), 1..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()));
    let strategy = (root, any::<usize>(), any::<usize>(), any::<bool>());
    check(
        "json.duplicates",
        strategy,
        |(v, target, pick, escape), tally| {
            let objects = count_objects(&v);
            let (text, key) = with_duplicate(&v, target % objects, pick, escape);
            let key = key.unwrap();
            match parse_strict(text.as_bytes(), 64) {
                Err(JsonError::DuplicateKey { key: found, .. }) => prop_assert_eq!(found, key),
                other => prop_assert!(false, "{other:?} for {text}"),
            }
            tally.saw(if escape { "escaped" } else { "plain" });
            Ok(())
        },
    );
}

fn count_objects(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(count_objects).sum(),
        Value::Object(map) => {
            usize::from(!map.is_empty()) + map.values().map(count_objects).sum::<usize>()
        }
        _ => 0,
    }
}

#[test]
fn deep_nesting_is_refused_by_the_limit_without_overflow() {
    let strategy = (
        prop_oneof![4 => 0..300usize, 1 => 0..5000usize],
        0..300usize,
        any::<bool>(),
        any::<bool>(),
    );
    check(
        "json.nesting",
        strategy,
        |(n, max_depth, objects, closed), tally| {
            let (open, close) = if objects {
                ("{\"a\":", "}")
            } else {
                ("[", "]")
            };
            let mut doc = open.repeat(n) + "1";
            if closed {
                doc += &close.repeat(n);
            }
            let got = parse_strict(doc.as_bytes(), max_depth);
            let complete = closed || n == 0;
            if n > max_depth {
                prop_assert_eq!(got, Err(JsonError::TooDeep { max_depth }));
                tally.saw("too_deep");
            } else if !complete {
                prop_assert!(got.is_err(), "unterminated document accepted");
                tally.saw("unterminated");
            } else if n <= 100 {
                prop_assert!(got.is_ok(), "{got:?}");
                tally.saw("ok");
            } else {
                // Beyond serde_json's own recursion limit (128) whatever `max_depth` says.
                prop_assert!(
                    matches!(got, Ok(_) | Err(JsonError::TooDeep { .. })),
                    "{got:?}"
                );
                tally.saw("serde_limit");
            }
            Ok(())
        },
    );
}

fn time_value() -> impl Strategy<Value = Value> {
    let near = |d: i64| Value::from(i64::try_from(NOW).unwrap() + d);
    prop_oneof![
        4 => (-400i64..400).prop_map(near),
        2 => prop::sample::select(vec![-61i64, -60, 59, 60, 61, 3600, 3601]).prop_map(near),
        1 => number(),
        1 => prop::sample::select(vec![json!(NOW as f64 + 0.5), json!("1700000000"), json!(null), json!([NOW]), json!(true), json!({})]),
    ]
}

fn claims_strategy() -> impl Strategy<Value = Value> {
    let field = |s: BoxedStrategy<Value>| prop::option::weighted(0.8, s);
    let iss = prop_oneof![
        Just(json!("https://issuer.test")),
        Just(json!("https://issuer.test/")),
        Just(json!(["https://issuer.test"])),
        Just(json!(null))
    ]
    .boxed();
    let aud = prop_oneof![
        Just(json!("api")),
        Just(json!("API")),
        Just(json!(["web", "api"])),
        Just(json!([])),
        Just(json!(["x", 1])),
        Just(json!({"api": 1}))
    ]
    .boxed();
    (
        field(time_value().boxed()),
        field(time_value().boxed()),
        field(time_value().boxed()),
        field(iss),
        field(aud),
    )
        .prop_map(|(exp, nbf, iat, iss, aud)| {
            let mut m = Map::new();
            for (k, v) in [
                ("exp", exp),
                ("nbf", nbf),
                ("iat", iat),
                ("iss", iss),
                ("aud", aud),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            Value::Object(m)
        })
}

fn policy_strategy() -> impl Strategy<Value = ClaimPolicy> {
    (
        prop::option::of(Just("https://issuer.test".to_string())),
        prop::option::of(Just(vec!["api".to_string(), "web".to_string()])),
        any::<bool>(),
        prop::sample::select(vec![0u64, 15, 60, u64::MAX]),
        prop::option::of(prop::sample::select(vec![0u64, 300, 3600, u64::MAX])),
    )
        .prop_map(
            |(issuer, audiences, require_exp, leeway_s, max_lifetime_s)| ClaimPolicy {
                issuer,
                audiences,
                require_exp,
                leeway_s,
                max_lifetime_s,
            },
        )
}

/// The documented policy (README "Provider fields", RFC 7519 §4.1), written out:
/// `Err(true)` = refused for a claim of the wrong type, `Err(false)` = refused otherwise.
#[allow(clippy::cast_precision_loss)]
fn reference(claims: &Value, p: &ClaimPolicy, now: u64) -> Result<(), bool> {
    let obj = claims.as_object().ok_or(true)?;
    let time = |k: &str| match obj.get(k) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()).map(Some).ok_or(true),
        Some(_) => Err(true),
    };
    let (exp, nbf, iat) = (time("exp")?, time("nbf")?, time("iat")?);
    let (now, leeway) = (now as f64, p.leeway_s as f64);
    match exp {
        None if p.require_exp || p.max_lifetime_s.is_some() => return Err(false),
        Some(exp) if now > exp + leeway => return Err(false),
        _ => {}
    }
    if nbf.is_some_and(|t| t > now + leeway) || iat.is_some_and(|t| t > now + leeway) {
        return Err(false);
    }
    if let (Some(max), Some(exp)) = (p.max_lifetime_s, exp) {
        if iat.is_some_and(|iat| exp - iat > max as f64) || exp - now > max as f64 + leeway {
            return Err(false);
        }
    }
    if p.issuer
        .as_ref()
        .is_some_and(|i| obj.get("iss").and_then(Value::as_str) != Some(i))
    {
        return Err(false);
    }
    if let Some(auds) = &p.audiences {
        let ok = |v: &Value| v.as_str().is_some_and(|s| auds.iter().any(|a| a == s));
        let matched = match obj.get("aud") {
            Some(v @ Value::String(_)) => ok(v),
            Some(Value::Array(items)) => items.iter().any(ok),
            _ => false,
        };
        if !matched {
            return Err(false);
        }
    }
    Ok(())
}

#[test]
fn claims_are_accepted_exactly_as_the_policy_says() {
    let claims = prop_oneof![9 => claims_strategy(), 1 => value()];
    check(
        "claims.validate",
        (claims, policy_strategy()),
        |(claims, policy), tally| {
            let got = validate(&claims, &policy, NOW);
            match reference(&claims, &policy, NOW) {
                Ok(()) => prop_assert_eq!(got, Ok(()), "{}", claims),
                Err(wrong_type) => {
                    let e = got.err().ok_or_else(|| {
                        TestCaseError::fail(format!("accepted {claims} under {policy:?}"))
                    })?;
                    if wrong_type {
                        prop_assert!(matches!(e, AuthError::Malformed(_)), "{e:?} for {claims}");
                    }
                    tally.saw(e.label());
                }
            }
            Ok(())
        },
    );
}
