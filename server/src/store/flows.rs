//! Flow definitions (immutable versions), instances (the engine state as JSON, saved
//! with every step in one transaction) and node runs (inputs, outputs, errors, timings).

use super::{now_millis, Conn, StoreResult};
use shared::dto::Id;
use sqlx::Row;

/// Stores a new version of a flow; returns (definition id, version).
pub async fn insert_definition(
    c: &mut Conn,
    company_id: Id,
    key: &str,
    name: &str,
    xml: &str,
    by: Option<Id>,
) -> StoreResult<(Id, i64)> {
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM flow_definitions WHERE company_id = $1 AND flow_key = $2")
        .bind(company_id)
        .bind(key)
        .fetch_one(&mut *c)
        .await?
        .try_get("v")?;
    let id: Id = sqlx::query(
        "INSERT INTO flow_definitions (company_id, flow_key, version, name, xml, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(company_id)
    .bind(key)
    .bind(next)
    .bind(name)
    .bind(xml)
    .bind(by)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?;
    Ok((id, next))
}

pub struct NewInstance<'a> {
    pub company_id: Id,
    pub definition_id: Id,
    pub status: &'a str,
    pub state: &'a str,
    pub variables: &'a str,
    pub start_way: &'a str,
    pub created_by: Option<Id>,
}

pub async fn insert_instance(c: &mut Conn, i: &NewInstance<'_>) -> StoreResult<Id> {
    Ok(sqlx::query(
        "INSERT INTO flow_instances (company_id, definition_id, status, state, variables, start_way, created_by, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(i.company_id)
    .bind(i.definition_id)
    .bind(i.status)
    .bind(i.state)
    .bind(i.variables)
    .bind(i.start_way)
    .bind(i.created_by)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?)
}

/// Saves the instance after a step. `ended` sets the end time.
pub async fn save_instance(
    c: &mut Conn,
    id: Id,
    status: &str,
    state: &str,
    variables: &str,
    ended: bool,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE flow_instances SET status = $1, state = $2, variables = $3, revision = revision + 1, \
         ended_at = CASE WHEN $4 = 1 THEN $5 ELSE ended_at END WHERE id = $6",
    )
    .bind(status)
    .bind(state)
    .bind(variables)
    .bind(i64::from(ended))
    .bind(now_millis())
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct InstanceRow {
    pub id: Id,
    pub status: String,
    pub state: String,
    pub variables: String,
}

pub async fn get_instance(
    c: &mut Conn,
    company_id: Id,
    id: Id,
) -> StoreResult<Option<InstanceRow>> {
    let r = sqlx::query(
        "SELECT id, status, state, variables FROM flow_instances WHERE company_id = $1 AND id = $2",
    )
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| {
        Ok(InstanceRow {
            id: r.try_get("id")?,
            status: r.try_get("status")?,
            state: r.try_get("state")?,
            variables: r.try_get("variables")?,
        })
    })
    .transpose()
}

pub async fn start_node_run(
    c: &mut Conn,
    instance: Id,
    ni: i64,
    attempt: i64,
    node_id: &str,
    input: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO node_runs (instance_id, node_instance, attempt, node_id, status, started_at, input) \
         VALUES ($1, $2, $3, $4, 'running', $5, $6)",
    )
    .bind(instance)
    .bind(ni)
    .bind(attempt)
    .bind(node_id)
    .bind(now_millis())
    .bind(input)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn finish_node_run(
    c: &mut Conn,
    instance: Id,
    ni: i64,
    attempt: i64,
    status: &str,
    output: Option<&str>,
    error: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE node_runs SET status = $1, output = $2, error = $3, ended_at = $4 \
         WHERE instance_id = $5 AND node_instance = $6 AND attempt = $7",
    )
    .bind(status)
    .bind(output)
    .bind(error)
    .bind(now_millis())
    .bind(instance)
    .bind(ni)
    .bind(attempt)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// (node id, attempt, status, output, error) of an instance's runs, in order.
pub async fn node_runs(
    c: &mut Conn,
    instance: Id,
) -> StoreResult<Vec<(String, i64, String, Option<String>, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT node_id, attempt, status, output, error FROM node_runs WHERE instance_id = $1 ORDER BY started_at, node_instance, attempt",
    )
    .bind(instance)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("node_id")?,
                r.try_get("attempt")?,
                r.try_get("status")?,
                r.try_get("output")?,
                r.try_get("error")?,
            ))
        })
        .collect()
}

/// The latest version of a flow: (definition id, version, XML).
pub async fn latest_definition(
    c: &mut Conn,
    company_id: Id,
    key: &str,
) -> StoreResult<Option<(Id, i64, String)>> {
    let r = sqlx::query(
        "SELECT id, version, xml FROM flow_definitions WHERE company_id = $1 AND flow_key = $2 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(company_id)
    .bind(key)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| Ok((r.try_get("id")?, r.try_get("version")?, r.try_get("xml")?)))
        .transpose()
}

/// The definition (id, version) an instance runs.
pub async fn definition_of(
    c: &mut Conn,
    company_id: Id,
    instance: Id,
) -> StoreResult<Option<(Id, i64)>> {
    let r = sqlx::query(
        "SELECT d.id, d.version FROM flow_instances i JOIN flow_definitions d ON d.id = i.definition_id \
         WHERE i.company_id = $1 AND i.id = $2",
    )
    .bind(company_id)
    .bind(instance)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| Ok((r.try_get("id")?, r.try_get("version")?)))
        .transpose()
}
