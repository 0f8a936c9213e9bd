//! Finding the session cookie in a request and putting its chunks back together.
//!
//! Auth.js splits a session value longer than 3,936 characters (NextAuth v4: 3,933) into
//! `<name>.0`, `<name>.1`, … and joins them in index order when reading
//! (`SessionStore` in `@auth/core/src/lib/utils/cookie.ts`,
//! `next-auth/src/core/lib/cookie.ts`). Auth.js itself takes every cookie whose name
//! *starts with* the session name and sorts by `parseInt` of the last dot segment; this
//! reader is stricter, so that what jwt-gate checks is exactly one unambiguous value:
//!
//! * only `<name>` or `<name>.<n>` (decimal `n`, no leading zeros) belong to the session;
//! * chunks must be `0..n` without a gap;
//! * a cookie name sent twice with different values, or a whole cookie next to chunks,
//!   is rejected (empty values are ignored, as Auth.js does: that is how it clears them).

use std::fmt;

use crate::error::AuthError;
use crate::header_map::Header;

/// Highest chunk count accepted (64 KiB of cookie needs 17 chunks).
const MAX_CHUNKS: usize = 64;

/// The session cookie of one request, reassembled.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// The JWE (all chunks joined).
    pub value: String,
    /// Every cookie that formed it, in chunk order (to remove them upstream).
    pub cookie_names: Vec<String>,
    /// The session cookie name it was found under (`__Secure-` included, chunk suffix
    /// not): the HKDF salt of Auth.js v5.
    pub(super) name_used: String,
}

impl SessionCookie {
    /// The session cookie name it was found under (with `__Secure-`, without chunk suffix).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name_used
    }
}

impl fmt::Debug for SessionCookie {
    // The value is a credential: never in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookie")
            .field("name_used", &self.name_used)
            .field("cookie_names", &self.cookie_names)
            .field("value_len", &self.value.len())
            .finish_non_exhaustive()
    }
}

/// The session cookie under the first of `names` (most preferred first) present in
/// `headers`. `Ok(None)` = none of them is present.
pub(super) fn find(
    names: &[String],
    headers: &[Header<'_>],
) -> Result<Option<SessionCookie>, AuthError> {
    for name in names {
        if let Some(found) = find_one(name, headers)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The chunk index of `cookie` if it is `<name>.<n>`.
pub(super) fn chunk_index(name: &str, cookie: &str) -> Option<usize> {
    let digits = cookie.strip_prefix(name)?.strip_prefix('.')?;
    let canonical = !digits.is_empty()
        && digits.len() <= 3
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

fn find_one(name: &str, headers: &[Header<'_>]) -> Result<Option<SessionCookie>, AuthError> {
    let mut whole: Option<&str> = None;
    // Indexed by chunk number; `None` = not (yet) seen.
    let mut chunks: Vec<Option<&str>> = Vec::new();
    let cookies = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| crate::cookie::pairs(v))
        .filter(|(_, v)| !v.is_empty());
    for (cookie, value) in cookies {
        let slot = if cookie == name {
            &mut whole
        } else if let Some(index) = chunk_index(name, cookie) {
            if index >= MAX_CHUNKS {
                return Err(AuthError::TooLarge);
            }
            if chunks.len() <= index {
                chunks.resize(index + 1, None);
            }
            match chunks.get_mut(index) {
                Some(slot) => slot,
                None => continue,
            }
        } else {
            continue;
        };
        match *slot {
            Some(seen) if seen != value => {
                return Err(AuthError::Malformed("session cookie sent twice"))
            }
            _ => *slot = Some(value),
        }
    }
    let found = match (whole, chunks.is_empty()) {
        (None, true) => return Ok(None),
        (Some(_), false) => {
            return Err(AuthError::Malformed(
                "session cookie is both whole and chunked",
            ))
        }
        (Some(value), true) => SessionCookie {
            value: value.to_string(),
            cookie_names: vec![name.to_string()],
            name_used: name.to_string(),
        },
        (None, false) => {
            // Every index up to the highest one seen must be there.
            let parts: Vec<&str> = chunks
                .into_iter()
                .collect::<Option<_>>()
                .ok_or(AuthError::Malformed("session cookie chunk missing"))?;
            SessionCookie {
                value: parts.concat(),
                cookie_names: (0..parts.len()).map(|i| format!("{name}.{i}")).collect(),
                name_used: name.to_string(),
            }
        }
    };
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(cookies: &[&'a str]) -> Vec<Header<'a>> {
        cookies
            .iter()
            .map(|c| ("cookie".into(), (*c).into()))
            .collect()
    }

    fn names() -> Vec<String> {
        vec!["__Secure-s".to_string(), "s".to_string()]
    }

    #[test]
    fn chunks_are_joined_in_index_order_across_headers() {
        let h = headers(&["s.1=bb; other=1", "s.0=aa", "s.2=c"]);
        let got = find(&names(), &h).unwrap().unwrap();
        assert_eq!(got.value, "aabbc");
        assert_eq!(got.cookie_names, ["s.0", "s.1", "s.2"]);
        assert_eq!(got.name(), "s");
    }

    #[test]
    fn ten_chunks_sort_numerically() {
        let cookies: Vec<String> = (0..11)
            .rev()
            .map(|i| format!("s.{i}={}", char::from(b'a' + i)))
            .collect();
        let got = find(&names(), &headers(&[&cookies.join("; ")]))
            .unwrap()
            .unwrap();
        assert_eq!(got.value, "abcdefghijk");
    }

    #[test]
    fn missing_middle_chunk_is_rejected() {
        let err = find(&names(), &headers(&["s.0=a; s.2=c"])).unwrap_err();
        assert_eq!(err, AuthError::Malformed("session cookie chunk missing"));
        let err = find(&names(), &headers(&["s.1=b"])).unwrap_err();
        assert_eq!(err, AuthError::Malformed("session cookie chunk missing"));
    }

    #[test]
    fn too_many_chunks_are_rejected() {
        let cookies: Vec<String> = (0..=MAX_CHUNKS).map(|i| format!("s.{i}=x")).collect();
        assert_eq!(
            find(&names(), &headers(&[&cookies.join("; ")])),
            Err(AuthError::TooLarge)
        );
        let cookies: Vec<String> = (0..MAX_CHUNKS).map(|i| format!("s.{i}=x")).collect();
        assert!(find(&names(), &headers(&[&cookies.join("; ")])).is_ok());
    }

    #[test]
    fn secure_cookie_is_preferred_over_plain() {
        let got = find(&names(), &headers(&["s=plain; __Secure-s=secure"]))
            .unwrap()
            .unwrap();
        assert_eq!((got.value.as_str(), got.name()), ("secure", "__Secure-s"));
    }

    #[test]
    fn whole_and_chunked_together_is_rejected() {
        let err = find(&names(), &headers(&["s=x; s.0=a"])).unwrap_err();
        assert_eq!(
            err,
            AuthError::Malformed("session cookie is both whole and chunked")
        );
    }

    #[test]
    fn conflicting_duplicates_are_rejected_identical_ones_are_not() {
        assert!(find(&names(), &headers(&["s=a", "s=b"])).is_err());
        assert!(find(&names(), &headers(&["s.0=a; s.0=b"])).is_err());
        assert_eq!(
            find(&names(), &headers(&["s=a", "s=a"]))
                .unwrap()
                .unwrap()
                .value,
            "a"
        );
    }

    #[test]
    fn similar_names_and_empty_values_are_not_the_session() {
        let h = headers(&["s.x=1; s.01=2; s-x=3; ss=4; s.=5; s.1000=6; s=; x.s=7"]);
        assert_eq!(find(&names(), &h).unwrap(), None);
        assert_eq!(
            find(&names(), &[("authorization".into(), "s=1".into())]).unwrap(),
            None
        );
    }

    #[test]
    fn cookie_header_name_is_case_insensitive() {
        let h: Vec<Header<'_>> = vec![("Cookie".into(), "s=v".into())];
        assert_eq!(find(&names(), &h).unwrap().unwrap().value, "v");
    }

    #[test]
    fn debug_output_hides_the_value() {
        let got = find(&names(), &headers(&["s=secret-jwe"]))
            .unwrap()
            .unwrap();
        assert!(!format!("{got:?}").contains("secret-jwe"));
    }
}
