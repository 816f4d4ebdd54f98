//! Designer drafts (`flow_drafts`): one per flow and company.

use super::{now_millis, Conn, StoreResult};
use shared::dto::flow::FlowDraft;
use shared::dto::Id;
use sqlx::Row;

const DRAFT_SELECT: &str =
    "SELECT d.flow_key, d.xml, d.base_version, COALESCE(u.display_name, '') AS updated_by, \
     d.updated_at FROM flow_drafts d LEFT JOIN users u ON u.id = d.updated_by";

fn draft_row(r: &sqlx::any::AnyRow) -> StoreResult<FlowDraft> {
    Ok(FlowDraft {
        key: r.try_get("flow_key")?,
        xml: r.try_get("xml")?,
        base_version: r.try_get("base_version")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get(c: &mut Conn, company_id: Id, key: &str) -> StoreResult<Option<FlowDraft>> {
    let row = sqlx::query(&format!(
        "{DRAFT_SELECT} WHERE d.company_id = $1 AND d.flow_key = $2"
    ))
    .bind(company_id)
    .bind(key)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(draft_row).transpose()
}

/// Every draft of the company, by key.
pub async fn list(c: &mut Conn, company_id: Id) -> StoreResult<Vec<FlowDraft>> {
    let rows = sqlx::query(&format!(
        "{DRAFT_SELECT} WHERE d.company_id = $1 ORDER BY d.flow_key"
    ))
    .bind(company_id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(draft_row).collect()
}

/// Saves (replaces) the flow's draft.
pub async fn save(
    c: &mut Conn,
    company_id: Id,
    key: &str,
    xml: &str,
    base_version: i64,
    by: Id,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO flow_drafts (company_id, flow_key, xml, base_version, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (company_id, flow_key) DO UPDATE SET \
         xml = excluded.xml, base_version = excluded.base_version, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(company_id)
    .bind(key)
    .bind(xml)
    .bind(base_version)
    .bind(by)
    .bind(now_millis())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Removes the flow's draft; whether there was one.
pub async fn delete(c: &mut Conn, company_id: Id, key: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM flow_drafts WHERE company_id = $1 AND flow_key = $2")
        .bind(company_id)
        .bind(key)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}
