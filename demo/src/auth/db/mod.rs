//! The user store: one schema, two engines. SQLite (a file, default) goes through
//! rusqlite on the blocking pool; PostgreSQL through tokio-postgres. Both are created
//! and seeded with the two demo users the first time they are opened empty.

mod postgres;
mod sqlite;

use std::fmt;
use std::sync::{Arc, Mutex};

use super::config::Database;
use super::passwords;

/// Portable DDL: SQLite reads `BOOLEAN` as a 0/1 integer, PostgreSQL natively. Roles are
/// a JSON array in a TEXT column so neither engine needs array types.
pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    roles         TEXT NOT NULL,
    scope         TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE
)";

/// A row of `users`. `id` is the token's `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    /// Argon2id PHC string (`$argon2id$v=19$...`).
    pub password_hash: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub scope: String,
    pub enabled: bool,
}

/// One demo account as seeded (the password in clear, hashed at seed time).
struct SeedUser {
    id: &'static str,
    username: &'static str,
    password: &'static str,
    name: &'static str,
    email: &'static str,
    roles: &'static [&'static str],
    scope: &'static str,
}

/// The demo users. Fixed ids so the walkthrough can say `DELETE /internal/users/2`
/// without decoding a token first.
const SEED: [SeedUser; 2] = [
    SeedUser {
        id: "1",
        username: "alice",
        password: "alice-password",
        name: "Alice Admin",
        email: "alice@example.com",
        roles: &["admin", "reader"],
        scope: "read write admin:write",
    },
    SeedUser {
        id: "2",
        username: "bob",
        password: "bob-password",
        name: "Bob Reader",
        email: "bob@example.com",
        roles: &["reader"],
        scope: "read",
    },
];

/// The seed users with freshly hashed passwords (Argon2 is slow on purpose, so this runs
/// on the blocking pool, and only when the table is empty).
async fn seed_users() -> Result<Vec<User>, DbError> {
    let mut users = Vec::with_capacity(SEED.len());
    for seed in &SEED {
        let password_hash = passwords::hash(seed.password.to_owned())
            .await
            .map_err(DbError)?;
        users.push(User {
            id: seed.id.to_owned(),
            username: seed.username.to_owned(),
            password_hash,
            name: seed.name.to_owned(),
            email: seed.email.to_owned(),
            roles: seed.roles.iter().map(|r| (*r).to_owned()).collect(),
            scope: seed.scope.to_owned(),
            enabled: true,
        });
    }
    Ok(users)
}

/// A database failure, as text for the operator's log (never sent to clients).
#[derive(Debug)]
pub struct DbError(pub String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError(format!("sqlite: {e}"))
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError(format!("postgres: {e}"))
    }
}

/// Decodes the `roles` column.
fn parse_roles(raw: &str) -> Result<Vec<String>, DbError> {
    serde_json::from_str(raw)
        .map_err(|e| DbError(format!("users.roles is not a JSON string array: {e}")))
}

fn roles_json(roles: &[String]) -> String {
    serde_json::Value::from(roles.to_vec()).to_string()
}

#[derive(Clone)]
pub enum Store {
    /// One connection behind a mutex is plenty for a demo and keeps SQLite's locking
    /// trivial; every call runs on tokio's blocking pool.
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(Arc<tokio_postgres::Client>),
}

impl Store {
    /// Connects, creates the table if needed, and seeds the demo users into an empty one.
    pub async fn open(db: &Database) -> Result<Store, DbError> {
        let store = match db {
            Database::Sqlite(path) => Store::Sqlite(sqlite::open(path.clone()).await?),
            Database::Postgres(url) => Store::Postgres(postgres::open(url).await?),
        };
        if store.count_users().await? == 0 {
            let users = seed_users().await?;
            store.insert_users(users).await?;
            println!("auth-api: seeded demo users alice (id 1) and bob (id 2)");
        }
        Ok(store)
    }

    async fn count_users(&self) -> Result<i64, DbError> {
        match self {
            Store::Sqlite(c) => sqlite::count_users(c.clone()).await,
            Store::Postgres(c) => postgres::count_users(c).await,
        }
    }

    async fn insert_users(&self, users: Vec<User>) -> Result<(), DbError> {
        match self {
            Store::Sqlite(c) => sqlite::insert_users(c.clone(), users).await,
            Store::Postgres(c) => postgres::insert_users(c, &users).await,
        }
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, DbError> {
        match self {
            Store::Sqlite(c) => {
                sqlite::user_where(c.clone(), "username", username.to_owned()).await
            }
            Store::Postgres(c) => postgres::user_where(c, "username", username).await,
        }
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, DbError> {
        match self {
            Store::Sqlite(c) => sqlite::user_where(c.clone(), "id", id.to_owned()).await,
            Store::Postgres(c) => postgres::user_where(c, "id", id).await,
        }
    }

    /// Deletes the user; false if there was none.
    pub async fn delete_user(&self, id: &str) -> Result<bool, DbError> {
        match self {
            Store::Sqlite(c) => sqlite::delete_user(c.clone(), id.to_owned()).await,
            Store::Postgres(c) => postgres::delete_user(c, id).await,
        }
    }

    /// Enables or disables the user; false if there was none.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<bool, DbError> {
        match self {
            Store::Sqlite(c) => sqlite::set_enabled(c.clone(), id.to_owned(), enabled).await,
            Store::Postgres(c) => postgres::set_enabled(c, id, enabled).await,
        }
    }
}
