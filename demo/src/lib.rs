//! jwt-gate demo services. Two binaries share this library:
//!
//! * `auth-api` ([`auth`]): login (JSON and HTML form), ES256 access tokens, the JWK Set,
//!   and the user-existence endpoint jwt-gate's `user_check` calls; users live in SQLite
//!   (default) or PostgreSQL.
//! * `backend` ([`backend`]): shows which identity headers reached it.
//!
//! [`common`] holds what both need: `--listen` parsing, the request log line, graceful
//! shutdown and HTML escaping.

pub mod auth;
pub mod backend;
pub mod common;
