//! Host groups and hosts (Sub Manager agents). Scoped by `company_id`; the agent
//! credential is kept as a hash (to recognise it) and sealed (to re-download it).

use super::{like_pattern, now_millis, Conn, StoreError, StoreResult};
use shared::dto::host::{Host, HostFacts, HostGroup, HostState};
use shared::dto::{Id, ListQuery};
use sqlx::Row;

// ---- host groups ------------------------------------------------------------------

pub async fn list_groups(c: &mut Conn, company_id: Id) -> StoreResult<Vec<HostGroup>> {
    let rows = sqlx::query(
        "SELECT id, name, parent_id FROM host_groups WHERE company_id = $1 ORDER BY name",
    )
    .bind(company_id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HostGroup {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                parent_id: r.try_get("parent_id")?,
            })
        })
        .collect()
}

pub async fn insert_group(
    c: &mut Conn,
    company_id: Id,
    name: &str,
    parent_id: Option<Id>,
) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO host_groups (company_id, name, parent_id, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(company_id)
    .bind(name)
    .bind(parent_id)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn update_group(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    name: &str,
    parent_id: Option<Id>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE host_groups SET name = $1, parent_id = $2 WHERE company_id = $3 AND id = $4",
    )
    .bind(name)
    .bind(parent_id)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many hosts and sub-groups a group holds (a group is deleted only when empty).
pub async fn group_contents(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<i64> {
    let n: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM hosts WHERE company_id = $1 AND group_id = $2) \
              + (SELECT COUNT(*) FROM host_groups WHERE company_id = $1 AND parent_id = $2) AS n",
    )
    .bind(company_id)
    .bind(id)
    .fetch_one(&mut *c)
    .await?
    .try_get("n")?;
    Ok(n)
}

pub async fn delete_group(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    super::delete_scoped(c, "host_groups", company_id, id).await
}

// ---- hosts ------------------------------------------------------------------------

const HOST_COLUMNS: &str = "id, company_id, name, group_id, comments, state, last_seen, \
                            agent_version, facts, credential_issued_at";

fn host_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Host> {
    let facts: String = r.try_get("facts")?;
    let state: String = r.try_get("state")?;
    Ok(Host {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        group_id: r.try_get("group_id")?,
        comments: r.try_get("comments")?,
        state: HostState::parse(&state),
        last_seen: r.try_get("last_seen")?,
        agent_version: r.try_get("agent_version")?,
        facts: serde_json::from_str::<HostFacts>(&facts)
            .map_err(|e| StoreError::corrupt("host facts", e))?,
        credential_issued_at: r.try_get("credential_issued_at")?,
    })
}

pub async fn insert_host(
    c: &mut Conn,
    company_id: Id,
    name: &str,
    group_id: Option<Id>,
    comments: &str,
    credential_hash: &str,
) -> StoreResult<Id> {
    let now = now_millis();
    let row = sqlx::query(
        "INSERT INTO hosts (company_id, name, group_id, comments, credential_hash, \
         credential_issued_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(company_id)
    .bind(name)
    .bind(group_id)
    .bind(comments)
    .bind(credential_hash)
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn get_host(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<Option<Host>> {
    let row = sqlx::query(&format!(
        "SELECT {HOST_COLUMNS} FROM hosts WHERE company_id = $1 AND id = $2"
    ))
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(host_from_row).transpose()
}

/// A host by id (when the reference is a number) or by name.
pub async fn find_host(c: &mut Conn, company_id: Id, reference: &str) -> StoreResult<Option<Host>> {
    let id: Id = reference.trim().parse().unwrap_or(-1);
    let row = sqlx::query(&format!(
        "SELECT {HOST_COLUMNS} FROM hosts WHERE company_id = $1 AND (id = $2 OR name = $3) \
         ORDER BY id LIMIT 1"
    ))
    .bind(company_id)
    .bind(id)
    .bind(reference.trim())
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(host_from_row).transpose()
}

pub async fn list_hosts(
    c: &mut Conn,
    company_id: Id,
    q: &ListQuery,
    group_id: Option<Id>,
) -> StoreResult<(Vec<Host>, i64)> {
    let pattern = like_pattern(q.filter().unwrap_or(""));
    let filter = "company_id = $1 AND (LOWER(name) LIKE $2 ESCAPE '\\' \
                  OR LOWER(comments) LIKE $2 ESCAPE '\\') AND ($3 < 0 OR group_id = $3)";
    let group = group_id.unwrap_or(-1);
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM hosts WHERE {filter}"))
        .bind(company_id)
        .bind(&pattern)
        .bind(group)
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {HOST_COLUMNS} FROM hosts WHERE {filter} ORDER BY name LIMIT $4 OFFSET $5"
    ))
    .bind(company_id)
    .bind(&pattern)
    .bind(group)
    .bind(q.limit())
    .bind(q.offset())
    .fetch_all(&mut *c)
    .await?;
    Ok((
        rows.iter().map(host_from_row).collect::<StoreResult<_>>()?,
        total,
    ))
}

pub async fn update_host(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    name: &str,
    group_id: Option<Id>,
    comments: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE hosts SET name = $1, group_id = $2, comments = $3 WHERE company_id = $4 AND id = $5",
    )
    .bind(name)
    .bind(group_id)
    .bind(comments)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a host with its terminals and their accounts.
pub async fn delete_host(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    sqlx::query(
        "DELETE FROM terminal_users WHERE company_id = $1 AND terminal_id IN \
         (SELECT id FROM terminals WHERE company_id = $1 AND host_id = $2)",
    )
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM terminals WHERE company_id = $1 AND host_id = $2")
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    super::delete_scoped(c, "hosts", company_id, id).await
}

/// Replaces the host's credential (the old one stops working at once).
pub async fn set_credential(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    credential_hash: &str,
    credential_sealed: &str,
) -> StoreResult<Option<i64>> {
    let now = now_millis();
    let done = sqlx::query(
        "UPDATE hosts SET credential_hash = $1, credential_sealed = $2, credential_issued_at = $3 \
         WHERE company_id = $4 AND id = $5",
    )
    .bind(credential_hash)
    .bind(credential_sealed)
    .bind(now)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok((done.rows_affected() == 1).then_some(now))
}

/// The host's current credential, sealed.
pub async fn sealed_credential(
    c: &mut Conn,
    company_id: Id,
    id: Id,
) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT credential_sealed FROM hosts WHERE company_id = $1 AND id = $2")
        .bind(company_id)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| r.try_get("credential_sealed").map_err(StoreError::from))
        .transpose()
}

/// The ids of every host of a company.
pub async fn ids(c: &mut Conn, company_id: Id) -> StoreResult<Vec<Id>> {
    let rows = sqlx::query("SELECT id FROM hosts WHERE company_id = $1 ORDER BY id")
        .bind(company_id)
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| r.try_get("id").map_err(StoreError::from))
        .collect()
}

/// The host an agent credential belongs to, within the enabled company with this code
/// (a disabled company's Sub Managers are refused).
pub async fn by_credential(
    c: &mut Conn,
    company_code: &str,
    credential_hash: &str,
) -> StoreResult<Option<(Id, Host)>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM hosts h JOIN companies co ON co.id = h.company_id \
         WHERE h.credential_hash = $1 AND co.code = $2 AND co.disabled = $3",
        HOST_COLUMNS
            .split(", ")
            .map(|col| format!("h.{col}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(credential_hash)
    .bind(company_code)
    .bind(0_i64)
    .fetch_optional(&mut *c)
    .await?;
    match row {
        Some(r) => Ok(Some((r.try_get("company_id")?, host_from_row(&r)?))),
        None => Ok(None),
    }
}

/// Records what the agent said: state, version and facts (when it sent them).
pub async fn record_agent(
    c: &mut Conn,
    id: Id,
    state: HostState,
    version: Option<&str>,
    facts: Option<&HostFacts>,
) -> StoreResult<()> {
    let facts = facts
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::corrupt("host facts", e))?;
    sqlx::query(
        "UPDATE hosts SET state = $1, last_seen = $2, \
         agent_version = COALESCE($3, agent_version), facts = COALESCE($4, facts) WHERE id = $5",
    )
    .bind(state.as_str())
    .bind(now_millis())
    .bind(version)
    .bind(facts)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// At start no agent is connected to this process yet.
pub async fn mark_all_offline(c: &mut Conn) -> StoreResult<()> {
    sqlx::query("UPDATE hosts SET state = 'offline' WHERE state = 'connected'")
        .execute(&mut *c)
        .await?;
    Ok(())
}
