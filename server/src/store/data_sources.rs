//! Data sources (Resource › Data sources). Scoped by `company_id`; the password arrives
//! sealed (the store never sees it in plain text).

use super::{now_millis, Conn, StoreError, StoreResult};
use shared::dto::data_source::{DataSource, DataSourceKind};
use shared::dto::Id;
use sqlx::Row;

/// A data source with its sealed password (never sent to a browser).
#[derive(Debug, Clone, PartialEq)]
pub struct DataSourceRow {
    pub source: DataSource,
    pub sealed_password: String,
}

/// A data source's fields as written (validated by the caller).
pub struct DataSourceFields<'a> {
    pub name: &'a str,
    pub kind: DataSourceKind,
    pub url: &'a str,
    pub username: &'a str,
    pub comments: &'a str,
}

/// Where a data source may be used; `None` fields are left as they are on update (and
/// take their defaults on insert: every host, in cloud allowed).
#[derive(Debug, Clone, Default)]
pub struct Usable<'a> {
    pub hosts: Option<&'a [Id]>,
    pub in_cloud: Option<bool>,
}

const COLUMNS: &str =
    "id, name, kind, url, username, password, comments, in_cloud_allowed, updated_at";

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<DataSourceRow> {
    let kind: String = r.try_get("kind")?;
    let sealed_password: String = r.try_get("password")?;
    Ok(DataSourceRow {
        source: DataSource {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            kind: DataSourceKind::parse(&kind)
                .ok_or_else(|| StoreError::corrupt("data source kind", kind))?,
            url: r.try_get("url")?,
            username: r.try_get("username")?,
            has_password: !sealed_password.is_empty(),
            comments: r.try_get("comments")?,
            allowed_hosts: Vec::new(),
            in_cloud_allowed: r.try_get::<i64, _>("in_cloud_allowed")? != 0,
            updated_at: r.try_get("updated_at")?,
        },
        sealed_password,
    })
}

pub async fn list(c: &mut Conn, company_id: Id, q: &str) -> StoreResult<Vec<DataSourceRow>> {
    let pattern = format!("%{}%", q.trim().to_lowercase());
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM data_sources WHERE company_id = $1 \
         AND (LOWER(name) LIKE $2 OR LOWER(url) LIKE $2 OR LOWER(comments) LIKE $2) ORDER BY name"
    ))
    .bind(company_id)
    .bind(pattern)
    .fetch_all(&mut *c)
    .await?;
    let mut list = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    let hosts = sqlx::query(
        "SELECT data_source_id, host_id FROM data_source_hosts WHERE company_id = $1 \
         ORDER BY data_source_id, host_id",
    )
    .bind(company_id)
    .fetch_all(&mut *c)
    .await?;
    for h in &hosts {
        let ds: Id = h.try_get("data_source_id")?;
        if let Some(row) = list.iter_mut().find(|r| r.source.id == ds) {
            row.source.allowed_hosts.push(h.try_get("host_id")?);
        }
    }
    Ok(list)
}

/// The hosts a data source may be used from (empty: every host).
pub async fn allowed_hosts(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<Vec<Id>> {
    let rows = sqlx::query(
        "SELECT host_id FROM data_source_hosts WHERE company_id = $1 AND data_source_id = $2 \
         ORDER BY host_id",
    )
    .bind(company_id)
    .bind(id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("host_id")?)).collect()
}

/// The row with its allowed hosts.
async fn with_hosts(
    c: &mut Conn,
    company_id: Id,
    row: Option<sqlx::any::AnyRow>,
) -> StoreResult<Option<DataSourceRow>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let mut ds = from_row(&row)?;
    ds.source.allowed_hosts = allowed_hosts(c, company_id, ds.source.id).await?;
    Ok(Some(ds))
}

/// Sets where a data source may be used (the fields given).
pub async fn set_usable(c: &mut Conn, company_id: Id, id: Id, u: &Usable<'_>) -> StoreResult<()> {
    if let Some(in_cloud) = u.in_cloud {
        sqlx::query(
            "UPDATE data_sources SET in_cloud_allowed = $1 WHERE company_id = $2 AND id = $3",
        )
        .bind(i64::from(in_cloud))
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    }
    if let Some(hosts) = u.hosts {
        sqlx::query("DELETE FROM data_source_hosts WHERE company_id = $1 AND data_source_id = $2")
            .bind(company_id)
            .bind(id)
            .execute(&mut *c)
            .await?;
        let mut hosts = hosts.to_vec();
        hosts.sort_unstable();
        hosts.dedup();
        for host in hosts {
            sqlx::query(
                "INSERT INTO data_source_hosts (company_id, data_source_id, host_id) \
                 VALUES ($1, $2, $3)",
            )
            .bind(company_id)
            .bind(id)
            .bind(host)
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}

pub async fn get(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<Option<DataSourceRow>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM data_sources WHERE company_id = $1 AND id = $2"
    ))
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    with_hosts(c, company_id, row).await
}

/// A data source by name or id, as a step names it.
pub async fn find(
    c: &mut Conn,
    company_id: Id,
    reference: &str,
) -> StoreResult<Option<DataSourceRow>> {
    let id: Id = reference.trim().parse().unwrap_or(-1);
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM data_sources WHERE company_id = $1 AND (name = $2 OR id = $3) \
         ORDER BY id LIMIT 1"
    ))
    .bind(company_id)
    .bind(reference.trim())
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    with_hosts(c, company_id, row).await
}

pub async fn insert(
    c: &mut Conn,
    company_id: Id,
    f: &DataSourceFields<'_>,
    sealed_password: &str,
) -> StoreResult<Id> {
    let now = now_millis();
    let row = sqlx::query(
        "INSERT INTO data_sources (company_id, name, kind, url, username, password, comments, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(company_id)
    .bind(f.name)
    .bind(f.kind.as_str())
    .bind(f.url)
    .bind(f.username)
    .bind(sealed_password)
    .bind(f.comments)
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

/// Whether saving `f` points the data source at another database server: another URL
/// or kind. A password given for one server is never kept for another.
pub fn moves(f: &DataSourceFields<'_>, from: &DataSource) -> bool {
    f.kind != from.kind || f.url.trim() != from.url.trim()
}

/// Sets the sealed password of a data source (sealed for its row, so after insert).
pub async fn set_password(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    sealed_password: &str,
) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE data_sources SET password = $1 WHERE company_id = $2 AND id = $3")
            .bind(sealed_password)
            .bind(company_id)
            .bind(id)
            .execute(&mut *c)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves a data source; `sealed_password` `None` keeps the stored one — unless the
/// data source moves to another URL or kind ([`moves`]): then the stored password is
/// cleared (the same request may give it again) —, `Some("")` removes it.
pub async fn update(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    f: &DataSourceFields<'_>,
    sealed_password: Option<&str>,
) -> StoreResult<bool> {
    let Some(old) = get(c, company_id, id).await? else {
        return Ok(false);
    };
    let sealed_password = match sealed_password {
        None if moves(f, &old.source) => Some(""),
        other => other,
    };
    let done = sqlx::query(
        "UPDATE data_sources SET name = $1, kind = $2, url = $3, username = $4, \
         password = COALESCE($5, password), comments = $6, updated_at = $7 \
         WHERE company_id = $8 AND id = $9",
    )
    .bind(f.name)
    .bind(f.kind.as_str())
    .bind(f.url)
    .bind(f.username)
    .bind(sealed_password)
    .bind(f.comments)
    .bind(now_millis())
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    sqlx::query("DELETE FROM data_source_hosts WHERE company_id = $1 AND data_source_id = $2")
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    super::delete_scoped(c, "data_sources", company_id, id).await
}
