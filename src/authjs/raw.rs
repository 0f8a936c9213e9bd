//! The `authjs` object of a provider, as written in the plugin configuration.

use std::fmt;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// `"authjs": {"secret_env": "AUTH_SECRET", "cookie": "authjs.session-token", "version": 5}`.
#[derive(Debug, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "AuthJs")
)]
#[serde(deny_unknown_fields)]
pub struct RawAuthJs {
    /// Environment variable(s) holding the secret, newest first.
    #[cfg_attr(feature = "schema", schemars(with = "Option<StringOrList>"))]
    pub secret_env: Option<OneOrMany<String>>,
    /// The secret(s) themselves, newest first (discouraged: the config is not a secret store).
    #[cfg_attr(feature = "schema", schemars(with = "Option<StringOrList>"))]
    pub secret: Option<OneOrMany<String>>,
    /// The session cookie's name, without `__Secure-` (accepted with and without it) and
    /// without a chunk suffix. Default: `authjs.session-token` (v5), `next-auth.session-token` (v4).
    pub cookie: Option<String>,
    /// 5 = Auth.js (`@auth/core`, next-auth v5), 4 = NextAuth.js v4. Default 5.
    pub version: Option<u8>,
}

/// A string or a list of strings (the schema of `OneOrMany<String>`).
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

/// A single value or a list: `"AUTH_SECRET"` or `["AUTH_SECRET_1", "AUTH_SECRET"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOrMany<T> {
    /// One value.
    One(T),
    /// A list of values.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values, with their JSON path suffix (`""` for a single value, `"[i]"` in a list).
    #[must_use]
    pub fn into_indexed(self) -> Vec<(String, T)> {
        match self {
            OneOrMany::One(v) => vec![(String::new(), v)],
            OneOrMany::Many(vs) => vs
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("[{i}]"), v))
                .collect(),
        }
    }
}

// By hand rather than `#[serde(untagged)]`: no buffering of the input (smaller .wasm),
// and an error that says what is expected.
impl<'de> Deserialize<'de> for OneOrMany<String> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany<String>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(v.to_string()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(OneOrMany::Many(out))
            }
        }

        d.deserialize_any(OneOrManyVisitor)
    }
}
