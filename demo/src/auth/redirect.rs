//! `return_to` validation for the browser login: the redirect target after login must
//! be a path on this same origin, or the login page becomes an open redirect.

/// Where to go when `return_to` is missing or unsafe.
pub const DEFAULT_RETURN_TO: &str = "/app/";
const MAX_LEN: usize = 2048;

/// Returns `raw` if it is a same-origin path, else [`DEFAULT_RETURN_TO`].
///
/// Accepted: a path starting with exactly one `/`, made of printable ASCII only, without
/// `\`. That rules out `https://evil.com` (scheme), `//evil.com` (scheme-relative),
/// `/\evil.com` (browsers read `\` as `/`), and `/\t/evil.com` (browsers strip tabs and
/// newlines from URLs, turning it into `//evil.com`). It also keeps the value safe to put
/// in a `Location` header as is.
pub fn safe_return_to(raw: Option<&str>) -> &str {
    match raw {
        Some(p) if is_safe(p) => p,
        _ => DEFAULT_RETURN_TO,
    }
}

fn is_safe(p: &str) -> bool {
    let bytes = p.as_bytes();
    p.len() <= MAX_LEN
        && bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && bytes
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_local_paths() {
        for p in ["/", "/app/", "/app/orders?id=7&x=%2F", "/api/me#frag"] {
            assert_eq!(safe_return_to(Some(p)), p);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for p in [
            "",
            "app/",
            "//evil.com",
            "///evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "https://evil.com",
            "javascript:alert(1)",
            "/\t/evil.com",
            "/\n/evil.com",
            "/ /evil.com",
            "/app/\u{e9}",
            "/a\\b",
        ] {
            assert_eq!(safe_return_to(Some(p)), DEFAULT_RETURN_TO, "{p:?}");
        }
        assert_eq!(safe_return_to(None), DEFAULT_RETURN_TO);
        assert_eq!(
            safe_return_to(Some(&format!("/{}", "a".repeat(MAX_LEN)))),
            DEFAULT_RETURN_TO
        );
    }
}
