//! Multi-tenant issuers through the real artifact: an `issuer` template with
//! `{tenant}` and an allow-list (or `*`); the matched tenant is the claim `$tenant` for
//! claim headers and rules, and a token can never set `$tenant` itself.

mod util;

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use util::mint::{claims, hs_secret, mint};
use wasm_test::Host;

const NOW: u64 = 1_700_000_000;
const TEMPLATE: &str = "https://login.test/{tenant}/v2.0";

fn host(tenants: &Value) -> Host {
    let config = json!({
        "providers": {"ms": {
            "issuer": TEMPLATE, "tenants": tenants, "algorithms": ["HS256"],
            "keys": [{"secret": hs_secret()}],
            "claim_headers": {"x-tenant": "$tenant", "x-user-id": "sub"}}},
        "rules": [{"match": {"prefix": "/contoso/"}, "require": {"claims": {"$tenant": ["contoso"]}}}]});
    let mut host = Host::new(util::jwt_gate_wasm())
        .unwrap()
        .with_plugin_config(config.to_string())
        .with_now(UNIX_EPOCH + Duration::from_secs(NOW));
    assert!(host.start_plugin(), "{:?}", host.logs());
    host
}

fn token(iss: &str, extra: &Value) -> String {
    let mut c = claims(NOW);
    c["iss"] = json!(iss);
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    mint("HS256", &c, &Value::Null)
}

fn of(tenant: &str) -> String {
    TEMPLATE.replace("{tenant}", tenant)
}

/// (status, x-tenant upstream).
fn get(host: &mut Host, path: &str, token: &str) -> (u32, Option<String>) {
    let id = host.init_http_context();
    let auth = format!("Bearer {token}");
    host.call_on_request_headers(
        id,
        &[
            (":method", "GET"),
            (":path", path),
            (":authority", "gw"),
            ("authorization", auth.as_str()),
            ("x-tenant", "spoofed"),
        ],
        true,
    );
    assert!(host.trap().is_none(), "{:?}", host.trap_details());
    match host.local_response(id) {
        Some(reply) => (reply.status, None),
        None => (200, host.request_header(id, "x-tenant")),
    }
}

#[test]
fn the_tenant_in_iss_is_checked_and_becomes_a_header_and_a_rule_variable() {
    let mut host = host(&json!(["contoso", "fabrikam"]));
    let contoso = token(&of("contoso"), &json!({}));
    let fabrikam = token(&of("fabrikam"), &json!({}));
    assert_eq!(
        get(&mut host, "/api", &contoso),
        (200, Some("contoso".into()))
    );
    assert_eq!(
        get(&mut host, "/contoso/data", &contoso),
        (200, Some("contoso".into()))
    );
    assert_eq!(
        get(&mut host, "/api", &fabrikam),
        (200, Some("fabrikam".into()))
    );
    assert_eq!(
        get(&mut host, "/contoso/data", &fabrikam).0,
        403,
        "another tenant's route"
    );
    for iss in [
        of("evil"),
        of("contoso/x"),
        of(""),
        "https://login.test/contoso/v2.0/".into(),
    ] {
        assert_eq!(
            get(&mut host, "/api", &token(&iss, &json!({}))).0,
            401,
            "{iss}"
        );
    }
    let denials = host
        .logs()
        .iter()
        .filter(|l| l.message.contains("reason=bad_issuer"))
        .count();
    assert_eq!(denials, 4);
}

#[test]
fn any_tenant_with_a_star_and_a_configure_time_warning() {
    let mut host = host(&json!("*"));
    assert!(host
        .logs()
        .iter()
        .any(|l| l.message.contains("tenants: is \"*\"")));
    let t = token(&of("72f988bf-86f1-41af-91ab"), &json!({}));
    assert_eq!(
        get(&mut host, "/api", &t),
        (200, Some("72f988bf-86f1-41af-91ab".into()))
    );
    assert_eq!(get(&mut host, "/contoso/x", &t).0, 403);
    assert_eq!(
        get(&mut host, "/api", &token(&of("a b"), &json!({}))).0,
        401
    );
}

#[test]
fn a_token_cannot_set_tenant_itself() {
    let mut host = host(&json!(["contoso", "fabrikam"]));
    let forged = token(&of("fabrikam"), &json!({"$tenant": "contoso"}));
    assert_eq!(get(&mut host, "/contoso/data", &forged).0, 401);
    assert_eq!(get(&mut host, "/api", &forged).0, 401);
}

#[test]
fn a_bad_template_is_refused_at_configure_time() {
    for (tenants, message) in [
        (
            Value::Null,
            "providers.ms.tenants: required with an issuer template",
        ),
        (json!(["a/b"]), "providers.ms.tenants[0]: must be a tenant"),
    ] {
        let mut provider = json!({"issuer": TEMPLATE, "algorithms": ["HS256"],
                                  "keys": [{"secret": hs_secret()}]});
        if !tenants.is_null() {
            provider["tenants"] = tenants;
        }
        let mut host = Host::new(util::jwt_gate_wasm())
            .unwrap()
            .with_plugin_config(json!({"providers": {"ms": provider}}).to_string());
        assert!(!host.start_plugin());
        assert!(
            host.logs().iter().any(|l| l.message.contains(message)),
            "{:?}",
            host.logs()
        );
    }
}
