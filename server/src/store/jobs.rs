//! Jobs: the durable queue of the runtime. A job is a step to run, a timer to fire, a
//! child flow to start or an event to apply to an instance. Workers claim due jobs with
//! a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer), renew it
//! while they work, and finish the job in the same transaction as its effect.

use super::{now_millis, Backend, Conn, StoreResult};
use shared::dto::status::JobStatus;
use shared::dto::Id;
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Run the step of a node instance through its executor.
    Step,
    /// Fire the timer of a node instance.
    Timer,
    /// Start the flow a call activity names.
    Child,
    /// Apply an event (payload) to an instance.
    Event,
    /// Start an instance of a definition (a timer start event).
    StartTimer,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Step => "step",
            JobKind::Timer => "timer",
            JobKind::Child => "child",
            JobKind::Event => "event",
            JobKind::StartTimer => "start_timer",
        }
    }

    fn parse(s: &str) -> Option<JobKind> {
        Some(match s {
            "step" => JobKind::Step,
            "timer" => JobKind::Timer,
            "child" => JobKind::Child,
            "event" => JobKind::Event,
            "start_timer" => JobKind::StartTimer,
            _ => return None,
        })
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub company_id: Id,
    pub instance_id: Option<Id>,
    pub definition_id: Option<Id>,
    pub root_instance: Option<Id>,
    pub node_instance: i64,
    pub kind: JobKind,
    pub run_at: i64,
    pub payload: String,
}

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: Id,
    pub company_id: Id,
    pub instance_id: Option<Id>,
    pub definition_id: Option<Id>,
    pub node_instance: i64,
    pub kind: JobKind,
    pub attempt: i64,
    pub payload: String,
}

const COLUMNS: &str =
    "id, company_id, instance_id, definition_id, node_instance, kind, attempt, payload";

fn row(r: &sqlx::any::AnyRow) -> StoreResult<JobRow> {
    let kind: String = r.try_get("kind")?;
    Ok(JobRow {
        id: r.try_get("id")?,
        company_id: r.try_get("company_id")?,
        instance_id: r.try_get("instance_id")?,
        definition_id: r.try_get("definition_id")?,
        node_instance: r.try_get("node_instance")?,
        kind: JobKind::parse(&kind)
            .ok_or_else(|| super::StoreError::Corrupt(format!("job kind {kind:?}")))?,
        attempt: r.try_get("attempt")?,
        payload: r.try_get("payload")?,
    })
}

pub async fn insert(c: &mut Conn, j: &NewJob) -> StoreResult<Id> {
    insert_as(c, j, None).await
}

/// Inserts a job already claimed by `owner` until `lease_until` (a step its own
/// process begins at once, as if it had claimed it); returns it as `claim` would.
pub async fn insert_claimed(
    c: &mut Conn,
    j: NewJob,
    owner: &str,
    lease_until: i64,
) -> StoreResult<JobRow> {
    let id = insert_as(c, &j, Some((owner, lease_until))).await?;
    Ok(JobRow {
        id,
        company_id: j.company_id,
        instance_id: j.instance_id,
        definition_id: j.definition_id,
        node_instance: j.node_instance,
        kind: j.kind,
        // The column's default: a new job is on its first attempt.
        attempt: 1,
        payload: j.payload,
    })
}

async fn insert_as(c: &mut Conn, j: &NewJob, lease: Option<(&str, i64)>) -> StoreResult<Id> {
    let status = if lease.is_some() {
        JobStatus::Running
    } else {
        JobStatus::Queued
    }
    .as_str();
    Ok(sqlx::query(
        "INSERT INTO jobs (company_id, instance_id, definition_id, root_instance, node_instance, kind, status, run_at, payload, created_at, lease_owner, lease_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(j.company_id)
    .bind(j.instance_id)
    .bind(j.definition_id)
    .bind(j.root_instance)
    .bind(j.node_instance)
    .bind(j.kind.as_str())
    .bind(status)
    .bind(j.run_at)
    .bind(&j.payload)
    .bind(now_millis())
    .bind(lease.map(|l| l.0))
    .bind(lease.map(|l| l.1))
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?)
}

/// Claims up to `limit` due jobs for `owner` until `lease_until`. With `root`, only
/// jobs of that instance tree (a headless `lwams flow run` claims only its own).
pub async fn claim(
    c: &mut Conn,
    backend: Backend,
    owner: &str,
    lease_until: i64,
    limit: i64,
    root: Option<Id>,
) -> StoreResult<Vec<JobRow>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows = sqlx::query(&format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2 WHERE id IN (\
           SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $3 AND ($4 = 0 OR root_instance = $4) \
           ORDER BY run_at, id LIMIT $5{lock}) RETURNING {COLUMNS}"
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now_millis())
    .bind(root.unwrap_or(0))
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(row).collect()
}

/// When the next queued job is due (Unix ms), if any.
pub async fn next_due(c: &mut Conn, root: Option<Id>) -> StoreResult<Option<i64>> {
    Ok(sqlx::query(
        "SELECT MIN(run_at) AS t FROM jobs WHERE status = 'queued' AND ($1 = 0 OR root_instance = $1)",
    )
    .bind(root.unwrap_or(0))
    .fetch_one(&mut *c)
    .await?
    .try_get("t")?)
}

/// Extends (or ends) the lease of running jobs of `owner`; how many it still held.
pub async fn renew(c: &mut Conn, owner: &str, ids: &[Id], lease_until: i64) -> StoreResult<u64> {
    let mut held = 0;
    for id in ids {
        held += sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(lease_until)
        .bind(id)
        .bind(owner)
        .execute(&mut *c)
        .await?
        .rows_affected();
    }
    Ok(held)
}

/// Running jobs whose outcome is unknown: leased by `owner` (given at a restart of
/// this node), or with a lease that ran out (a node died).
pub async fn orphaned(c: &mut Conn, owner: Option<&str>) -> StoreResult<Vec<JobRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE status = 'running' AND (lease_owner = $1 OR lease_until < $2) ORDER BY id"
    ))
    .bind(owner.unwrap_or(""))
    .bind(now_millis())
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(row).collect()
}

/// Ends a job (`done` or `cancelled`).
pub async fn finish(c: &mut Conn, id: Id, status: JobStatus) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET status = $1, lease_owner = NULL, lease_until = NULL WHERE id = $2",
    )
    .bind(status.as_str())
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Holds a job with a new payload saying why (a schedule paused by a refused fire).
pub async fn pause(c: &mut Conn, id: Id, payload: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET status = 'held', payload = $1, lease_owner = NULL, lease_until = NULL \
         WHERE id = $2",
    )
    .bind(payload)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Puts a job back in the queue, due at `run_at`, as its next attempt.
pub async fn requeue(c: &mut Conn, id: Id, run_at: i64, next_attempt: bool) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET status = 'queued', run_at = $1, attempt = attempt + $2, lease_owner = NULL, lease_until = NULL WHERE id = $3",
    )
    .bind(run_at)
    .bind(i64::from(next_attempt))
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Cancels the queued jobs of a node instance; returns the ids of its running ones
/// (their workers are told to stop).
pub async fn cancel_node(c: &mut Conn, instance: Id, ni: i64) -> StoreResult<Vec<Id>> {
    sqlx::query(
        "UPDATE jobs SET status = 'cancelled' WHERE instance_id = $1 AND node_instance = $2 AND status = 'queued'",
    )
    .bind(instance)
    .bind(ni)
    .execute(&mut *c)
    .await?;
    let rows = sqlx::query(
        "SELECT id FROM jobs WHERE instance_id = $1 AND node_instance = $2 AND status = 'running'",
    )
    .bind(instance)
    .bind(ni)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get("id")?))
        .collect::<StoreResult<_>>()
}

/// Cancels the queued timer starts of every version of a flow (a new version replaces
/// their schedule).
pub async fn cancel_start_timers(c: &mut Conn, company_id: Id, key: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET status = 'cancelled' WHERE kind = 'start_timer' AND status = 'queued' AND company_id = $1 \
         AND definition_id IN (SELECT id FROM flow_definitions WHERE company_id = $1 AND flow_key = $2)",
    )
    .bind(company_id)
    .bind(key)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Queued or running jobs of an instance tree.
pub async fn pending_in_tree(c: &mut Conn, root: Id) -> StoreResult<i64> {
    Ok(sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs WHERE root_instance = $1 AND status IN ('queued', 'running')",
    )
    .bind(root)
    .fetch_one(&mut *c)
    .await?
    .try_get("n")?)
}

/// Holds (pause) or releases (resume) the queued steps and child starts of an instance.
pub async fn hold(c: &mut Conn, instance: Id, hold: bool) -> StoreResult<()> {
    let (from, to) = if hold {
        (JobStatus::Queued, JobStatus::Held)
    } else {
        (JobStatus::Held, JobStatus::Queued)
    };
    sqlx::query(
        "UPDATE jobs SET status = $1 WHERE instance_id = $2 AND status = $3 AND kind IN ('step', 'child')",
    )
    .bind(to.as_str())
    .bind(instance)
    .bind(from.as_str())
    .execute(&mut *c)
    .await?;
    Ok(())
}
