//! Auth.js / NextAuth session cookies through the real artifact, with the cookies the
//! real `@auth/core` / `next-auth` packages produced (`tests/authjs/fixtures.json`).

mod util;

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use wasm_test::{Action, Host};

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/authjs/fixtures.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn case(f: &Value, name: &str) -> Value {
    f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

fn host(f: &Value, version: u8, cookie: &str) -> Host {
    let config = json!({
        "providers": {"app": {"authjs": {"secret_env": ["AUTH_SECRET", "AUTH_SECRET_1"], "cookie": cookie, "version": version},
                              "claim_headers": {"x-user-email": "email", "x-user-id": "sub"}}},
        "rules": [{"match": {"prefix": "/app/"}, "login": "browser"}],
        "login": {"url": "https://app.test/api/auth/signin", "return_param": "callbackUrl"}
    });
    let now = f["now"].as_u64().unwrap();
    let mut host = Host::new(util::jwt_gate_wasm())
        .unwrap()
        .with_plugin_config(config.to_string())
        .with_env("AUTH_SECRET", f["secrets"]["current"].as_str().unwrap())
        .with_env("AUTH_SECRET_1", f["secrets"]["previous"].as_str().unwrap())
        .with_now(UNIX_EPOCH + Duration::from_secs(now));
    assert!(host.start_plugin(), "{:?}", host.logs());
    host
}

fn send(host: &mut Host, c: &Value, accept: &str) -> u32 {
    let cookies: Vec<String> = c["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| format!("{}={}", kv[0].as_str().unwrap(), kv[1].as_str().unwrap()))
        .collect();
    let cookie = format!("lang=en; {}", cookies.join("; "));
    let id = host.init_http_context();
    let action = host.call_on_request_headers(
        id,
        &[
            (":method", "GET"),
            (":path", "/app/inbox?tab=1"),
            (":authority", "app.test"),
            ("accept", accept),
            ("cookie", cookie.as_str()),
            ("x-user-email", "spoofed@evil.test"),
        ],
        true,
    );
    assert!(host.trap().is_none(), "{:?}", host.trap());
    assert_eq!(
        action == Action::Continue,
        host.local_response(id).is_none()
    );
    id
}

#[test]
fn valid_session_cookies_of_the_real_libraries_reach_the_upstream_as_claim_headers() {
    let f = fixtures();
    for (version, cookie, names) in [
        (
            5,
            "authjs.session-token",
            &[
                "v5_valid",
                "v5_secure_valid",
                "v5_chunked",
                "v5_secure_chunked",
                "v5_rotated",
                "v5_gcm_valid",
                "v5_gcm_rotated",
            ][..],
        ),
        (
            4,
            "next-auth.session-token",
            &["v4_valid", "v4_secure_valid", "v4_chunked", "v4_rotated"][..],
        ),
    ] {
        let mut host = host(&f, version, cookie);
        for name in names {
            let c = case(&f, name);
            let id = send(&mut host, &c, "text/html");
            assert!(
                host.local_response(id).is_none(),
                "{name}: {:?}",
                host.local_response(id)
            );
            let email = c["payload"]["email"].as_str().unwrap();
            assert_eq!(
                host.request_header(id, "x-user-email").as_deref(),
                Some(email),
                "{name}"
            );
            assert_eq!(
                host.request_header(id, "cookie").as_deref(),
                Some("lang=en"),
                "{name}: session cookie forwarded"
            );
        }
    }
}

#[test]
fn expired_tampered_or_foreign_cookies_redirect_browsers_and_401_api_clients() {
    let f = fixtures();
    let mut host = host(&f, 5, "authjs.session-token");
    let mut tampered = case(&f, "v5_valid");
    let value = tampered["cookies"][0][1].as_str().unwrap().to_string();
    let (head, tag) = value.rsplit_once('.').unwrap();
    // Change the tag's first character (still valid base64url, now the wrong tag).
    let flipped = match tag.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", tag.get(1..).unwrap()),
    };
    tampered["cookies"][0][1] = json!(format!("{head}.{flipped}"));
    let mut missing_chunk = case(&f, "v5_chunked");
    missing_chunk["cookies"].as_array_mut().unwrap().remove(1);
    for (label, c) in [
        ("expired", case(&f, "v5_expired")),
        ("wrong secret", case(&f, "v5_wrong_secret")),
        ("tampered tag", tampered),
        ("missing chunk", missing_chunk),
    ] {
        let id = send(&mut host, &c, "text/html,application/xhtml+xml");
        let reply = host
            .local_response(id)
            .unwrap_or_else(|| panic!("{label}: forwarded"));
        assert_eq!(reply.status, 302, "{label}");
        assert!(
            reply.headers.iter().any(|(n, v)| n == "location"
                && v == "https://app.test/api/auth/signin?callbackUrl=%2Fapp%2Finbox%3Ftab%3D1"),
            "{label}: {:?}",
            reply.headers
        );
        let id = send(&mut host, &c, "application/json");
        assert_eq!(
            host.local_response(id).map(|r| r.status),
            Some(401),
            "{label}"
        );
    }
}
