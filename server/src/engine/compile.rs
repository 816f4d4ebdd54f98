//! Compile: a parsed BPMN process becomes an executable graph — nodes and flows by
//! index, each node with one behaviour. Done once at deploy; the runtime never touches
//! XML.

use serde::{Deserialize, Serialize};
use shared::bpmn::lwams::{self, StepKind};
use shared::bpmn::model::{EventDef, FlowNode, NodeKind, Process, TimerDef};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Behaviour {
    Start,
    End {
        terminate: bool,
        error: Option<String>,
    },
    ExclusiveGateway,
    InclusiveGateway,
    ParallelGateway,
    /// A step carried out by an executor (LWAMS kinds, service and script tasks).
    Job {
        kind: StepKind,
    },
    UserTask,
    Timer(TimerDef),
    SubProcess {
        start: usize,
    },
    /// A boundary event on `host`: a timer, or an error (code `None` catches all).
    BoundaryTimer {
        host: usize,
        def: TimerDef,
        interrupting: bool,
    },
    BoundaryError {
        host: usize,
        code: Option<String>,
    },
    /// Starts another flow (by process id / flow key) and waits for it to end.
    CallActivity {
        called: String,
    },
    /// Elements that complete as soon as they are entered (plain tasks, throw events).
    PassThrough,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecNode {
    pub id: String,
    pub name: Option<String>,
    pub behaviour: Behaviour,
    pub incoming: Vec<usize>,
    pub outgoing: Vec<usize>,
    pub default_flow: Option<usize>,
    pub parent: Option<usize>,
    pub boundaries: Vec<usize>,
    pub lwams: BTreeMap<String, String>,
    /// Multi-instance: run the activity once per element of a list (or N times).
    pub multi: Option<Multi>,
}

#[cfg(test)]
impl ExecNode {
    /// A step node `id` of `kind` with `lwams:` attributes, for unit tests.
    pub fn job(id: &str, kind: StepKind, attrs: &[(&str, &str)]) -> ExecNode {
        ExecNode {
            id: id.into(),
            name: None,
            behaviour: Behaviour::Job { kind },
            incoming: vec![],
            outgoing: vec![],
            default_flow: None,
            parent: None,
            boundaries: vec![],
            lwams: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            multi: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Multi {
    pub sequential: bool,
    /// A variable holding a list (`lwams:collection`), or a count (`loopCardinality`).
    pub over: String,
    /// The variable each run sees its element as (`lwams:elementVariable`, default `item`).
    pub element: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecFlow {
    pub id: String,
    pub source: usize,
    pub target: usize,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Executable {
    pub process_id: String,
    pub nodes: Vec<ExecNode>,
    pub flows: Vec<ExecFlow>,
    pub index: HashMap<String, usize>,
    /// The top-level start event.
    pub start: usize,
    /// The timer of the start event, when instances start on a schedule.
    #[serde(default)]
    pub start_timer: Option<TimerDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("{0}: {1}")]
    Element(String, String),
    #[error("process {0} has no start event")]
    NoStart(String),
}

fn behaviour(
    n: &FlowNode,
    index: &HashMap<String, usize>,
    errors: &BTreeMap<String, Option<String>>,
    p: &Process,
) -> Result<Behaviour, CompileError> {
    let err = |m: &str| CompileError::Element(n.id.clone(), m.to_string());
    let timer = n.events.iter().find_map(|e| match e {
        EventDef::Timer(t) => Some(t.clone()),
        _ => None,
    });
    let error_code = n.events.iter().find_map(|e| match e {
        EventDef::Error { error_ref } => Some(
            error_ref
                .as_ref()
                .and_then(|r| errors.get(r).cloned().flatten()),
        ),
        _ => None,
    });
    Ok(match n.kind {
        NodeKind::StartEvent => Behaviour::Start,
        NodeKind::EndEvent => Behaviour::End {
            terminate: n.events.iter().any(|e| matches!(e, EventDef::Terminate)),
            error: error_code.map(|c| c.unwrap_or_else(|| "error".into())),
        },
        NodeKind::ExclusiveGateway => Behaviour::ExclusiveGateway,
        NodeKind::InclusiveGateway => Behaviour::InclusiveGateway,
        NodeKind::ParallelGateway => Behaviour::ParallelGateway,
        NodeKind::UserTask => Behaviour::UserTask,
        NodeKind::IntermediateCatchEvent => match timer {
            Some(t) => Behaviour::Timer(t),
            None => return Err(err("only timer catch events can run")),
        },
        NodeKind::BoundaryEvent => {
            let host = n
                .attached_to
                .as_ref()
                .and_then(|h| index.get(h))
                .copied()
                .ok_or_else(|| err("boundary event without a host activity"))?;
            match (timer, error_code) {
                (Some(def), _) => Behaviour::BoundaryTimer {
                    host,
                    def,
                    interrupting: n.cancel_activity,
                },
                (None, Some(code)) => Behaviour::BoundaryError { host, code },
                _ => return Err(err("only timer and error boundary events can run")),
            }
        }
        NodeKind::SubProcess | NodeKind::Transaction | NodeKind::AdHocSubProcess => {
            let start = p
                .nodes
                .iter()
                .find(|c| c.parent.as_deref() == Some(&n.id) && c.kind == NodeKind::StartEvent)
                .and_then(|c| index.get(&c.id))
                .copied()
                .ok_or_else(|| err("sub-process without a start event"))?;
            Behaviour::SubProcess { start }
        }
        k if lwams::runs_as_step(k) && n.lwams_kind().is_some() => {
            let kind = StepKind::parse(n.lwams_kind().unwrap_or_default())
                .map_err(|e| err(&e.to_string()))?;
            if let Some(why) = lwams::not_runnable(kind) {
                return Err(err(&why));
            }
            Behaviour::Job { kind }
        }
        NodeKind::ServiceTask | NodeKind::ScriptTask => {
            return Err(err(
                "service and script tasks need an LWAMS step kind (lwams:kind)",
            ))
        }
        NodeKind::CallActivity => {
            let called = n
                .called_element
                .clone()
                .or_else(|| n.lwams.get("process").cloned())
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| err("call activity without a called flow (calledElement)"))?;
            super::call::CalledVersion::of(&n.lwams).map_err(|e| err(&e.to_string()))?;
            Behaviour::CallActivity { called }
        }
        _ => Behaviour::PassThrough,
    })
}

fn multi(n: &FlowNode) -> Result<Option<Multi>, CompileError> {
    let Some(m) = &n.multi_instance else {
        return Ok(None);
    };
    let err = |m: &str| CompileError::Element(n.id.clone(), m.to_string());
    if !matches!(
        n.kind,
        NodeKind::ServiceTask
            | NodeKind::ScriptTask
            | NodeKind::SendTask
            | NodeKind::BusinessRuleTask
            | NodeKind::Task
            | NodeKind::UserTask
            | NodeKind::CallActivity
    ) {
        return Err(err(
            "multi-instance runs on steps, user tasks and call activities",
        ));
    }
    let over = m
        .collection
        .clone()
        .or_else(|| m.cardinality.clone())
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| err("multi-instance needs lwams:collection or a loopCardinality"))?;
    let element = n
        .lwams
        .get("elementVariable")
        .cloned()
        .unwrap_or_else(|| "item".into());
    Ok(Some(Multi {
        sequential: m.sequential,
        over,
        element,
    }))
}

/// Compiles one process of a parsed file.
pub fn compile(
    p: &Process,
    errors: &[shared::bpmn::model::ErrorDecl],
) -> Result<Executable, CompileError> {
    let index: HashMap<String, usize> = p
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.clone(), i))
        .collect();
    let error_codes: BTreeMap<String, Option<String>> = errors
        .iter()
        .map(|e| (e.id.clone(), e.code.clone()))
        .collect();
    let mut flows = Vec::new();
    let mut flow_index = HashMap::new();
    for f in &p.flows {
        let (Some(&source), Some(&target)) = (index.get(&f.source), index.get(&f.target)) else {
            return Err(CompileError::Element(
                f.id.clone(),
                "connects an unknown element".into(),
            ));
        };
        flow_index.insert(f.id.clone(), flows.len());
        flows.push(ExecFlow {
            id: f.id.clone(),
            source,
            target,
            condition: f.condition.clone(),
        });
    }
    let mut nodes = Vec::new();
    for n in &p.nodes {
        let i = nodes.len();
        nodes.push(ExecNode {
            id: n.id.clone(),
            name: n.name.clone(),
            behaviour: behaviour(n, &index, &error_codes, p)?,
            incoming: flows
                .iter()
                .enumerate()
                .filter(|(_, f)| f.target == i)
                .map(|(k, _)| k)
                .collect(),
            outgoing: flows
                .iter()
                .enumerate()
                .filter(|(_, f)| f.source == i)
                .map(|(k, _)| k)
                .collect(),
            default_flow: n
                .default_flow
                .as_ref()
                .and_then(|d| flow_index.get(d))
                .copied(),
            parent: n.parent.as_ref().and_then(|x| index.get(x)).copied(),
            boundaries: Vec::new(),
            lwams: n.lwams.clone(),
            multi: multi(n)?,
        });
    }
    for i in 0..nodes.len() {
        if let Behaviour::BoundaryTimer { host, .. } | Behaviour::BoundaryError { host, .. } =
            nodes[i].behaviour
        {
            nodes[host].boundaries.push(i);
        }
    }
    let start = nodes
        .iter()
        .position(|n| n.behaviour == Behaviour::Start && n.parent.is_none())
        .ok_or_else(|| CompileError::NoStart(p.id.clone()))?;
    let start_timer = p
        .nodes
        .iter()
        .find(|n| n.id == nodes[start].id)
        .and_then(|n| {
            n.events.iter().find_map(|e| match e {
                EventDef::Timer(t) => Some(t.clone()),
                _ => None,
            })
        });
    Ok(Executable {
        process_id: p.id.clone(),
        nodes,
        flows,
        index,
        start,
        start_timer,
    })
}

/// Compiles every process of a file: executable ones must compile; the others are kept
/// when they compile (a call activity may start them).
pub fn compile_document(doc: &shared::bpmn::Document) -> Result<Vec<Executable>, CompileError> {
    let mut out = Vec::new();
    for p in &doc.model.processes {
        match compile(p, &doc.model.errors) {
            Ok(ex) => out.push(ex),
            Err(e) if p.is_executable => return Err(e),
            Err(_) => {}
        }
    }
    Ok(out)
}
