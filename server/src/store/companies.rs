//! Companies (tenants).

use super::{now_millis, Conn, StoreResult};
use shared::dto::Id;
use sqlx::Row;

/// A company row. The WeChat secret stays encrypted here; the API layer decides what
/// leaves the server.
#[derive(Debug, Clone)]
pub struct CompanyRow {
    pub id: Id,
    pub code: String,
    pub name: String,
    pub wechat_app_id: String,
    pub wechat_app_secret_enc: Option<String>,
}

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<CompanyRow> {
    Ok(CompanyRow {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        wechat_app_id: r.try_get("wechat_app_id")?,
        wechat_app_secret_enc: r.try_get("wechat_app_secret_enc")?,
    })
}

const COLUMNS: &str = "id, code, name, wechat_app_id, wechat_app_secret_enc";

pub async fn insert(c: &mut Conn, code: &str, name: &str) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO companies (code, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn get(c: &mut Conn, id: Id) -> StoreResult<Option<CompanyRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM companies WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_code(c: &mut Conn, code: &str) -> StoreResult<Option<CompanyRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM companies WHERE code = $1"))
        .bind(code)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The company created at first start (the lowest id), if any.
pub async fn first_id(c: &mut Conn) -> StoreResult<Option<Id>> {
    let row = sqlx::query("SELECT id FROM companies ORDER BY id LIMIT 1")
        .fetch_optional(&mut *c)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// All companies, oldest first (login picks the only one when no code is given).
pub async fn list(c: &mut Conn) -> StoreResult<Vec<CompanyRow>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM companies ORDER BY id"))
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Updates the company; `secret` `None` keeps the stored secret, `Some(None)` clears it.
pub async fn update(
    c: &mut Conn,
    id: Id,
    code: &str,
    name: &str,
    wechat_app_id: &str,
    secret: Option<Option<String>>,
) -> StoreResult<bool> {
    let done = match secret {
        None => {
            sqlx::query(
                "UPDATE companies SET code = $1, name = $2, wechat_app_id = $3 WHERE id = $4",
            )
            .bind(code)
            .bind(name)
            .bind(wechat_app_id)
            .bind(id)
            .execute(&mut *c)
            .await?
        }
        Some(secret) => {
            sqlx::query(
                "UPDATE companies SET code = $1, name = $2, wechat_app_id = $3, \
                 wechat_app_secret_enc = $4 WHERE id = $5",
            )
            .bind(code)
            .bind(name)
            .bind(wechat_app_id)
            .bind(secret)
            .bind(id)
            .execute(&mut *c)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}
