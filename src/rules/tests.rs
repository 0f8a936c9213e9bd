//! Rule selection over normalized paths, and whole-rule config errors.

use serde_json::{json, Value};

use super::*;
use crate::error::AuthError;
use crate::path::normalize;

fn providers() -> Vec<String> {
    vec!["corp".into(), "partner".into()]
}

fn rules(raw: Value) -> Rules {
    let raw: Vec<RawRule> = serde_json::from_value(raw).unwrap();
    compile(&raw, None, &providers()).unwrap()
}

fn no_headers(_: &str) -> Option<String> {
    None
}

type HeaderLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `(rule index, action name)` a raw `:path` ends up with, or the 400 error.
fn route(
    rules: &Rules,
    method: &str,
    raw_path: &str,
) -> Result<(Option<usize>, &'static str), AuthError> {
    let key = normalize(raw_path)?;
    let selected = rules.select(method, &key, &no_headers);
    Ok((selected.index, selected.action.name()))
}

#[test]
fn admin_cannot_be_reached_as_a_public_route() {
    const ADMIN: Result<(Option<usize>, &str), AuthError> = Ok((Some(1), "require"));
    let rules = rules(json!([
        {"match": {"prefix": "/public"}, "action": "allow"},
        {"match": {"prefix": "/admin"}, "action": "require"},
    ]));
    let cases = [
        ("/public/x", Ok((Some(0), "allow"))),
        ("/admin", ADMIN),
        ("/public/../admin", ADMIN),
        ("/public/./../admin", ADMIN),
        ("/public/%2e%2e/admin", ADMIN),
        ("/public/..;/admin", ADMIN),
        ("/public;x=/../admin", ADMIN),
        ("//admin", ADMIN),
        ("///admin", ADMIN),
        ("/%61dmin", ADMIN),
        ("/%61%64%6D%69%6E", ADMIN),
        ("/admin/./", ADMIN),
        ("/admin;x=y", ADMIN),
        ("/admin%3Bx=y", ADMIN),
        ("/admin?x=/public", ADMIN),
        ("/admin#/public", ADMIN),
        // Case-sensitive: not the admin rule, but not the public one either (default = require).
        ("/ADMIN", Ok((None, "require"))),
        ("/Public/../admin", ADMIN),
        ("/admin%2f..", Err(AuthError::BadPath)),
        ("/admin%2F..%2Fpublic", Err(AuthError::BadPath)),
        ("/public%2F..%2Fadmin", Err(AuthError::BadPath)),
        ("/public\\..\\admin", Err(AuthError::BadPath)),
        ("/public%5c..%5cadmin", Err(AuthError::BadPath)),
        ("/public/%00/../admin", Err(AuthError::BadPath)),
        ("/public/%%32%65%32%65/admin", Err(AuthError::BadPath)),
        // `%25` is never decoded: every backend sees a literal `%2e%2e` segment under /public.
        ("/public/%252e%252e/admin", Ok((Some(0), "allow"))),
    ];
    for (raw_path, want) in cases {
        let got = route(&rules, "GET", raw_path);
        assert_eq!(got, want, "{raw_path:?}");
    }
}

#[test]
fn path_parameters_cannot_escape_a_slash_terminated_prefix() {
    let rules = rules(json!([
        {"match": {"prefix": "/admin/"}, "action": "deny"},
        {"match": {"prefix": "/"}, "action": "allow"},
    ]));
    for raw_path in [
        "/admin/users",
        "/admin;x=y/users",
        "/admin;/users",
        "/admin%3B/users",
        "//admin//users",
        "/x/../admin/",
    ] {
        assert_eq!(
            route(&rules, "GET", raw_path),
            Ok((Some(0), "deny")),
            "{raw_path:?}"
        );
    }
    assert_eq!(route(&rules, "GET", "/admin"), Ok((Some(1), "allow")));
}

#[test]
fn first_match_wins_and_methods_and_headers_narrow_a_rule() {
    let rules = rules(json!([
        {"match": {"prefix": "/api/auth/"}, "action": "allow"},
        {"match": {"prefix": "/api/admin/", "methods": ["POST", "DELETE"]},
         "require": {"providers": ["corp"], "claims": {"roles": ["admin"]}, "scopes": ["admin:write"]}},
        {"match": {"prefix": "/api/", "headers": {"x-internal": {"present": true}}}, "action": "deny"},
        {"match": {"regex": "/api/items/[0-9]+"}, "action": "optional"},
        {"match": {"prefix": "/app/"}, "login": "browser"},
    ]));
    let internal = |name: &str| (name == "x-internal").then(String::new);
    let cases: [(&str, &str, HeaderLookup<'_>, Option<usize>); 9] = [
        ("GET", "/api/auth/login", &no_headers, Some(0)),
        ("POST", "/api/auth/login", &internal, Some(0)),
        ("POST", "/api/admin/users", &no_headers, Some(1)),
        ("delete", "/api/admin/users", &no_headers, Some(1)),
        ("GET", "/api/admin/users", &no_headers, None),
        ("GET", "/api/admin/users", &internal, Some(2)),
        ("GET", "/api/items/7", &no_headers, Some(3)),
        ("GET", "/api/items/7/x", &no_headers, None),
        ("GET", "/app/home", &no_headers, Some(4)),
    ];
    for (method, path, header, want) in cases {
        assert_eq!(
            rules.select(method, path, header).index,
            want,
            "{method} {path}"
        );
    }
    let app = rules.select("GET", "/app/", &no_headers);
    assert!(app.login_browser);
    assert_eq!(
        app.rule.map(|r| r.matcher.to_string()),
        Some("prefix \"/app/\"".to_string())
    );
    let Action::Require(admin) = &rules.rules()[1].action else {
        panic!("rule 1 is a require rule")
    };
    assert_eq!(admin.providers(), [0]);
    assert_eq!(admin.required_scopes(), ["admin:write"]);
    assert_eq!(
        admin.check(&json!({"roles": ["admin"], "scope": "admin:write"})),
        Ok(())
    );
}

#[test]
fn no_match_falls_back_to_the_default_action() {
    let none = rules(json!([]));
    let selected = none.select("GET", "/", &no_headers);
    assert_eq!(selected.index, None);
    assert!(selected.rule.is_none());
    assert_eq!(
        selected.action,
        &Action::Require(Requirement::any_provider(2))
    );
    for (default, want) in [
        (RawAction::Allow, "allow"),
        (RawAction::Deny, "deny"),
        (RawAction::Optional, "optional"),
    ] {
        let rules = compile(&[], Some(default), &providers()).unwrap();
        assert_eq!(rules.default_action().name(), want);
    }
}

#[test]
fn bad_rules_are_config_errors_with_their_json_path() {
    let cases = [
        (
            json!([{"match": {"prefix": "/"}}, {"match": {"regex": "("}}]),
            "rules[1].match.regex: invalid regex: ",
        ),
        (
            json!([{"match": {"prefix": "/", "path": "/"}}]),
            "rules[0].match: exactly one of path, prefix, regex",
        ),
        (
            json!([{"match": {"prefix": "/", "methods": ["GET", "GRAB"]}}]),
            "rules[0].match.methods[1]: unknown method \"GRAB\"",
        ),
        (
            json!([{"match": {"prefix": "/"}}, {"match": {"prefix": "/"}}, {"match": {"prefix": "/"}, "require": {"providers": ["nope"]}}]),
            "rules[2].require.providers[0]: unknown provider \"nope\"",
        ),
        (
            json!([{"match": {"prefix": "/"}, "require": {"providers": []}}]),
            "rules[0].require.providers: empty list",
        ),
        (
            json!([{"match": {"prefix": "/"}, "action": "allow", "require": {}}]),
            "rules[0].require: does not apply to action \"allow\"",
        ),
        (
            json!([{"match": {"prefix": "/"}, "action": "deny", "require": {"scopes": ["a"]}}]),
            "rules[0].require: does not apply to action \"deny\"",
        ),
        (
            json!([{"match": {"prefix": "/"}, "action": "allow", "login": "browser"}]),
            "rules[0].login: does not apply to action \"allow\"",
        ),
        (
            json!([{"match": {"prefix": "/x/../"}}]),
            "rules[0].match.prefix: \"/x/../\" is not a normalized path",
        ),
    ];
    for (raw, want) in cases {
        let parsed: Vec<RawRule> = serde_json::from_value(raw.clone()).unwrap();
        let err = compile(&parsed, None, &providers())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(want), "{raw}: got {err:?}, want {want:?}");
    }
}

#[test]
fn a_token_requirement_needs_a_provider() {
    let err = compile(&[], None, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "default_action: requires a token but no providers are configured"
    );
    let raw: Vec<RawRule> =
        serde_json::from_value(json!([{"match": {"prefix": "/"}, "action": "optional"}])).unwrap();
    let err = compile(&raw, Some(RawAction::Allow), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rules[0].action: requires a token but no providers are configured"
    );
    assert!(compile(&[], Some(RawAction::Deny), &[]).is_ok());
}

/// `(rule index, action name, preflight)` for a request with these headers.
fn route_with(
    rules: &Rules,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (Option<usize>, &'static str, bool) {
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| (*v).to_string())
    };
    let selected = rules.select(method, path, &lookup);
    (
        selected.index,
        selected.action.name(),
        selected.cors_preflight,
    )
}

const PREFLIGHT: [(&str, &str); 2] = [
    ("origin", "https://app.test"),
    ("access-control-request-method", "POST"),
];

#[test]
fn cors_preflight_passes_only_on_rules_that_allow_it() {
    let rules = rules(json!([
        {"match": {"prefix": "/api/", "methods": ["POST"]}, "cors_preflight": "allow"},
        {"match": {"prefix": "/api/"}, "action": "deny"},
        {"match": {"prefix": "/admin/"}},
        {"match": {"prefix": "/any/"}, "cors_preflight": "allow"},
    ]));
    // The preflight announces a POST: the POST rule lets it through, without a token.
    assert_eq!(
        route_with(&rules, "OPTIONS", "/api/x", &PREFLIGHT),
        (Some(0), "allow", true)
    );
    // The request it announces is still checked.
    assert_eq!(
        route_with(&rules, "POST", "/api/x", &PREFLIGHT),
        (Some(0), "require", false)
    );
    // Announcing a method the rule does not cover: the next rule decides.
    let put = [PREFLIGHT[0], ("access-control-request-method", "PUT")];
    assert_eq!(
        route_with(&rules, "OPTIONS", "/api/x", &put),
        (Some(1), "deny", false)
    );
    // A rule without cors_preflight: OPTIONS is an ordinary request.
    assert_eq!(
        route_with(&rules, "OPTIONS", "/admin/x", &PREFLIGHT),
        (Some(2), "require", false)
    );
    // A rule matching every method also lets its preflights through.
    assert_eq!(
        route_with(&rules, "OPTIONS", "/any/x", &PREFLIGHT),
        (Some(3), "allow", true)
    );
}

#[test]
fn only_a_real_preflight_skips_the_token() {
    let rules = rules(json!([
        {"match": {"prefix": "/any/"}, "cors_preflight": "allow", "login": "browser"},
    ]));
    let cases: [(&str, &[(&str, &str)]); 5] = [
        ("OPTIONS", &[("origin", "https://app.test")]),
        ("OPTIONS", &[("access-control-request-method", "GET")]),
        (
            "OPTIONS",
            &[("origin", "x"), ("access-control-request-method", " ")],
        ),
        ("options", &PREFLIGHT),
        ("GET", &PREFLIGHT),
    ];
    for (method, headers) in cases {
        assert_eq!(
            route_with(&rules, method, "/any/x", headers),
            (Some(0), "require", false),
            "{method} {headers:?}"
        );
    }
    let selected = rules.select("OPTIONS", "/any/x", &|name: &str| {
        PREFLIGHT
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_string())
    });
    assert!(selected.cors_preflight && !selected.login_browser);
}

#[test]
fn every_bad_rule_is_reported_not_only_the_first() {
    let raw: Vec<RawRule> = serde_json::from_value(json!([
        {"match": {"regex": "("}},
        {"match": {"prefix": "/"}},
        {"match": {"prefix": "/"}, "require": {"providers": ["nope"]}},
        {"match": {"prefix": "/"}, "action": "allow", "cors_preflight": "allow"},
    ]))
    .unwrap();
    let mut diag = crate::config::Diagnostics::default();
    assert!(compile_all(&raw, None, &providers(), &mut diag).is_none());
    let paths: Vec<&str> = diag.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "rules[0].match.regex",
            "rules[2].require.providers[0]",
            "rules[3].cors_preflight"
        ]
    );
}
