//! `auth-api`: the demo identity provider jwt-gate trusts.
//!
//! Routes (see [`router`]):
//! * `POST /api/auth/login` — JSON credentials → ES256 access token ([`api`]);
//! * `GET /.well-known/jwks.json` — the public key jwt-gate fetches as `remote_jwks`;
//! * `GET|POST /login`, `GET|POST /logout` — the browser flow behind jwt-gate's
//!   `"login": "browser"` redirect ([`login_page`]);
//! * `GET /internal/users/{sub}` — jwt-gate's `user_check`; `DELETE` and
//!   `POST .../disable|enable` let the walkthrough revoke a user ([`api`]);
//! * `GET /healthz`.

pub mod api;
pub mod config;
pub mod db;
pub mod error;
pub mod keys;
pub mod login;
pub mod login_page;
pub mod passwords;
pub mod redirect;
pub mod tokens;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use config::Config;
use db::Store;
use tokens::Signer;

/// Everything a request handler needs; cheap to clone (all shared).
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub signer: Arc<Signer>,
    pub config: Arc<Config>,
    /// A hash of a random password, verified against when the username is unknown so
    /// that "no such user" and "wrong password" take the same time.
    pub dummy_hash: Arc<str>,
}

impl AppState {
    /// Opens (and on first start creates and seeds) the database and loads (or
    /// creates) the signing key. Messages are for the operator; no secrets in them.
    pub async fn init(config: Config) -> Result<AppState, String> {
        let store = Store::open(&config.database)
            .await
            .map_err(|e| format!("database: {e}"))?;
        let (key, source) = keys::load_or_create(&config)?;
        let signer = Signer::new(key);
        println!(
            "auth-api: users in {}, signing key {} (ES256, kid {}), issuer {:?}, audience {:?}",
            config.database.describe(),
            source,
            signer.kid(),
            config.issuer,
            config.audience
        );
        let dummy_hash = passwords::dummy_hash().await?;
        Ok(AppState {
            store,
            signer: Arc::new(signer),
            config: Arc::new(config),
            dummy_hash: dummy_hash.into(),
        })
    }
}

/// All auth-api routes over `state`; anything else is a JSON 404.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/auth/login", post(api::login))
        .route("/.well-known/jwks.json", get(api::jwks))
        .route("/login", get(login_page::show).post(login_page::submit))
        .route("/logout", get(login_page::logout).post(login_page::logout))
        .route(
            "/internal/users/{sub}",
            get(api::user_status).delete(api::delete_user),
        )
        .route("/internal/users/{sub}/disable", post(api::disable_user))
        .route("/internal/users/{sub}/enable", post(api::enable_user))
        .route("/healthz", get(api::healthz))
        .fallback(api::not_found)
        .with_state(state)
}
