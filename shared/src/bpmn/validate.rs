//! Validation with precise messages (element id and line). Structural problems (broken
//! references, duplicate ids: `refs.rs`) are warnings when a file is checked or read —
//! bpmn-js opens such files too — and refuse a deploy; so do execution problems.

use super::model::{EventDef, FlowNode, NodeKind, Process};
use super::{lwams, Document};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemClass {
    /// The file is inconsistent (duplicate ids, broken references, flows leaving their
    /// process): it still reads, as in bpmn-js, but cannot be deployed.
    Structure,
    /// The flow cannot run as drawn (missing parameters, unreachable nodes…).
    Execution,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub class: ProblemClass,
    pub element_id: Option<String>,
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.element_id {
            Some(id) => write!(f, "line {}: {}: {}", self.line, id, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

pub fn validate(doc: &Document) -> Vec<Problem> {
    let mut out = super::refs::problems(doc);
    for p in &doc.model.processes {
        process(doc, p, &mut out);
    }
    out
}

fn problem(doc: &Document, class: ProblemClass, id: &str, message: String) -> Problem {
    Problem {
        class,
        element_id: Some(id.to_string()),
        line: doc.line_of(id),
        message,
    }
}

fn outgoing<'a>(
    p: &'a Process,
    id: &'a str,
) -> impl Iterator<Item = &'a super::model::SequenceFlow> + 'a {
    p.flows.iter().filter(move |f| f.source == id)
}

fn process(doc: &Document, p: &Process, out: &mut Vec<Problem>) {
    use ProblemClass::*;
    let nodes: BTreeMap<&str, &FlowNode> = p.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let executable = p.is_executable || p.nodes.iter().any(|n| !n.lwams.is_empty());
    if !executable {
        return;
    }

    // Start events.
    let starts: Vec<&FlowNode> = p
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::StartEvent && n.parent.is_none())
        .collect();
    if starts.is_empty() {
        out.push(Problem {
            class: Execution,
            element_id: Some(p.id.clone()),
            line: doc.line_of(&p.id),
            message: "the process has no start event".into(),
        });
    }

    for n in &p.nodes {
        // LWAMS parameters.
        if let Some(kind) = n.lwams_kind() {
            match lwams::StepKind::parse(kind) {
                Err(e) => out.push(problem(doc, Execution, &n.id, e.to_string())),
                Ok(kind) => {
                    for req in kind.required() {
                        let present = req
                            .split('|')
                            .any(|k| n.lwams.get(k).is_some_and(|v| !v.trim().is_empty()));
                        if !present {
                            let what = req.replace('|', " or ");
                            out.push(problem(
                                doc,
                                Execution,
                                &n.id,
                                format!("{} step: {what} is required", kind.noun()),
                            ));
                        }
                    }
                    // SQL values become bind parameters: each placeholder must stand
                    // where a value can.
                    if kind == lwams::StepKind::Sql {
                        let template = n.lwams.get("sql").filter(|t| !t.trim().is_empty());
                        if let Some(Err(r)) = template.map(|t| crate::sql::check_every_kind(t)) {
                            out.push(problem(
                                doc,
                                Execution,
                                &n.id,
                                format!("{} step: sql: {r}", kind.noun()),
                            ));
                        }
                    }
                    // A step the server cannot run is refused now, not when it runs.
                    if lwams::runs_as_step(n.kind) {
                        if let Some(why) = lwams::not_runnable(kind) {
                            out.push(problem(doc, Execution, &n.id, why));
                        }
                    }
                }
            }
        }
        if n.kind == NodeKind::CallActivity
            && n.called_element.as_deref().unwrap_or("").is_empty()
            && !n.lwams.contains_key("process")
        {
            out.push(problem(
                doc,
                Execution,
                &n.id,
                "call activity: the called flow (calledElement) is required".into(),
            ));
        }
        // Gateway conditions.
        if matches!(
            n.kind,
            NodeKind::ExclusiveGateway | NodeKind::InclusiveGateway
        ) {
            let outs: Vec<_> = outgoing(p, &n.id).collect();
            if outs.len() > 1 {
                for f in outs {
                    if f.condition.is_none() && n.default_flow.as_deref() != Some(f.id.as_str()) {
                        out.push(problem(
                            doc,
                            Execution,
                            &f.id,
                            format!(
                                "leaves gateway {} without a condition and is not its default flow",
                                n.id
                            ),
                        ));
                    }
                }
            }
            if let Some(d) = &n.default_flow {
                if !p.flows.iter().any(|f| &f.id == d && f.source == n.id) {
                    out.push(problem(
                        doc,
                        Execution,
                        &n.id,
                        format!("default flow {d:?} does not leave this gateway"),
                    ));
                }
            }
        }
        // Timers need an expression.
        for e in &n.events {
            if let EventDef::Timer(super::model::TimerDef::Missing) = e {
                out.push(problem(
                    doc,
                    Execution,
                    &n.id,
                    "timer event without a date, duration or cycle".into(),
                ));
            }
        }
    }

    // Reachability from the start events (boundary events follow their host,
    // sub-process contents follow the sub-process, event sub-processes are entered by
    // their trigger).
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut todo: Vec<&str> = starts.iter().map(|n| n.id.as_str()).collect();
    todo.extend(
        p.nodes
            .iter()
            .filter(|n| n.triggered_by_event)
            .map(|n| n.id.as_str()),
    );
    while let Some(id) = todo.pop() {
        if !reached.insert(id) {
            continue;
        }
        todo.extend(outgoing(p, id).map(|f| f.target.as_str()));
        todo.extend(
            p.nodes
                .iter()
                .filter(|b| b.attached_to.as_deref() == Some(id))
                .map(|b| b.id.as_str()),
        );
        if nodes.get(id).is_some_and(|n| n.kind.is_container()) {
            todo.extend(
                p.nodes
                    .iter()
                    .filter(|c| c.parent.as_deref() == Some(id) && c.kind == NodeKind::StartEvent)
                    .map(|c| c.id.as_str()),
            );
        }
    }
    if !starts.is_empty() {
        for n in &p.nodes {
            if !reached.contains(n.id.as_str()) {
                out.push(problem(
                    doc,
                    Execution,
                    &n.id,
                    "cannot be reached from a start event".into(),
                ));
            }
        }
    }

    // Cycles without a wait state.
    for cycle in cycles(p) {
        let waits = cycle
            .iter()
            .any(|id| nodes.get(id.as_str()).is_some_and(|n| is_wait_state(n)));
        if !waits {
            let first = cycle[0].clone();
            out.push(problem(
                doc,
                Execution,
                &first,
                format!(
                    "is on a loop without a wait state ({}): it would run forever",
                    cycle.join(" → ")
                ),
            ));
        }
    }
}

/// Nodes where a token stops until something outside the engine happens.
fn is_wait_state(n: &FlowNode) -> bool {
    matches!(
        n.kind,
        NodeKind::UserTask
            | NodeKind::ReceiveTask
            | NodeKind::ManualTask
            | NodeKind::EventBasedGateway
    ) || (n.kind == NodeKind::IntermediateCatchEvent && !n.events.is_empty())
}

/// Strongly connected components of the sequence-flow graph that form a loop.
fn cycles(p: &Process) -> Vec<Vec<String>> {
    let ids: Vec<&str> = p.nodes.iter().map(|n| n.id.as_str()).collect();
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut adj = vec![Vec::new(); ids.len()];
    for f in &p.flows {
        if let (Some(a), Some(b)) = (index.get(f.source.as_str()), index.get(f.target.as_str())) {
            adj[*a].push(*b);
        }
    }
    // Tarjan's algorithm, iterative.
    let n = ids.len();
    let (mut idx, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut counter) = (Vec::new(), Vec::new(), 0);
    for s in 0..n {
        if idx[s] != usize::MAX {
            continue;
        }
        let mut work = vec![(s, 0usize)];
        while let Some(&mut (v, ref mut i)) = work.last_mut() {
            if *i == 0 && idx[v] == usize::MAX {
                idx[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on[v] = true;
            }
            if *i < adj[v].len() {
                let w = adj[v][*i];
                *i += 1;
                if idx[w] == usize::MAX {
                    work.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(idx[w]);
                }
            } else {
                work.pop();
                if let Some(&(u, _)) = work.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == idx[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let is_loop = comp.len() > 1 || adj[v].contains(&v);
                    if is_loop {
                        comp.sort_unstable();
                        out.push(comp.into_iter().map(|i| ids[i].to_string()).collect());
                    }
                }
            }
        }
    }
    out
}
