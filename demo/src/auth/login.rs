//! What both login routes (JSON and HTML form) share: check the credentials, mint the
//! token.

use std::time::{SystemTime, UNIX_EPOCH};

use super::db::User;
use super::error::ApiError;
use super::passwords;
use super::tokens::Claims;
use super::AppState;

/// Longer inputs are refused before any database or Argon2 work.
const MAX_USERNAME: usize = 128;
const MAX_PASSWORD: usize = 1024;

/// Why a login did not produce a user.
#[derive(Debug)]
pub enum LoginError {
    /// Unknown user, wrong password or disabled user: deliberately indistinguishable.
    InvalidCredentials,
    /// Empty or oversized fields.
    BadRequest(&'static str),
    Internal(ApiError),
}

/// Returns the user if `username`/`password` match an enabled account.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<User, LoginError> {
    if username.is_empty() || password.is_empty() {
        return Err(LoginError::BadRequest("username and password are required"));
    }
    if username.len() > MAX_USERNAME || password.len() > MAX_PASSWORD {
        return Err(LoginError::BadRequest("username or password too long"));
    }
    let user = state
        .store
        .user_by_username(username)
        .await
        .map_err(|e| LoginError::Internal(ApiError::internal(e)))?;
    // Unknown users are checked against a dummy hash so the answer takes as long as a
    // wrong password would (no username enumeration by timing).
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => state.dummy_hash.to_string(),
    };
    let matches = passwords::verify(password.to_owned(), hash).await;
    match user {
        Some(u) if matches && u.enabled => Ok(u),
        _ => Err(LoginError::InvalidCredentials),
    }
}

/// Signs an access token for `user`.
pub fn issue_token(state: &AppState, user: &User) -> Result<String, ApiError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(ApiError::internal)?
        .as_secs();
    let claims = Claims::for_user(user, &state.config, now);
    state.signer.sign(&claims).map_err(ApiError::internal)
}
