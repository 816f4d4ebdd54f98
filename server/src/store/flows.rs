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

#[derive(Debug, Clone)]
pub struct DefinitionRow {
    pub id: Id,
    pub key: String,
    pub name: String,
    pub version: i64,
    pub created_by: Option<Id>,
    pub created_at: i64,
}

fn definition_row(r: &sqlx::any::AnyRow) -> StoreResult<DefinitionRow> {
    Ok(DefinitionRow {
        id: r.try_get("id")?,
        key: r.try_get("flow_key")?,
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The latest version of every flow of the company, by key; filtered by key or name.
pub async fn list_latest(
    c: &mut Conn,
    company_id: Id,
    q: &shared::dto::ListQuery,
) -> StoreResult<(Vec<DefinitionRow>, i64)> {
    let pattern = super::like_pattern(q.filter().unwrap_or(""));
    let filter = "d.company_id = $1 AND (LOWER(d.flow_key) LIKE $2 ESCAPE '\\' OR LOWER(d.name) LIKE $2 ESCAPE '\\') \
                  AND d.version = (SELECT MAX(x.version) FROM flow_definitions x WHERE x.company_id = d.company_id AND x.flow_key = d.flow_key)";
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM flow_definitions d WHERE {filter}"
    ))
    .bind(company_id)
    .bind(&pattern)
    .fetch_one(&mut *c)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT d.id, d.flow_key, d.name, d.version, d.created_by, d.created_at FROM flow_definitions d \
         WHERE {filter} ORDER BY d.flow_key LIMIT $3 OFFSET $4"
    ))
    .bind(company_id)
    .bind(&pattern)
    .bind(q.limit())
    .bind(q.offset())
    .fetch_all(&mut *c)
    .await?;
    Ok((
        rows.iter()
            .map(definition_row)
            .collect::<StoreResult<_>>()?,
        total,
    ))
}

/// Every version of a flow, newest first.
pub async fn versions(c: &mut Conn, company_id: Id, key: &str) -> StoreResult<Vec<DefinitionRow>> {
    let rows = sqlx::query(
        "SELECT id, flow_key, name, version, created_by, created_at FROM flow_definitions \
         WHERE company_id = $1 AND flow_key = $2 ORDER BY version DESC",
    )
    .bind(company_id)
    .bind(key)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(definition_row).collect()
}

#[derive(Debug, Clone)]
pub struct InstanceListRow {
    pub id: Id,
    pub flow_key: String,
    pub flow_version: i64,
    pub status: String,
    pub start_way: String,
    pub created_by: Option<Id>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

const INSTANCE_COLUMNS: &str =
    "i.id, d.flow_key, d.version, i.status, i.start_way, i.created_by, i.started_at, i.ended_at";

fn instance_row(r: &sqlx::any::AnyRow) -> StoreResult<InstanceListRow> {
    Ok(InstanceListRow {
        id: r.try_get("id")?,
        flow_key: r.try_get("flow_key")?,
        flow_version: r.try_get("version")?,
        status: r.try_get("status")?,
        start_way: r.try_get("start_way")?,
        created_by: r.try_get("created_by")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

/// Instances of the company, newest first, filtered by flow key and status.
pub async fn list_instances(
    c: &mut Conn,
    company_id: Id,
    key_filter: Option<&str>,
    status: Option<&str>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<InstanceListRow>, i64)> {
    let pattern = super::like_pattern(key_filter.unwrap_or(""));
    let filter = "i.company_id = $1 AND LOWER(d.flow_key) LIKE $2 ESCAPE '\\' AND ($3 = '' OR i.status = $3)";
    let from = "flow_instances i JOIN flow_definitions d ON d.id = i.definition_id";
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {from} WHERE {filter}"))
        .bind(company_id)
        .bind(&pattern)
        .bind(status.unwrap_or(""))
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM {from} WHERE {filter} ORDER BY i.id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(company_id)
    .bind(&pattern)
    .bind(status.unwrap_or(""))
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *c)
    .await?;
    Ok((
        rows.iter().map(instance_row).collect::<StoreResult<_>>()?,
        total,
    ))
}

pub async fn instance_summary(
    c: &mut Conn,
    company_id: Id,
    id: Id,
) -> StoreResult<Option<InstanceListRow>> {
    let r = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM flow_instances i JOIN flow_definitions d ON d.id = i.definition_id \
         WHERE i.company_id = $1 AND i.id = $2"
    ))
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref().map(instance_row).transpose()
}

#[derive(Debug, Clone)]
pub struct NodeRunRow {
    pub node_id: String,
    pub attempt: i64,
    pub status: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub output: Option<String>,
    pub error: Option<String>,
}

/// Every run of an instance's nodes, in the order they started.
pub async fn runs_of(c: &mut Conn, instance: Id) -> StoreResult<Vec<NodeRunRow>> {
    let rows = sqlx::query(
        "SELECT node_id, attempt, status, started_at, ended_at, output, error FROM node_runs \
         WHERE instance_id = $1 ORDER BY started_at, node_instance, attempt",
    )
    .bind(instance)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NodeRunRow {
                node_id: r.try_get("node_id")?,
                attempt: r.try_get("attempt")?,
                status: r.try_get("status")?,
                started_at: r.try_get("started_at")?,
                ended_at: r.try_get("ended_at")?,
                output: r.try_get("output")?,
                error: r.try_get("error")?,
            })
        })
        .collect()
}
