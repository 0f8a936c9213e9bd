//! `backend`: the protected application behind jwt-gate. It trusts nothing but the
//! identity headers jwt-gate injects, and shows exactly what reached it so the demo (and
//! the end-to-end tests) can see the filter's effect: which `x-user-*` headers arrived,
//! the decision header in audit mode, and whether the credential was stripped.

pub mod echo;
pub mod page;

use axum::routing::{any, get};
use axum::Router;

/// Default listen address (`--listen` / `BACKEND_LISTEN` override it).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8081";

pub fn router() -> Router {
    Router::new()
        .route("/api/me", get(echo::echo))
        // `{*rest}` needs at least one character, so the bare prefix and the prefix
        // with a trailing slash are routed explicitly.
        .route("/api/admin", any(echo::echo))
        .route("/api/admin/", any(echo::echo))
        .route("/api/admin/{*rest}", any(echo::echo))
        .route("/api/public", any(echo::echo))
        .route("/api/public/", any(echo::echo))
        .route("/api/public/{*rest}", any(echo::echo))
        .route("/app", get(page::app))
        .route("/app/", get(page::app))
        .route("/app/{*rest}", get(page::app))
        .route("/healthz", get(echo::healthz))
        .fallback(echo::not_found)
}
