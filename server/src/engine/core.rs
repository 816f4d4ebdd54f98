//! The engine core: pure state transitions. `step(state, process, event, conditions)`
//! changes the instance state and returns the commands for the outside world (run a
//! job, open a user task, start or cancel a timer). No database, clock or network in
//! here, so every rule is tested directly.
//!
//! Tokens are node instances: entering a node creates one; leaving it completes it and
//! sends tokens along the chosen outgoing flows. Joins collect arrivals per (gateway,
//! scope); an inclusive join fires when no live token can still reach one of its
//! missing incoming flows.

use super::compile::{Behaviour, Executable};
use serde::{Deserialize, Serialize};
use shared::bpmn::model::TimerDef;
use std::collections::{BTreeMap, BTreeSet};

pub type NodeInstanceId = u64;

/// The states and statuses are shared with the API (`shared::dto::status`).
pub use shared::dto::status::{InstanceStatus, NodeState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInstance {
    pub id: NodeInstanceId,
    pub node: usize,
    pub state: NodeState,
    pub attempt: u32,
    /// The sub-process instance this one runs in (`None`: the process itself).
    pub scope: Option<NodeInstanceId>,
    pub error: Option<String>,
    /// For one run of a multi-instance activity: its index (its scope is the activity).
    #[serde(default)]
    pub index: Option<usize>,
    /// For a multi-instance activity: how many runs it makes.
    #[serde(default)]
    pub runs: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    pub status: InstanceStatus,
    pub nodes: Vec<NodeInstance>,
    next_id: NodeInstanceId,
    /// Flows that have delivered a token to a waiting join, per (gateway, scope).
    /// Stored as a list of entries: a JSON object's keys are strings, not pairs.
    #[serde(with = "arrivals_as_list")]
    arrivals: BTreeMap<(usize, Option<NodeInstanceId>), Vec<usize>>,
    /// Commands held back while paused.
    deferred: Vec<Command>,
}

/// The joins' arrivals as `[{gateway, scope, flows}]` (an empty `{}` of states
/// saved before is read as none: a state with arrivals could not be saved then).
mod arrivals_as_list {
    use super::NodeInstanceId;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    type Arrivals = BTreeMap<(usize, Option<NodeInstanceId>), Vec<usize>>;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        gateway: usize,
        scope: Option<NodeInstanceId>,
        flows: Vec<usize>,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        List(Vec<Entry>),
        Map(BTreeMap<String, Vec<usize>>),
    }

    pub fn serialize<S: Serializer>(a: &Arrivals, s: S) -> Result<S::Ok, S::Error> {
        a.iter()
            .map(|(&(gateway, scope), flows)| Entry {
                gateway,
                scope,
                flows: flows.clone(),
            })
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arrivals, D::Error> {
        match Stored::deserialize(d)? {
            Stored::List(entries) => Ok(entries
                .into_iter()
                .map(|e| ((e.gateway, e.scope), e.flows))
                .collect()),
            Stored::Map(m) if m.is_empty() => Ok(Arrivals::new()),
            Stored::Map(_) => Err(serde::de::Error::custom(
                "join arrivals must be a list of {gateway, scope, flows}",
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Start,
    JobCompleted {
        ni: NodeInstanceId,
    },
    JobFailed {
        ni: NodeInstanceId,
        message: String,
        code: Option<String>,
    },
    /// The server stopped while the step ran and its outcome is unknown: the step
    /// fails for an operator to retry or skip (no boundary, no automatic retry).
    JobInterrupted {
        ni: NodeInstanceId,
        message: String,
    },
    UserTaskCompleted {
        ni: NodeInstanceId,
    },
    TimerFired {
        ni: NodeInstanceId,
    },
    /// The flow started by a call activity ended: completed (`ok`) or not.
    ChildEnded {
        ni: NodeInstanceId,
        ok: bool,
        message: String,
    },
    Retry {
        ni: NodeInstanceId,
    },
    Skip {
        ni: NodeInstanceId,
    },
    Pause,
    Resume,
    Terminate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    RunJob {
        ni: NodeInstanceId,
        node: usize,
        attempt: u32,
    },
    OpenUserTask {
        ni: NodeInstanceId,
        node: usize,
    },
    StartTimer {
        ni: NodeInstanceId,
        node: usize,
        def: TimerDefDto,
    },
    /// Start the flow `called` as a child of this node instance.
    StartChild {
        ni: NodeInstanceId,
        node: usize,
        called: String,
    },
    /// Stop whatever runs for this node instance (job, timer, task).
    Cancel {
        ni: NodeInstanceId,
    },
    Ended {
        status: InstanceStatus,
    },
}

/// `TimerDef` in a serialisable form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TimerDefDto {
    Date(String),
    Duration(String),
    Cycle(String),
}

/// Evaluates sequence-flow conditions against the instance's variables.
pub trait Conditions {
    fn eval(&self, expression: &str) -> Result<bool, String>;
    /// How many runs a multi-instance activity makes: the length of a list variable,
    /// or a number.
    fn count(&self, over: &str) -> Result<usize, String>;
    /// The most runs a multi-instance activity may make (config `multi_instance_max`):
    /// more fails the activity, naming it, before any run starts.
    fn multi_instance_max(&self) -> usize {
        usize::MAX
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("node instance {0} does not exist")]
    UnknownNodeInstance(NodeInstanceId),
    #[error("node instance {0} is not in a state that accepts this event")]
    WrongState(NodeInstanceId),
    #[error("the instance has ended")]
    Ended,
}

impl Default for InstanceState {
    fn default() -> Self {
        InstanceState {
            status: InstanceStatus::Running,
            nodes: vec![],
            next_id: 1,
            arrivals: BTreeMap::new(),
            deferred: vec![],
        }
    }
}

enum Work {
    Enter {
        node: usize,
        via: Option<usize>,
        scope: Option<NodeInstanceId>,
    },
    Leave {
        ni: NodeInstanceId,
        skipped: bool,
    },
}

struct Ctx<'a> {
    ex: &'a Executable,
    cond: &'a dyn Conditions,
    work: Vec<Work>,
    out: Vec<Command>,
}

impl InstanceState {
    pub fn get(&self, ni: NodeInstanceId) -> Option<&NodeInstance> {
        self.nodes.iter().find(|n| n.id == ni)
    }

    fn get_mut(&mut self, ni: NodeInstanceId) -> Option<&mut NodeInstance> {
        self.nodes.iter_mut().find(|n| n.id == ni)
    }

    /// The node instances of a node, by node id (for tests and the monitor).
    pub fn of<'s>(
        &'s self,
        ex: &'s Executable,
        id: &'s str,
    ) -> impl Iterator<Item = &'s NodeInstance> + 's {
        let node = ex.index.get(id).copied();
        self.nodes.iter().filter(move |n| Some(n.node) == node)
    }

    fn active(&self) -> impl Iterator<Item = &NodeInstance> {
        self.nodes.iter().filter(|n| n.state == NodeState::Active)
    }

    fn is_ended(&self) -> bool {
        matches!(
            self.status,
            InstanceStatus::Completed | InstanceStatus::Terminated
        )
    }
}

/// Applies one event; returns the commands to carry out. On error nothing changed.
pub fn step(
    state: &mut InstanceState,
    ex: &Executable,
    event: Event,
    cond: &dyn Conditions,
) -> Result<Vec<Command>, StepError> {
    if state.is_ended() {
        return Err(StepError::Ended);
    }
    let mut draft = state.clone();
    let mut cx = Ctx {
        ex,
        cond,
        work: vec![],
        out: vec![],
    };
    apply(&mut draft, &mut cx, event)?;
    run(&mut draft, &mut cx);
    if draft.status == InstanceStatus::Paused {
        // Hold back new work while paused; cancellations and the end go out now.
        let (hold, now): (Vec<_>, Vec<_>) = cx.out.into_iter().partition(|c| {
            matches!(
                c,
                Command::RunJob { .. }
                    | Command::OpenUserTask { .. }
                    | Command::StartTimer { .. }
                    | Command::StartChild { .. }
            )
        });
        draft.deferred.extend(hold);
        cx.out = now;
    }
    *state = draft;
    Ok(cx.out)
}

fn active_ni(state: &InstanceState, ni: NodeInstanceId) -> Result<&NodeInstance, StepError> {
    let n = state.get(ni).ok_or(StepError::UnknownNodeInstance(ni))?;
    if n.state != NodeState::Active {
        return Err(StepError::WrongState(ni));
    }
    Ok(n)
}

fn apply(state: &mut InstanceState, cx: &mut Ctx<'_>, event: Event) -> Result<(), StepError> {
    match event {
        Event::Start => {
            if !state.nodes.is_empty() {
                return Err(StepError::WrongState(0));
            }
            cx.work.push(Work::Enter {
                node: cx.ex.start,
                via: None,
                scope: None,
            });
        }
        Event::JobCompleted { ni } | Event::UserTaskCompleted { ni } => {
            let n = active_ni(state, ni)?;
            match cx.ex.nodes[n.node].behaviour {
                Behaviour::Job { .. } | Behaviour::UserTask => {
                    cx.work.push(Work::Leave { ni, skipped: false })
                }
                _ => return Err(StepError::WrongState(ni)),
            }
        }
        Event::TimerFired { ni } => {
            let n = active_ni(state, ni)?.clone();
            match &cx.ex.nodes[n.node].behaviour {
                Behaviour::Timer(_) => cx.work.push(Work::Leave { ni, skipped: false }),
                Behaviour::BoundaryTimer { interrupting, .. } => {
                    if *interrupting {
                        if let Some(host) = host_instance(state, cx.ex, &n) {
                            terminate_subtree_except(state, cx, host, Some(ni));
                        }
                    }
                    cx.work.push(Work::Leave { ni, skipped: false });
                }
                _ => return Err(StepError::WrongState(ni)),
            }
        }
        Event::ChildEnded { ni, ok, message } => {
            let n = active_ni(state, ni)?.clone();
            if !matches!(
                cx.ex.nodes[n.node].behaviour,
                Behaviour::CallActivity { .. }
            ) {
                return Err(StepError::WrongState(ni));
            }
            if ok {
                cx.work.push(Work::Leave { ni, skipped: false });
            } else {
                throw_error(state, cx, ni, None, &message);
            }
        }
        Event::JobFailed { ni, message, code } => {
            let n = active_ni(state, ni)?.clone();
            throw_error(state, cx, n.id, code.as_deref(), &message);
        }
        Event::JobInterrupted { ni, message } => {
            let n = active_ni(state, ni)?;
            if !matches!(cx.ex.nodes[n.node].behaviour, Behaviour::Job { .. }) {
                return Err(StepError::WrongState(ni));
            }
            if let Some(n) = state.get_mut(ni) {
                n.state = NodeState::Failed;
                n.error = Some(message);
            }
            state.status = InstanceStatus::Failed;
        }
        Event::Retry { ni } => {
            let n = state.get(ni).ok_or(StepError::UnknownNodeInstance(ni))?;
            if n.state != NodeState::Failed
                || !matches!(cx.ex.nodes[n.node].behaviour, Behaviour::Job { .. })
            {
                return Err(StepError::WrongState(ni));
            }
            let node = n.node;
            let n = state
                .get_mut(ni)
                .ok_or(StepError::UnknownNodeInstance(ni))?;
            n.state = NodeState::Active;
            n.attempt += 1;
            n.error = None;
            let attempt = n.attempt;
            cx.out.push(Command::RunJob { ni, node, attempt });
            if state.status == InstanceStatus::Failed {
                state.status = InstanceStatus::Running;
            }
        }
        Event::Skip { ni } => {
            let n = state.get(ni).ok_or(StepError::UnknownNodeInstance(ni))?;
            if !matches!(n.state, NodeState::Failed | NodeState::Active) {
                return Err(StepError::WrongState(ni));
            }
            if n.state == NodeState::Active {
                cx.out.push(Command::Cancel { ni });
            }
            if let Some(n) = state.get_mut(ni) {
                n.state = NodeState::Active;
            }
            if state.status == InstanceStatus::Failed {
                state.status = InstanceStatus::Running;
            }
            cx.work.push(Work::Leave { ni, skipped: true });
        }
        Event::Pause => {
            if state.status != InstanceStatus::Running {
                return Err(StepError::WrongState(0));
            }
            state.status = InstanceStatus::Paused;
        }
        Event::Resume => {
            if state.status != InstanceStatus::Paused {
                return Err(StepError::WrongState(0));
            }
            state.status = if state.nodes.iter().any(|n| n.state == NodeState::Failed) {
                InstanceStatus::Failed
            } else {
                InstanceStatus::Running
            };
            cx.out.append(&mut state.deferred);
        }
        Event::Terminate => {
            let ids: Vec<_> = state.active().map(|n| n.id).collect();
            for ni in ids {
                cx.out.push(Command::Cancel { ni });
                if let Some(n) = state.get_mut(ni) {
                    n.state = NodeState::Terminated;
                }
            }
            state.arrivals.clear();
            state.deferred.clear();
            state.status = InstanceStatus::Terminated;
            cx.out.push(Command::Ended {
                status: InstanceStatus::Terminated,
            });
        }
    }
    Ok(())
}

fn host_instance(
    state: &InstanceState,
    ex: &Executable,
    boundary: &NodeInstance,
) -> Option<NodeInstanceId> {
    let host = match ex.nodes[boundary.node].behaviour {
        Behaviour::BoundaryTimer { host, .. } | Behaviour::BoundaryError { host, .. } => host,
        _ => return None,
    };
    state
        .nodes
        .iter()
        .rev()
        .find(|n| n.node == host && n.scope == boundary.scope && n.state == NodeState::Active)
        .map(|n| n.id)
}

/// Terminates a node instance, everything inside it (sub-process) and its boundary
/// events, cancelling what runs for them.
fn terminate_subtree(state: &mut InstanceState, cx: &mut Ctx<'_>, ni: NodeInstanceId) {
    terminate_subtree_except(state, cx, ni, None)
}

/// As `terminate_subtree`, sparing one boundary event (the one that fired).
fn terminate_subtree_except(
    state: &mut InstanceState,
    cx: &mut Ctx<'_>,
    ni: NodeInstanceId,
    spare: Option<NodeInstanceId>,
) {
    let mut todo = vec![ni];
    while let Some(id) = todo.pop() {
        if let Some(n) = state.get_mut(id) {
            if n.state == NodeState::Active {
                n.state = NodeState::Terminated;
                cx.out.push(Command::Cancel { ni: id });
            }
        }
        todo.extend(
            state
                .nodes
                .iter()
                .filter(|c| c.scope == Some(id) && c.state == NodeState::Active)
                .map(|c| c.id),
        );
        state.arrivals.retain(|(_, scope), _| *scope != Some(id));
    }
    cancel_boundaries(state, cx, ni, spare);
}

fn cancel_boundaries(
    state: &mut InstanceState,
    cx: &mut Ctx<'_>,
    host_ni: NodeInstanceId,
    spare: Option<NodeInstanceId>,
) {
    let Some(host) = state.get(host_ni).cloned() else {
        return;
    };
    for b in &cx.ex.nodes[host.node].boundaries {
        let ids: Vec<_> = state
            .nodes
            .iter()
            .filter(|n| {
                n.node == *b
                    && n.scope == host.scope
                    && n.state == NodeState::Active
                    && Some(n.id) != spare
            })
            .map(|n| n.id)
            .collect();
        for id in ids {
            if let Some(n) = state.get_mut(id) {
                n.state = NodeState::Terminated;
            }
            cx.out.push(Command::Cancel { ni: id });
        }
    }
}

/// An error thrown at `ni` (a failed job, or an error end event): caught by a matching
/// error boundary on it or an enclosing sub-process, else the step fails.
fn throw_error(
    state: &mut InstanceState,
    cx: &mut Ctx<'_>,
    ni: NodeInstanceId,
    code: Option<&str>,
    message: &str,
) {
    let mut at = Some(ni);
    while let Some(id) = at {
        let Some(n) = state.get(id).cloned() else {
            break;
        };
        if n.index.is_some() {
            // A run of a multi-instance activity: its boundaries are the activity's.
            at = n.scope;
            continue;
        }
        let catcher = cx.ex.nodes[n.node].boundaries.iter().copied().find(|b| {
            match &cx.ex.nodes[*b].behaviour {
                Behaviour::BoundaryError { code: None, .. } => true,
                Behaviour::BoundaryError { code: Some(c), .. } => Some(c.as_str()) == code,
                _ => false,
            }
        });
        if let Some(b) = catcher {
            terminate_subtree(state, cx, id);
            let bi = new_instance(state, b, n.scope);
            cx.work.push(Work::Leave {
                ni: bi,
                skipped: false,
            });
            return;
        }
        at = n.scope;
    }
    // Uncaught: a failed job waits for an operator; an error end fails the instance.
    if let Some(n) = state.get_mut(ni) {
        n.state = NodeState::Failed;
        n.error = Some(message.to_string());
    }
    state.status = InstanceStatus::Failed;
}

fn new_instance(
    state: &mut InstanceState,
    node: usize,
    scope: Option<NodeInstanceId>,
) -> NodeInstanceId {
    let id = state.next_id;
    state.next_id += 1;
    state.nodes.push(NodeInstance {
        id,
        node,
        state: NodeState::Active,
        attempt: 1,
        scope,
        error: None,
        index: None,
        runs: None,
    });
    id
}

fn run(state: &mut InstanceState, cx: &mut Ctx<'_>) {
    loop {
        while let Some(w) = cx.work.pop() {
            match w {
                Work::Enter { node, via, scope } => enter(state, cx, node, via, scope),
                Work::Leave { ni, skipped } => leave(state, cx, ni, skipped),
            }
        }
        if !fire_inclusive_joins(state, cx) && !complete_scopes(state, cx) {
            break;
        }
    }
    if state.status != InstanceStatus::Terminated
        && state.status != InstanceStatus::Failed
        && state.active().next().is_none()
        && state.arrivals.values().all(|v| v.is_empty())
        && !state.nodes.is_empty()
        && !state.is_ended()
    {
        state.status = InstanceStatus::Completed;
        cx.out.push(Command::Ended {
            status: InstanceStatus::Completed,
        });
    }
}

fn enter(
    state: &mut InstanceState,
    cx: &mut Ctx<'_>,
    node: usize,
    via: Option<usize>,
    scope: Option<NodeInstanceId>,
) {
    let n = &cx.ex.nodes[node];
    let is_join = n.incoming.len() > 1;
    match n.behaviour {
        Behaviour::ParallelGateway if is_join => {
            let arrived = state.arrivals.entry((node, scope)).or_default();
            arrived.extend(via);
            if n.incoming.iter().all(|f| arrived.contains(f)) {
                for f in &n.incoming {
                    if let Some(pos) = arrived.iter().position(|x| x == f) {
                        arrived.remove(pos);
                    }
                }
                let ni = new_instance(state, node, scope);
                cx.work.push(Work::Leave { ni, skipped: false });
            }
            return;
        }
        Behaviour::InclusiveGateway if is_join => {
            state.arrivals.entry((node, scope)).or_default().extend(via);
            return; // fired by `fire_inclusive_joins`
        }
        _ => {}
    }
    let ni = new_instance(state, node, scope);
    for b in &n.boundaries {
        if let Behaviour::BoundaryTimer { def, .. } = &cx.ex.nodes[*b].behaviour {
            let bi = new_instance(state, *b, scope);
            cx.out.push(Command::StartTimer {
                ni: bi,
                node: *b,
                def: timer_dto(def),
            });
        }
    }
    if let Some(multi) = &n.multi {
        start_multi(state, cx, ni, node, &multi.over, multi.sequential);
        return;
    }
    match &n.behaviour {
        Behaviour::Job { .. } | Behaviour::UserTask | Behaviour::CallActivity { .. } => {
            start_work(cx, ni, node)
        }
        Behaviour::Timer(def) => cx.out.push(Command::StartTimer {
            ni,
            node,
            def: timer_dto(def),
        }),
        Behaviour::SubProcess { start } => cx.work.push(Work::Enter {
            node: *start,
            via: None,
            scope: Some(ni),
        }),
        Behaviour::End {
            terminate: true, ..
        } => {
            if let Some(s) = state.get_mut(ni) {
                s.state = NodeState::Completed;
            }
            match scope {
                // Terminate inside a sub-process ends that sub-process's contents.
                Some(sub) => {
                    let inner: Vec<_> = state
                        .nodes
                        .iter()
                        .filter(|c| c.scope == Some(sub) && c.state == NodeState::Active)
                        .map(|c| c.id)
                        .collect();
                    for id in inner {
                        terminate_subtree(state, cx, id);
                    }
                    state.arrivals.retain(|(_, s), _| *s != Some(sub));
                }
                None => {
                    let ids: Vec<_> = state.active().map(|c| c.id).collect();
                    for id in ids {
                        terminate_subtree(state, cx, id);
                    }
                    state.arrivals.clear();
                    cx.work.clear();
                }
            }
        }
        Behaviour::End {
            error: Some(code), ..
        } => {
            if let Some(s) = state.get_mut(ni) {
                s.state = NodeState::Completed;
            }
            let code = code.clone();
            match scope {
                Some(sub) => throw_error(
                    state,
                    cx,
                    sub,
                    Some(&code),
                    &format!("error end event {}", n.id),
                ),
                None => {
                    if let Some(s) = state.get_mut(ni) {
                        s.state = NodeState::Failed;
                        s.error = Some(format!("error {code} thrown by end event {}", n.id));
                    }
                    state.status = InstanceStatus::Failed;
                }
            }
        }
        _ => cx.work.push(Work::Leave { ni, skipped: false }),
    }
}

/// Asks the outside world to carry out an activity's work.
fn start_work(cx: &mut Ctx<'_>, ni: NodeInstanceId, node: usize) {
    match &cx.ex.nodes[node].behaviour {
        Behaviour::Job { .. } => cx.out.push(Command::RunJob {
            ni,
            node,
            attempt: 1,
        }),
        Behaviour::UserTask => cx.out.push(Command::OpenUserTask { ni, node }),
        Behaviour::CallActivity { called } => cx.out.push(Command::StartChild {
            ni,
            node,
            called: called.clone(),
        }),
        _ => {}
    }
}

/// A multi-instance activity: the instance `outer` holds one run per element, all at
/// once (parallel) or one after the other (sequential).
fn start_multi(
    state: &mut InstanceState,
    cx: &mut Ctx<'_>,
    outer: NodeInstanceId,
    node: usize,
    over: &str,
    sequential: bool,
) {
    let max = cx.cond.multi_instance_max();
    let runs = match cx.cond.count(over) {
        Ok(n) if n > max => {
            let n_ = &cx.ex.nodes[node];
            let named = match n_.name.as_deref().filter(|x| !x.is_empty()) {
                Some(name) => format!("{} ({name})", n_.id),
                None => n_.id.clone(),
            };
            if let Some(o) = state.get_mut(outer) {
                o.state = NodeState::Failed;
                o.error = Some(format!(
                    "{named}: multi-instance over {over} would make {n} runs, more than the \
                     {max} allowed (multi_instance_max, LWAMS_MULTI_INSTANCE_MAX)"
                ));
            }
            state.status = InstanceStatus::Failed;
            return;
        }
        Ok(n) => n,
        Err(message) => {
            if let Some(o) = state.get_mut(outer) {
                o.state = NodeState::Failed;
                o.error = Some(format!("multi-instance over {over}: {message}"));
            }
            state.status = InstanceStatus::Failed;
            return;
        }
    };
    if let Some(o) = state.get_mut(outer) {
        o.runs = Some(runs);
    }
    if runs == 0 {
        cx.work.push(Work::Leave {
            ni: outer,
            skipped: false,
        });
        return;
    }
    for index in 0..if sequential { 1 } else { runs } {
        start_run(state, cx, outer, node, index);
    }
}

fn start_run(
    state: &mut InstanceState,
    cx: &mut Ctx<'_>,
    outer: NodeInstanceId,
    node: usize,
    index: usize,
) {
    let ni = new_instance(state, node, Some(outer));
    if let Some(r) = state.get_mut(ni) {
        r.index = Some(index);
    }
    start_work(cx, ni, node);
}

/// After a run of a multi-instance activity ended: start the next (sequential) or, when
/// all have ended, complete the activity.
fn multi_progress(state: &mut InstanceState, cx: &mut Ctx<'_>, outer: NodeInstanceId) {
    let Some(o) = state.get(outer).cloned() else {
        return;
    };
    let runs = o.runs.unwrap_or(0);
    let done = state
        .nodes
        .iter()
        .filter(|r| {
            r.scope == Some(outer)
                && r.index.is_some()
                && matches!(r.state, NodeState::Completed | NodeState::Skipped)
        })
        .count();
    let sequential = cx.ex.nodes[o.node]
        .multi
        .as_ref()
        .is_some_and(|m| m.sequential);
    if done >= runs {
        cx.work.push(Work::Leave {
            ni: outer,
            skipped: false,
        });
    } else if sequential
        && !state
            .nodes
            .iter()
            .any(|r| r.scope == Some(outer) && r.state == NodeState::Active)
    {
        start_run(state, cx, outer, o.node, done);
    }
}

fn timer_dto(def: &TimerDef) -> TimerDefDto {
    match def {
        TimerDef::Date(s) => TimerDefDto::Date(s.clone()),
        TimerDef::Duration(s) => TimerDefDto::Duration(s.clone()),
        TimerDef::Cycle(s) => TimerDefDto::Cycle(s.clone()),
        TimerDef::Missing => TimerDefDto::Duration(String::new()),
    }
}

/// Completes a node instance and sends tokens along the flows it takes.
fn leave(state: &mut InstanceState, cx: &mut Ctx<'_>, ni: NodeInstanceId, skipped: bool) {
    let Some(inst) = state.get(ni).cloned() else {
        return;
    };
    if inst.state != NodeState::Active {
        return;
    }
    if inst.index.is_some() {
        // One run of a multi-instance activity: no flows of its own.
        if let Some(n) = state.get_mut(ni) {
            n.state = if skipped {
                NodeState::Skipped
            } else {
                NodeState::Completed
            };
        }
        if let Some(outer) = inst.scope {
            multi_progress(state, cx, outer);
        }
        return;
    }
    let node = &cx.ex.nodes[inst.node];
    let flows = match choose_flows(cx, inst.node) {
        Ok(f) => f,
        Err(message) => {
            if let Some(n) = state.get_mut(ni) {
                n.state = NodeState::Failed;
                n.error = Some(message);
            }
            state.status = InstanceStatus::Failed;
            return;
        }
    };
    if let Some(n) = state.get_mut(ni) {
        n.state = if skipped {
            NodeState::Skipped
        } else {
            NodeState::Completed
        };
    }
    if !node.boundaries.is_empty() {
        cancel_boundaries(state, cx, ni, None);
    }
    for f in flows {
        cx.work.push(Work::Enter {
            node: cx.ex.flows[f].target,
            via: Some(f),
            scope: inst.scope,
        });
    }
}

/// Which outgoing flows a node takes (conditions, default flow, gateway kind).
fn choose_flows(cx: &Ctx<'_>, node: usize) -> Result<Vec<usize>, String> {
    let n = &cx.ex.nodes[node];
    let mut taken = Vec::new();
    for f in &n.outgoing {
        if Some(*f) == n.default_flow {
            continue;
        }
        let ok = match &cx.ex.flows[*f].condition {
            None => true,
            Some(c) => cx
                .cond
                .eval(c)
                .map_err(|e| format!("condition of flow {}: {e}", cx.ex.flows[*f].id))?,
        };
        if ok {
            taken.push(*f);
            if n.behaviour == Behaviour::ExclusiveGateway {
                break;
            }
        }
    }
    if taken.is_empty() {
        if let Some(d) = n.default_flow {
            taken.push(d);
        } else if matches!(
            n.behaviour,
            Behaviour::ExclusiveGateway | Behaviour::InclusiveGateway
        ) && !n.outgoing.is_empty()
        {
            return Err(format!(
                "no condition leaving gateway {} is true and it has no default flow",
                n.id
            ));
        }
    }
    Ok(taken)
}

/// Fires inclusive joins that can no longer receive a token on a missing flow.
fn fire_inclusive_joins(state: &mut InstanceState, cx: &mut Ctx<'_>) -> bool {
    let waiting: Vec<(usize, Option<NodeInstanceId>)> = state
        .arrivals
        .iter()
        .filter(|((g, _), v)| {
            !v.is_empty() && cx.ex.nodes[*g].behaviour == Behaviour::InclusiveGateway
        })
        .map(|(k, _)| *k)
        .collect();
    for (g, scope) in waiting {
        let arrived = state.arrivals[&(g, scope)].clone();
        let missing: Vec<usize> = cx.ex.nodes[g]
            .incoming
            .iter()
            .copied()
            .filter(|f| !arrived.contains(f))
            .collect();
        let live: Vec<usize> = state
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::Active && n.scope == scope)
            .map(|n| n.node)
            .chain(
                state
                    .arrivals
                    .iter()
                    .filter(|((o, s), v)| *o != g && *s == scope && !v.is_empty())
                    .map(|((o, _), _)| *o),
            )
            .collect();
        let blocked = missing.iter().any(|f| {
            live.iter()
                .any(|from| reaches(cx.ex, *from, cx.ex.flows[*f].source, g))
        });
        if !blocked {
            state.arrivals.remove(&(g, scope));
            let ni = new_instance(state, g, scope);
            cx.work.push(Work::Leave { ni, skipped: false });
            return true;
        }
    }
    false
}

/// Whether a token at `from` can reach node `to` without passing through `stop`.
fn reaches(ex: &Executable, from: usize, to: usize, stop: usize) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from];
    while let Some(n) = todo.pop() {
        if n == to {
            return true;
        }
        if n == stop || !seen.insert(n) {
            continue;
        }
        todo.extend(ex.nodes[n].outgoing.iter().map(|f| ex.flows[*f].target));
        todo.extend(ex.nodes[n].boundaries.iter().copied());
    }
    false
}

/// Completes sub-process instances whose contents have all finished.
fn complete_scopes(state: &mut InstanceState, cx: &mut Ctx<'_>) -> bool {
    let done: Vec<NodeInstanceId> = state
        .nodes
        .iter()
        .filter(|n| {
            n.state == NodeState::Active
                && matches!(cx.ex.nodes[n.node].behaviour, Behaviour::SubProcess { .. })
        })
        .filter(|sub| {
            let inner_busy = state.nodes.iter().any(|c| {
                c.scope == Some(sub.id) && matches!(c.state, NodeState::Active | NodeState::Failed)
            });
            let inner_waiting = state
                .arrivals
                .iter()
                .any(|((_, s), v)| *s == Some(sub.id) && !v.is_empty());
            let started = state.nodes.iter().any(|c| c.scope == Some(sub.id));
            started && !inner_busy && !inner_waiting
        })
        .map(|n| n.id)
        .collect();
    let any = !done.is_empty();
    for ni in done {
        cx.work.push(Work::Leave { ni, skipped: false });
    }
    any
}
