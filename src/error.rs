//! Why a request was not let through: one enum, and for each reason exactly one
//! log message, one metric label, one HTTP status and one `error_description`.

use std::fmt;

/// A reason to deny a request (or, in `audit` mode, to mark it `would-deny`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential was found in any configured source.
    Missing,
    /// One provider's sources carried two different tokens (RFC 6750 §2).
    MultipleTokens,
    /// The token is longer than `max_token_bytes`.
    TooLarge,
    /// Not a compact JWS: segment count, base64url, JSON or a claim of the wrong type.
    Malformed(&'static str),
    /// The header names an algorithm that is unknown, `none`, or not in the allow-list.
    AlgNotAllowed,
    /// The header carries a `crit` extension jwt-gate does not understand (or `b64: false`).
    UnsupportedCrit,
    /// The header `typ` is absent or not in the provider's `typ` allow-list (RFC 8725 §3.11).
    BadType,
    /// No configured key has the token's `kid`.
    UnknownKid,
    /// No key of the token's algorithm family is configured for this provider.
    NoMatchingKey,
    /// The signature does not verify with any candidate key.
    BadSignature,
    /// `exp` is required but absent.
    MissingExp,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `exp - iat` (or `exp - now`) exceeds `max_lifetime_s`.
    LifetimeTooLong,
    /// `iat` is older than the route's `max_age_s` (or absent): sign in again.
    TokenTooOld,
    /// `iss` differs from the provider's issuer.
    BadIssuer,
    /// `aud` shares no value with the provider's audiences.
    BadAudience,
    /// A claim bound for a header holds a control character (CR, LF, NUL, …).
    UnsafeClaimValue,
    /// The provider's keys have never loaded (remote JWKS not fetched yet).
    KeysUnavailable,
    /// The token is valid but lacks a required claim value.
    ClaimMismatch,
    /// The token is valid but lacks a required scope.
    InsufficientScope,
    /// A rule denies the route outright.
    RouteDenied,
    /// The request path cannot be normalized safely.
    BadPath,
    /// The user check says the token's subject no longer exists.
    UserNotFound,
    /// The user check could not be made and `on_error` is `deny`.
    UserCheckUnavailable,
    /// The token's `jti` or `sub` is on the provider's revocation list (or `deny_subjects`).
    Revoked,
}

/// What the client is told, and which RFC 6750 error code goes in the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// 400 `invalid_request`.
    BadRequest,
    /// 401; `invalid_token` when a token was presented, no error code when none was.
    Unauthorized,
    /// 403 `insufficient_scope` (or plain 403 for a deny rule).
    Forbidden,
    /// 503 with `Retry-After`.
    Unavailable,
}

impl Reply {
    /// The HTTP status code.
    #[must_use]
    pub const fn status(self) -> u32 {
        match self {
            Reply::BadRequest => 400,
            Reply::Unauthorized => 401,
            Reply::Forbidden => 403,
            Reply::Unavailable => 503,
        }
    }
}

impl AuthError {
    /// Every [`label`](AuthError::label), in declaration order: the names a configuration
    /// may use (`status_overrides`) and the `jwt_gate.failures.<label>` metrics.
    pub const LABELS: [&'static str; 27] = [
        "missing",
        "multiple_tokens",
        "too_large",
        "malformed",
        "alg_not_allowed",
        "unsupported_crit",
        "bad_type",
        "unknown_kid",
        "no_matching_key",
        "bad_signature",
        "missing_exp",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "lifetime_too_long",
        "token_too_old",
        "bad_issuer",
        "bad_audience",
        "unsafe_claim_value",
        "keys_unavailable",
        "claim_mismatch",
        "insufficient_scope",
        "route_denied",
        "bad_path",
        "user_not_found",
        "user_check_unavailable",
        "token_revoked",
    ];

    /// The metric label / log reason: stable, snake_case, never contains request data.
    #[must_use]
    pub const fn label(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::MultipleTokens => "multiple_tokens",
            AuthError::TooLarge => "too_large",
            AuthError::Malformed(_) => "malformed",
            AuthError::AlgNotAllowed => "alg_not_allowed",
            AuthError::UnsupportedCrit => "unsupported_crit",
            AuthError::BadType => "bad_type",
            AuthError::UnknownKid => "unknown_kid",
            AuthError::NoMatchingKey => "no_matching_key",
            AuthError::BadSignature => "bad_signature",
            AuthError::MissingExp => "missing_exp",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::IssuedInFuture => "issued_in_future",
            AuthError::LifetimeTooLong => "lifetime_too_long",
            AuthError::TokenTooOld => "token_too_old",
            AuthError::BadIssuer => "bad_issuer",
            AuthError::BadAudience => "bad_audience",
            AuthError::UnsafeClaimValue => "unsafe_claim_value",
            AuthError::KeysUnavailable => "keys_unavailable",
            AuthError::ClaimMismatch => "claim_mismatch",
            AuthError::InsufficientScope => "insufficient_scope",
            AuthError::RouteDenied => "route_denied",
            AuthError::BadPath => "bad_path",
            AuthError::UserNotFound => "user_not_found",
            AuthError::UserCheckUnavailable => "user_check_unavailable",
            AuthError::Revoked => "token_revoked",
        }
    }

    /// The short `error_description` sent to the client (RFC 6750 §3).
    #[must_use]
    pub const fn description(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing credentials",
            AuthError::MultipleTokens => "more than one token in the request",
            AuthError::TooLarge => "token too large",
            AuthError::Malformed(what) => what,
            AuthError::AlgNotAllowed => "algorithm not allowed",
            AuthError::UnsupportedCrit => "unsupported critical header",
            AuthError::BadType => "token type not accepted",
            AuthError::UnknownKid => "unknown key id",
            AuthError::NoMatchingKey => "no key for this algorithm",
            AuthError::BadSignature => "signature verification failed",
            AuthError::MissingExp => "token has no expiry",
            AuthError::Expired => "token expired",
            AuthError::NotYetValid => "token not yet valid",
            AuthError::IssuedInFuture => "token issued in the future",
            AuthError::LifetimeTooLong => "token lifetime too long",
            AuthError::TokenTooOld => "token too old for this route",
            AuthError::BadIssuer => "issuer not accepted",
            AuthError::BadAudience => "audience not accepted",
            AuthError::UnsafeClaimValue => "claim value not allowed in a header",
            AuthError::KeysUnavailable => "signing keys unavailable",
            AuthError::ClaimMismatch => "required claim value missing",
            AuthError::InsufficientScope => "insufficient scope",
            AuthError::RouteDenied => "access to this route is denied",
            AuthError::BadPath => "request path cannot be normalized",
            AuthError::UserNotFound => "user not found",
            AuthError::UserCheckUnavailable => "user check unavailable",
            AuthError::Revoked => "token revoked",
        }
    }

    /// How the client is answered.
    #[must_use]
    pub const fn reply(&self) -> Reply {
        match self {
            AuthError::MultipleTokens | AuthError::BadPath => Reply::BadRequest,
            AuthError::ClaimMismatch | AuthError::InsufficientScope | AuthError::RouteDenied => {
                Reply::Forbidden
            }
            AuthError::KeysUnavailable | AuthError::UserCheckUnavailable => Reply::Unavailable,
            _ => Reply::Unauthorized,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_mismatch_is_401_not_403_unlike_jwt_authn() {
        assert_eq!(AuthError::BadAudience.reply().status(), 401);
        assert_eq!(AuthError::InsufficientScope.reply().status(), 403);
        assert_eq!(AuthError::MultipleTokens.reply().status(), 400);
        assert_eq!(AuthError::KeysUnavailable.reply().status(), 503);
    }

    /// One value of every variant; the match makes a new variant a compile error here.
    fn every_variant() -> Vec<AuthError> {
        let all = vec![
            AuthError::Missing,
            AuthError::MultipleTokens,
            AuthError::TooLarge,
            AuthError::Malformed("bad base64url"),
            AuthError::AlgNotAllowed,
            AuthError::UnsupportedCrit,
            AuthError::BadType,
            AuthError::UnknownKid,
            AuthError::NoMatchingKey,
            AuthError::BadSignature,
            AuthError::MissingExp,
            AuthError::Expired,
            AuthError::NotYetValid,
            AuthError::IssuedInFuture,
            AuthError::LifetimeTooLong,
            AuthError::TokenTooOld,
            AuthError::BadIssuer,
            AuthError::BadAudience,
            AuthError::UnsafeClaimValue,
            AuthError::KeysUnavailable,
            AuthError::ClaimMismatch,
            AuthError::InsufficientScope,
            AuthError::RouteDenied,
            AuthError::BadPath,
            AuthError::UserNotFound,
            AuthError::UserCheckUnavailable,
            AuthError::Revoked,
        ];
        for e in &all {
            match e {
                AuthError::Missing
                | AuthError::MultipleTokens
                | AuthError::TooLarge
                | AuthError::Malformed(_)
                | AuthError::AlgNotAllowed
                | AuthError::UnsupportedCrit
                | AuthError::BadType
                | AuthError::UnknownKid
                | AuthError::NoMatchingKey
                | AuthError::BadSignature
                | AuthError::MissingExp
                | AuthError::Expired
                | AuthError::NotYetValid
                | AuthError::IssuedInFuture
                | AuthError::LifetimeTooLong
                | AuthError::TokenTooOld
                | AuthError::BadIssuer
                | AuthError::BadAudience
                | AuthError::UnsafeClaimValue
                | AuthError::KeysUnavailable
                | AuthError::ClaimMismatch
                | AuthError::InsufficientScope
                | AuthError::RouteDenied
                | AuthError::BadPath
                | AuthError::UserNotFound
                | AuthError::UserCheckUnavailable
                | AuthError::Revoked => {}
            }
        }
        all
    }

    #[test]
    fn labels_lists_every_variant_once_in_order() {
        let labels: Vec<&str> = every_variant().iter().map(AuthError::label).collect();
        assert_eq!(labels, AuthError::LABELS);
    }

    #[test]
    fn revoked_is_an_invalid_token() {
        assert_eq!(AuthError::Revoked.label(), "token_revoked");
        assert_eq!(AuthError::Revoked.reply(), Reply::Unauthorized);
        assert_eq!(AuthError::Revoked.description(), "token revoked");
    }

    #[test]
    fn bad_type_is_an_invalid_token() {
        assert_eq!(AuthError::BadType.label(), "bad_type");
        assert_eq!(AuthError::BadType.reply(), Reply::Unauthorized);
        assert_eq!(AuthError::BadType.description(), "token type not accepted");
    }

    #[test]
    fn descriptions_are_safe_in_a_quoted_header_parameter() {
        for e in every_variant() {
            assert!(e
                .description()
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' || b == b' '));
            assert!(e
                .label()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }
}
