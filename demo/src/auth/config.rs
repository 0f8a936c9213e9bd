//! auth-api settings, all from the environment so `make demo`, docker-compose and the
//! tests configure it the same way.

use std::path::PathBuf;

/// Default listen address (`--listen` / `AUTH_API_LISTEN` override it).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8082";
pub const DEFAULT_DB: &str = ".demo/users.db";
pub const DEFAULT_ISSUER: &str = "https://demo.jwt-gate.local";
pub const DEFAULT_AUDIENCE: &str = "demo-api";
pub const DEFAULT_TOKEN_TTL_S: u64 = 900;
/// The key file written on first start, next to the SQLite file.
pub const KEY_FILE_NAME: &str = "signing-key.pem";

/// Where users live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` / `postgresql://` URL (never printed: it may hold a password).
    Postgres(String),
}

impl Database {
    /// For the startup line: the SQLite path, or "PostgreSQL" without the URL.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(p) => format!("SQLite {}", p.display()),
            Database::Postgres(_) => "PostgreSQL (DATABASE_URL)".to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: Database,
    /// Directory of `DEMO_DB`; the generated signing key is persisted here (also when
    /// the users are in PostgreSQL, so restarts keep the same `kid`).
    pub data_dir: PathBuf,
    /// `DEMO_SIGNING_KEY`: a P-256 private key PEM, or the path of a file holding one.
    pub signing_key: Option<String>,
    pub issuer: String,
    pub audience: String,
    pub token_ttl_s: u64,
    /// Adds `Secure` to the cookie; off by default because the demo is plain HTTP.
    pub cookie_secure: bool,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Same as [`Config::from_env`] over any lookup, so it can be tested without
    /// touching the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let db_path = PathBuf::from(get("DEMO_DB").unwrap_or_else(|| DEFAULT_DB.to_owned()));
        let data_dir = match db_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let database = match get("DATABASE_URL") {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres(url)
            }
            // Refuse rather than silently fall back to SQLite: the operator asked for a
            // database this service would not be using.
            Some(_) => {
                return Err("DATABASE_URL must start with postgres:// or postgresql:// \
                            (unset it to use SQLite at DEMO_DB)"
                    .to_owned())
            }
            None => Database::Sqlite(db_path),
        };
        let token_ttl_s = match get("DEMO_TOKEN_TTL_S") {
            None => DEFAULT_TOKEN_TTL_S,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=86_400).contains(n))
                .ok_or_else(|| format!("DEMO_TOKEN_TTL_S: {v:?} is not 1..=86400 seconds"))?,
        };
        let cookie_secure = match get("DEMO_COOKIE_SECURE").as_deref() {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(v) => return Err(format!("DEMO_COOKIE_SECURE: {v:?} is not true/false")),
        };
        Ok(Config {
            database,
            data_dir,
            signing_key: get("DEMO_SIGNING_KEY"),
            issuer: get("DEMO_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
            audience: get("DEMO_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            token_ttl_s,
            cookie_secure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            c.database,
            Database::Sqlite(PathBuf::from(".demo/users.db"))
        );
        assert_eq!(c.data_dir, PathBuf::from(".demo"));
        assert_eq!(c.issuer, "https://demo.jwt-gate.local");
        assert_eq!(c.audience, "demo-api");
        assert_eq!(c.token_ttl_s, 900);
        assert!(!c.cookie_secure);
    }

    #[test]
    fn postgres_url_and_bad_values() {
        let c = cfg(&[
            ("DATABASE_URL", "postgres://u@127.0.0.1/demo"),
            ("DEMO_DB", "x.db"),
        ])
        .unwrap();
        assert_eq!(
            c.database,
            Database::Postgres("postgres://u@127.0.0.1/demo".into())
        );
        assert_eq!(c.data_dir, PathBuf::from("."));
        assert!(cfg(&[("DATABASE_URL", "mysql://x")]).is_err());
        assert!(cfg(&[("DEMO_TOKEN_TTL_S", "0")]).is_err());
        assert!(cfg(&[("DEMO_COOKIE_SECURE", "maybe")]).is_err());
    }
}
