//! The headless runner behind `lwams flow run`: deploys a BPMN file as a new version,
//! starts an instance and works the durable runtime's queue for that instance tree
//! until it settles — completed, terminated, failed, or waiting only for people
//! (user tasks). The same runtime as the server: one engine path.

use super::builtins::Initiator;
use super::core::{InstanceStatus, NodeState};
use super::deploy::{deploy, DeployError, Which};
use super::runtime::{Runtime, RuntimeError, StartSpec};
use crate::store::{flows, jobs, Store, StoreError};
use serde_json::{Map, Value};
use shared::dto::flow::LiveUpdate;
use shared::dto::Id;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the flow cannot run:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("engine: {0}")]
    Runtime(#[from] RuntimeError),
}

impl From<DeployError> for RunError {
    fn from(e: DeployError) -> Self {
        match e {
            DeployError::Refused(problems) => RunError::Invalid(
                problems
                    .iter()
                    .map(|p| match &p.element_id {
                        Some(id) => format!("line {}: {id}: {}", p.line, p.message),
                        None => format!("line {}: {}", p.line, p.message),
                    })
                    .collect(),
            ),
            DeployError::Store(e) => RunError::Store(e),
            DeployError::Runtime(e) => RunError::Runtime(e),
            stale @ DeployError::Stale { .. } => RunError::Invalid(vec![stale.to_string()]),
        }
    }
}

/// How a headless run ended.
#[derive(Debug)]
pub struct Outcome {
    pub instance_id: Id,
    pub status: InstanceStatus,
    /// User tasks the instance tree waits at (a headless run stops there).
    pub waiting_at: Vec<String>,
    /// Failed steps of the instance tree: (node id, error).
    pub failures: Vec<(String, String)>,
    pub variables: Map<String, Value>,
}

pub async fn run_file(
    store: &Store,
    company_id: Id,
    xml: &str,
    variables: Map<String, Value>,
    initiator: &Initiator,
    report: &mut dyn FnMut(&str),
) -> Result<Outcome, RunError> {
    let runtime = Runtime::new(
        store.clone(),
        format!("cli-{}-{}", std::process::id(), crate::store::now_millis()),
        4,
    );
    let (_, deployed) = deploy(
        &runtime,
        company_id,
        xml,
        Which::ExecutableOrFirst,
        initiator.id,
        None,
        &Default::default(),
    )
    .await?;
    let first = deployed
        .first()
        .ok_or_else(|| RunError::Invalid(vec!["the file has no process".into()]))?;
    report(&format!(
        "flow {} version {}: deployed",
        first.key, first.version
    ));
    let mut live = runtime.subscribe();
    let id = runtime
        .start(StartSpec {
            variables,
            initiator: initiator.clone(),
            ..StartSpec::new(company_id, first.id, "api")
        })
        .await?;
    report(&format!("instance {id} started"));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = {
        let rt = runtime.clone();
        tokio::spawn(async move { rt.work(Some(id), stop_rx).await })
    };
    let mut seen: HashMap<(Id, u64), NodeState> = HashMap::new();
    loop {
        // Report node changes as they happen.
        while let Ok(u) = live.try_recv() {
            report_changes(&u.update, id, &mut seen, report);
        }
        let settled = {
            let mut c = store.conn().await?;
            jobs::pending_in_tree(&mut c, id).await? == 0
        };
        if settled {
            while let Ok(u) = live.try_recv() {
                report_changes(&u.update, id, &mut seen, report);
            }
            break;
        }
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), live.recv())
            .await
            .map(|r| {
                if let Ok(u) = r {
                    report_changes(&u.update, id, &mut seen, report);
                }
            });
    }
    let _ = stop_tx.send(true);
    let _ = worker.await;
    outcome(&runtime, store, company_id, id, report).await
}

fn report_changes(
    u: &LiveUpdate,
    root: Id,
    seen: &mut HashMap<(Id, u64), NodeState>,
    report: &mut dyn FnMut(&str),
) {
    let indent = if u.instance_id == root { "" } else { "  " };
    for n in &u.nodes {
        if seen.get(&(u.instance_id, n.ni)) == Some(&n.state) {
            continue;
        }
        seen.insert((u.instance_id, n.ni), n.state);
        let line = match n.state {
            NodeState::Completed => format!("  ok       {}", n.node_id),
            NodeState::Failed => format!(
                "  FAILED   {}: {}",
                n.node_id,
                n.error.clone().unwrap_or_default()
            ),
            NodeState::Skipped => format!("  skipped  {}", n.node_id),
            NodeState::Terminated => format!("  stopped  {}", n.node_id),
            NodeState::Active => continue,
        };
        report(&format!("{indent}{line}"));
    }
    if u.status.ended() {
        report(&format!(
            "{indent}flow {} instance {} {}",
            u.flow_key, u.instance_id, u.status
        ));
    }
}

/// The outcome of an instance tree from the store.
async fn outcome(
    runtime: &Runtime,
    store: &Store,
    company_id: Id,
    id: Id,
    report: &mut dyn FnMut(&str),
) -> Result<Outcome, RunError> {
    let mut c = store.conn().await?;
    let rec = flows::load_instance(&mut c, id)
        .await?
        .ok_or(RunError::Runtime(RuntimeError::NotFound("instance")))?;
    let variables: Map<String, Value> = serde_json::from_str(&rec.variables).unwrap_or_default();
    let members = flows::tree_members(&mut c, company_id, id).await?;
    drop(c);
    let mut waiting_at = Vec::new();
    let mut failures = Vec::new();
    for member in members {
        let snap = runtime.snapshot(member).await?;
        for n in snap.nodes {
            match n.state {
                NodeState::Active if snap.user_tasks.contains(&n.ni) => waiting_at.push(n.node_id),
                NodeState::Failed => failures.push((n.node_id, n.error.unwrap_or_default())),
                _ => {}
            }
        }
    }
    for w in &waiting_at {
        report(&format!("  waiting  {w} (user task)"));
    }
    Ok(Outcome {
        instance_id: id,
        status: rec.status,
        waiting_at,
        failures,
        variables,
    })
}
