//! What the remote-JWKS suites share (`jwks_fetch`, `jwks_policy`, `jwks_failover`,
//! `jwks_discovery`, `jwks_faults`): a fixture RSA key as a JWK, a key-set document, an
//! RS256 token naming its `kid`, and a host started at [`NOW`] that knows the callout
//! clusters.

use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use wasm_test::{Action, Host};

use super::mint::{claims, fixture_key, mint_with_key};
use super::{jwt_gate_wasm, NOW};

/// The RS256 JWK of fixture public key `pub_file`, with `kid`.
pub fn rsa_jwk(pub_file: &str, kid: &str) -> Value {
    let key = rsa::RsaPublicKey::from_public_key_pem(&fixture_key(pub_file)).unwrap();
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
           "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()), "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())})
}

/// A JWKS document of `keys`.
pub fn jwks(keys: &[Value]) -> Vec<u8> {
    json!({ "keys": keys }).to_string().into_bytes()
}

/// A token signed RS256 with fixture key `key_file`, header `kid`, valid from [`NOW`]
/// for `lifetime_s`.
pub fn rs256_token(key_file: &str, kid: &str, lifetime_s: u64) -> String {
    let mut c = claims(NOW);
    c["exp"] = json!(NOW + lifetime_s);
    mint_with_key("RS256", key_file, &c, &json!({ "kid": kid }))
}

/// The real artifact configured with `config`, callouts allowed to `clusters`, its clock
/// at [`NOW`]; panics (with the logs) if the configuration is refused.
pub fn started(config: &Value, clusters: &[&str]) -> Host {
    let mut host = Host::new(jwt_gate_wasm())
        .unwrap()
        .with_plugin_config(config.to_string())
        .with_clusters(clusters)
        .with_now(UNIX_EPOCH + Duration::from_secs(NOW));
    assert!(host.start_plugin(), "{:?}", host.logs());
    host
}

/// `GET /api` with `token` as its Bearer credential on a new stream: the stream id and
/// the filter's action. Panics (with the trap) if the VM trapped.
pub fn send(host: &mut Host, token: &str) -> (u32, Action) {
    let id = host.init_http_context();
    let auth = format!("Bearer {token}");
    let action = host.call_on_request_headers(
        id,
        &[
            (":method", "GET"),
            (":path", "/api"),
            (":authority", "gw"),
            ("authorization", auth.as_str()),
        ],
        true,
    );
    assert!(host.trap().is_none(), "{:?}", host.trap_details());
    (id, action)
}
