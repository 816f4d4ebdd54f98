//! The script library (Resource › Scripts). Scoped by `company_id`.

use super::{now_millis, Conn, StoreError, StoreResult};
use shared::dto::script::{Script, ScriptKind};
use shared::dto::Id;
use sqlx::Row;

/// A script's fields as written (validated by the caller).
pub struct ScriptFields<'a> {
    pub name: &'a str,
    pub kind: ScriptKind,
    pub body: &'a str,
    pub comments: &'a str,
}

const SELECT: &str = "SELECT s.id, s.name, s.kind, s.body, s.comments, s.updated_at, \
     COALESCE(u.display_name, '') AS updated_by \
     FROM scripts s LEFT JOIN users u ON u.id = s.updated_by";

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Script> {
    let kind: String = r.try_get("kind")?;
    Ok(Script {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: ScriptKind::parse(&kind).ok_or_else(|| StoreError::corrupt("script kind", kind))?,
        body: r.try_get("body")?,
        comments: r.try_get("comments")?,
        updated_at: r.try_get("updated_at")?,
        updated_by: r.try_get("updated_by")?,
    })
}

/// Scripts whose name, kind, comments or body contain `q` (any case).
pub async fn list(c: &mut Conn, company_id: Id, q: &str) -> StoreResult<Vec<Script>> {
    let pattern = format!("%{}%", q.trim().to_lowercase());
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE s.company_id = $1 AND (LOWER(s.name) LIKE $2 OR LOWER(s.kind) LIKE $2 \
         OR LOWER(s.comments) LIKE $2 OR LOWER(s.body) LIKE $2) ORDER BY s.name"
    ))
    .bind(company_id)
    .bind(pattern)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<Option<Script>> {
    let row = sqlx::query(&format!("{SELECT} WHERE s.company_id = $1 AND s.id = $2"))
        .bind(company_id)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A script by name, as a step names it (`lwams:script`).
pub async fn find(c: &mut Conn, company_id: Id, name: &str) -> StoreResult<Option<Script>> {
    let row = sqlx::query(&format!("{SELECT} WHERE s.company_id = $1 AND s.name = $2"))
        .bind(company_id)
        .bind(name.trim())
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn insert(c: &mut Conn, company_id: Id, f: &ScriptFields<'_>, by: Id) -> StoreResult<Id> {
    let now = now_millis();
    let row = sqlx::query(
        "INSERT INTO scripts (company_id, name, kind, body, comments, created_at, updated_at, \
         updated_by) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id",
    )
    .bind(company_id)
    .bind(f.name)
    .bind(f.kind.as_str())
    .bind(f.body)
    .bind(f.comments)
    .bind(now)
    .bind(by)
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn update(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    f: &ScriptFields<'_>,
    by: Id,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE scripts SET name = $1, kind = $2, body = $3, comments = $4, updated_at = $5, \
         updated_by = $6 WHERE company_id = $7 AND id = $8",
    )
    .bind(f.name)
    .bind(f.kind.as_str())
    .bind(f.body)
    .bind(f.comments)
    .bind(now_millis())
    .bind(by)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    super::delete_scoped(c, "scripts", company_id, id).await
}
