//! Helpers shared by the integration tests: the probe filter, the release
//! artifact, token minting, and a small request driver for the real
//! jwt-gate artifact with a pinned clock.
#![allow(dead_code)]

pub mod jwks;
pub mod mint;
pub mod probe;

use std::fmt::Display;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use wasm_test::{Action, Host, LocalResponse, LogLevel};

use mint::{fixture_key, hs_secret, ISSUER};

/// The pinned clock of every `host_with` host (Unix seconds).
pub const NOW: u64 = 1_700_000_000;

/// The jwt-gate release artifact; panics with the command to build it.
pub fn jwt_gate_wasm() -> PathBuf {
    let path = wasm_test::artifact::release_wasm_path();
    assert!(
        path.is_file(),
        "{} is missing. Run `make build` first",
        path.display()
    );
    path
}

/// A host running the real artifact with `config` (and VM environment
/// variables `env`) at [`NOW`], not started yet.
pub fn host_unstarted(config: impl Display, env: &[(&str, &str)]) -> Host {
    let mut host = Host::new(jwt_gate_wasm())
        .unwrap()
        .with_plugin_config(config.to_string())
        .with_now(UNIX_EPOCH + Duration::from_secs(NOW));
    for (name, value) in env {
        host = host.with_env(name, value);
    }
    host
}

/// The real artifact started with `config` at [`NOW`]; panics (with the
/// logs) if the plugin refuses the configuration.
pub fn host_with(config: impl Display) -> Host {
    host_with_env(config, &[])
}

/// [`host_with`] with VM environment variables.
pub fn host_with_env(config: impl Display, env: &[(&str, &str)]) -> Host {
    let mut host = host_unstarted(config, env);
    assert!(host.start_plugin(), "plugin refused: {:?}", host.logs());
    host
}

/// What became of one request.
#[derive(Debug)]
pub struct Exchange {
    pub id: u32,
    pub action: Action,
    /// The local reply, if the filter answered.
    pub reply: Option<LocalResponse>,
    /// The request headers as they go upstream (after the filter's changes).
    pub upstream: Vec<(String, String)>,
}

impl Exchange {
    /// Forwarded upstream: `Continue` and no local reply.
    pub fn forwarded(&self) -> bool {
        self.action == Action::Continue && self.reply.is_none()
    }

    /// Status of the local reply.
    pub fn status(&self) -> Option<u32> {
        self.reply.as_ref().map(|r| r.status)
    }

    /// First upstream value of a header.
    pub fn upstream_header(&self, name: &str) -> Option<&str> {
        self.upstream
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every upstream value of a header.
    pub fn upstream_values(&self, name: &str) -> Vec<&str> {
        self.upstream
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A header of the local reply.
    pub fn reply_header(&self, name: &str) -> Option<&str> {
        self.reply.as_ref().and_then(|r| r.header(name))
    }

    /// The reply's `WWW-Authenticate` ("" when absent).
    pub fn challenge(&self) -> &str {
        self.reply_header("www-authenticate").unwrap_or("")
    }

    /// The `error_description` of the challenge.
    pub fn error_description(&self) -> Option<&str> {
        challenge_param(self.challenge(), "error_description")
    }

    /// The `error` of the challenge.
    pub fn error_code(&self) -> Option<&str> {
        challenge_param(self.challenge(), "error")
    }

    /// Asserts a 401 `invalid_token` with this `error_description`.
    #[track_caller]
    pub fn assert_invalid_token(&self, description: &str) {
        assert_eq!(self.status(), Some(401), "{self:?}");
        assert_eq!(self.error_code(), Some("invalid_token"), "{self:?}");
        assert_eq!(self.error_description(), Some(description), "{self:?}");
    }
}

/// A quoted parameter of an RFC 6750 challenge.
pub fn challenge_param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!("{name}=\"");
    let mut search = challenge;
    loop {
        let at = search.find(&needle)?;
        // A whole parameter name, not the tail of another (`error` in `error_description`).
        let ok = at == 0 || matches!(search.as_bytes()[at - 1], b' ' | b',');
        let rest = &search[at + needle.len()..];
        if ok {
            return rest.split('"').next();
        }
        search = rest;
    }
}

/// Sends one request (pseudo-headers `:method`, `:path`, `:authority` added
/// first) through a new HTTP context.
pub fn send(host: &mut Host, method: &str, path: &str, headers: &[(&str, &str)]) -> Exchange {
    let mut all: Vec<(&str, &str)> =
        vec![(":method", method), (":path", path), (":authority", "gw")];
    all.extend_from_slice(headers);
    let id = host.init_http_context();
    let action = host.call_on_request_headers(id, &all, true);
    assert!(
        host.trap().is_none(),
        "VM trapped: {:?}",
        host.trap_details()
    );
    Exchange {
        id,
        action,
        reply: host.local_response(id),
        upstream: host.request_headers(id),
    }
}

/// `GET path` with these headers.
pub fn get(host: &mut Host, path: &str, headers: &[(&str, &str)]) -> Exchange {
    send(host, "GET", path, headers)
}

/// `GET path` with `Authorization: Bearer <token>`.
pub fn get_with_token(host: &mut Host, path: &str, token: &str) -> Exchange {
    let auth = format!("Bearer {token}");
    get(host, path, &[("authorization", &auth)])
}

/// Messages logged at `level`.
pub fn logs_at(host: &Host, level: LogLevel) -> Vec<String> {
    host.logs_at(level)
}

/// The public key (PEM) or secret that verifies an algorithm's fixture tokens.
pub fn verify_key(alg: &str) -> Value {
    let pem = match alg {
        "HS256" | "HS384" | "HS512" => return json!({"secret": hs_secret()}),
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => "rsa2048.pub.pem",
        "ES256" => "ec256.pub.pem",
        "ES384" => "ec384.pub.pem",
        "ES512" => "ec521.pub.pem",
        "EdDSA" => "ed25519.pub.pem",
        other => panic!("no fixture key for {other}"),
    };
    json!({"pem": fixture_key(pem)})
}

/// A provider accepting `alg` tokens from [`ISSUER`] for audience `api`,
/// writing `sub` to `x-user-id`.
pub fn provider(alg: &str) -> Value {
    json!({
        "issuer": ISSUER, "audiences": ["api"], "algorithms": [alg], "keys": [verify_key(alg)],
        "claim_headers": {"x-user-id": "sub"}
    })
}

/// A one-provider (`corp`) configuration with `provider` and no rules.
pub fn config_with(provider: Value) -> Value {
    json!({"providers": {"corp": provider}})
}

/// Valid claims for [`provider`] at [`NOW`] (`aud: "api"`).
pub fn good_claims() -> Value {
    let mut claims = mint::claims(NOW);
    claims["aud"] = json!("api");
    claims
}

/// Every JWS algorithm jwt-gate verifies.
pub const ALGORITHMS: [&str; 13] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "ES512", "EdDSA",
];

/// The shared-data key of `sub`'s user-check answer for `provider`, from the user
/// service every user-check test configures (cluster `users`, `users.internal`,
/// `/internal/users/{sub}`) with `slots` cache slots.
pub fn user_slot(provider: &str, sub: &str, slots: u32) -> String {
    let raw = serde_json::from_value(json!({"cluster": "users", "authority": "users.internal",
                                            "path": "/internal/users/{sub}", "cache_slots": slots}))
    .unwrap();
    jwt_gate::usercheck::UserCheck::compile(raw)
        .unwrap()
        .cache_key(provider, sub)
}
