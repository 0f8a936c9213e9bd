//! The JSON routes: token login, JWKS, the user-check endpoint and its demo-only admin
//! actions, health.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::login::{authenticate, issue_token, LoginError};
use super::AppState;

#[derive(Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// `POST /api/auth/login` `{"username","password"}` →
/// `{"access_token","token_type":"Bearer","expires_in"}`.
pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "expected JSON {{\"username\": ..., \"password\": ...}}: {}",
            e.body_text()
        ))
    })?;
    let user = match authenticate(&state, &req.username, &req.password).await {
        Ok(user) => user,
        Err(LoginError::InvalidCredentials) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "invalid username or password",
            ))
        }
        Err(LoginError::BadRequest(msg)) => return Err(ApiError::bad_request(msg)),
        Err(LoginError::Internal(e)) => return Err(e),
    };
    let token = issue_token(&state, &user)?;
    Ok((
        // Tokens must not be cached by anything between here and the client (RFC 6749 §5.1).
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": state.config.token_ttl_s,
        })),
    )
        .into_response())
}

/// `GET /.well-known/jwks.json`. Cacheable for a few minutes; jwt-gate re-fetches on an
/// unknown `kid` anyway.
pub async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.signer.jwks().clone()),
    )
        .into_response()
}

/// `GET /internal/users/{sub}`: 200 if the user exists and is enabled, else 404 — the
/// contract of jwt-gate's `user_check`.
pub async fn user_status(
    State(state): State<AppState>,
    Path(sub): Path<String>,
) -> Result<Response, ApiError> {
    let user = state
        .store
        .user_by_id(&sub)
        .await
        .map_err(ApiError::internal)?;
    Ok(match user {
        Some(u) if u.enabled => Json(json!({ "sub": u.id, "active": true })).into_response(),
        _ => user_not_found(&sub),
    })
}

/// `DELETE /internal/users/{sub}` (demo only): 204, or 404 if there was no such user.
pub async fn delete_user(
    State(state): State<AppState>,
    Path(sub): Path<String>,
) -> Result<Response, ApiError> {
    let deleted = state
        .store
        .delete_user(&sub)
        .await
        .map_err(ApiError::internal)?;
    Ok(if deleted {
        StatusCode::NO_CONTENT.into_response()
    } else {
        user_not_found(&sub)
    })
}

/// `POST /internal/users/{sub}/disable` (demo only).
pub async fn disable_user(state: State<AppState>, sub: Path<String>) -> Result<Response, ApiError> {
    set_enabled(state, sub, false).await
}

/// `POST /internal/users/{sub}/enable` (demo only): undoes `disable`.
pub async fn enable_user(state: State<AppState>, sub: Path<String>) -> Result<Response, ApiError> {
    set_enabled(state, sub, true).await
}

async fn set_enabled(
    State(state): State<AppState>,
    Path(sub): Path<String>,
    enabled: bool,
) -> Result<Response, ApiError> {
    let found = state
        .store
        .set_enabled(&sub, enabled)
        .await
        .map_err(ApiError::internal)?;
    Ok(if found {
        Json(json!({ "sub": sub, "active": enabled })).into_response()
    } else {
        user_not_found(&sub)
    })
}

fn user_not_found(sub: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "user_not_found", "sub": sub, "active": false })),
    )
        .into_response()
}

/// `GET /healthz`: the database answers too, so "healthy" means "can log users in".
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.user_by_id("").await {
        Ok(_) => Json(json!({ "status": "ok", "service": "auth-api" })).into_response(),
        Err(e) => {
            eprintln!("auth-api: health check: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database unavailable", "service": "auth-api" })),
            )
                .into_response()
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route on auth-api",
    )
}
