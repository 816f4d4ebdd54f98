//! Flow definitions (immutable versions), instances (the engine state as JSON, saved
//! with every step in one transaction) and node runs (inputs, outputs, errors, timings).

use super::{now_millis, Conn, StoreError, StoreResult};
use shared::dto::status::{InstanceStatus, RunStatus};
use shared::dto::Id;
use sqlx::Row;

/// A new version of a flow, as deploy stores it.
pub struct NewDefinition<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub xml: &'a str,
    /// The compiled form (JSON).
    pub compiled: &'a str,
    pub by: Option<Id>,
    pub about: &'a shared::dto::flow::FlowAbout,
}

/// Stores a new version of a flow; returns (definition id, version).
pub async fn insert_definition(
    c: &mut Conn,
    company_id: Id,
    d: &NewDefinition<'_>,
) -> StoreResult<(Id, i64)> {
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM flow_definitions WHERE company_id = $1 AND flow_key = $2")
        .bind(company_id)
        .bind(d.key)
        .fetch_one(&mut *c)
        .await?
        .try_get("v")?;
    let id: Id = sqlx::query(
        "INSERT INTO flow_definitions (company_id, flow_key, version, name, xml, compiled, created_by, created_at, flow_group, comments) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(company_id)
    .bind(d.key)
    .bind(next)
    .bind(d.name)
    .bind(d.xml)
    .bind(d.compiled)
    .bind(d.by)
    .bind(now_millis())
    .bind(&d.about.group)
    .bind(&d.about.comments)
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?;
    Ok((id, next))
}

/// A status column read as its type (`shared::dto::status`): the one place the engine's
/// statuses turn from text; text that names none is corrupt data.
fn status_of<T>(r: &sqlx::any::AnyRow, column: &str) -> StoreResult<T>
where
    T: std::str::FromStr<Err = shared::dto::status::UnknownStatus>,
{
    let text: String = r.try_get(column)?;
    text.parse().map_err(|e| StoreError::corrupt(column, e))
}

pub struct NewInstance<'a> {
    pub company_id: Id,
    pub definition_id: Id,
    pub process_id: &'a str,
    pub status: InstanceStatus,
    pub state: &'a str,
    pub variables: &'a str,
    pub start_way: &'a str,
    pub created_by: Option<Id>,
    /// The calling instance and node instance (call activity), if any.
    pub parent: Option<(Id, i64)>,
    /// The first instance of the tree (itself when `None`: set by the first
    /// `save_revision`, in the same transaction).
    pub root: Option<Id>,
}

pub async fn insert_instance(c: &mut Conn, i: &NewInstance<'_>) -> StoreResult<Id> {
    let id: Id = sqlx::query(
        "INSERT INTO flow_instances (company_id, definition_id, process_id, status, state, variables, start_way, created_by, started_at, parent_instance, parent_node_instance, root_instance) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(i.company_id)
    .bind(i.definition_id)
    .bind(i.process_id)
    .bind(i.status.as_str())
    .bind(i.state)
    .bind(i.variables)
    .bind(i.start_way)
    .bind(i.created_by)
    .bind(now_millis())
    .bind(i.parent.map(|p| p.0))
    .bind(i.parent.map(|p| p.1))
    .bind(i.root)
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?;
    Ok(id)
}

/// An instance as the runtime loads it to apply an event.
#[derive(Debug, Clone)]
pub struct InstanceRecord {
    pub id: Id,
    pub company_id: Id,
    pub definition_id: Id,
    pub process_id: String,
    pub status: InstanceStatus,
    pub state: String,
    pub variables: String,
    pub revision: i64,
    pub parent: Option<(Id, i64)>,
    pub root: Id,
    pub created_by: Option<Id>,
}

/// Loads an instance to change it; on PostgreSQL the row stays locked until the
/// transaction ends.
pub async fn load_for_update(
    c: &mut Conn,
    backend: super::Backend,
    id: Id,
) -> StoreResult<Option<InstanceRecord>> {
    let lock = match backend {
        super::Backend::Postgres => " FOR UPDATE",
        super::Backend::Sqlite => "",
    };
    load_with(c, id, lock).await
}

/// Loads an instance to read it.
pub async fn load_instance(c: &mut Conn, id: Id) -> StoreResult<Option<InstanceRecord>> {
    load_with(c, id, "").await
}

async fn load_with(c: &mut Conn, id: Id, lock: &str) -> StoreResult<Option<InstanceRecord>> {
    let r = sqlx::query(&format!(
        "SELECT id, company_id, definition_id, process_id, status, state, variables, revision, \
         parent_instance, parent_node_instance, root_instance, created_by FROM flow_instances WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| {
        let parent: Option<Id> = r.try_get("parent_instance")?;
        let parent_ni: Option<i64> = r.try_get("parent_node_instance")?;
        let root: Option<Id> = r.try_get("root_instance")?;
        Ok(InstanceRecord {
            id: r.try_get("id")?,
            company_id: r.try_get("company_id")?,
            definition_id: r.try_get("definition_id")?,
            process_id: r.try_get("process_id")?,
            status: status_of(&r, "status")?,
            state: r.try_get("state")?,
            variables: r.try_get("variables")?,
            revision: r.try_get("revision")?,
            parent: parent.zip(parent_ni),
            root: root.unwrap_or(id),
            created_by: r.try_get("created_by")?,
        })
    })
    .transpose()
}

/// Saves an instance changed from `revision`; false when someone else changed it first.
/// A new root instance becomes its own root here.
pub async fn save_revision(
    c: &mut Conn,
    id: Id,
    revision: i64,
    status: InstanceStatus,
    state: &str,
    variables: &str,
    ended: bool,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE flow_instances SET status = $1, state = $2, variables = $3, revision = revision + 1, root_instance = COALESCE(root_instance, id), \
         ended_at = CASE WHEN $4 = 1 THEN $5 ELSE ended_at END WHERE id = $6 AND revision = $7",
    )
    .bind(status.as_str())
    .bind(state)
    .bind(variables)
    .bind(i64::from(ended))
    .bind(now_millis())
    .bind(id)
    .bind(revision)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The calling instance and node instance of an instance started by a call activity.
pub async fn parent_of(c: &mut Conn, id: Id) -> StoreResult<Option<(Id, i64)>> {
    let r = sqlx::query(
        "SELECT parent_instance, parent_node_instance FROM flow_instances WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    Ok(match r {
        Some(r) => {
            let p: Option<Id> = r.try_get("parent_instance")?;
            let n: Option<i64> = r.try_get("parent_node_instance")?;
            p.zip(n)
        }
        None => None,
    })
}

/// The child instance a call activity's node instance started, while it has not ended.
pub async fn live_child(c: &mut Conn, parent: Id, ni: i64) -> StoreResult<Option<Id>> {
    let r = sqlx::query(
        "SELECT id FROM flow_instances WHERE parent_instance = $1 AND parent_node_instance = $2 \
         AND status NOT IN ('completed', 'terminated') ORDER BY id DESC LIMIT 1",
    )
    .bind(parent)
    .bind(ni)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| Ok(r.try_get("id")?)).transpose()
}

/// The instances of a tree (an instance and the flows its call activities started).
pub async fn tree_members(c: &mut Conn, company_id: Id, root: Id) -> StoreResult<Vec<Id>> {
    let rows = sqlx::query(
        "SELECT id FROM flow_instances WHERE company_id = $1 AND root_instance = $2 ORDER BY id",
    )
    .bind(company_id)
    .bind(root)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// A definition as the runtime runs it: key, name, version and compiled processes.
#[derive(Debug, Clone)]
pub struct CompiledRow {
    pub key: String,
    pub name: String,
    pub version: i64,
    pub compiled: String,
}

pub async fn compiled_of(c: &mut Conn, definition_id: Id) -> StoreResult<Option<CompiledRow>> {
    let r =
        sqlx::query("SELECT flow_key, name, version, compiled FROM flow_definitions WHERE id = $1")
            .bind(definition_id)
            .fetch_optional(&mut *c)
            .await?;
    r.map(|r| {
        Ok(CompiledRow {
            key: r.try_get("flow_key")?,
            name: r.try_get("name")?,
            version: r.try_get("version")?,
            compiled: r.try_get("compiled")?,
        })
    })
    .transpose()
}

/// The XML of one version of a flow.
pub async fn version_xml(
    c: &mut Conn,
    company_id: Id,
    key: &str,
    version: i64,
) -> StoreResult<Option<String>> {
    let r = sqlx::query(
        "SELECT xml FROM flow_definitions WHERE company_id = $1 AND flow_key = $2 AND version = $3",
    )
    .bind(company_id)
    .bind(key)
    .bind(version)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| Ok(r.try_get("xml")?)).transpose()
}

/// The XML of the definition an instance runs (for its diagram).
pub async fn xml_of_instance(
    c: &mut Conn,
    company_id: Id,
    instance: Id,
) -> StoreResult<Option<String>> {
    let r = sqlx::query(
        "SELECT d.xml FROM flow_instances i JOIN flow_definitions d ON d.id = i.definition_id \
         WHERE i.company_id = $1 AND i.id = $2",
    )
    .bind(company_id)
    .bind(instance)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| Ok(r.try_get("xml")?)).transpose()
}

/// Records an operator's action on an instance.
pub async fn insert_action(
    c: &mut Conn,
    company_id: Id,
    instance: Id,
    action: &str,
    node_id: Option<&str>,
    user_id: Option<Id>,
    user_name: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO instance_actions (company_id, instance_id, action, node_id, user_id, user_name, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(company_id)
    .bind(instance)
    .bind(action)
    .bind(node_id)
    .bind(user_id)
    .bind(user_name)
    .bind(now_millis())
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ActionRow {
    pub action: String,
    pub node_id: Option<String>,
    pub user_id: Option<Id>,
    pub user_name: String,
    pub at: i64,
}

/// The operators' actions on an instance, oldest first.
pub async fn actions_of(c: &mut Conn, instance: Id) -> StoreResult<Vec<ActionRow>> {
    let rows = sqlx::query(
        "SELECT action, node_id, user_id, user_name, at FROM instance_actions WHERE instance_id = $1 ORDER BY id",
    )
    .bind(instance)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ActionRow {
                action: r.try_get("action")?,
                node_id: r.try_get("node_id")?,
                user_id: r.try_get("user_id")?,
                user_name: r.try_get("user_name")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct InstanceRow {
    pub id: Id,
    pub status: InstanceStatus,
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
            status: status_of(&r, "status")?,
            state: r.try_get("state")?,
            variables: r.try_get("variables")?,
        })
    })
    .transpose()
}

/// Records the start of a run of a node instance; returns its attempt number (1, 2, …
/// over automatic and operator retries alike).
pub async fn start_node_run(
    c: &mut Conn,
    instance: Id,
    ni: i64,
    node_id: &str,
    input: &str,
) -> StoreResult<i64> {
    // The next attempt of the node instance, numbered in the insert itself.
    let attempt: i64 = sqlx::query(
        "INSERT INTO node_runs (instance_id, node_instance, attempt, node_id, status, started_at, input) \
         SELECT $1, $2, COALESCE(MAX(attempt), 0) + 1, $3, 'running', $4, $5 FROM node_runs \
         WHERE instance_id = $1 AND node_instance = $2 RETURNING attempt",
    )
    .bind(instance)
    .bind(ni)
    .bind(node_id)
    .bind(now_millis())
    .bind(input)
    .fetch_one(&mut *c)
    .await?
    .try_get("attempt")?;
    Ok(attempt)
}

/// The attempt of a node instance that is still marked running, if any.
pub async fn running_attempt(c: &mut Conn, instance: Id, ni: i64) -> StoreResult<Option<i64>> {
    let r = sqlx::query(
        "SELECT MAX(attempt) AS a FROM node_runs WHERE instance_id = $1 AND node_instance = $2 AND status = 'running'",
    )
    .bind(instance)
    .bind(ni)
    .fetch_one(&mut *c)
    .await?;
    Ok(r.try_get("a")?)
}

pub async fn finish_node_run(
    c: &mut Conn,
    instance: Id,
    ni: i64,
    attempt: i64,
    status: RunStatus,
    output: Option<&str>,
    error: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE node_runs SET status = $1, output = $2, error = $3, ended_at = $4 \
         WHERE instance_id = $5 AND node_instance = $6 AND attempt = $7",
    )
    .bind(status.as_str())
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

/// Records a node run's input again (masked with the secrets its step came to know).
pub async fn set_node_run_input(
    c: &mut Conn,
    instance: Id,
    ni: i64,
    attempt: i64,
    input: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE node_runs SET input = $1 WHERE instance_id = $2 AND node_instance = $3 \
         AND attempt = $4",
    )
    .bind(input)
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

/// The definition id of one version of a flow.
pub async fn definition_at(
    c: &mut Conn,
    company_id: Id,
    key: &str,
    version: i64,
) -> StoreResult<Option<Id>> {
    let r = sqlx::query(
        "SELECT id FROM flow_definitions WHERE company_id = $1 AND flow_key = $2 AND version = $3",
    )
    .bind(company_id)
    .bind(key)
    .bind(version)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| Ok(r.try_get("id")?)).transpose()
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
    /// The display name of who deployed it (empty when unknown).
    pub created_by_name: String,
    pub created_at: i64,
    pub about: shared::dto::flow::FlowAbout,
}

const DEFINITION_COLUMNS: &str = "d.id, d.flow_key, d.name, d.version, d.created_by, \
     COALESCE(u.display_name, '') AS created_by_name, d.created_at, d.flow_group, d.comments";
const DEFINITION_AUTHOR: &str = "LEFT JOIN users u ON u.id = d.created_by";

fn definition_row(r: &sqlx::any::AnyRow) -> StoreResult<DefinitionRow> {
    Ok(DefinitionRow {
        id: r.try_get("id")?,
        key: r.try_get("flow_key")?,
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        created_by: r.try_get("created_by")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: r.try_get("created_at")?,
        about: shared::dto::flow::FlowAbout {
            group: r.try_get("flow_group")?,
            comments: r.try_get("comments")?,
        },
    })
}

/// The latest version of every flow of the company, by key; filtered by key, name or
/// group.
pub async fn list_latest(
    c: &mut Conn,
    company_id: Id,
    q: &shared::dto::ListQuery,
) -> StoreResult<(Vec<DefinitionRow>, i64)> {
    let pattern = super::like_pattern(q.filter().unwrap_or(""));
    let filter = "d.company_id = $1 AND (LOWER(d.flow_key) LIKE $2 ESCAPE '\\' OR LOWER(d.name) LIKE $2 ESCAPE '\\' OR LOWER(d.flow_group) LIKE $2 ESCAPE '\\') \
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
        "SELECT {DEFINITION_COLUMNS} FROM flow_definitions d {DEFINITION_AUTHOR} \
         WHERE {filter} ORDER BY d.flow_group, d.flow_key LIMIT $3 OFFSET $4"
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

/// The newest version of a flow, if it has one.
pub async fn latest(c: &mut Conn, company_id: Id, key: &str) -> StoreResult<Option<DefinitionRow>> {
    let row = sqlx::query(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM flow_definitions d {DEFINITION_AUTHOR} \
         WHERE d.company_id = $1 AND d.flow_key = $2 ORDER BY d.version DESC LIMIT 1"
    ))
    .bind(company_id)
    .bind(key)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(definition_row).transpose()
}

/// Every version of a flow, newest first.
pub async fn versions(c: &mut Conn, company_id: Id, key: &str) -> StoreResult<Vec<DefinitionRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM flow_definitions d {DEFINITION_AUTHOR} \
         WHERE d.company_id = $1 AND d.flow_key = $2 ORDER BY d.version DESC"
    ))
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
    pub status: InstanceStatus,
    pub start_way: String,
    pub created_by: Option<Id>,
    /// The creator's display name (`None`: no creator, or the user was deleted).
    pub created_by_name: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// The columns of an instance's summary (`created_by_name` from the joined `users u`).
const INSTANCE_COLUMNS: &str = "i.id, d.flow_key, d.version, i.status, i.start_way, i.created_by, \
     u.display_name AS created_by_name, i.started_at, i.ended_at";

/// The tables of an instance's summary: its definition and its creator, if any.
const INSTANCE_FROM: &str = "flow_instances i JOIN flow_definitions d ON d.id = i.definition_id \
     LEFT JOIN users u ON u.id = i.created_by";

fn instance_row(r: &sqlx::any::AnyRow) -> StoreResult<InstanceListRow> {
    Ok(InstanceListRow {
        id: r.try_get("id")?,
        flow_key: r.try_get("flow_key")?,
        flow_version: r.try_get("version")?,
        status: status_of(r, "status")?,
        start_way: r.try_get("start_way")?,
        created_by: r.try_get("created_by")?,
        created_by_name: r.try_get("created_by_name")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

/// Instances of the company, newest first, filtered by flow key and status.
pub async fn list_instances(
    c: &mut Conn,
    company_id: Id,
    key_filter: Option<&str>,
    status: Option<InstanceStatus>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<InstanceListRow>, i64)> {
    let pattern = super::like_pattern(key_filter.unwrap_or(""));
    let status = status.map(InstanceStatus::as_str);
    let filter = "i.company_id = $1 AND LOWER(d.flow_key) LIKE $2 ESCAPE '\\' AND ($3 = '' OR i.status = $3)";
    let from = "flow_instances i JOIN flow_definitions d ON d.id = i.definition_id";
    let total: i64 = if key_filter.unwrap_or("").is_empty() {
        // Without a key filter the count needs no join (index company_id, status).
        let by_status = if status.unwrap_or("").is_empty() {
            ""
        } else {
            " AND status = $2"
        };
        let q =
            format!("SELECT COUNT(*) AS n FROM flow_instances WHERE company_id = $1{by_status}");
        let q = sqlx::query(&q).bind(company_id);
        let q = if by_status.is_empty() {
            q
        } else {
            q.bind(status.unwrap_or(""))
        };
        q.fetch_one(&mut *c).await?.try_get("n")?
    } else {
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM {from} WHERE {filter}"))
            .bind(company_id)
            .bind(&pattern)
            .bind(status.unwrap_or(""))
            .fetch_one(&mut *c)
            .await?
            .try_get("n")?
    };
    let rows = sqlx::query(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM {INSTANCE_FROM} WHERE {filter} ORDER BY i.id DESC LIMIT $4 OFFSET $5"
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
        "SELECT {INSTANCE_COLUMNS} FROM {INSTANCE_FROM} WHERE i.company_id = $1 AND i.id = $2"
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
    pub status: RunStatus,
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
                status: status_of(r, "status")?,
                started_at: r.try_get("started_at")?,
                ended_at: r.try_get("ended_at")?,
                output: r.try_get("output")?,
                error: r.try_get("error")?,
            })
        })
        .collect()
}
