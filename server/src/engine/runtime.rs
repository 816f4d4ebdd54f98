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

    /// The heart of a change: core step, commands into jobs, state saved.
    async fn transition(
        &self,
        tx: &mut Conn,
        rec: &flows::InstanceRecord,
        def: &Definition,
        change: Change,
    ) -> RuntimeResult<Effects> {
        let ex = def
            .process(&rec.process_id)
            .ok_or(RuntimeError::NotFound("process"))?;
        let mut state: InstanceState =
            serde_json::from_str(&rec.state).map_err(|e| corrupt("instance state", e))?;
        let mut vars: Map<String, Value> =
            serde_json::from_str(&rec.variables).map_err(|e| corrupt("instance variables", e))?;
        match change.patch {
            Patch::None => {}
            Patch::Vars(v) => vars.extend(v),
            Patch::Returned(r) => returned_into(ex, &state, &change.event, r, &mut vars),
        }
        if let (Event::Pause | Event::Resume, Some((_, _, who))) = (&change.event, &change.action) {
            vars.insert("LWAMS_STATUSMODIFIER_ID".into(), json!(who.user_id));
        }
        let action_node = match &change.event {
            Event::Retry { ni } | Event::Skip { ni } | Event::UserTaskCompleted { ni } => {
                state.get(*ni).map(|n| ex.nodes[n.node].id.clone())
            }
            _ => None,
        };
        let event = change.event.clone();
        let commands = step(
            &mut state,
            ex,
            change.event,
            &CelConditions::new(&vars).with_multi_instance_max(
                self.inner
                    .multi_instance_max
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
        )
        .map_err(|e| RuntimeError::Refused(e.to_string()))?;
        let mut effects = Effects::default();
        match event {
            Event::Pause => {
                jobs::hold(tx, rec.id, true).await?;
            }
            Event::Resume => {
                jobs::hold(tx, rec.id, false).await?;
                effects.new_jobs = true;
            }
            _ => {}
        }
        let now = now_millis();
        let mut ended = false;
        for c in commands {
            match c {
                Command::RunJob { ni, node, .. } => {
                    let mut local = Map::new();
                    if let Some(index) = state.get(ni).and_then(|n| n.index) {
                        let mut scoped = vars.clone();
                        steps::set_element(ex, node, index, &mut scoped);
                        for k in [
                            ex.nodes[node].multi.as_ref().map(|m| m.element.clone()),
                            Some("loopCounter".into()),
                        ]
                        .into_iter()
                        .flatten()
                        {
                            if let Some(v) = scoped.remove(&k) {
                                local.insert(k, v);
                            }
                        }
                    }
                    let payload = serde_json::to_string(&StepPayload {
                        local: local.clone(),
                    })
                    .map_err(|e| corrupt("payload", e))?;
                    let job = new_job(JobAt::of(rec), JobKind::Step, ni as i64, now, payload);
                    match self.free_slot(rec.root) {
                        // A slot is free here: the step is claimed and begun as it is
                        // queued, and runs once this transaction commits.
                        Some(slot) => {
                            let until = now + self.lease().as_millis() as i64;
                            let row =
                                jobs::insert_claimed(tx, job, &self.inner.owner, until).await?;
                            let mut run_vars = vars.clone();
                            run_vars.extend(local);
                            let node = ex.nodes[node].clone();
                            let begun = self.begin_run(tx, row, rec, node, run_vars).await?;
                            effects.begun.push((begun, slot));
                        }
                        None => {
                            jobs::insert(tx, &job).await?;
                            effects.new_jobs = true;
                        }
                    }
                }
                Command::OpenUserTask { .. } => {}
                Command::StartTimer { ni, node, def } => {
                    let def = match def {
                        super::core::TimerDefDto::Date(d) => shared::bpmn::model::TimerDef::Date(d),
                        super::core::TimerDefDto::Duration(d) => {
                            shared::bpmn::model::TimerDef::Duration(d)
                        }
                        super::core::TimerDefDto::Cycle(d) => {
                            shared::bpmn::model::TimerDef::Cycle(d)
                        }
                    };
                    match timers::fire_at(&def, now) {
                        Ok(at) => {
                            self.enqueue(
                                tx,
                                JobAt::of(rec),
                                JobKind::Timer,
                                ni as i64,
                                at,
                                String::new(),
                            )
                            .await?;
                        }
                        Err(e) => {
                            let failed = EventPayload {
                                event: Event::JobFailed {
                                    ni,
                                    message: format!("{}: {e}", ex.nodes[node].id),
                                    code: None,
                                },
                                returned: None,
                            };
                            let payload = serde_json::to_string(&failed)
                                .map_err(|e| corrupt("payload", e))?;
                            self.enqueue(
                                tx,
                                JobAt::of(rec),
                                JobKind::Event,
                                ni as i64,
                                now,
                                payload,
                            )
                            .await?;
                        }
                    }
                    effects.new_jobs = true;
                }
                Command::StartChild { ni, node, called } => {
                    let payload = serde_json::to_string(&ChildPayload { called, node })
                        .map_err(|e| corrupt("payload", e))?;
                    self.enqueue(tx, JobAt::of(rec), JobKind::Child, ni as i64, now, payload)
                        .await?;
                    effects.new_jobs = true;
                }
                Command::Cancel { ni } => {
                    effects
                        .cancel_jobs
                        .extend(jobs::cancel_node(tx, rec.id, ni as i64).await?);
                    if let Some(child) = flows::live_child(tx, rec.id, ni as i64).await? {
                        let payload = serde_json::to_string(&EventPayload {
                            event: Event::Terminate,
                            returned: None,
                        })
                        .map_err(|e| corrupt("payload", e))?;
                        let at = JobAt {
                            instance: child,
                            ..JobAt::of(rec)
                        };
                        self.enqueue(tx, at, JobKind::Event, 0, now, payload)
                            .await?;
                        effects.new_jobs = true;
                    }
                }
                Command::Ended { status } => {
                    ended = true;
                    if let Some((parent, pni)) = rec.parent {
                        let ok = status == InstanceStatus::Completed;
                        let event = Event::ChildEnded {
                            ni: pni as u64,
                            ok,
                            message: if ok {
                                String::new()
                            } else {
                                format!("flow {} was {}", ex.process_id, status.as_str())
                            },
                        };
                        let returned = Returned {
                            instance: rec.id,
                            key: ex.process_id.clone(),
                            name: def.name.clone(),
                            version: def.version,
                            variables: vars
                                .iter()
                                .filter(|(k, _)| !k.starts_with("LWAMS_"))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        };
                        let payload = serde_json::to_string(&EventPayload {
                            event,
                            returned: Some(returned),
                        })
                        .map_err(|e| corrupt("payload", e))?;
                        let at = JobAt {
                            instance: parent,
                            ..JobAt::of(rec)
                        };
                        self.enqueue(tx, at, JobKind::Event, pni, now, payload)
                            .await?;
                        effects.new_jobs = true;
                    }
                }
            }
        }
        if let Some(job) = change.finish_job {
            jobs::finish(tx, job, JobStatus::Done).await?;
        }
        if let Some(r) = &change.node_run {
            r.save(tx, rec.id).await?;
        }
        if let Some((action, _, who)) = &change.action {
            flows::insert_action(
                tx,
                rec.company_id,
                rec.id,
                action,
                action_node.as_deref(),
                who.user_id,
                &who.name,
            )
            .await?;
        }
        let status = state.status;
        let saved = flows::save_revision(
            tx,
            rec.id,
            rec.revision,
            status,
            &serde_json::to_string(&state).map_err(|e| corrupt("state", e))?,
            &Value::Object(vars).to_string(),
            ended,
        )
        .await?;
        if !saved {
            return Err(RuntimeError::Conflict);
        }
        effects.update = Some(Live {
            company_id: rec.company_id,
            update: LiveUpdate {
                instance_id: rec.id,
                root_instance: rec.root,
                flow_key: ex.process_id.clone(),
                status,
                nodes: node_statuses(&state, ex),
                at: now,
            },
        });
        Ok(effects)
    }

    async fn enqueue(
        &self,
        tx: &mut Conn,
        at: JobAt,
        kind: JobKind,
        ni: i64,
        run_at: i64,
        payload: String,
    ) -> RuntimeResult<Id> {
        Ok(jobs::insert(tx, &new_job(at, kind, ni, run_at, payload)).await?)
    }

    /// A free slot to run a step of instance tree `root` in, when this process's worker
    /// works that tree (and has recovered its jobs since it started).
    fn free_slot(&self, root: Id) -> Option<OwnedSemaphorePermit> {
        match *lock(&self.inner.dispatch) {
            Some(None) => {}
            Some(Some(r)) if r == root => {}
            _ => return None,
        }
        self.inner.slots.clone().try_acquire_owned().ok()
    }

    /// After a commit: run the steps begun in it, wake the workers, stop cancelled
    /// steps, tell the monitors.
    fn after(&self, effects: Effects) {
        for (begun, slot) in effects.begun {
            self.spawn_step(begun, slot);
        }
        if effects.new_jobs {
            self.inner.wake.notify_one();
        }
        if !effects.cancel_jobs.is_empty() {
            let mut running = lock(&self.inner.running);
            for id in effects.cancel_jobs {
                if let Some(stop) = running.remove(&id) {
                    let _ = stop.send(());
                }
            }
        }
        if let Some(u) = effects.update {
            let _ = self.inner.live.send(Arc::new(u));
        }
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

    /// Works the queue until `stop` turns true: claims due jobs (all, or those of one
    /// instance tree), runs up to `slots` at a time, sleeps until the next is due or
    /// new work is queued. At start, and every lease period, it recovers jobs whose
    /// worker died.
    pub async fn work(&self, root: Option<Id>, mut stop: tokio::sync::watch::Receiver<bool>) {
        if let Some(results) = lock(&self.inner.commits).1.take() {
            tokio::spawn(self.clone().committer(results));
        }
        let mut last_sweep = 0i64;
        loop {
            if *stop.borrow() {
                break;
            }
            let now = now_millis();
            if root.is_none() && now - last_sweep >= self.lease().as_millis() as i64 / 2 {
                let at_start = last_sweep == 0;
                last_sweep = now;
                // Jobs leased under this node's name are orphans only at start (a
                // restart); later only expired leases are (running jobs renew theirs).
                if let Err(e) = self.recover(at_start).await {
                    tracing::error!(error = %e, "recovering jobs failed");
                }
            }
            // From now on (jobs of before a restart recovered), steps queued in this
            // process may begin at once.
            lock(&self.inner.dispatch).get_or_insert(root);
            let free = self.inner.slots.available_permits();
            let mut claimed = 0usize;
            if free > 0 {
                match self.claim(free.min(32), root).await {
                    Ok(batch) => {
                        claimed = batch.len();
                        for claimed in batch {
                            let Ok(permit) = self.inner.slots.clone().acquire_owned().await else {
                                return;
                            };
                            match claimed {
                                Claimed::Step(b) => self.spawn_step(*b, permit),
                                Claimed::Other(job) => {
                                    let rt = self.clone();
                                    tokio::spawn(async move {
                                        let id = job.id;
                                        if let Err(e) = rt.run_job(job).await {
                                            tracing::error!(job = id, error = %e, "job failed to run");
                                            rt.release(id).await;
                                        }
                                        rt.slot_freed(permit);
                                    });
                                }
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "claiming jobs failed"),
                }
            }
            if claimed > 0 && claimed == free.min(32) {
                continue;
            }
            let wait = if free == 0 {
                Duration::from_secs(2)
            } else {
                match self.next_due(root).await {
                    Some(t) => Duration::from_millis((t - now_millis()).clamp(0, 2_000) as u64),
                    None => Duration::from_secs(2),
                }
            };
            if wait.is_zero() && claimed == 0 && free > 0 {
                // Due but not claimable yet (another worker holds it): yield briefly.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
        *lock(&self.inner.dispatch) = None;
        self.drain().await;
    }

    /// Stopping: waits (at most the shutdown grace) until every running step has ended
    /// and committed its result; the leases of steps still running then are given up
    /// at once, so another server (or this one restarted) recovers them without waiting
    /// for the lease to run out — by the idempotent rule, never running one twice.
    async fn drain(&self) {
        let grace = *lock(&self.inner.shutdown_grace);
        let all = self.inner.slot_count;
        let ended = tokio::time::timeout(grace, async {
            while self.inner.slots.available_permits() < all {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_ok();
        if ended {
            return;
        }
        let running: Vec<Id> = lock(&self.inner.running).keys().copied().collect();
        tracing::warn!(
            steps = running.len(),
            "stopping with steps still running: their leases are given up"
        );
        let given_up = async {
            let mut c = self.inner.store.conn().await?;
            jobs::renew(&mut c, &self.inner.owner, &running, now_millis() - 1).await
        };
        if let Err(e) = given_up.await {
            tracing::error!(error = %e, "cannot give up the leases of running steps");
        }
    }

    /// How long stopping waits for running steps (default [`SHUTDOWN_GRACE`]).
    pub fn set_shutdown_grace(&self, grace: Duration) {
        *lock(&self.inner.shutdown_grace) = grace;
    }

    /// Runs a begun step in its slot.
    fn spawn_step(&self, b: Begun, slot: OwnedSemaphorePermit) {
        let rt = self.clone();
        tokio::spawn(async move {
            let id = b.job.id;
            // Its outcome could not be recorded: the job stays running; recovery
            // applies the idempotent rule.
            if let Err(e) = rt.run_step(b).await {
                tracing::error!(job = id, error = %e, "a step's result was not recorded");
            }
            rt.slot_freed(slot);
        });
    }

    fn slot_freed(&self, slot: OwnedSemaphorePermit) {
        drop(slot);
        // The work loop waits for a free slot only when all were busy.
        if self.inner.slots.available_permits() == 1 {
            self.inner.wake.notify_one();
        }
    }

    /// Claims due jobs and, in the same transaction, begins the steps among them.
    async fn claim(&self, n: usize, root: Option<Id>) -> RuntimeResult<Vec<Claimed>> {
        let mut tx = self.inner.store.begin().await?;
        let lease_until = now_millis() + self.lease().as_millis() as i64;
        let rows = jobs::claim(
            &mut tx,
            self.inner.store.backend(),
            &self.inner.owner,
            lease_until,
            n as i64,
            root,
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for job in rows {
            if job.kind != JobKind::Step {
                out.push(Claimed::Other(job));
                continue;
            }
            match self.begin_step(&mut tx, &job).await {
                Ok(Some(b)) => out.push(Claimed::Step(Box::new(b))),
                Ok(None) => jobs::finish(&mut tx, job.id, JobStatus::Cancelled).await?,
                Err(e @ (RuntimeError::Corrupt(_) | RuntimeError::NotFound(_))) => {
                    tracing::error!(job = job.id, error = %e, "a step cannot start; cancelled");
                    jobs::finish(&mut tx, job.id, JobStatus::Cancelled).await?;
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Applies a step's result through the committer.
    async fn commit(&self, instance: Id, change: Change) -> RuntimeResult<()> {
        self.through_committer(Work::Change { instance, change })
            .await
            .map(|_| ())
    }

    /// Has the committer carry out `work`: the writes that arrive together are applied
    /// in one transaction (one by one when one of them fails). Without a running
    /// committer (no work loop yet), in a transaction of its own.
    async fn through_committer(&self, work: Work) -> RuntimeResult<Id> {
        let sender = {
            let commits = lock(&self.inner.commits);
            commits.1.is_none().then(|| commits.0.clone())
        };
        let work = match sender {
            Some(sender) => {
                let (done, answer) = oneshot::channel();
                match sender.send(Pending { work, done }) {
                    Ok(()) => {
                        return answer.await.unwrap_or_else(|_| {
                            Err(RuntimeError::Corrupt("the committer stopped".into()))
                        })
                    }
                    Err(mpsc::error::SendError(p)) => p.work,
                }
            }
            None => work,
        };
        match work {
            Work::Change { instance, change } => {
                self.apply(None, instance, change).await?;
                Ok(instance)
            }
            start => {
                let (id, effects) = self.carry_out_alone(start).await?;
                self.after(effects);
                Ok(id)
            }
        }
    }

    /// The committer: applies queued writes in batches while the runtime lives.
    async fn committer(self, mut rx: mpsc::UnboundedReceiver<Pending>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < 64 {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            self.apply_batch(batch).await;
        }
    }

    async fn apply_batch(&self, batch: Vec<Pending>) {
        let (works, answers): (Vec<Work>, Vec<_>) =
            batch.into_iter().map(|p| (p.work, p.done)).unzip();
        // Instance locks in id order, then the transaction (the order `apply` uses).
        let ids: std::collections::BTreeSet<Id> = works
            .iter()
            .filter_map(|w| match w {
                Work::Change { instance, .. } => Some(*instance),
                Work::Start(_) => None,
            })
            .collect();
        let mut held = Vec::with_capacity(ids.len());
        for id in ids {
            held.push(self.instance_lock(id).lock_owned().await);
        }
        let together = if works.len() > 1 {
            self.carry_out_together(&works).await
        } else {
            None
        };
        let results = match together {
            Some(done) => done.into_iter().map(Ok).collect(),
            None => self.carry_out_each(works).await,
        };
        drop(held);
        for (done, r) in answers.into_iter().zip(results) {
            let _ = done.send(r.map(|(id, effects)| {
                self.after(effects);
                id
            }));
        }
    }

    /// Carries out all `works` in one transaction; `None` (and nothing written) when
    /// one of them fails or the commit does, for the caller to carry them out one by
    /// one.
    async fn carry_out_together(&self, works: &[Work]) -> Option<Vec<(Id, Effects)>> {
        let mut tx = self.inner.store.begin().await.ok()?;
        let mut done = Vec::with_capacity(works.len());
        for w in works {
            done.push(self.carry_out(&mut tx, w.clone()).await.ok()?);
        }
        tx.commit().await.ok()?;
        Some(done)
    }

    /// Carries out each of `works` in a transaction of its own.
    async fn carry_out_each(&self, works: Vec<Work>) -> Vec<RuntimeResult<(Id, Effects)>> {
        let mut results = Vec::with_capacity(works.len());
        for w in works {
            results.push(self.carry_out_alone(w).await);
        }
        results
    }

    async fn carry_out_alone(&self, work: Work) -> RuntimeResult<(Id, Effects)> {
        let mut tx = self.inner.store.begin().await?;
        let done = self.carry_out(&mut tx, work).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn carry_out(&self, tx: &mut Conn, work: Work) -> RuntimeResult<(Id, Effects)> {
        match work {
            Work::Start(spec) => self.start_in(tx, spec).await,
            Work::Change { instance, change } => {
                let rec = flows::load_for_update(tx, self.inner.store.backend(), instance)
                    .await?
                    .ok_or(RuntimeError::NotFound("instance"))?;
                let def = self.definition(tx, rec.definition_id).await?;
                let effects = self.transition(tx, &rec, &def, change).await?;
                Ok((instance, effects))
            }
        }
    }

    async fn next_due(&self, root: Option<Id>) -> Option<i64> {
        let mut c = self.inner.store.conn().await.ok()?;
        jobs::next_due(&mut c, root).await.ok().flatten()
    }

    /// A job that could not run: back to the queue a little later.
    async fn release(&self, id: Id) {
        let released = async {
            let mut tx = self.inner.store.begin().await?;
            jobs::requeue(&mut tx, id, now_millis() + 5_000, false).await?;
            tx.commit().await?;
            Ok::<_, RuntimeError>(())
        };
        if let Err(e) = released.await {
            tracing::error!(job = id, error = %e, "cannot put a job back in the queue; recovery takes it once its lease runs out");
        }
    }

    async fn finish_job(&self, id: Id, status: JobStatus) -> RuntimeResult<()> {
        let mut tx = self.inner.store.begin().await?;
        jobs::finish(&mut tx, id, status).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn run_job(&self, job: JobRow) -> RuntimeResult<()> {
        match job.kind {
            // Steps are begun in the claim transaction and run by `run_step`.
            JobKind::Step => Ok(()),
            JobKind::Timer => {
                let ni = job.node_instance as u64;
                self.apply_job(job, Event::TimerFired { ni }, Patch::None)
                    .await
            }
            JobKind::Event => {
                let p: EventPayload =
                    serde_json::from_str(&job.payload).map_err(|e| corrupt("event job", e))?;
                let patch = match p.returned {
                    Some(r) => Patch::Returned(r),
                    None => Patch::None,
                };
                self.apply_job(job, p.event, patch).await
            }
            JobKind::Child => self.run_child(job).await,
            JobKind::StartTimer => self.run_start_timer(job).await,
        }
    }

    /// Applies a job's event and finishes the job with it; an event that no longer
    /// applies (the node was skipped, the instance ended) just finishes the job.
    async fn apply_job(&self, job: JobRow, event: Event, patch: Patch) -> RuntimeResult<()> {
        let instance = job
            .instance_id
            .ok_or_else(|| corrupt("job", "no instance"))?;
        let change = Change {
            event,
            patch,
            action: None,
            finish_job: Some(job.id),
            node_run: None,
        };
        match self.apply(None, instance, change).await {
            Err(RuntimeError::Refused(_) | RuntimeError::NotFound(_)) => {
                self.finish_job(job.id, JobStatus::Cancelled).await
            }
            other => other,
        }
    }

    async fn load(&self, id: Id) -> RuntimeResult<(flows::InstanceRecord, Arc<Definition>)> {
        let mut c = self.inner.store.conn().await?;
        let rec = flows::load_instance(&mut c, id)
            .await?
            .ok_or(RuntimeError::NotFound("instance"))?;
        let def = self.definition(&mut c, rec.definition_id).await?;
        Ok((rec, def))
    }

    /// Inside the claim transaction: checks the step's node is still waiting for it,
    /// resolves its parameters and records its node run as running (so a crash from
    /// here on is known to have left the outcome unknown). `None`: nothing to run.
    async fn begin_step(&self, tx: &mut Conn, job: &JobRow) -> RuntimeResult<Option<Begun>> {
        let instance = job
            .instance_id
            .ok_or_else(|| corrupt("job", "no instance"))?;
        let Some(rec) = flows::load_instance(tx, instance).await? else {
            return Ok(None);
        };
        let def = self.definition(tx, rec.definition_id).await?;
        let ex = def
            .process(&rec.process_id)
            .ok_or(RuntimeError::NotFound("process"))?;
        let state: InstanceState =
            serde_json::from_str(&rec.state).map_err(|e| corrupt("instance state", e))?;
        let Some(ns) = state
            .get(job.node_instance as u64)
            .filter(|n| n.state == NodeState::Active)
        else {
            return Ok(None);
        };
        let node = ex.nodes[ns.node].clone();
        let payload: StepPayload = serde_json::from_str(&job.payload).unwrap_or_default();
        let mut vars: Map<String, Value> =
            serde_json::from_str(&rec.variables).map_err(|e| corrupt("instance variables", e))?;
        vars.extend(payload.local);
        Ok(Some(
            self.begin_run(tx, job.clone(), &rec, node, vars).await?,
        ))
    }

    /// Resolves a step's parameters and records its node run as running.
    async fn begin_run(
        &self,
        tx: &mut Conn,
        job: JobRow,
        rec: &flows::InstanceRecord,
        node: super::compile::ExecNode,
        vars: Map<String, Value>,
    ) -> RuntimeResult<Begun> {
        let prepared = steps::prepare(rec.company_id, &node, &vars);
        let attempt = flows::start_node_run(
            tx,
            rec.id,
            job.node_instance,
            &node.id,
            &prepared.input().to_string(),
        )
        .await?;
        Ok(Begun {
            job,
            instance: rec.id,
            company_id: rec.company_id,
            node,
            prepared,
            vars,
            attempt,
        })
    }

    async fn run_step(&self, begun: Begun) -> RuntimeResult<()> {
        let Begun {
            job,
            instance,
            company_id,
            node,
            prepared,
            vars,
            attempt,
        } = begun;
        let node = &node;
        let ni = job.node_instance as u64;
        let (stop_tx, stop_rx) = oneshot::channel();
        lock(&self.inner.running).insert(job.id, stop_tx);
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let heartbeat = self.heartbeat(job.id, lost.clone());
        let output: crate::agents::hub::OutputSink = {
            let tx = self.inner.output.clone();
            let ni = job.node_instance as u64;
            Arc::new(move |stream, text: &str| {
                // Nobody listening is fine: the whole output is in the node run.
                if tx.receiver_count() > 0 {
                    let _ = tx.send(Arc::new((
                        company_id,
                        shared::dto::flow::LiveOutput {
                            instance_id: instance,
                            ni,
                            stream,
                            text: text.to_string(),
                        },
                    )));
                }
            })
        };
        let at = super::server_steps::StepAt {
            company_id,
            instance_id: instance,
            now: now_millis(),
        };
        let finished = steps::execute(
            node,
            &prepared,
            &vars,
            &at,
            self.inner.reach.get(),
            output,
            async {
                let _ = stop_rx.await;
            },
        )
        .await;
        heartbeat.abort();
        lock(&self.inner.running).remove(&job.id);
        if lost.load(std::sync::atomic::Ordering::SeqCst) {
            // Another server owns the job now: nothing of this run is reported.
            return Ok(());
        }
        let run_end = |status: RunStatus, f: Option<&steps::Finished>| RunEnd {
            ni: job.node_instance,
            attempt,
            status,
            output: f.and_then(|f| f.output.as_ref()).map(|o| o.to_string()),
            error: f.filter(|f| !f.ok).map(|f| f.message.clone()),
            input: f.and_then(|f| f.input.as_ref()).map(|i| i.to_string()),
            artifacts: f.filter(|f| !f.artifacts.is_empty()).map(|f| RunArtifacts {
                company_id,
                node_id: node.id.clone(),
                files: f.artifacts.clone(),
            }),
        };
        let Some(f) = finished else {
            let mut tx = self.inner.store.begin().await?;
            run_end(RunStatus::Cancelled, None)
                .save(&mut tx, instance)
                .await?;
            jobs::finish(&mut tx, job.id, JobStatus::Cancelled).await?;
            tx.commit().await?;
            return Ok(());
        };
        if !f.ok && !f.interrupted {
            if let Some(delay) = steps::retry_after(node, job.attempt) {
                let mut tx = self.inner.store.begin().await?;
                run_end(RunStatus::Failed, Some(&f))
                    .save(&mut tx, instance)
                    .await?;
                jobs::requeue(
                    &mut tx,
                    job.id,
                    now_millis() + delay.as_millis() as i64,
                    true,
                )
                .await?;
                tx.commit().await?;
                self.inner.wake.notify_one();
                return Ok(());
            }
        }
        let change = Change {
            event: f.event(ni),
            patch: Patch::Vars(f.vars.clone()),
            action: None,
            finish_job: Some(job.id),
            node_run: Some(run_end(run_status(&f), Some(&f))),
        };
        match self.commit(instance, change).await {
            Err(RuntimeError::Refused(_) | RuntimeError::Conflict) => {
                // The node moved on meanwhile (skipped, terminated): keep the record.
                let mut tx = self.inner.store.begin().await?;
                run_end(run_status(&f), Some(&f))
                    .save(&mut tx, instance)
                    .await?;
                jobs::finish(&mut tx, job.id, JobStatus::Cancelled).await?;
                tx.commit().await?;
                Ok(())
            }
            other => other,
        }
    }

    /// Renews a running job's lease until aborted.
    /// Renews a running step's lease every third of it. A failed renewal is logged and
    /// tried again soon; a lease found lost (another server recovered the job) stops
    /// the step and sets `lost`, so its result is not reported as if still owned.
    fn heartbeat(
        &self,
        job: Id,
        lost: Arc<std::sync::atomic::AtomicBool>,
    ) -> tokio::task::JoinHandle<()> {
        let rt = self.clone();
        tokio::spawn(async move {
            let mut wait = rt.lease() / 3;
            loop {
                tokio::time::sleep(wait).await;
                let every = rt.lease() / 3;
                let until = now_millis() + rt.lease().as_millis() as i64;
                let renewed = async {
                    let mut c = rt.inner.store.conn().await?;
                    jobs::renew(&mut c, &rt.inner.owner, &[job], until).await
                }
                .await;
                match renewed {
                    Ok(1) => wait = every,
                    Ok(_) => {
                        lost.store(true, std::sync::atomic::Ordering::SeqCst);
                        tracing::error!(job, "a step's lease was lost (another server took the job over): it is stopped and its result not reported");
                        if let Some(stop) = lock(&rt.inner.running).remove(&job) {
                            let _ = stop.send(());
                        }
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(job, error = %e, "renewing a step's lease failed; trying again");
                        wait = (every / 4).max(Duration::from_millis(20));
                    }
                }
            }
        })
    }

    /// The lease of a claimed job (default [`LEASE`]).
    fn lease(&self) -> Duration {
        *lock(&self.inner.lease)
    }

    /// Sets the lease of jobs claimed from now on (tests, tuning).
    pub fn set_lease(&self, lease: Duration) {
        *lock(&self.inner.lease) = lease.max(Duration::from_millis(30));
    }

    async fn run_child(&self, job: JobRow) -> RuntimeResult<()> {
        let parent = job
            .instance_id
            .ok_or_else(|| corrupt("job", "no instance"))?;
        let p: ChildPayload =
            serde_json::from_str(&job.payload).map_err(|e| corrupt("child job", e))?;
        let ni = job.node_instance as u64;
        let (rec, def) = match self.load(parent).await {
            Ok(x) => x,
            Err(RuntimeError::NotFound(_)) => {
                return self.finish_job(job.id, JobStatus::Cancelled).await
            }
            Err(e) => return Err(e),
        };
        let failed = |message: String| Event::ChildEnded {
            ni,
            ok: false,
            message,
        };
        let depth = self.depth(parent).await?;
        // The called process: the version `lwams:version` pins, else (`latest`) in the
        // caller's file, else the latest deployed version.
        let version = def
            .process(&rec.process_id)
            .and_then(|ex| ex.nodes.get(p.node))
            .map(|n| CalledVersion::of(&n.lwams))
            .unwrap_or(Ok(CalledVersion::Latest));
        let target = if depth >= MAX_CALL_DEPTH {
            Err(format!(
                "calls are nested deeper than {MAX_CALL_DEPTH} levels"
            ))
        } else {
            match version {
                Err(e) => Err(e.to_string()),
                Ok(CalledVersion::Pinned(v)) => {
                    let mut c = self.inner.store.conn().await?;
                    match flows::definition_at(&mut c, rec.company_id, &p.called, v).await? {
                        Some(id) => Ok((id, p.called.clone())),
                        None => Err(format!(
                            "no version {v} of flow {:?} is deployed (lwams:version)",
                            p.called
                        )),
                    }
                }
                Ok(CalledVersion::Latest) if def.process(&p.called).is_some() => {
                    Ok((def.id, p.called.clone()))
                }
                Ok(CalledVersion::Latest) => {
                    let mut c = self.inner.store.conn().await?;
                    match flows::latest_definition(&mut c, rec.company_id, &p.called).await? {
                        Some((id, _, _)) => Ok((id, p.called.clone())),
                        None => Err(format!("no deployed flow with key {:?}", p.called)),
                    }
                }
            }
        };
        let (def_id, process_id) = match target {
            Ok(t) => t,
            Err(m) => return self.apply_job(job, failed(m), Patch::None).await,
        };
        let vars: Map<String, Value> =
            serde_json::from_str(&rec.variables).map_err(|e| corrupt("instance variables", e))?;
        let mut inherited: Map<String, Value> = vars
            .into_iter()
            .filter(|(k, _)| !k.starts_with("LWAMS_"))
            .collect();
        let ex = def
            .process(&rec.process_id)
            .ok_or(RuntimeError::NotFound("process"))?;
        inherited.insert("LWAMS_CALL_PROCESS_INSTANCE_ID".into(), json!(parent));
        inherited.insert("LWAMS_CALL_PROCESS_TASK_ID".into(), json!(ni));
        inherited.insert(
            "LWAMS_CALL_PARAM".into(),
            json!(ex.nodes[p.node]
                .lwams
                .get("param")
                .cloned()
                .unwrap_or_default()),
        );
        let initiator = self.initiator_of(&rec).await?;
        let spec = StartSpec {
            company_id: rec.company_id,
            definition_id: def_id,
            process_id,
            variables: inherited,
            start_way: "call".into(),
            initiator,
            parent: Some((parent, job.node_instance)),
            root: Some(rec.root),
        };
        let mut tx = self.inner.store.begin().await?;
        let started = self.start_in(&mut tx, spec).await;
        match started {
            Ok((_, effects)) => {
                jobs::finish(&mut tx, job.id, JobStatus::Done).await?;
                tx.commit().await?;
                self.after(effects);
                Ok(())
            }
            Err(
                e @ (RuntimeError::Refused(_) | RuntimeError::Conflict | RuntimeError::NotFound(_)),
            ) => {
                drop(tx);
                self.apply_job(job, failed(e.to_string()), Patch::None)
                    .await
            }
            Err(e) => Err(e),
        }
    }

    /// How many calls deep an instance is.
    async fn depth(&self, mut id: Id) -> RuntimeResult<usize> {
        let mut c = self.inner.store.conn().await?;
        let mut depth = 0;
        while let Some((parent, _)) = flows::parent_of(&mut c, id).await? {
            depth += 1;
            id = parent;
            if depth > MAX_CALL_DEPTH {
                break;
            }
        }
        Ok(depth)
    }

    async fn initiator_of(&self, rec: &flows::InstanceRecord) -> RuntimeResult<Initiator> {
        let vars: Map<String, Value> = serde_json::from_str(&rec.variables).unwrap_or_default();
        let s = |k: &str| {
            vars.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(Initiator {
            id: rec.created_by,
            name: s("LWAMS_INITIATOR_NAME"),
            phone: s("LWAMS_INITIATOR_PHONE"),
            email: s("LWAMS_INITIATOR_EMAIL"),
            mobile: s("LWAMS_INITIATOR_MOBILE"),
        })
    }

    async fn run_start_timer(&self, job: JobRow) -> RuntimeResult<()> {
        let def_id = job
            .definition_id
            .ok_or_else(|| corrupt("start timer job", "no definition"))?;
        let p: StartTimerPayload = serde_json::from_str(&job.payload).unwrap_or_default();
        let mut tx = self.inner.store.begin().await?;
        let def = self.definition(&mut tx, def_id).await?;
        // The start runs with the rights of who deployed the flow, as they are now.
        let initiator = match p.by {
            None => Initiator {
                name: "timer".into(),
                ..Default::default()
            },
            Some(by) => match may_start(&mut tx, job.company_id, by).await? {
                Ok(initiator) => initiator,
                Err(why) => {
                    tracing::warn!(job = job.id, definition = def_id, %why, "a timer start was refused: its schedule is paused");
                    let payload = serde_json::to_string(&StartTimerPayload {
                        paused: Some(why),
                        ..p
                    })
                    .map_err(|e| corrupt("payload", e))?;
                    jobs::pause(&mut tx, job.id, &payload).await?;
                    tx.commit().await?;
                    return Ok(());
                }
            },
        };
        let spec = StartSpec {
            initiator,
            ..StartSpec::new(job.company_id, def_id, "timer")
        };
        let (_, effects) = self.start_in(&mut tx, spec).await?;
        jobs::finish(&mut tx, job.id, JobStatus::Done).await?;
        let next = def
            .process("")
            .and_then(|ex| ex.start_timer.as_ref())
            .and_then(|t| {
                timers::start_at(t, p.deployed_at, p.fired + 1)
                    .ok()
                    .flatten()
            });
        if let Some(at) = next {
            let payload = serde_json::to_string(&StartTimerPayload {
                fired: p.fired + 1,
                deployed_at: p.deployed_at,
                by: p.by,
                paused: None,
            })
            .map_err(|e| corrupt("payload", e))?;
            jobs::insert(
                &mut tx,
                &NewJob {
                    company_id: job.company_id,
                    instance_id: None,
                    definition_id: Some(def_id),
                    root_instance: None,
                    node_instance: 0,
                    kind: JobKind::StartTimer,
                    run_at: at.max(now_millis()),
                    payload,
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.after(effects);
        Ok(())
    }

    /// Jobs whose worker died (this node before a restart, or another node whose lease
    /// ran out): steps of idempotent nodes and everything without an outside effect run
    /// again; other steps fail as "interrupted".
    pub async fn recover(&self, at_start: bool) -> RuntimeResult<usize> {
        let orphans = {
            let mut c = self.inner.store.conn().await?;
            jobs::orphaned(&mut c, at_start.then_some(self.inner.owner.as_str())).await?
        };
        let running: Vec<Id> = lock(&self.inner.running).keys().copied().collect();
        let mut n = 0;
        for job in orphans {
            if running.contains(&job.id) {
                continue;
            }
            n += 1;
            tracing::warn!(
                job = job.id,
                kind = job.kind.as_str(),
                "recovering a job whose worker stopped"
            );
            if job.kind != JobKind::Step {
                let mut tx = self.inner.store.begin().await?;
                jobs::requeue(&mut tx, job.id, now_millis(), false).await?;
                tx.commit().await?;
                continue;
            }
            let Some(instance) = job.instance_id else {
                continue;
            };
            let (rec, def) = match self.load(instance).await {
                Ok(x) => x,
                Err(RuntimeError::NotFound(_)) => {
                    self.finish_job(job.id, JobStatus::Cancelled).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let state: InstanceState =
                serde_json::from_str(&rec.state).map_err(|e| corrupt("instance state", e))?;
            let node = def
                .process(&rec.process_id)
                .zip(state.get(job.node_instance as u64))
                .map(|(ex, ns)| ex.nodes[ns.node].clone());
            let attempt = {
                let mut c = self.inner.store.conn().await?;
                flows::running_attempt(&mut c, instance, job.node_instance).await?
            };
            let message = "interrupted: the server stopped while this step ran; its outcome is unknown (retry or skip it)".to_string();
            match node {
                Some(node) if steps::idempotent(&node) => {
                    let mut tx = self.inner.store.begin().await?;
                    if let Some(a) = attempt {
                        flows::finish_node_run(
                            &mut tx,
                            instance,
                            job.node_instance,
                            a,
                            RunStatus::Interrupted,
                            None,
                            Some("interrupted: run again (the step is idempotent)"),
                        )
                        .await?;
                    }
                    jobs::requeue(&mut tx, job.id, now_millis(), false).await?;
                    tx.commit().await?;
                    self.inner.wake.notify_one();
                }
                Some(_) => {
                    let change = Change {
                        event: Event::JobInterrupted {
                            ni: job.node_instance as u64,
                            message: message.clone(),
                        },
                        patch: Patch::None,
                        action: None,
                        finish_job: Some(job.id),
                        node_run: attempt.map(|a| RunEnd {
                            ni: job.node_instance,
                            attempt: a,
                            status: RunStatus::Interrupted,
                            output: None,
                            error: Some(message.clone()),
                            input: None,
                            artifacts: None,
                        }),
                    };
                    if let Err(RuntimeError::Refused(_)) = self.apply(None, instance, change).await
                    {
                        self.finish_job(job.id, JobStatus::Cancelled).await?;
                    }
                }
                None => self.finish_job(job.id, JobStatus::Cancelled).await?,
            }
        }
        Ok(n)
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
#[path = "runtime_tests.rs"]
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
