//! JWS algorithms jwt-gate verifies, and the key family each one needs.
//!
//! `none` is not a value of this type: it cannot be configured, and a token that
//! names it fails as an unsupported algorithm before any key is looked at.

use std::fmt;

/// A JWS `alg` jwt-gate can verify (RFC 7518 §3, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Alg {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
}

/// The kind of key an algorithm verifies with. A key of one family is never used
/// with an algorithm of another (an RSA public key is never an HMAC secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// Shared secret (HS*).
    Hmac,
    /// RSA public key (RS*, PS*).
    Rsa,
    /// EC public key on P-256 (ES256).
    EcP256,
    /// EC public key on P-384 (ES384).
    EcP384,
    /// EC public key on P-521 (ES512).
    EcP521,
    /// Ed25519 public key (EdDSA).
    Ed25519,
}

impl Alg {
    /// Every algorithm, in a stable order (used for defaults and error messages).
    pub const ALL: [Alg; 13] = [
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
    ];

    /// Parses the exact (case-sensitive) JOSE name. `none` and unknown names give `None`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JOSE name, e.g. `"RS256"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The key family this algorithm verifies with.
    #[must_use]
    pub const fn family(self) -> KeyFamily {
        match self {
            Alg::HS256 | Alg::HS384 | Alg::HS512 => KeyFamily::Hmac,
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                KeyFamily::Rsa
            }
            Alg::ES256 => KeyFamily::EcP256,
            Alg::ES384 => KeyFamily::EcP384,
            Alg::ES512 => KeyFamily::EcP521,
            Alg::EdDSA => KeyFamily::Ed25519,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in Alg::ALL {
            assert_eq!(Alg::from_name(alg.name()), Some(alg));
        }
        for bad in ["none", "None", "NONE", "hs256", "RS256 ", "", "ES256K"] {
            assert_eq!(Alg::from_name(bad), None, "{bad:?}");
        }
    }
}
