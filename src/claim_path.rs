//! Claim paths: `realm_access.roles` names `{"realm_access": {"roles": …}}`.
//!
//! Used by rule requirements (`require.claims`) and by claim-header output, so both read
//! a claim the same way.
//!
//! Claim names may themselves contain dots (Auth0 namespaced claims such as
//! `https://example.com/roles`), so at each level the longest member name that matches a
//! dotted prefix of the remaining path is tried first, then shorter ones: the path
//! `https://example.com/roles` finds that member as a whole, and `a.b` finds
//! `{"a": {"b": 1}}` when there is no member named `a.b`.

use serde_json::Value;

/// Nesting levels followed at most; claim paths in a config are far shorter, and the bound
/// keeps the backtracking search cheap whatever the token holds.
const MAX_DEPTH: usize = 16;

/// Checks a claim path from the configuration: non-empty, no empty segment (`a..b`,
/// `.a`, `a.`), no control characters.
///
/// # Errors
///
/// What is wrong, as a message for a [`crate::config::ConfigError`].
pub fn validate(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty claim path");
    }
    if path.split('.').any(str::is_empty) {
        return Err("claim path has an empty segment (leading, trailing or double dot)");
    }
    if path.chars().any(char::is_control) {
        return Err("claim path contains a control character");
    }
    Ok(())
}

/// The value at the dot-separated `path` in `claims`, if any.
#[must_use]
pub fn lookup<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    lookup_at(claims, path, MAX_DEPTH)
}

fn lookup_at<'a>(value: &'a Value, path: &str, depth: usize) -> Option<&'a Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(path) {
        return Some(found);
    }
    let depth = depth.checked_sub(1)?;
    // Split points from the last dot to the first: longer member names win.
    path.rmatch_indices('.').find_map(|(dot, _)| {
        let (name, rest) = (path.get(..dot)?, path.get(dot + 1..)?);
        lookup_at(object.get(name)?, rest, depth)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nested_and_dotted_members() {
        let claims = json!({
            "sub": "u1",
            "realm_access": {"roles": ["admin", "user"]},
            "https://example.com/roles": ["ops"],
            "a": {"b": {"c": 1}},
            "a.b": {"d": 2},
            "empty": {},
        });
        let cases = [
            ("sub", Some(json!("u1"))),
            ("realm_access.roles", Some(json!(["admin", "user"]))),
            ("realm_access", Some(json!({"roles": ["admin", "user"]}))),
            ("https://example.com/roles", Some(json!(["ops"]))),
            ("a.b.c", Some(json!(1))),
            ("a.b.d", Some(json!(2))),
            ("a.b", Some(json!({"d": 2}))),
            ("missing", None),
            ("sub.x", None),
            ("realm_access.roles.0", None),
            ("empty.x", None),
            ("", None),
            (".", None),
        ];
        for (path, want) in cases {
            assert_eq!(lookup(&claims, path), want.as_ref(), "lookup({path:?})");
        }
    }

    #[test]
    fn config_paths_are_validated() {
        for ok in ["sub", "realm_access.roles", "https://example.com/roles"] {
            assert_eq!(validate(ok), Ok(()), "{ok:?}");
        }
        for bad in ["", ".", "a..b", ".a", "a.", "a\nb"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn non_object_claims_have_no_members() {
        assert_eq!(lookup(&json!(["sub"]), "sub"), None);
        assert_eq!(lookup(&json!("sub"), "sub"), None);
    }

    #[test]
    fn deep_paths_stop_at_the_depth_bound() {
        let mut claims = json!(1);
        for _ in 0..40 {
            claims = json!({ "x": claims });
        }
        let path = ["x"; 40].join(".");
        assert_eq!(lookup(&claims, &path), None);
        let short = ["x"; 10].join(".");
        assert!(lookup(&claims, &short).is_some());
    }
}
