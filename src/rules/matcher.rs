//! `match`: which requests a rule applies to, compiled once at configure time.

use std::fmt;

use regex_lite::Regex;

use super::raw::{RawHeaderMatch, RawMatch};
use crate::config::ConfigError;
use crate::path;

/// Methods a rule may name. Anything else is a typo in a security config, so it is an error.
const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// A compiled `match`.
#[derive(Debug, Clone)]
pub struct Matcher {
    path: PathMatch,
    /// Uppercase; `None` = every method.
    methods: Option<Vec<String>>,
    /// Lowercase names; all must hold.
    headers: Vec<(String, HeaderMatch)>,
}

#[derive(Debug, Clone)]
enum PathMatch {
    Exact(String),
    Prefix(String),
    /// The user's source (for messages), and the same pattern anchored at both ends.
    Regex {
        source: String,
        anchored: Regex,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HeaderMatch {
    Exact(String),
    Present,
}

impl Matcher {
    /// Whether the request matches. `normalized_path` comes from [`crate::path::normalize`];
    /// `header` looks a request header up by lowercase name.
    #[must_use]
    pub fn matches(
        &self,
        method: &str,
        normalized_path: &str,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> bool {
        self.path_matches(normalized_path)
            && self.method_matches(method)
            && self.headers_match(header)
    }

    fn path_matches(&self, path: &str) -> bool {
        match &self.path {
            PathMatch::Exact(p) => path == p,
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
            PathMatch::Regex { anchored, .. } => anchored.is_match(path),
        }
    }

    /// Methods compare case-insensitively and `GET` covers `HEAD`: backends commonly
    /// accept `get` and serve `HEAD` with the `GET` handler, so a `["GET"]` require rule
    /// must not be sidestepped by either.
    fn method_matches(&self, method: &str) -> bool {
        let Some(methods) = &self.methods else {
            return true;
        };
        methods.iter().any(|m| {
            m.eq_ignore_ascii_case(method) || (m == "GET" && method.eq_ignore_ascii_case("HEAD"))
        })
    }

    fn headers_match(&self, header: &dyn Fn(&str) -> Option<String>) -> bool {
        self.headers
            .iter()
            .all(|(name, want)| match (want, header(name)) {
                (HeaderMatch::Present, Some(_)) => true,
                (HeaderMatch::Exact(v), Some(got)) => got == *v,
                (_, None) => false,
            })
    }
}

/// For logs and `jwt-gate-check`: `prefix "/api/" methods [POST] headers {x-a: "1"}`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            PathMatch::Exact(p) => write!(f, "path {p:?}")?,
            PathMatch::Prefix(p) => write!(f, "prefix {p:?}")?,
            PathMatch::Regex { source, .. } => write!(f, "regex {source:?}")?,
        }
        if let Some(methods) = &self.methods {
            write!(f, " methods [{}]", methods.join(", "))?;
        }
        if !self.headers.is_empty() {
            let parts: Vec<String> = self
                .headers
                .iter()
                .map(|(n, m)| match m {
                    HeaderMatch::Exact(v) => format!("{n}: {v:?}"),
                    HeaderMatch::Present => format!("{n}: present"),
                })
                .collect();
            write!(f, " headers {{{}}}", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Compiles a `match`; error paths are relative to it (`regex`, `methods[1]`, …).
pub(crate) fn compile_match(raw: &RawMatch) -> Result<Matcher, ConfigError> {
    let path = match (&raw.path, &raw.prefix, &raw.regex) {
        (Some(p), None, None) => PathMatch::Exact(normalized(p, "path")?),
        (None, Some(p), None) => PathMatch::Prefix(normalized(p, "prefix")?),
        (None, None, Some(r)) => compile_regex(r)?,
        _ => return Err(ConfigError::new("", "exactly one of path, prefix, regex")),
    };
    let methods = raw.methods.as_deref().map(compile_methods).transpose()?;
    let headers = match &raw.headers {
        Some(h) => compile_headers(h)?,
        None => Vec::new(),
    };
    Ok(Matcher {
        path,
        methods,
        headers,
    })
}

/// A `path`/`prefix` is compared with normalized request paths, so one that is not in
/// normalized form (`/a/../b`, `/%61`, `/a;p`, `api/`) could never match as written.
fn normalized(value: &str, field: &str) -> Result<String, ConfigError> {
    match path::normalize(value) {
        Ok(n) if n == value => Ok(n.into_owned()),
        Ok(n) => Err(ConfigError::new(
            field,
            format!("{value:?} is not a normalized path and would never match; did you mean {n:?}?"),
        )),
        Err(_) => Err(ConfigError::new(
            field,
            format!("{value:?} is not a valid request path (must start with \"/\", no \"\\\", \"%2F\", control characters or broken escapes)"),
        )),
    }
}

/// The regex must match the whole normalized path. It is compiled alone first so that a
/// pattern such as `a)|(b` cannot change meaning once wrapped in `^(?:…)$`.
/// `regex-lite` keeps the `.wasm` small and matches in linear time.
fn compile_regex(source: &str) -> Result<PathMatch, ConfigError> {
    let invalid = |e: regex_lite::Error| ConfigError::new("regex", format!("invalid regex: {e}"));
    Regex::new(source).map_err(invalid)?;
    let anchored = Regex::new(&format!("^(?:{source})$")).map_err(invalid)?;
    Ok(PathMatch::Regex {
        source: source.to_string(),
        anchored,
    })
}

fn compile_methods(raw: &[String]) -> Result<Vec<String>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::new(
            "methods",
            "empty list matches nothing; omit `methods` to match every method",
        ));
    }
    let mut methods: Vec<String> = Vec::with_capacity(raw.len());
    for (i, m) in raw.iter().enumerate() {
        let upper = m.to_ascii_uppercase();
        let at = format!("methods[{i}]");
        if !KNOWN_METHODS.contains(&upper.as_str()) {
            return Err(ConfigError::new(at, format!("unknown method {m:?}")));
        }
        if methods.contains(&upper) {
            return Err(ConfigError::new(at, format!("method {upper} listed twice")));
        }
        methods.push(upper);
    }
    Ok(methods)
}

fn compile_headers(
    raw: &std::collections::BTreeMap<String, RawHeaderMatch>,
) -> Result<Vec<(String, HeaderMatch)>, ConfigError> {
    let mut headers: Vec<(String, HeaderMatch)> = Vec::with_capacity(raw.len());
    for (name, want) in raw {
        let at = format!("headers.{name}");
        let lower = name.to_ascii_lowercase();
        if !is_header_name(&lower) {
            return Err(ConfigError::new(
                at,
                format!("invalid header name {name:?}"),
            ));
        }
        if headers.iter().any(|(n, _)| *n == lower) {
            return Err(ConfigError::new(
                at,
                "header named twice (names are case-insensitive)",
            ));
        }
        let want = match want {
            RawHeaderMatch::Exact(v) => HeaderMatch::Exact(v.clone()),
            RawHeaderMatch::Present(p) if p.present => HeaderMatch::Present,
            RawHeaderMatch::Present(_) => {
                return Err(ConfigError::new(
                    format!("{at}.present"),
                    "must be true (absence cannot be matched)",
                ))
            }
        };
        headers.push((lower, want));
    }
    Ok(headers)
}

/// An RFC 9110 token, optionally after one `:` (pseudo-headers such as `:authority`).
fn is_header_name(name: &str) -> bool {
    let token = name.strip_prefix(':').unwrap_or(name);
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matcher(raw: serde_json::Value) -> Matcher {
        compile_match(&serde_json::from_value(raw).unwrap()).unwrap()
    }

    fn no_headers(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn paths_prefixes_and_regexes_match_the_normalized_path() {
        let cases = [
            (json!({"path": "/health"}), "/health", true),
            (json!({"path": "/health"}), "/health/", false),
            (json!({"path": "/health"}), "/healthz", false),
            (json!({"prefix": "/api/"}), "/api/users", true),
            (json!({"prefix": "/api/"}), "/api", false),
            (json!({"prefix": "/admin"}), "/administrator", true),
            (json!({"prefix": "/admin"}), "/ADMIN", false),
            (json!({"prefix": "/"}), "/anything", true),
            (json!({"regex": "/users/[0-9]+"}), "/users/42", true),
            (json!({"regex": "/users/[0-9]+"}), "/users/42/delete", false),
            (json!({"regex": "/users/[0-9]+"}), "/x/users/42", false),
            (json!({"regex": "/a|/b"}), "/b", true),
            (json!({"regex": "/a|/b"}), "/bc", false),
            (json!({"regex": "(?i)/admin/.*"}), "/ADMIN/x", true),
        ];
        for (raw, path, want) in cases {
            assert_eq!(
                matcher(raw.clone()).matches("GET", path, &no_headers),
                want,
                "{raw} vs {path}"
            );
        }
    }

    #[test]
    fn methods_ignore_case_and_get_covers_head() {
        let m = matcher(json!({"prefix": "/", "methods": ["get", "DELETE"]}));
        let cases = [
            ("GET", true),
            ("get", true),
            ("HEAD", true),
            ("head", true),
            ("delete", true),
            ("POST", false),
        ];
        for (method, want) in cases {
            assert_eq!(m.matches(method, "/", &no_headers), want, "{method}");
        }
        let post = matcher(json!({"prefix": "/", "methods": ["POST"]}));
        assert!(!post.matches("HEAD", "/", &no_headers));
    }

    #[test]
    fn headers_all_must_match_by_lowercase_name() {
        let m = matcher(
            json!({"prefix": "/", "headers": {"X-Tenant": "acme", "x-debug": {"present": true}}}),
        );
        let lookup = |tenant: Option<&'static str>, debug: bool| {
            move |name: &str| match name {
                "x-tenant" => tenant.map(str::to_string),
                "x-debug" if debug => Some(String::new()),
                _ => None,
            }
        };
        assert!(m.matches("GET", "/", &lookup(Some("acme"), true)));
        assert!(!m.matches("GET", "/", &lookup(Some("ACME"), true)));
        assert!(!m.matches("GET", "/", &lookup(Some("acme"), false)));
        assert!(!m.matches("GET", "/", &lookup(None, true)));
    }

    #[test]
    fn bad_matches_are_config_errors_naming_the_field() {
        let cases = [
            (json!({}), ": exactly one of path, prefix, regex"),
            (json!({"path": "/a", "prefix": "/a"}), ": exactly one of path, prefix, regex"),
            (json!({"regex": "(", "prefix": "/"}), ": exactly one of path, prefix, regex"),
            (json!({"regex": "("}), "regex: invalid regex: "),
            (json!({"regex": "a)|(b"}), "regex: invalid regex: "),
            (json!({"prefix": "api/"}), "prefix: \"api/\" is not a valid request path"),
            (json!({"prefix": "/a/../b"}), "prefix: \"/a/../b\" is not a normalized path and would never match; did you mean \"/b\"?"),
            (json!({"path": "/%61"}), "path: \"/%61\" is not a normalized path"),
            (json!({"prefix": "/admin;"}), "did you mean \"/admin\"?"),
            (json!({"prefix": "/a?b"}), "did you mean \"/a\"?"),
            (json!({"prefix": "/a%2F"}), "prefix: \"/a%2F\" is not a valid request path"),
            (json!({"prefix": ""}), "prefix: \"\" is not a valid request path"),
            (json!({"prefix": "/", "methods": []}), "methods: empty list"),
            (json!({"prefix": "/", "methods": ["GET", "FETCH"]}), "methods[1]: unknown method \"FETCH\""),
            (json!({"prefix": "/", "methods": ["GET", "get"]}), "methods[1]: method GET listed twice"),
            (json!({"prefix": "/", "headers": {"bad name": "x"}}), "headers.bad name: invalid header name"),
            (json!({"prefix": "/", "headers": {"X-A": "1", "x-a": "2"}}), "headers.x-a: header named twice"),
            (json!({"prefix": "/", "headers": {"x-a": {"present": false}}}), "headers.x-a.present: must be true"),
        ];
        for (raw, want) in cases {
            let err = compile_match(&serde_json::from_value(raw.clone()).unwrap()).unwrap_err();
            let shown = format!("{}: {}", err.path, err.message);
            assert!(shown.contains(want), "{raw}: got {shown:?}, want {want:?}");
        }
    }

    #[test]
    fn pseudo_headers_can_be_matched() {
        let m = matcher(json!({"prefix": "/", "headers": {":authority": "api.example.com"}}));
        assert!(m.matches("GET", "/", &|n: &str| (n == ":authority")
            .then(|| "api.example.com".to_string())));
    }

    #[test]
    fn display_shows_the_match_for_explain_output() {
        let m = matcher(
            json!({"prefix": "/api/", "methods": ["post"], "headers": {"X-A": "1", "x-b": {"present": true}}}),
        );
        assert_eq!(
            m.to_string(),
            "prefix \"/api/\" methods [POST] headers {x-a: \"1\", x-b: present}"
        );
    }
}
