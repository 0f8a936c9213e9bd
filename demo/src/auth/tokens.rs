//! ES256 access tokens and the JWK Set that verifies them. Signing is done directly with
//! p256 (RFC 7515 §A.3: signature = raw `r || s`), the same crate jwt-gate verifies with.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::config::Config;
use super::db::User;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    /// Space-separated (RFC 8693 §4.2), what jwt-gate's `scopes` requirement reads.
    pub scope: String,
    pub iat: u64,
    pub exp: u64,
    /// Unique per token, so two logins in the same second still differ.
    pub jti: String,
}

impl Claims {
    pub fn for_user(user: &User, config: &Config, now: u64) -> Claims {
        let mut jti = [0u8; 16];
        OsRng.fill_bytes(&mut jti);
        Claims {
            iss: config.issuer.clone(),
            aud: config.audience.clone(),
            sub: user.id.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            roles: user.roles.clone(),
            scope: user.scope.clone(),
            iat: now,
            exp: now.saturating_add(config.token_ttl_s),
            jti: URL_SAFE_NO_PAD.encode(jti),
        }
    }
}

pub struct Signer {
    key: SigningKey,
    kid: String,
    jwks: Value,
}

impl Signer {
    pub fn new(key: SigningKey) -> Signer {
        let point = key.verifying_key().to_encoded_point(false);
        // An uncompressed P-256 point always has both coordinates; the fallbacks only
        // keep this total.
        let x = point
            .x()
            .map(|x| URL_SAFE_NO_PAD.encode(x))
            .unwrap_or_default();
        let y = point
            .y()
            .map(|y| URL_SAFE_NO_PAD.encode(y))
            .unwrap_or_default();
        // kid = RFC 7638 JWK thumbprint: derived from the key itself, so it is stable
        // across restarts and changes exactly when the key does.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwks = json!({
            "keys": [{
                "kty": "EC",
                "crv": "P-256",
                "x": x,
                "y": y,
                "kid": kid,
                "use": "sig",
                "alg": "ES256",
            }]
        });
        Signer { key, kid, jwks }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `{"keys": [ ... ]}` for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// A compact JWS: `base64url(header).base64url(claims).base64url(r || s)`.
    pub fn sign(&self, claims: &Claims) -> Result<String, serde_json::Error> {
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
        );
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn token_verifies_with_the_published_key() {
        let signer = Signer::new(SigningKey::random(&mut OsRng));
        let claims = Claims {
            iss: "i".into(),
            aud: "a".into(),
            sub: "1".into(),
            name: "n".into(),
            email: "e".into(),
            roles: vec!["r".into()],
            scope: "s".into(),
            iat: 1,
            exp: 2,
            jti: "j".into(),
        };
        let token = signer.sign(&claims).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);

        let jwk = &signer.jwks()["keys"][0];
        let coord = |n: &str| URL_SAFE_NO_PAD.decode(jwk[n].as_str().unwrap()).unwrap();
        let point = p256::EncodedPoint::from_affine_coordinates(
            coord("x").as_slice().into(),
            coord("y").as_slice().into(),
            false,
        );
        let vk = VerifyingKey::from_encoded_point(&point).unwrap();
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        vk.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();

        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["kid"], signer.kid());
        assert_eq!(header["alg"], "ES256");
        let back: Claims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(back, claims);
    }
}
