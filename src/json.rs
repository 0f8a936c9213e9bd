//! Strict JSON for token headers, payloads, JWK Sets and the plugin configuration:
//! duplicate object keys are an error at any depth (RFC 7515 §5.2 allows a verifier to
//! reject them, and two parsers reading different values of one key is how signature
//! checks get bypassed), nesting is bounded, and nothing may follow the value.
//!
//! serde_json itself guarantees valid UTF-8 in strings, rejects lone surrogate escapes
//! and stops at 128 levels of nesting, so this parser cannot overflow the stack even if
//! `max_depth` is set higher.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};

/// Why a document was rejected. The message never repeats string values from the input
/// (only the name of a duplicated key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON (syntax, invalid UTF-8, trailing data, …), as serde_json describes it.
    Invalid(String),
    /// An object holds the same key twice.
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// Objects/arrays nest deeper than allowed.
    TooDeep {
        /// The limit that was exceeded.
        max_depth: usize,
    },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Invalid(what) => f.write_str(what),
            JsonError::DuplicateKey { key, line, column } => {
                write!(f, "duplicate key {key:?} at line {line} column {column}")
            }
            JsonError::TooDeep { max_depth } => write!(f, "nesting deeper than {max_depth} levels"),
        }
    }
}

impl std::error::Error for JsonError {}

/// What a nested visitor found wrong; read back after serde_json unwinds.
#[derive(Clone)]
enum Found {
    Duplicate(String),
    TooDeep,
}

/// Parses `bytes` as one JSON value, strictly (see the module docs). A scalar has depth
/// 0, `{}` and `[]` depth 1, `{"a":[1]}` depth 2.
pub fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, JsonError> {
    let found = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Strict {
        depth: 0,
        max_depth,
        found: &found,
    };
    let result = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    finish(result, &found, max_depth)
}

/// Parses `bytes` as one JSON object, as strictly as [`parse_strict`], but hands each
/// member to `member` in document order instead of building a map (a token header is
/// read once, for four fields: no map, no owned keys). `Ok(false)`: valid JSON, but
/// not an object.
pub fn parse_members(
    bytes: &[u8],
    max_depth: usize,
    member: &mut dyn FnMut(&str, Value),
) -> Result<bool, JsonError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return parse_strict(bytes, max_depth).map(|_| false);
    }
    let found = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Members {
        values: Strict {
            depth: 0,
            max_depth,
            found: &found,
        },
        member,
    };
    let result = seed.deserialize(&mut de).and_then(|()| de.end());
    finish(result, &found, max_depth).map(|()| true)
}

/// serde_json's error, or what a visitor found, as a [`JsonError`].
fn finish<T>(
    result: Result<T, serde_json::Error>,
    found: &Cell<Option<Found>>,
    max_depth: usize,
) -> Result<T, JsonError> {
    match (result, found.take()) {
        (Ok(value), _) => Ok(value),
        (Err(e), Some(Found::Duplicate(key))) => Err(JsonError::DuplicateKey {
            key,
            line: e.line(),
            column: e.column(),
        }),
        (Err(_), Some(Found::TooDeep)) => Err(JsonError::TooDeep { max_depth }),
        (Err(e), None) if e.to_string().starts_with("recursion limit exceeded") => {
            Err(JsonError::TooDeep { max_depth })
        }
        (Err(e), None) => Err(JsonError::Invalid(e.to_string())),
    }
}

/// The top-level object of [`parse_members`]: keys borrowed from the input when they
/// hold no escape, values parsed by [`Strict`] one level down.
struct Members<'f, 'm> {
    values: Strict<'f>,
    member: &'m mut dyn FnMut(&str, Value),
}

impl<'de> DeserializeSeed<'de> for Members<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Members<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.values.nested()?;
        let mut seen: BTreeSet<Cow<'de, str>> = BTreeSet::new();
        while let Some(key) = map.next_key_seed(Key)? {
            if seen.contains(&key) {
                self.values
                    .found
                    .set(Some(Found::Duplicate(key.into_owned())));
                return Err(de::Error::custom("duplicate key"));
            }
            (self.member)(&key, map.next_value_seed(inner)?);
            seen.insert(key);
        }
        Ok(())
    }
}

/// An object key, borrowed when the input holds it verbatim.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[derive(Clone, Copy)]
struct Strict<'f> {
    depth: usize,
    max_depth: usize,
    found: &'f Cell<Option<Found>>,
}

impl Strict<'_> {
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        let depth = self.depth.saturating_add(1);
        if depth > self.max_depth {
            self.found.set(Some(Found::TooDeep));
            return Err(E::custom("nesting too deep"));
        }
        Ok(Strict { depth, ..self })
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never yields a non-finite float; `Null` is the defensive fallback.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One search of the map per key: the vacant entry takes the value.
            match object.entry(key) {
                Entry::Occupied(held) => {
                    self.found.set(Some(Found::Duplicate(held.key().clone())));
                    return Err(de::Error::custom("duplicate key"));
                }
                Entry::Vacant(slot) => {
                    slot.insert(map.next_value_seed(inner)?);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_ordinary_documents() {
        let v = parse_strict(
            br#" {"a": [1, -2, 3.5, "x", null, true], "b": {"c": {}}} "#,
            16,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": [1, -2, 3.5, "x", null, true], "b": {"c": {}}})
        );
        assert_eq!(parse_strict(b"42", 0).unwrap(), json!(42));
        assert_eq!(
            parse_strict(br#""\u00e9\ud83d\ude00""#, 0).unwrap(),
            json!("é😀")
        );
        assert_eq!(
            parse_strict(b"18446744073709551615", 0).unwrap(),
            json!(u64::MAX)
        );
    }

    /// `parse_members` must accept and refuse exactly what `parse_strict` does (it
    /// reads token headers: any looser and two parsers could disagree on a header).
    #[test]
    fn parse_members_agrees_with_parse_strict() {
        let docs: &[&[u8]] = &[
            br#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#,
            br#" { "a" : [1, {"b": null}], "\u0062": {"c": [true]} } "#,
            br#"{}"#,
            br#"{"a":1,"a":2}"#,
            br#"{"a":1,"\u0061":2}"#,
            br#"{"x":[{"k":1,"k":1}]}"#,
            br#"{"a":{"b":{"c":{"d":1}}}}"#,
            br#"{"a":1} x"#,
            br#"{"a":1,}"#,
            br#"{"a" 1}"#,
            br#"[1,2]"#,
            br#"[{"a":1,"a":1}]"#,
            br#""str""#,
            b"42",
            b"",
            b"{\"a\":\"\xff\"}",
            br#"{"a":"\ud800"}"#,
        ];
        for doc in docs {
            let strict = parse_strict(doc, 3);
            let mut members = Map::new();
            let got = parse_members(doc, 3, &mut |k, v| {
                members.insert(k.to_string(), v);
            });
            let shown = String::from_utf8_lossy(doc);
            match (&strict, &got) {
                (Ok(Value::Object(map)), Ok(true)) => assert_eq!(&members, map, "{shown}"),
                (Ok(_), Ok(false)) => {}
                (Err(a), Err(b)) => assert_eq!(
                    std::mem::discriminant(a),
                    std::mem::discriminant(b),
                    "{shown}: {a:?} vs {b:?}"
                ),
                _ => panic!("{shown}: parse_strict {strict:?}, parse_members {got:?}"),
            }
        }
    }

    #[test]
    fn duplicate_key_is_rejected_at_any_depth() {
        for doc in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"x":[{"k":1,"k":1}]}"#,
            br#"{"a":1,"\u0061":2}"#,
        ] {
            match parse_strict(doc, 16) {
                Err(JsonError::DuplicateKey { .. }) => {}
                other => panic!("{other:?} for {}", String::from_utf8_lossy(doc)),
            }
        }
        let e = parse_strict(br#"{"alg":"HS256","alg":"none"}"#, 16).unwrap_err();
        assert_eq!(e.to_string(), "duplicate key \"alg\" at line 1 column 20");
    }

    #[test]
    fn nesting_beyond_the_limit_is_rejected() {
        assert!(parse_strict(b"[[1]]", 2).is_ok());
        assert_eq!(
            parse_strict(b"[[[1]]]", 2),
            Err(JsonError::TooDeep { max_depth: 2 })
        );
        assert_eq!(
            parse_strict(br#"{"a":{"b":{}}}"#, 2),
            Err(JsonError::TooDeep { max_depth: 2 })
        );
        assert_eq!(
            parse_strict(b"{}", 0),
            Err(JsonError::TooDeep { max_depth: 0 })
        );
    }

    #[test]
    fn deep_nesting_is_rejected_without_stack_overflow() {
        let deep = "[".repeat(1_000_000);
        assert_eq!(
            parse_strict(deep.as_bytes(), 16),
            Err(JsonError::TooDeep { max_depth: 16 })
        );
        let deep_objects = r#"{"a":"#.repeat(200_000);
        assert!(parse_strict(deep_objects.as_bytes(), usize::MAX).is_err());
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(matches!(
            parse_strict(deep.as_bytes(), usize::MAX),
            Err(JsonError::TooDeep { .. })
        ));
    }

    #[test]
    fn trailing_data_is_rejected() {
        for doc in [&b"{} {}"[..], b"{}x", b"1 2", b"{}\0", b""] {
            assert!(
                matches!(parse_strict(doc, 16), Err(JsonError::Invalid(_))),
                "{doc:?}"
            );
        }
        assert!(parse_strict(b"{} \n\t", 16).is_ok());
    }

    #[test]
    fn invalid_utf8_and_lone_surrogates_are_rejected() {
        assert!(parse_strict(b"\"\xff\"", 16).is_err());
        assert!(parse_strict(b"{\"a\xc3\":1}", 16).is_err());
        assert!(parse_strict(br#""\ud800""#, 16).is_err());
        assert!(
            parse_strict(b"\xef\xbb\xbf{}", 16).is_err(),
            "a BOM is not JSON"
        );
    }
}
