//! Finds a provider's token in a request: `Authorization`-style headers with a scheme
//! prefix, cookies, and query parameters (like Envoy `jwt_authn`'s `extractor`).
//!
//! Every source is read, not only the first that has something: two different tokens
//! in one request are refused (RFC 6750 §2: a client uses one method only), so a
//! client cannot present one token to the gate and another to the backend.

use std::rc::Rc;

use crate::cookie;
use crate::error::AuthError;
use crate::header_map::Header;

/// Where a token may be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A header (name lowercased), optionally behind a scheme prefix matched case-insensitively.
    Header {
        /// Lowercase header name (an `Rc`: removing the credential upstream shares it).
        name: Rc<str>,
        /// e.g. `"Bearer "`; the token is what follows it.
        prefix: Option<String>,
    },
    /// A cookie by exact name.
    Cookie(String),
    /// A query parameter by exact name.
    Query(String),
}

impl Default for Source {
    /// `Authorization: Bearer <token>`.
    fn default() -> Self {
        Source::Header {
            name: "authorization".into(),
            prefix: Some("Bearer ".into()),
        }
    }
}

impl Source {
    /// A header source; the name must be a valid, non-pseudo header name.
    pub fn header(name: &str, prefix: Option<&str>) -> Result<Source, String> {
        if !is_token(name) {
            return Err(format!("invalid header name {name:?}"));
        }
        if prefix.is_some_and(str::is_empty) {
            return Err("prefix must not be empty (omit it)".into());
        }
        Ok(Source::Header {
            name: name.to_ascii_lowercase().into(),
            prefix: prefix.map(str::to_string),
        })
    }

    /// A cookie source.
    pub fn cookie(name: &str) -> Result<Source, String> {
        if is_token(name) {
            Ok(Source::Cookie(name.to_string()))
        } else {
            Err(format!("invalid cookie name {name:?}"))
        }
    }

    /// A query-parameter source.
    pub fn query(name: &str) -> Result<Source, String> {
        if name.is_empty()
            || name
                .bytes()
                .any(|b| matches!(b, b'&' | b'=' | b'#') || b.is_ascii_control())
        {
            Err(format!("invalid query parameter name {name:?}"))
        } else {
            Ok(Source::Query(name.to_string()))
        }
    }
}

/// RFC 9110 `token` characters (header and cookie names).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The request as the extractor sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// All request headers, names lowercase (as proxy-wasm hosts give them).
    pub headers: &'a [Header<'a>],
    /// The `:path` as received, query included.
    pub path: &'a str,
}

/// Most token sources one provider may list (a [`SourceSet`] is one word).
pub const MAX_SOURCES: usize = 64;

/// A set of source indices (below [`MAX_SOURCES`]), kept in one word: no allocation
/// per request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceSet(u64);

impl SourceSet {
    fn insert(&mut self, index: usize) {
        if let Some(bit) = u32::try_from(index).ok().and_then(|i| 1u64.checked_shl(i)) {
            self.0 |= bit;
        }
    }

    /// The indices, ascending.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..MAX_SOURCES).filter(move |i| self.0 >> i & 1 == 1)
    }
}

/// A token and the sources (indices into the provider's list) it was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    /// The credential, borrowed from the request.
    pub token: &'a str,
    /// Indices of the sources that carried it.
    pub sources: SourceSet,
}

/// Looks in every source. `Ok(None)`: no credential; `MultipleTokens`: two different ones.
pub fn extract<'a>(
    sources: &[Source],
    req: RequestParts<'a>,
) -> Result<Option<Found<'a>>, AuthError> {
    let mut found: Option<Found<'a>> = None;
    for (i, source) in sources.iter().enumerate() {
        each_candidate(source, req, &mut |token| {
            if token.is_empty() {
                return Err(AuthError::Malformed("empty token"));
            }
            match &mut found {
                None => {
                    let mut at = SourceSet::default();
                    at.insert(i);
                    found = Some(Found { token, sources: at });
                }
                Some(f) if f.token == token => f.sources.insert(i),
                Some(_) => return Err(AuthError::MultipleTokens),
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// Hands `take` every value a source yields in this request (a header or cookie may
/// repeat), in order, without collecting them; stops at its first error.
fn each_candidate<'a>(
    source: &Source,
    req: RequestParts<'a>,
    take: &mut dyn FnMut(&'a str) -> Result<(), AuthError>,
) -> Result<(), AuthError> {
    match source {
        Source::Header { name, prefix } => req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| match prefix {
                None => Some(v.trim()),
                Some(p) => strip_prefix_ignore_case(v.trim_start(), p).map(str::trim),
            })
            .try_for_each(take),
        Source::Cookie(name) => req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| cookie::pairs(v))
            .filter(|(n, _)| n == name)
            .try_for_each(|(_, v)| take(v)),
        Source::Query(name) => query_values(req.path, name, take),
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| value.get(prefix.len()..))
        .flatten()
}

/// Values of query parameter `name`. JWTs are base64url and need no decoding; a value
/// that is percent-encoded is taken as is and will fail verification, never be rewritten.
fn query_values<'a>(
    path: &'a str,
    name: &str,
    take: &mut dyn FnMut(&'a str) -> Result<(), AuthError>,
) -> Result<(), AuthError> {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == name)
        .try_for_each(|(_, v)| take(v))
}

/// The `:path` without the query parameters named `name` (to stop forwarding a credential).
#[must_use]
pub fn path_without_query_param(path: &str, name: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| kv.split_once('=').map_or(*kv, |(k, _)| k) != name)
        .collect();
    if kept.iter().all(|kv| kv.is_empty()) {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    /// What `extract` found, owned (the request it borrows from is local to `run`).
    #[derive(Debug, PartialEq)]
    struct Got {
        token: String,
        sources: Vec<usize>,
    }

    fn run(
        sources: &[Source],
        headers: &[(&str, &str)],
        path: &str,
    ) -> Result<Option<Got>, AuthError> {
        let headers = h(headers);
        let found = extract(
            sources,
            RequestParts {
                headers: &headers,
                path,
            },
        )?;
        Ok(found.map(|f| Got {
            token: f.token.to_string(),
            sources: f.sources.iter().collect(),
        }))
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for v in ["Bearer a.b.c", "bearer a.b.c", "BEARER   a.b.c"] {
            let got = run(&[Source::default()], &[("authorization", v)], "/")
                .unwrap()
                .unwrap();
            assert_eq!(got.token, "a.b.c", "{v}");
        }
    }

    #[test]
    fn other_schemes_are_not_tokens() {
        assert_eq!(
            run(
                &[Source::default()],
                &[("authorization", "Basic dXNlcjpwYXNz")],
                "/"
            ),
            Ok(None)
        );
        assert_eq!(
            run(&[Source::default()], &[("authorization", "Bearer")], "/"),
            Ok(None)
        );
    }

    #[test]
    fn empty_bearer_token_is_malformed() {
        assert_eq!(
            run(&[Source::default()], &[("authorization", "Bearer   ")], "/"),
            Err(AuthError::Malformed("empty token"))
        );
    }

    #[test]
    fn two_different_tokens_are_refused_the_same_token_twice_is_fine() {
        let sources = [
            Source::default(),
            Source::cookie("access_token").unwrap(),
            Source::query("access_token").unwrap(),
        ];
        let two = run(
            &sources,
            &[
                ("authorization", "Bearer a.b.c"),
                ("cookie", "access_token=x.y.z"),
            ],
            "/",
        );
        assert_eq!(two, Err(AuthError::MultipleTokens));
        let twice = run(
            &sources,
            &[("authorization", "Bearer a.b.c")],
            "/p?access_token=a.b.c",
        )
        .unwrap()
        .unwrap();
        assert_eq!(twice.sources, vec![0, 2]);
        let two_headers = run(
            &sources[..1],
            &[
                ("authorization", "Bearer a.b.c"),
                ("authorization", "Bearer d.e.f"),
            ],
            "/",
        );
        assert_eq!(two_headers, Err(AuthError::MultipleTokens));
    }

    #[test]
    fn cookie_tokens_are_found_across_cookie_headers() {
        let sources = [Source::cookie("access_token").unwrap()];
        let got = run(
            &sources,
            &[("cookie", "a=1"), ("cookie", "b=2; access_token=\"x.y.z\"")],
            "/",
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.token, "x.y.z");
    }

    #[test]
    fn query_tokens_and_their_removal() {
        let sources = [Source::query("t").unwrap()];
        let got = run(&sources, &[], "/p?a=1&t=x.y.z#frag").unwrap().unwrap();
        assert_eq!(got.token, "x.y.z");
        assert_eq!(
            path_without_query_param("/p?a=1&t=x.y.z&b=2", "t"),
            "/p?a=1&b=2"
        );
        assert_eq!(path_without_query_param("/p?t=x.y.z", "t"), "/p");
    }

    #[test]
    fn invalid_source_names_are_rejected() {
        assert!(Source::header("bad header", None).is_err());
        assert!(Source::header(":path", None).is_err());
        assert!(Source::cookie("a;b").is_err());
        assert!(Source::query("a&b").is_err());
    }
}
