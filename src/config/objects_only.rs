//! Reads the configuration's serde types from the parsed JSON document, with one rule
//! serde_json does not have: a struct comes only from a JSON object.
//!
//! serde's derived structs also accept a sequence, field by field in declaration order,
//! and serde_json hands them a JSON array when it finds one: `"login": ["https://…",
//! "next"]` would configure `url` and `return_param` by position. Nobody means that, a
//! reader cannot see which value is which field, and the order of fields in the source
//! would become part of the configuration format. Everything else reads as serde_json's
//! own `Value` deserializer reads it.

use serde::de::value::{BorrowedStrDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Value};

/// A deserializer over `&Value` that refuses an array where a struct is expected.
#[derive(Debug, Clone, Copy)]
pub struct ObjectsOnly<'a>(pub &'a Value);

impl<'de> IntoDeserializer<'de, Error> for ObjectsOnly<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for ObjectsOnly<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else if let Some(f) = n.as_f64() {
                    visitor.visit_f64(f)
                } else {
                    Err(de::Error::custom("number out of range"))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(ObjectsOnly));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(members) => {
                let mut map = MapDeserializer::new(
                    members
                        .iter()
                        .map(|(k, v)| (BorrowedStrDeserializer::new(k.as_str()), ObjectsOnly(v))),
                );
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if self.0.is_array() {
            return Err(de::Error::custom(
                "invalid type: array, expected an object (fields are named, never positional)",
            ));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants (`"deny"`): the only kind of enum the configuration has.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s.as_str())),
            _ => Err(de::Error::custom("invalid type: expected a string")),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Login {
        url: String,
        return_param: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum OnError {
        Deny,
        Allow,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        login: Option<Login>,
        logins: Vec<Login>,
        on_error: OnError,
        headers: BTreeMap<String, String>,
        size: u32,
        any: serde_json::Value,
    }

    fn read<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, String> {
        T::deserialize(ObjectsOnly(value)).map_err(|e| e.to_string())
    }

    fn doc() -> Value {
        json!({"login": {"url": "https://login.test/", "return_param": null},
               "logins": [{"url": "a"}, {"url": "b", "return_param": "next"}],
               "on_error": "allow", "headers": {"x-a": "1"}, "size": 7,
               "any": [1, -2, 2.5, "s", {"k": [null, true]}]})
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let value = doc();
        let ours: Doc = read(&value).unwrap();
        let theirs: Doc = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.on_error, OnError::Allow);
        assert_eq!(ours.any, value["any"]);
        assert_eq!(ours.logins[1].return_param.as_deref(), Some("next"));
    }

    #[test]
    fn a_struct_written_as_an_array_is_refused_at_any_depth() {
        let mut positional = doc();
        positional["login"] = json!(["https://login.test/", "next"]);
        assert!(
            serde_json::from_value::<Doc>(positional.clone()).is_ok(),
            "serde_json takes it"
        );
        let e = read::<Doc>(&positional).unwrap_err();
        assert!(e.contains("expected an object"), "{e}");
        let mut nested = doc();
        nested["logins"][1] = json!(["b", "next"]);
        assert!(read::<Doc>(&nested)
            .unwrap_err()
            .contains("expected an object"));
        assert!(read::<Doc>(&json!([])).is_err());
    }

    #[test]
    fn type_errors_and_unknown_fields_are_still_errors() {
        for (field, bad) in [
            ("size", json!(-1)),
            ("size", json!(1.5)),
            ("size", json!(u64::MAX)),
            ("on_error", json!("maybe")),
            ("on_error", json!({"deny": null})),
            ("headers", json!({"x-a": 1})),
            ("login", json!({"url": "u", "extra": 1})),
            ("login", json!("u")),
        ] {
            let mut value = doc();
            value[field] = bad.clone();
            assert!(read::<Doc>(&value).is_err(), "{field}: {bad}");
        }
    }
}
