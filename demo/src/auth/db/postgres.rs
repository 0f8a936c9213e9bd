//! PostgreSQL through tokio-postgres, without TLS (the demo database runs next to the
//! service: docker-compose network or 127.0.0.1).

use std::sync::Arc;

use tokio_postgres::{Client, NoTls, Row};

use super::{parse_roles, roles_json, DbError, User, SCHEMA};

pub(super) async fn open(url: &str) -> Result<Arc<Client>, DbError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    // The connection object does the socket I/O; it ends when the server goes away,
    // after which every query fails with a clear error (a demo does not reconnect).
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("auth-api: PostgreSQL connection closed: {e}");
        }
    });
    client.batch_execute(SCHEMA).await?;
    Ok(Arc::new(client))
}

pub(super) async fn count_users(c: &Client) -> Result<i64, DbError> {
    Ok(c.query_one("SELECT COUNT(*) FROM users", &[])
        .await?
        .try_get(0)?)
}

pub(super) async fn insert_users(c: &Client, users: &[User]) -> Result<(), DbError> {
    for u in users {
        let roles = roles_json(&u.roles);
        c.execute(
            "INSERT INTO users (id, username, password_hash, name, email, roles, scope, enabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &u.id,
                &u.username,
                &u.password_hash,
                &u.name,
                &u.email,
                &roles,
                &u.scope,
                &u.enabled,
            ],
        )
        .await?;
    }
    Ok(())
}

/// `column` is one of two fixed names chosen by the caller, never request data.
pub(super) async fn user_where(
    c: &Client,
    column: &'static str,
    value: &str,
) -> Result<Option<User>, DbError> {
    let sql = format!(
        "SELECT id, username, password_hash, name, email, roles, scope, enabled
         FROM users WHERE {column} = $1"
    );
    c.query_opt(&sql, &[&value])
        .await?
        .map(|r| into_user(&r))
        .transpose()
}

fn into_user(r: &Row) -> Result<User, DbError> {
    let roles: String = r.try_get(5)?;
    Ok(User {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        name: r.try_get(3)?,
        email: r.try_get(4)?,
        roles: parse_roles(&roles)?,
        scope: r.try_get(6)?,
        enabled: r.try_get(7)?,
    })
}

pub(super) async fn delete_user(c: &Client, id: &str) -> Result<bool, DbError> {
    Ok(c.execute("DELETE FROM users WHERE id = $1", &[&id]).await? > 0)
}

pub(super) async fn set_enabled(c: &Client, id: &str, enabled: bool) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE users SET enabled = $1 WHERE id = $2",
        &[&enabled, &id],
    )
    .await?
        > 0)
}
