//! Server-side sign-in sessions. Only a SHA-256 of the cookie token is stored.

use super::{now_millis, Conn, StoreResult};
use shared::dto::Id;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: Id,
    pub company_id: Id,
    pub csrf_token: String,
    pub expires_at: i64,
    /// The session's company is the platform operator's.
    pub platform_operator: bool,
}

pub async fn insert(
    c: &mut Conn,
    token_hash: &str,
    user_id: Id,
    company_id: Id,
    csrf_token: &str,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, company_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(company_id)
    .bind(csrf_token)
    .bind(now_millis())
    .bind(expires_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The live session of an enabled user of an enabled company, if any.
pub async fn get_live(c: &mut Conn, token_hash: &str) -> StoreResult<Option<SessionRow>> {
    let row = sqlx::query(
        "SELECT s.user_id, s.company_id, s.csrf_token, s.expires_at, co.platform_operator \
         FROM sessions s \
         JOIN users u ON u.id = s.user_id AND u.company_id = s.company_id \
         JOIN companies co ON co.id = s.company_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.enabled = $3 AND co.disabled = $4",
    )
    .bind(token_hash)
    .bind(now_millis())
    .bind(1_i64)
    .bind(0_i64)
    .fetch_optional(&mut *c)
    .await?;
    row.map(|r| {
        Ok(SessionRow {
            user_id: r.try_get("user_id")?,
            company_id: r.try_get("company_id")?,
            csrf_token: r.try_get("csrf_token")?,
            expires_at: r.try_get("expires_at")?,
            platform_operator: r.try_get::<i64, _>("platform_operator")? != 0,
        })
    })
    .transpose()
}

pub async fn delete(c: &mut Conn, token_hash: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Ends every session of a user except `keep` (after a password change).
pub async fn delete_for_user_except(c: &mut Conn, user_id: Id, keep: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn delete_for_user(c: &mut Conn, user_id: Id) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Ends every session of a company (when it is disabled).
pub async fn delete_for_company(c: &mut Conn, company_id: Id) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE company_id = $1")
        .bind(company_id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected())
}

pub async fn purge_expired(c: &mut Conn) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now_millis())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected())
}
