//! SQLite through rusqlite. rusqlite is synchronous, so each call takes the connection
//! mutex on tokio's blocking pool instead of stalling the async workers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{parse_roles, roles_json, DbError, User, SCHEMA};

type Conn = Arc<Mutex<Connection>>;

/// Runs `f` with the connection on the blocking pool.
async fn with_conn<T: Send + 'static>(
    conn: Conn,
    f: impl FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
) -> Result<T, DbError> {
    tokio::task::spawn_blocking(move || {
        // A poisoned mutex only means another call panicked mid-way; SQLite's own
        // transactions keep the file consistent, so carry on with the connection.
        let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    })
    .await
    .map_err(|e| DbError(format!("sqlite task: {e}")))?
}

pub(super) async fn open(path: PathBuf) -> Result<Conn, DbError> {
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(&path)?;
        // Another auth-api (or a `sqlite3` shell in the walkthrough) may hold the lock
        // briefly; wait instead of failing the request.
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Arc::new(Mutex::new(conn)))
    })
    .await
    .map_err(|e| DbError(format!("sqlite task: {e}")))?
}

pub(super) async fn count_users(conn: Conn) -> Result<i64, DbError> {
    with_conn(conn, |c| {
        Ok(c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
    })
    .await
}

pub(super) async fn insert_users(conn: Conn, users: Vec<User>) -> Result<(), DbError> {
    with_conn(conn, move |c| {
        let tx = c.transaction()?;
        for u in &users {
            // ON CONFLICT: two instances seeding the same file at once stay harmless.
            tx.execute(
                "INSERT INTO users (id, username, password_hash, name, email, roles, scope, enabled)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                params![
                    u.id,
                    u.username,
                    u.password_hash,
                    u.name,
                    u.email,
                    roles_json(&u.roles),
                    u.scope,
                    u.enabled
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    })
    .await
}

/// `column` is one of two fixed names chosen by the caller, never request data.
pub(super) async fn user_where(
    conn: Conn,
    column: &'static str,
    value: String,
) -> Result<Option<User>, DbError> {
    with_conn(conn, move |c| {
        let sql = format!(
            "SELECT id, username, password_hash, name, email, roles, scope, enabled
             FROM users WHERE {column} = ?1"
        );
        let row = c.query_row(&sql, [value], row_values).optional()?;
        row.map(into_user).transpose()
    })
    .await
}

type Values = (String, String, String, String, String, String, String, bool);

fn row_values(r: &Row<'_>) -> rusqlite::Result<Values> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn into_user(v: Values) -> Result<User, DbError> {
    let (id, username, password_hash, name, email, roles, scope, enabled) = v;
    Ok(User {
        id,
        username,
        password_hash,
        name,
        email,
        roles: parse_roles(&roles)?,
        scope,
        enabled,
    })
}

pub(super) async fn delete_user(conn: Conn, id: String) -> Result<bool, DbError> {
    with_conn(conn, move |c| {
        Ok(c.execute("DELETE FROM users WHERE id = ?1", [id])? > 0)
    })
    .await
}

pub(super) async fn set_enabled(conn: Conn, id: String, enabled: bool) -> Result<bool, DbError> {
    with_conn(conn, move |c| {
        Ok(c.execute(
            "UPDATE users SET enabled = ?1 WHERE id = ?2",
            params![enabled, id],
        )? > 0)
    })
    .await
}
