//! Companies (tenants). The company created first is the platform operator's
//! (`platform_operator`, migration 0010): its administrators manage the other companies
//! through `/api/v1/platform`. A `disabled` company's users cannot sign in, its sessions
//! and its Sub Managers are refused.

use super::{like_pattern, now_millis, Conn, StoreResult};
use shared::dto::{Id, ListQuery};
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
    pub disabled: bool,
    pub platform_operator: bool,
    pub created_at: i64,
}

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<CompanyRow> {
    Ok(CompanyRow {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        wechat_app_id: r.try_get("wechat_app_id")?,
        wechat_app_secret_enc: r.try_get("wechat_app_secret_enc")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        platform_operator: r.try_get::<i64, _>("platform_operator")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, code, name, wechat_app_id, wechat_app_secret_enc, disabled, \
    platform_operator, created_at";

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

/// How many companies there are (sign-in asks for the code when more than one).
pub async fn count(c: &mut Conn) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM companies")
        .fetch_one(&mut *c)
        .await?;
    Ok(row.try_get("n")?)
}

/// Makes the company the platform operator's (done for the first company only; a
/// unique index allows one).
pub async fn mark_platform_operator(c: &mut Conn, id: Id) -> StoreResult<()> {
    sqlx::query("UPDATE companies SET platform_operator = $1 WHERE id = $2")
        .bind(1_i64)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
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

/// A company as the platform operator lists it: the row and its number of users.
#[derive(Debug, Clone)]
pub struct CompanyStats {
    pub row: CompanyRow,
    pub users: i64,
}

/// A page of companies whose code or name matches the filter, oldest first, with their
/// user counts (the platform operator's list).
pub async fn list_with_users(c: &mut Conn, q: &ListQuery) -> StoreResult<(Vec<CompanyStats>, i64)> {
    let pattern = like_pattern(q.filter().unwrap_or(""));
    let filter = "LOWER(co.code) LIKE $1 ESCAPE '\\' OR LOWER(co.name) LIKE $1 ESCAPE '\\'";
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM companies co WHERE {filter}"
    ))
    .bind(&pattern)
    .fetch_one(&mut *c)
    .await?
    .try_get("n")?;
    let columns = COLUMNS
        .split(", ")
        .map(|col| format!("co.{}", col.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {columns}, \
         (SELECT COUNT(*) FROM users u WHERE u.company_id = co.id) AS users \
         FROM companies co WHERE {filter} ORDER BY co.id LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(q.limit())
    .bind(q.offset())
    .fetch_all(&mut *c)
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(CompanyStats {
                row: from_row(r)?,
                users: r.try_get("users")?,
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok((items, total))
}

/// The number of users of one company.
pub async fn user_count(c: &mut Conn, id: Id) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE company_id = $1")
        .bind(id)
        .fetch_one(&mut *c)
        .await?;
    Ok(row.try_get("n")?)
}

/// Renames a company (its code stays).
pub async fn rename(c: &mut Conn, id: Id, name: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE companies SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Disables or enables a company.
pub async fn set_disabled(c: &mut Conn, id: Id, disabled: bool) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE companies SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}
