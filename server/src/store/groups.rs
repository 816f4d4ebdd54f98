//! User groups, their permission matrices and memberships. Scoped by `company_id`.

use super::{like_pattern, now_millis, Conn, StoreError, StoreResult};
use shared::dto::{Id, ListQuery};
use shared::{Function, Level, PermissionMatrix};
use sqlx::Row;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct GroupRow {
    pub id: Id,
    pub name: String,
    pub description: String,
}

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<GroupRow> {
    Ok(GroupRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
    })
}

pub async fn insert(
    c: &mut Conn,
    company_id: Id,
    name: &str,
    description: &str,
) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO user_groups (company_id, name, description, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(company_id)
    .bind(name)
    .bind(description)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn get(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<Option<GroupRow>> {
    let row = sqlx::query(
        "SELECT id, name, description FROM user_groups WHERE company_id = $1 AND id = $2",
    )
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(
    c: &mut Conn,
    company_id: Id,
    q: &ListQuery,
) -> StoreResult<(Vec<GroupRow>, i64)> {
    let pattern = like_pattern(q.filter().unwrap_or(""));
    let filter = "company_id = $1 AND (LOWER(name) LIKE $2 ESCAPE '\\' \
                  OR LOWER(description) LIKE $2 ESCAPE '\\')";
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM user_groups WHERE {filter}"
    ))
    .bind(company_id)
    .bind(&pattern)
    .fetch_one(&mut *c)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT id, name, description FROM user_groups WHERE {filter} ORDER BY name LIMIT $3 OFFSET $4"
    ))
    .bind(company_id)
    .bind(&pattern)
    .bind(q.limit())
    .bind(q.offset())
    .fetch_all(&mut *c)
    .await?;
    Ok((
        rows.iter().map(from_row).collect::<StoreResult<_>>()?,
        total,
    ))
}

pub async fn update(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    name: &str,
    description: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE user_groups SET name = $1, description = $2 WHERE company_id = $3 AND id = $4",
    )
    .bind(name)
    .bind(description)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    // Explicit deletes: SQLite enforces ON DELETE CASCADE only with foreign_keys on.
    sqlx::query("DELETE FROM group_members WHERE group_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM group_permissions WHERE group_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    super::delete_scoped(c, "user_groups", company_id, id).await
}

pub async fn set_permissions(c: &mut Conn, group_id: Id, m: &PermissionMatrix) -> StoreResult<()> {
    sqlx::query("DELETE FROM group_permissions WHERE group_id = $1")
        .bind(group_id)
        .execute(&mut *c)
        .await?;
    for (f, l) in &m.0 {
        if *l == Level::None {
            continue;
        }
        sqlx::query(
            "INSERT INTO group_permissions (group_id, function, level) VALUES ($1, $2, $3)",
        )
        .bind(group_id)
        .bind(f.key())
        .bind(l.as_str())
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

fn parse_permission(r: &sqlx::any::AnyRow) -> StoreResult<(Id, Function, Level)> {
    let g: Id = r.try_get("group_id")?;
    let f: String = r.try_get("function")?;
    let l: String = r.try_get("level")?;
    let f = Function::from_key(&f)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown function {f:?}")))?;
    let l = Level::from_str_opt(&l)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown level {l:?}")))?;
    Ok((g, f, l))
}

/// The matrix of every group of the company.
pub async fn permissions(
    c: &mut Conn,
    company_id: Id,
) -> StoreResult<HashMap<Id, PermissionMatrix>> {
    let rows = sqlx::query(
        "SELECT p.group_id, p.function, p.level FROM group_permissions p \
         JOIN user_groups g ON g.id = p.group_id WHERE g.company_id = $1",
    )
    .bind(company_id)
    .fetch_all(&mut *c)
    .await?;
    let mut out: HashMap<Id, PermissionMatrix> = HashMap::new();
    for r in &rows {
        let (g, f, l) = parse_permission(r)?;
        out.entry(g).or_default().set(f, l);
    }
    Ok(out)
}

/// A user's effective rights: the union of its groups' matrices.
pub async fn user_permissions(c: &mut Conn, user_id: Id) -> StoreResult<PermissionMatrix> {
    let rows = sqlx::query(
        "SELECT p.group_id, p.function, p.level FROM group_permissions p \
         JOIN group_members m ON m.group_id = p.group_id WHERE m.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(&mut *c)
    .await?;
    let mut m = PermissionMatrix::default();
    for r in &rows {
        let (_, f, l) = parse_permission(r)?;
        if l > m.get(f) {
            m.set(f, l);
        }
    }
    Ok(m)
}

/// Member ids per group of the company.
pub async fn members(c: &mut Conn, company_id: Id) -> StoreResult<HashMap<Id, Vec<Id>>> {
    let rows = sqlx::query(
        "SELECT m.group_id, m.user_id FROM group_members m JOIN user_groups g ON g.id = m.group_id \
         WHERE g.company_id = $1 ORDER BY m.user_id",
    )
    .bind(company_id)
    .fetch_all(&mut *c)
    .await?;
    let mut out: HashMap<Id, Vec<Id>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get("group_id")?)
            .or_default()
            .push(r.try_get("user_id")?);
    }
    Ok(out)
}

/// Adds users to a group; users already in it are left as they are.
pub async fn add_members(c: &mut Conn, group_id: Id, user_ids: &[Id]) -> StoreResult<()> {
    for u in user_ids {
        let exists =
            sqlx::query("SELECT 1 AS one FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(group_id)
                .bind(*u)
                .fetch_optional(&mut *c)
                .await?
                .is_some();
        if !exists {
            sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
                .bind(group_id)
                .bind(*u)
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

pub async fn remove_member(c: &mut Conn, group_id: Id, user_id: Id) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}
