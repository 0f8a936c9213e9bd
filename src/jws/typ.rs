//! Explicit typing (RFC 8725 §3.11): a provider may accept only tokens whose header
//! `typ` names one of its media types, e.g. `at+jwt` for RFC 9068 access tokens, so an
//! ID token or any other JWT signed by the same issuer cannot be replayed as one.
//!
//! Media types compare case-insensitively, and a `typ` without a `/` means
//! `application/<typ>` (RFC 7515 §4.1.9): `at+jwt`, `AT+JWT` and `application/at+jwt`
//! are the same type.

use crate::config::ConfigError;

const APPLICATION: &str = "application/";

/// The media types a provider accepts in the header `typ`. A token without `typ` is
/// never accepted once a list is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeAllowList {
    /// Full media types, lowercase, `application/` added where it was omitted.
    types: Vec<String>,
}

impl TypeAllowList {
    /// Compiles the `typ` list of a provider; error paths are relative to it (`[1]`).
    ///
    /// # Errors
    ///
    /// An empty list, or an entry that is empty or not a plain printable-ASCII token.
    pub fn compile(raw: &[String]) -> Result<TypeAllowList, ConfigError> {
        if raw.is_empty() {
            return Err(ConfigError::new(
                "",
                "must not be empty (omit it to accept any typ)",
            ));
        }
        let mut types: Vec<String> = Vec::with_capacity(raw.len());
        for (i, entry) in raw.iter().enumerate() {
            let valid = !entry.is_empty()
                && entry.bytes().all(|b| b.is_ascii_graphic() && b != b'"')
                && !entry.starts_with('/')
                && !entry.ends_with('/');
            if !valid {
                return Err(ConfigError::new(
                    format!("[{i}]"),
                    format!("not a media type: {entry:?}"),
                ));
            }
            let full = full_type(entry);
            if !types.contains(&full) {
                types.push(full);
            }
        }
        Ok(TypeAllowList { types })
    }

    /// Whether a token header with this `typ` is accepted.
    #[must_use]
    pub fn accepts(&self, typ: Option<&str>) -> bool {
        let Some(typ) = typ else {
            return false;
        };
        self.types.iter().any(|want| same_type(want, typ))
    }

    /// The accepted media types in full form (`application/at+jwt`), for messages.
    #[must_use]
    pub fn types(&self) -> &[String] {
        &self.types
    }
}

/// `at+jwt` → `application/at+jwt`; lowercase.
fn full_type(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    if lower.contains('/') {
        lower
    } else {
        format!("{APPLICATION}{lower}")
    }
}

/// `want` is a full lowercase type; `got` is the header value as sent. No allocation.
fn same_type(want: &str, got: &str) -> bool {
    if got.contains('/') {
        want.eq_ignore_ascii_case(got)
    } else {
        want.strip_prefix(APPLICATION)
            .is_some_and(|short| short.eq_ignore_ascii_case(got))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(types: &[&str]) -> TypeAllowList {
        TypeAllowList::compile(&types.iter().map(|t| (*t).to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn application_prefix_may_be_omitted_on_either_side() {
        for configured in [&["at+jwt"][..], &["application/at+jwt"], &["AT+JWT"]] {
            let l = list(configured);
            assert_eq!(l.types(), ["application/at+jwt"]);
            for sent in [
                "at+jwt",
                "AT+JWT",
                "application/at+jwt",
                "Application/At+Jwt",
            ] {
                assert!(l.accepts(Some(sent)), "{configured:?} / {sent}");
            }
            for sent in [
                "JWT",
                "jwt",
                "application/jwt",
                "text/at+jwt",
                "at+jwt ",
                "",
            ] {
                assert!(!l.accepts(Some(sent)), "{configured:?} / {sent:?}");
            }
        }
    }

    #[test]
    fn a_token_without_typ_is_refused_once_a_list_is_configured() {
        assert!(!list(&["JWT", "at+jwt"]).accepts(None));
    }

    #[test]
    fn types_with_a_slash_are_compared_whole() {
        let l = list(&["text/x-token"]);
        assert!(l.accepts(Some("TEXT/X-Token")));
        assert!(!l.accepts(Some("x-token")));
    }

    #[test]
    fn duplicates_collapse_and_bad_entries_name_their_index() {
        assert_eq!(list(&["at+jwt", "application/AT+JWT"]).types().len(), 1);
        let err = |raw: &[&str]| {
            TypeAllowList::compile(&raw.iter().map(|t| (*t).to_string()).collect::<Vec<_>>())
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[]).contains("must not be empty"));
        assert_eq!(err(&["at+jwt", ""]), "[1]: not a media type: \"\"");
        assert!(err(&["at jwt"]).starts_with("[0]: not a media type"));
        assert!(err(&["application/"]).starts_with("[0]"));
    }
}
