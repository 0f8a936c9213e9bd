//! `Cookie` request header parsing (RFC 6265 §5.4 as browsers send it, read leniently
//! the way servers do): `a=1; b="2"` across one or several `Cookie` headers.

/// Yields `(name, value)` for every cookie in one `Cookie` header value; a value in
/// double quotes is unquoted. Pairs without `=` are skipped.
pub fn pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|part| {
        let (name, value) = part.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some((name, value))
    })
}

/// The `Cookie` header value without the cookies named `name`; `None` when nothing is left.
#[must_use]
pub fn without(header: &str, name: &str) -> Option<String> {
    without_matching(header, |n| n == name)
}

/// The `Cookie` header value without the cookies whose name satisfies `drop`.
#[must_use]
pub fn without_matching(header: &str, drop: impl Fn(&str) -> bool) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .filter(|part| !drop(part.split_once('=').map_or(*part, |(n, _)| n.trim())))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_several_cookies_quoted_values_and_whitespace() {
        let got: Vec<_> = pairs(" a=1;b=\"two\" ;  c = 3 ;flag; =x; d=").collect();
        assert_eq!(got, vec![("a", "1"), ("b", "two"), ("c", "3"), ("d", "")]);
    }

    #[test]
    fn value_may_contain_equals_signs() {
        let got: Vec<_> = pairs("t=abc==.def").collect();
        assert_eq!(got, vec![("t", "abc==.def")]);
    }

    #[test]
    fn removing_a_cookie_keeps_the_others() {
        assert_eq!(
            without("a=1; token=x.y.z; b=2", "token").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(without("token=x", "token"), None);
        assert_eq!(without("tokenx=1", "token").as_deref(), Some("tokenx=1"));
    }
}
