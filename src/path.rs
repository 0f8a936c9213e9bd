//! Request path normalization: the one form of `:path` every rule is matched against.
//!
//! The normalized path is a *matching key*, never forwarded: the upstream receives the
//! path as the client sent it. So the key must be at least as "resolved" as anything a
//! backend could make of the same bytes, or a rule can be bypassed with `/public/../admin`.
//! What we do (and why):
//!
//! * query (`?…`) and fragment (`#…`) are cut off: rules match paths only;
//! * `%XX` of an unreserved character (`A-Z a-z 0-9 - . _ ~`) is decoded, since every
//!   backend decodes it (`/%61dmin` is `/admin`, `/%2e%2e/` is `/../`); any other escape
//!   is kept but its hex is uppercased, so `%c3%a9` and `%C3%A9` are one key and `%25`
//!   is never decoded twice;
//! * rejected (→ 400 before any rule runs), because backends disagree on what they mean:
//!   `\` raw or as `%5C` (a separator on Windows/IIS and some frameworks), `/` encoded as
//!   `%2F` (a separator after decoding for some, a literal for others), NUL and every
//!   other control character raw or encoded (`%00`–`%1F`, `%7F`; raw C1 too), and broken
//!   escapes (`%`, `%2`, `%G1`);
//! * a path must start with `/`. The only exception is exactly `*` (`OPTIONS *`,
//!   RFC 9112 §3.2.4), kept as `*`: no `path`/`prefix` rule can match it, so it gets the
//!   default action. Absolute-form (`http://host/x`) never reaches a proxy-wasm filter in
//!   Envoy (the codec splits it into `:authority` and `:path`); elsewhere it is rejected;
//! * `;` path parameters (`/admin;jsessionid=1`, also written `%3B`) are removed from
//!   each segment, as servlet containers (Tomcat, Jetty, Spring) do before routing. Keeping
//!   them would let `/admin;x=y/users` miss an `/admin/` prefix rule and `/public/..;/admin`
//!   look like a path under `/public` while Tomcat serves `/admin`;
//! * repeated slashes are merged, then `.` and `..` segments resolved (RFC 3986 §5.2.4;
//!   `..` above the root stays at the root). A trailing `/`, `/.` or `/..` leaves a trailing
//!   slash, as in RFC 3986.
//!
//! Matching on the result is case-sensitive (`/ADMIN` is not `/admin`), like Envoy's route
//! matching and nginx `location` on Linux; for a case-insensitive backend write a
//! `(?i)` regex rule.

use std::borrow::Cow;

use crate::error::AuthError;

/// Normalizes a `:path` pseudo-header as received (query and fragment included) into the
/// key rules are matched against.
///
/// # Errors
///
/// [`AuthError::BadPath`] when it cannot be done safely (see the module docs); the request
/// then gets 400 before any rule is tried.
pub fn normalize(raw_path: &str) -> Result<Cow<'_, str>, AuthError> {
    let path = without_query(raw_path);
    if path == "*" || already_normal(path) {
        return Ok(Cow::Borrowed(path));
    }
    if !path.starts_with('/') {
        return Err(AuthError::BadPath);
    }
    let decoded = decode_unreserved(path)?;
    Ok(Cow::Owned(resolve_segments(&decoded)))
}

/// Whether `path` is its own normal form, judged conservatively: it starts with `/`,
/// holds only unreserved characters and `/` (no escape, `;`, `\` or control), no
/// empty segment but a trailing one, and no `.` or `..` segment. Most requests are
/// like that, and they skip the two copies the full normalization makes.
fn already_normal(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let plain = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        let ok = match segment {
            "" => last,
            "." | ".." => false,
            s => s.bytes().all(|b| plain(&b)),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The path up to the first `?` or `#`.
fn without_query(raw: &str) -> &str {
    match raw.find(['?', '#']) {
        Some(end) => raw.get(..end).unwrap_or(raw),
        None => raw,
    }
}

/// Decodes escapes of unreserved characters, uppercases the others, rejects what is unsafe.
fn decode_unreserved(path: &str) -> Result<String, AuthError> {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => {
                let hi = chars
                    .next()
                    .and_then(|h| h.to_digit(16))
                    .ok_or(AuthError::BadPath)?;
                let lo = chars
                    .next()
                    .and_then(|l| l.to_digit(16))
                    .ok_or(AuthError::BadPath)?;
                push_escaped(&mut out, hi, lo)?;
            }
            '\\' => return Err(AuthError::BadPath),
            c if c.is_control() => return Err(AuthError::BadPath),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Appends the byte `hi * 16 + lo`, decoded when unreserved, as an uppercase escape otherwise.
fn push_escaped(out: &mut String, hi: u32, lo: u32) -> Result<(), AuthError> {
    let byte = u8::try_from(hi * 16 + lo).map_err(|_| AuthError::BadPath)?;
    match byte {
        b'/' | b'\\' | 0x00..=0x1F | 0x7F => Err(AuthError::BadPath),
        b if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') => {
            out.push(char::from(b));
            Ok(())
        }
        _ => {
            out.push('%');
            out.push(hex_upper(hi));
            out.push(hex_upper(lo));
            Ok(())
        }
    }
}

fn hex_upper(nibble: u32) -> char {
    char::from_digit(nibble, 16).map_or('0', |c| c.to_ascii_uppercase())
}

/// Drops `;` parameters, merges empty segments and resolves dot segments.
/// `decoded` starts with `/`.
fn resolve_segments(decoded: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in decoded.split('/').skip(1) {
        match without_params(segment) {
            "" | "." => trailing_slash = true,
            ".." => {
                kept.pop();
                trailing_slash = true;
            }
            name => {
                kept.push(name);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(decoded.len());
    for name in &kept {
        out.push('/');
        out.push_str(name);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

/// The segment without its path parameters (from the first `;` or `%3B`). Escapes are
/// already uppercased, so `%3b` cannot occur here.
fn without_params(segment: &str) -> &str {
    let end = [segment.find(';'), segment.find("%3B")]
        .into_iter()
        .flatten()
        .min();
    match end {
        Some(end) => segment.get(..end).unwrap_or(segment),
        None => segment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalizes_to_the_form_rules_match() {
        let cases = [
            ("/", "/"),
            ("/admin", "/admin"),
            ("/admin/", "/admin/"),
            ("/admin?x=/public", "/admin"),
            ("/admin#frag", "/admin"),
            ("/admin?", "/admin"),
            ("//admin", "/admin"),
            ("/a//b///c", "/a/b/c"),
            ("/admin/./", "/admin/"),
            ("/admin/.", "/admin/"),
            ("/public/../admin", "/admin"),
            ("/a/b/..", "/a/"),
            ("/../../admin", "/admin"),
            ("/..", "/"),
            ("/%61dmin", "/admin"),
            ("/%2e%2e/admin", "/admin"),
            ("/public/%2E./admin", "/admin"),
            ("/%7Euser/%41-%5f", "/~user/A-_"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/a%20b", "/a%20b"),
            ("/100%25", "/100%25"),
            ("/%2525", "/%2525"),
            ("/ADMIN", "/ADMIN"),
            ("/admin;x=y", "/admin"),
            ("/admin;x=y/users", "/admin/users"),
            ("/admin%3bx=y/users", "/admin/users"),
            ("/public/..;/admin", "/admin"),
            ("/public/.;x/admin", "/public/admin"),
            ("/;x/admin", "/admin"),
            ("/admin/;x", "/admin/"),
            ("/caf\u{e9}", "/caf\u{e9}"),
            ("*", "*"),
            ("*?x", "*"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize(raw).as_deref(), Ok(want), "normalize({raw:?})");
        }
    }

    /// The borrowed fast path must give what the full normalization gives, for every
    /// path over an alphabet of the characters that matter, up to 6 long.
    #[test]
    fn already_normal_paths_are_exactly_their_own_normal_form() {
        let alphabet = ['a', '/', '.', '-', '%', '2', 'e', ';', '?'];
        let mut paths = vec![String::new()];
        let mut fast = 0;
        for _ in 0..6 {
            paths = paths
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            for path in &paths {
                let slow = without_query(path);
                let slow = if slow == "*" {
                    Ok(slow.to_string())
                } else if !slow.starts_with('/') {
                    Err(AuthError::BadPath)
                } else {
                    decode_unreserved(slow).map(|d| resolve_segments(&d))
                };
                if already_normal(without_query(path)) {
                    fast += 1;
                    assert_eq!(slow.as_deref(), Ok(without_query(path)), "{path:?}");
                }
                assert_eq!(normalize(path).as_deref(), slow.as_deref(), "{path:?}");
            }
        }
        assert!(fast > 1000, "the fast path was taken only {fast} times");
    }

    #[test]
    fn unsafe_paths_are_rejected_before_matching() {
        let cases = [
            "",
            "?x=/",
            "admin",
            "http://example.com/admin",
            "**",
            "/admin%2f..",
            "/admin%2F..",
            "/a\\b",
            "/a%5cb",
            "/a%5Cb",
            "/a%00b",
            "/a\0b",
            "/a\r\nb",
            "/a%0d%0ab",
            "/a%7F",
            "/a\u{7f}",
            "/a\u{85}",
            "/a\tb",
            "/a%",
            "/a%2",
            "/a%G1",
            "/a%1G",
            "/a%%41",
            "/a%\u{e9}9",
        ];
        for raw in cases {
            assert_eq!(
                normalize(raw),
                Err(AuthError::BadPath),
                "normalize({raw:?})"
            );
        }
    }

    /// Path pieces that exercise every branch: separators, dots raw and encoded, parameters,
    /// escapes good and bad, query/fragment markers.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "/", "//", ".", "..", "%2e", "%2E", ";", ";x=/", "%3b", "a", "A", "%41", "%c3%a9",
            "%25", "%2f", "%5c", "%", "%0", "%zz", "\\", "?", "#", "*", "~", "\u{e9}", "\t",
        ])
    }

    fn assert_canonical(raw: &str) -> Result<(), TestCaseError> {
        if let Ok(key) = normalize(raw) {
            prop_assert!(!key.contains("//"), "{key:?}");
            prop_assert!(!key.contains("/./"), "{key:?}");
            prop_assert!(!key.contains("/../"), "{key:?}");
            prop_assert!(!key.ends_with("/.") && !key.ends_with("/.."), "{key:?}");
            prop_assert!(!key.contains(';') && !key.contains("%3B"), "{key:?}");
            prop_assert!(key == "*" || key.starts_with('/'), "{key:?}");
            prop_assert_eq!(normalize(&key), Ok(key.clone()));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn normalize_is_canonical_on_arbitrary_strings(raw in "\\PC{0,32}|[/a.;%2eEfF5cC3bB?#\\\\]{0,24}") {
            assert_canonical(&raw)?;
        }

        #[test]
        fn normalize_is_canonical_on_path_like_strings(pieces in prop::collection::vec(piece(), 0..20)) {
            assert_canonical(&pieces.concat())?;
            assert_canonical(&format!("/{}", pieces.concat()))?;
        }
    }
}
