//! Files RPA steps brought back, per instance (Flow › Monitor). Scoped by `company_id`.

use super::{now_millis, Conn, StoreResult};
use shared::dto::flow::ArtifactInfo;
use shared::dto::Id;
use sqlx::Row;

/// Where an artefact came from.
pub struct ArtifactOrigin<'a> {
    pub company_id: Id,
    pub instance_id: Id,
    pub node_id: &'a str,
    pub ni: i64,
    pub attempt: i64,
}

pub async fn insert(
    c: &mut Conn,
    at: &ArtifactOrigin<'_>,
    name: &str,
    size: i64,
    content: Option<&[u8]>,
) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO artifacts (company_id, instance_id, node_id, ni, attempt, name, size, \
         content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(at.company_id)
    .bind(at.instance_id)
    .bind(at.node_id)
    .bind(at.ni)
    .bind(at.attempt)
    .bind(name)
    .bind(size)
    .bind(content.map(<[u8]>::to_vec))
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

/// An instance's artefacts, oldest first.
pub async fn list(c: &mut Conn, company_id: Id, instance_id: Id) -> StoreResult<Vec<ArtifactInfo>> {
    let rows = sqlx::query(
        "SELECT id, node_id, ni, attempt, name, size, content IS NOT NULL AS stored, created_at \
         FROM artifacts WHERE company_id = $1 AND instance_id = $2 ORDER BY id",
    )
    .bind(company_id)
    .bind(instance_id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            let stored: bool = r
                .try_get::<bool, _>("stored")
                .or_else(|_| r.try_get::<i64, _>("stored").map(|v| v != 0))?;
            Ok(ArtifactInfo {
                id: r.try_get("id")?,
                node_id: r.try_get("node_id")?,
                ni: r.try_get("ni")?,
                attempt: r.try_get("attempt")?,
                name: r.try_get("name")?,
                size: r.try_get("size")?,
                stored,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// One artefact's name and content (`None`: no such artefact in this instance and
/// company; `Some((name, None))`: listed only).
pub async fn content(
    c: &mut Conn,
    company_id: Id,
    instance_id: Id,
    id: Id,
) -> StoreResult<Option<(String, Option<Vec<u8>>)>> {
    let row = sqlx::query(
        "SELECT name, content FROM artifacts WHERE company_id = $1 AND instance_id = $2 AND id = $3",
    )
    .bind(company_id)
    .bind(instance_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.map(|r| Ok((r.try_get("name")?, r.try_get("content")?)))
        .transpose()
}
