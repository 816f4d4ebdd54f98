//! The durable runtime: carries out what the pure core decides.
//!
//! Every change of an instance is one transaction: the instance row is loaded (locked
//! on PostgreSQL, and per instance in this process), the core applies the event, the
//! commands become jobs in the same transaction, and the new state is saved only if
//! nobody changed it meanwhile (revision check). Workers claim due jobs with a lease,
//! run them, and finish each job in the same transaction as its effect on the instance.
//!
//! Kill the server at any moment: on restart, jobs it held are found again. Timers,
//! child starts and events have no outside effect and simply run; a step whose outcome
//! is unknown runs again only if its node is idempotent, else it fails as
//! "interrupted" for an operator to retry or skip.

use super::builtins::{self, Initiator};
use super::call::CalledVersion;
use super::compile::{Behaviour, Executable};
use super::conditions::CelConditions;
use super::core::{step, Command, Event, InstanceState, InstanceStatus, NodeState};
use super::steps;
use super::timers;
use crate::store::artifacts;
use crate::store::jobs::{self, JobKind, JobRow, NewJob};
use crate::store::{flows, now_millis, Conn, Store, StoreError};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use shared::dto::flow::{LiveUpdate, NodeStatus};
use shared::dto::status::{JobStatus, RunStatus};
use shared::dto::Id;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};

mod committer;
mod recovery;
mod transitions;
mod worker;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The event does not apply now (the node is not waiting, the instance ended …).
    #[error("{0}")]
    Refused(String),
    /// Another process saved the instance between this change's read and its write
    /// (the change is tried again).
    #[error("the instance changed meanwhile")]
    Conflict,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for RuntimeError {
    fn from(e: sqlx::Error) -> Self {
        RuntimeError::Store(StoreError::Db(e))
    }
}

pub type RuntimeResult<T> = Result<T, RuntimeError>;

/// Who changes an instance (recorded with the change).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<Id>,
    pub name: String,
}

/// A deployed definition as it runs: every compiled process of its file.
#[derive(Debug)]
pub struct Definition {
    pub id: Id,
    pub key: String,
    pub name: String,
    pub version: i64,
    pub processes: Vec<Executable>,
}

impl Definition {
    pub fn process(&self, id: &str) -> Option<&Executable> {
        let id = if id.is_empty() { &self.key } else { id };
        self.processes.iter().find(|p| p.process_id == *id)
    }
}

/// An instance as it stands (see `Runtime::snapshot`).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub record: flows::InstanceRecord,
    pub flow_key: String,
    pub nodes: Vec<NodeStatus>,
    pub user_tasks: Vec<u64>,
}

/// How an instance starts.
#[derive(Debug, Clone)]
pub struct StartSpec {
    pub company_id: Id,
    pub definition_id: Id,
    /// The process of the definition's file (empty: the definition's key).
    pub process_id: String,
    pub variables: Map<String, Value>,
    /// manual, api, schedule, call, cli.
    pub start_way: String,
    pub initiator: Initiator,
    /// The calling instance and node instance (call activity).
    pub parent: Option<(Id, i64)>,
    pub root: Option<Id>,
}

impl StartSpec {
    /// A start of the definition's own process by `start_way`, without variables,
    /// initiator or parent (set the fields to add them).
    pub fn new(company_id: Id, definition_id: Id, start_way: &str) -> StartSpec {
        StartSpec {
            company_id,
            definition_id,
            process_id: String::new(),
            variables: Map::new(),
            start_way: start_way.into(),
            initiator: Initiator::default(),
            parent: None,
            root: None,
        }
    }
}

/// What a step job carries besides its node instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StepPayload {
    /// Variables only this run sees (a multi-instance element and `loopCounter`).
    #[serde(default)]
    local: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChildPayload {
    called: String,
    node: usize,
}

/// An event for an instance, queued as a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventPayload {
    event: Event,
    #[serde(default)]
    returned: Option<Returned>,
}

/// What a child flow hands back to its call activity.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Returned {
    instance: Id,
    key: String,
    name: String,
    version: i64,
    variables: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StartTimerPayload {
    /// How many starts this schedule has made.
    fired: u32,
    deployed_at: i64,
    /// Who deployed the flow: its starts run with this user's rights, checked when the
    /// timer fires (`None`: deployed before this was recorded, or by the command line).
    #[serde(default)]
    by: Option<Id>,
    /// Why the schedule is paused (the job is held), when a fire was refused.
    #[serde(default)]
    paused: Option<String>,
}

/// How the variables change with an event.
#[derive(Clone)]
enum Patch {
    None,
    Vars(Map<String, Value>),
    Returned(Returned),
}

/// One change of an instance and what goes with it in the same transaction.
#[derive(Clone)]
struct Change {
    event: Event,
    patch: Patch,
    action: Option<(&'static str, Option<String>, Actor)>,
    finish_job: Option<Id>,
    node_run: Option<RunEnd>,
}

impl Change {
    fn event(event: Event) -> Change {
        Change {
            event,
            patch: Patch::None,
            action: None,
            finish_job: None,
            node_run: None,
        }
    }
}

#[derive(Clone)]
struct RunEnd {
    ni: i64,
    attempt: i64,
    status: RunStatus,
    output: Option<String>,
    error: Option<String>,
    /// The input recorded again, masked with the secrets the step came to know.
    input: Option<String>,
    /// Files an RPA step brought back, saved with the run.
    artifacts: Option<RunArtifacts>,
}

#[derive(Clone)]
struct RunArtifacts {
    company_id: Id,
    node_id: String,
    files: Vec<shared::agent::Artifact>,
}

impl RunEnd {
    /// Records how a node run ended (and its artefacts, in the same transaction).
    async fn save(&self, tx: &mut Conn, instance: Id) -> RuntimeResult<()> {
        flows::finish_node_run(
            tx,
            instance,
            self.ni,
            self.attempt,
            self.status,
            self.output.as_deref(),
            self.error.as_deref(),
        )
        .await?;
        if let Some(input) = &self.input {
            flows::set_node_run_input(tx, instance, self.ni, self.attempt, input).await?;
        }
        if let Some(a) = &self.artifacts {
            let at = artifacts::ArtifactOrigin {
                company_id: a.company_id,
                instance_id: instance,
                node_id: &a.node_id,
                ni: self.ni,
                attempt: self.attempt,
            };
            let b64 = base64::engine::general_purpose::STANDARD;
            for f in &a.files {
                // Content that does not decode is kept as listed only.
                let content = f.content.as_deref().and_then(|c| b64.decode(c).ok());
                artifacts::insert(tx, &at, &f.name, f.size as i64, content.as_deref()).await?;
            }
        }
        Ok(())
    }
}

/// The instance a job is for (calling and called flows share company and root).
#[derive(Clone, Copy)]
struct JobAt {
    company_id: Id,
    instance: Id,
    root: Id,
}

impl JobAt {
    fn of(rec: &flows::InstanceRecord) -> JobAt {
        JobAt {
            company_id: rec.company_id,
            instance: rec.id,
            root: rec.root,
        }
    }
}

/// What a committed change leaves to do outside the transaction.
#[derive(Default)]
struct Effects {
    new_jobs: bool,
    cancel_jobs: Vec<Id>,
    update: Option<Live>,
    /// Steps this process claimed and began in the transaction, each with its slot.
    begun: Vec<(Begun, OwnedSemaphorePermit)>,
}

/// A change of an instance of a company, for the monitors of that company.
#[derive(Debug, Clone)]
pub struct Live {
    pub company_id: Id,
    pub update: LiveUpdate,
}

/// A step claimed and begun (see `Runtime::begin_step`).
struct Begun {
    job: JobRow,
    instance: Id,
    company_id: Id,
    node: super::compile::ExecNode,
    prepared: steps::Prepared,
    vars: Map<String, Value>,
    attempt: i64,
}

enum Claimed {
    Step(Box<Begun>),
    Other(JobRow),
}

/// A write waiting for the committer.
struct Pending {
    work: Work,
    /// The instance written (started or changed).
    done: oneshot::Sender<RuntimeResult<Id>>,
}

#[derive(Clone)]
enum Work {
    Start(StartSpec),
    Change { instance: Id, change: Change },
}

type Commits = (
    mpsc::UnboundedSender<Pending>,
    Option<mpsc::UnboundedReceiver<Pending>>,
);

/// The default lease of a claimed job; a worker renews it every third of it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How long a stopping work loop waits for its running steps.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

struct Inner {
    store: Store,
    owner: String,
    wake: Notify,
    live: broadcast::Sender<Arc<Live>>,
    /// Running steps' output, by company.
    output: broadcast::Sender<Arc<(Id, shared::dto::flow::LiveOutput)>>,
    locks: Mutex<HashMap<Id, Arc<tokio::sync::Mutex<()>>>>,
    definitions: Mutex<HashMap<Id, Arc<Definition>>>,
    running: Mutex<HashMap<Id, oneshot::Sender<()>>>,
    slots: Arc<Semaphore>,
    /// How many steps run at once (the size of `slots`).
    slot_count: usize,
    /// How long stopping waits for running steps before giving up their leases.
    shutdown_grace: Mutex<Duration>,
    lease: Mutex<Duration>,
    /// Step results for the committer; its receiver is taken by the first worker.
    commits: Mutex<Commits>,
    /// The agents, for steps that run on a host (absent in `lwams flow run`).
    reach: std::sync::OnceLock<crate::agents::reach::Reach>,
    /// While the work loop runs: the instance trees it works (`Some(None)`: all), whose
    /// steps are claimed and begun as they are queued when a slot is free.
    dispatch: Mutex<Option<Option<Id>>>,
    /// The most runs a multi-instance activity may make (`multi_instance_max`).
    multi_instance_max: std::sync::atomic::AtomicUsize,
}

/// The runtime: cheap to clone, one per process.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

fn new_job(at: JobAt, kind: JobKind, ni: i64, run_at: i64, payload: String) -> NewJob {
    NewJob {
        company_id: at.company_id,
        instance_id: Some(at.instance),
        definition_id: None,
        root_instance: Some(at.root),
        node_instance: ni,
        kind,
        run_at,
        payload,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Corrupt(format!("{what}: {e}"))
}

/// How a finished step's run is recorded.
fn run_status(f: &steps::Finished) -> RunStatus {
    if f.ok {
        RunStatus::Completed
    } else {
        RunStatus::Failed
    }
}

/// Every node instance's state, for the monitor.
pub fn node_statuses(state: &InstanceState, ex: &Executable) -> Vec<NodeStatus> {
    state
        .nodes
        .iter()
        .map(|n| NodeStatus {
            ni: n.id,
            node_id: ex.nodes[n.node].id.clone(),
            state: n.state,
            attempt: n.attempt,
            error: n.error.clone(),
            user_task: ex.nodes[n.node].behaviour == Behaviour::UserTask,
        })
        .collect()
}

impl Runtime {
    /// A runtime leasing jobs as `owner` (stable per server node: jobs it held before
    /// a restart are recovered at once), running up to `slots` steps at a time.
    pub fn new(store: Store, owner: impl Into<String>, slots: usize) -> Runtime {
        let (live, _) = broadcast::channel(1024);
        let (output, _) = broadcast::channel(1024);
        let (commits, results) = mpsc::unbounded_channel();
        Runtime {
            inner: Arc::new(Inner {
                store,
                owner: owner.into(),
                wake: Notify::new(),
                live,
                output,
                locks: Mutex::new(HashMap::new()),
                definitions: Mutex::new(HashMap::new()),
                running: Mutex::new(HashMap::new()),
                slots: Arc::new(Semaphore::new(slots.max(1))),
                slot_count: slots.max(1),
                shutdown_grace: Mutex::new(SHUTDOWN_GRACE),
                lease: Mutex::new(LEASE),
                commits: Mutex::new((commits, Some(results))),
                reach: std::sync::OnceLock::new(),
                dispatch: Mutex::new(None),
                multi_instance_max: std::sync::atomic::AtomicUsize::new(
                    crate::config::DEFAULT_MULTI_INSTANCE_MAX,
                ),
            }),
        }
    }

    /// At most `max` runs per multi-instance activity (config `multi_instance_max`).
    pub fn set_multi_instance_max(&self, max: usize) {
        self.inner
            .multi_instance_max
            .store(max, std::sync::atomic::Ordering::Relaxed);
    }

    /// Lets steps run on hosts through their Sub Managers.
    pub fn attach_agents(&self, reach: crate::agents::reach::Reach) {
        let _ = self.inner.reach.set(reach);
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Which companies may run steps on the server (`None`: no agents attached — a
    /// headless `lwams flow run` by the operator, where every step is the operator's).
    pub fn trust(&self) -> Option<&crate::security::Trust> {
        self.inner.reach.get().map(|r| &r.trust)
    }

    /// Output of the steps this process runs, as it arrives.
    pub fn subscribe_output(
        &self,
    ) -> broadcast::Receiver<Arc<(Id, shared::dto::flow::LiveOutput)>> {
        self.inner.output.subscribe()
    }

    /// Live updates of every instance this process changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Live>> {
        self.inner.live.subscribe()
    }

    /// The compiled definition (cached; compiled once at deploy, stored as JSON).
    pub async fn definition(&self, c: &mut Conn, id: Id) -> RuntimeResult<Arc<Definition>> {
        if let Some(d) = lock(&self.inner.definitions).get(&id) {
            return Ok(d.clone());
        }
        let row = flows::compiled_of(c, id)
            .await?
            .ok_or(RuntimeError::NotFound("flow definition"))?;
        let processes: Vec<Executable> = serde_json::from_str(&row.compiled)
            .map_err(|e| corrupt(&format!("compiled definition {id}"), e))?;
        let d = Arc::new(Definition {
            id,
            key: row.key,
            name: row.name,
            version: row.version,
            processes,
        });
        lock(&self.inner.definitions).insert(id, d.clone());
        Ok(d)
    }

    fn instance_lock(&self, id: Id) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = lock(&self.inner.locks);
        if locks.len() > 10_000 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(id).or_default().clone()
    }

    /// Starts an instance; returns its id once its first steps are queued.
    pub async fn start(&self, spec: StartSpec) -> RuntimeResult<Id> {
        self.through_committer(Work::Start(spec)).await
    }

    async fn start_in(&self, tx: &mut Conn, spec: StartSpec) -> RuntimeResult<(Id, Effects)> {
        let def = self.definition(tx, spec.definition_id).await?;
        let ex = def
            .process(&spec.process_id)
            .ok_or(RuntimeError::NotFound("process"))?;
        let mut vars = spec.variables;
        // Built-in variables (SPEC §8.1); the caller's variables may not override them.
        vars.extend(builtins::at_start(
            &spec.initiator,
            spec.definition_id,
            &spec.start_way,
            now_millis(),
        ));
        let state = InstanceState::default();
        let state_json = serde_json::to_string(&state).map_err(|e| corrupt("state", e))?;
        let vars_json = Value::Object(vars.clone()).to_string();
        let id = flows::insert_instance(
            tx,
            &flows::NewInstance {
                company_id: spec.company_id,
                definition_id: spec.definition_id,
                process_id: &ex.process_id,
                status: InstanceStatus::Running,
                state: &state_json,
                variables: &vars_json,
                start_way: &spec.start_way,
                created_by: spec.initiator.id,
                parent: spec.parent,
                root: spec.root,
            },
        )
        .await?;
        let rec = flows::InstanceRecord {
            id,
            company_id: spec.company_id,
            definition_id: spec.definition_id,
            process_id: ex.process_id.clone(),
            status: InstanceStatus::Running,
            state: state_json,
            variables: vars_json,
            revision: 0,
            parent: spec.parent,
            root: spec.root.unwrap_or(id),
            created_by: spec.initiator.id,
        };
        let start = Change {
            action: Some((
                "start",
                None,
                Actor {
                    user_id: spec.initiator.id,
                    name: spec.initiator.name.clone(),
                },
            )),
            ..Change::event(Event::Start)
        };
        let effects = self.transition(tx, &rec, &def, start).await?;
        Ok((id, effects))
    }

    /// An instance as it stands: its record, every node's state and the node instances
    /// that are user tasks.
    pub async fn snapshot(&self, id: Id) -> RuntimeResult<Snapshot> {
        let (rec, def) = self.load(id).await?;
        let ex = def
            .process(&rec.process_id)
            .ok_or(RuntimeError::NotFound("process"))?;
        let state: InstanceState =
            serde_json::from_str(&rec.state).map_err(|e| corrupt("instance state", e))?;
        let user_tasks = state
            .nodes
            .iter()
            .filter(|n| ex.nodes[n.node].behaviour == Behaviour::UserTask)
            .map(|n| n.id)
            .collect();
        Ok(Snapshot {
            nodes: node_statuses(&state, ex),
            user_tasks,
            flow_key: def.key.clone(),
            record: rec,
        })
    }

    /// Applies an operator's control (recorded with who and when).
    pub async fn control(
        &self,
        company_id: Id,
        instance: Id,
        action: shared::dto::flow::ControlAction,
        ni: Option<u64>,
        actor: Actor,
    ) -> RuntimeResult<()> {
        use shared::dto::flow::ControlAction as A;
        let need = || RuntimeError::Refused(format!("{} needs node_instance", action.as_str()));
        let event = match action {
            A::Pause => Event::Pause,
            A::Resume => Event::Resume,
            A::Terminate => Event::Terminate,
            A::Retry => Event::Retry {
                ni: ni.ok_or_else(need)?,
            },
            A::Skip => Event::Skip {
                ni: ni.ok_or_else(need)?,
            },
            A::Complete => Event::UserTaskCompleted {
                ni: ni.ok_or_else(need)?,
            },
        };
        let change = Change {
            event,
            patch: Patch::None,
            action: Some((action.as_str(), None, actor)),
            finish_job: None,
            node_run: None,
        };
        self.apply(Some(company_id), instance, change).await
    }

    /// Applies a change to an instance in one transaction (retried when another
    /// process changed the instance first).
    async fn apply(&self, company: Option<Id>, id: Id, change: Change) -> RuntimeResult<()> {
        let guard = self.instance_lock(id);
        let _held = guard.lock().await;
        for _ in 0..5 {
            let mut tx = self.inner.store.begin().await?;
            let rec = flows::load_for_update(&mut tx, self.inner.store.backend(), id)
                .await?
                .filter(|r| company.is_none_or(|c| c == r.company_id))
                .ok_or(RuntimeError::NotFound("instance"))?;
            let def = self.definition(&mut tx, rec.definition_id).await?;
            match self.transition(&mut tx, &rec, &def, change.clone()).await {
                Ok(effects) => {
                    tx.commit().await?;
                    self.after(effects);
                    return Ok(());
                }
                // Another process saved the instance between our read and our write.
                Err(RuntimeError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(RuntimeError::Refused(
            "the instance keeps changing; try again".into(),
        ))
    }

    /// Schedules the timer start events of newly deployed definitions (a new version
    /// replaces the schedule of the older ones).
    pub async fn schedule_starts(
        &self,
        tx: &mut Conn,
        company_id: Id,
        definition_id: Id,
        ex: &Executable,
        by: Option<Id>,
    ) -> RuntimeResult<()> {
        jobs::cancel_start_timers(tx, company_id, &ex.process_id).await?;
        let Some(def) = &ex.start_timer else {
            return Ok(());
        };
        let now = now_millis();
        let first = timers::start_at(def, now, 0)
            .map_err(|e| RuntimeError::Refused(format!("{}: {e}", ex.nodes[ex.start].id)))?;
        if let Some(at) = first {
            let payload = serde_json::to_string(&StartTimerPayload {
                fired: 0,
                deployed_at: now,
                by,
                paused: None,
            })
            .map_err(|e| corrupt("payload", e))?;
            jobs::insert(
                tx,
                &NewJob {
                    company_id,
                    instance_id: None,
                    definition_id: Some(definition_id),
                    root_instance: None,
                    node_instance: 0,
                    kind: JobKind::StartTimer,
                    run_at: at,
                    payload,
                },
            )
            .await?;
            self.inner.wake.notify_one();
        }
        Ok(())
    }

    /// How long stopping waits for running steps (default [`SHUTDOWN_GRACE`]).
    pub fn set_shutdown_grace(&self, grace: Duration) {
        *lock(&self.inner.shutdown_grace) = grace;
    }

    /// Sets the lease of jobs claimed from now on (tests, tuning).
    pub fn set_lease(&self, lease: Duration) {
        *lock(&self.inner.lease) = lease.max(Duration::from_millis(30));
    }
}

/// Calls nested deeper than this are refused (a flow calling itself, say).
const MAX_CALL_DEPTH: usize = 10;

/// A child flow's variables come back under the call activity's id (with the called
/// flow's key, name and version, SPEC §8.2); names in `lwams:out` are copied too.
fn returned_into(
    ex: &Executable,
    state: &InstanceState,
    event: &Event,
    r: Returned,
    vars: &mut Map<String, Value>,
) {
    let Event::ChildEnded { ni, .. } = event else {
        return;
    };
    let Some(n) = state.get(*ni).map(|n| &ex.nodes[n.node]) else {
        return;
    };
    if !matches!(n.behaviour, Behaviour::CallActivity { .. }) {
        return;
    }
    for key in n
        .lwams
        .get("out")
        .map(|o| {
            o.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    {
        if let Some(v) = r.variables.get(key) {
            vars.insert(key.to_string(), v.clone());
        }
    }
    let mut entry = steps::node_entry(n, now_millis());
    entry.insert(
        "process".into(),
        json!({ "key": r.key, "name": r.name, "version": r.version, "instance": r.instance }),
    );
    entry.insert("result".into(), Value::Object(r.variables));
    vars.insert(n.id.clone(), Value::Object(entry));
}

#[cfg(test)]
mod tests;

/// Whether user `by` may start instances now (enabled, with Flow › Monitor *manage*):
/// the initiator of a start made on their behalf, or why not.
async fn may_start(
    c: &mut Conn,
    company_id: Id,
    by: Id,
) -> RuntimeResult<Result<Initiator, String>> {
    if let Some(co) = crate::store::companies::get(c, company_id)
        .await?
        .filter(|co| co.disabled)
    {
        return Ok(Err(format!("company {} is disabled", co.code)));
    }
    let Some(u) = crate::store::users::get(c, company_id, by).await? else {
        return Ok(Err(format!(
            "user {by}, who deployed the flow, no longer exists"
        )));
    };
    if !u.enabled {
        return Ok(Err(format!(
            "{} ({}), who deployed the flow, is disabled",
            u.display_name, u.login
        )));
    }
    let rights = crate::store::groups::user_permissions(c, by).await?;
    if !rights.allows(shared::Function::FlowMonitor, shared::Level::Manage) {
        return Ok(Err(format!(
            "{} ({}), who deployed the flow, may no longer start flows (Flow › Monitor manage)",
            u.display_name, u.login
        )));
    }
    Ok(Ok(Initiator {
        id: Some(u.id),
        name: u.display_name,
        phone: u.phone,
        email: u.email,
        mobile: u.mobile,
    }))
}
