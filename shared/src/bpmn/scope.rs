//! The variables a step may name in `${…}` (SPEC §8): the built-ins every run has, and
//! for every node that can run before it, that node's parameters (`${nodeId.…}`) and its
//! result variable. The designer offers them as completions.

use super::lwams::StepKind;
use super::model::{NodeKind, Process};
use std::collections::{BTreeSet, VecDeque};

/// The built-in variables of SPEC §8.1.
pub const BUILTINS: &[&str] = &[
    "LWAMS_INITIATOR_ID",
    "LWAMS_INITIATOR_NAME",
    "LWAMS_INITIATOR_PHONE",
    "LWAMS_INITIATOR_EMAIL",
    "LWAMS_INITIATOR_MOBILE",
    "LWAMS_INIT_DATE",
    "LWAMS_INIT_TIME",
    "LWAMS_PROCESS_DEFINITION_ID",
    "LWAMS_PROCESS_START_WAY",
    "LWAMS_PROCESS_START_QUEUE",
    "LWAMS_PROCESS_START_QUEUE_ID",
    "LWAMS_STATUSMODIFIER_ID",
    "LWAMS_CALL_PROCESS_INSTANCE_ID",
    "LWAMS_CALL_PARAM",
    "LWAMS_CALL_PROCESS_TASK_ID",
];

/// The parameters every node has (SPEC §8.2).
pub const NODE_PARAMETERS: &[&str] = &["name", "createDate", "createDatetime"];

/// The parameters a node of `kind` adds to `${nodeId.…}` (SPEC §8.2), `result` last;
/// a node of no known kind has only its result.
pub fn kind_parameters(kind: Option<StepKind>) -> Vec<&'static str> {
    kind.map(StepKind::exposes)
        .unwrap_or_else(|| vec!["result"])
}

/// The ids of the nodes that can run before `node_id`: those with a path of sequence
/// flows to it, to the activity a boundary event is attached to, or to the sub-process
/// it is in (and so on outwards). For a sequence flow (its condition): its source and
/// what runs before that.
pub fn upstream(process: &Process, node_id: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([node_id.to_string()]);
    let mut order = Vec::new();
    if let Some(f) = process.flows.iter().find(|f| f.id == node_id) {
        seen.insert(f.source.clone());
        order.push(f.source.clone());
        queue = VecDeque::from([f.source.clone()]);
    }
    while let Some(id) = queue.pop_front() {
        let mut before: Vec<String> = process
            .flows
            .iter()
            .filter(|f| f.target == id)
            .map(|f| f.source.clone())
            .collect();
        if let Some(n) = process.nodes.iter().find(|n| n.id == id) {
            before.extend(n.attached_to.clone());
            before.extend(n.parent.clone());
        }
        for b in before {
            if seen.insert(b.clone()) {
                order.push(b.clone());
                queue.push_back(b);
            }
        }
    }
    order
}

/// Every variable `node_id` may name: the built-ins, then per upstream step (nearest
/// first) its result variable and `nodeId.parameter`s. Events and gateways have no
/// parameters worth offering and are left out.
pub fn variables_in_scope(process: &Process, node_id: &str) -> Vec<String> {
    let mut out: Vec<String> = BUILTINS.iter().map(|b| b.to_string()).collect();
    for id in upstream(process, node_id) {
        let Some(n) = process.nodes.iter().find(|n| n.id == id) else {
            continue;
        };
        let step = matches!(
            n.kind,
            NodeKind::Task
                | NodeKind::ServiceTask
                | NodeKind::ScriptTask
                | NodeKind::SendTask
                | NodeKind::BusinessRuleTask
                | NodeKind::UserTask
                | NodeKind::ManualTask
                | NodeKind::CallActivity
        );
        if !step {
            continue;
        }
        if let Some(rv) = n.lwams.get("resultVariable").filter(|v| !v.is_empty()) {
            out.push(rv.clone());
        }
        let kind = match n.kind {
            NodeKind::CallActivity => Some(StepKind::CallActivity),
            NodeKind::UserTask => Some(StepKind::UserTask),
            _ => n.lwams_kind().and_then(|k| StepKind::parse(k).ok()),
        };
        // Its result first: what later steps name most.
        let rest = kind_parameters(kind).into_iter().filter(|p| *p != "result");
        for p in std::iter::once("result")
            .chain(NODE_PARAMETERS.iter().copied())
            .chain(rest)
        {
            out.push(format!("{id}.{p}"));
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|v| seen.insert(v.clone()));
    out
}

/// The `${…}` being typed at the end of `before` (the text up to the caret): the part
/// after `${`, when the caret is inside an unclosed placeholder.
pub fn open_placeholder(before: &str) -> Option<&str> {
    let at = before.rfind("${")?;
    let partial = &before[at + 2..];
    partial
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .then_some(partial)
}

/// Whether a field's text names node `id`'s variables (`${id}`, `${id.result…}`,
/// `${raw:id.…}`) — what a rename of `id` leaves pointing nowhere.
pub fn refers_to(text: &str, id: &str) -> bool {
    crate::vars::placeholders(text)
        .iter()
        .any(|p| p == id || p.strip_prefix(id).is_some_and(|rest| rest.starts_with('.')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpmn::Document;

    const FLOW: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0">
      <process id="p" isExecutable="true">
        <startEvent id="start"/>
        <serviceTask id="collect" lwams:kind="remoteCommand" lwams:resultVariable="info"/>
        <exclusiveGateway id="gw"/>
        <userTask id="approve"/>
        <serviceTask id="later" lwams:kind="sql"/>
        <serviceTask id="elsewhere" lwams:kind="http"/>
        <endEvent id="end"/>
        <sequenceFlow id="f1" sourceRef="start" targetRef="collect"/>
        <sequenceFlow id="f2" sourceRef="collect" targetRef="gw"/>
        <sequenceFlow id="f3" sourceRef="gw" targetRef="approve"/>
        <sequenceFlow id="f4" sourceRef="approve" targetRef="later"/>
        <sequenceFlow id="f5" sourceRef="later" targetRef="end"/>
        <sequenceFlow id="f6" sourceRef="gw" targetRef="elsewhere"/>
      </process>
    </definitions>"#;

    fn process() -> Process {
        Document::parse(FLOW).unwrap().model.processes.remove(0)
    }

    #[test]
    fn a_step_sees_the_builtins_and_the_steps_before_it_but_not_those_after_or_beside() {
        let vars = variables_in_scope(&process(), "later");
        assert_eq!(&vars[..BUILTINS.len()], BUILTINS);
        for v in [
            "info",
            "collect.result",
            "collect.terminal.hostName",
            "collect.host.name",
            "collect.command",
            "collect.values",
            "approve.name",
            "approve.result",
        ] {
            assert!(vars.contains(&v.to_string()), "{v} in {vars:?}");
        }
        assert!(!vars.iter().any(|v| v.starts_with("later.")), "not itself");
        assert!(
            !vars.iter().any(|v| v.starts_with("elsewhere.")),
            "not a sibling branch"
        );
        assert!(
            !vars.iter().any(|v| v.starts_with("gw.")),
            "no gateway parameters"
        );
        // The nearest step comes first, each with its result first.
        let approve = vars.iter().position(|v| v == "approve.name").unwrap();
        let collect = vars.iter().position(|v| v == "collect.name").unwrap();
        assert!(approve < collect);
        assert_eq!(vars[approve - 1], "approve.result");
        // The first step sees the built-ins only.
        assert_eq!(variables_in_scope(&process(), "collect"), BUILTINS);
        // A flow's condition sees the step it leaves and what ran before.
        let cond = variables_in_scope(&process(), "f4");
        assert!(cond.contains(&"approve.result".to_string()), "{cond:?}");
        assert!(cond.contains(&"info".to_string()), "{cond:?}");
        assert!(!cond.iter().any(|v| v.starts_with("later.")));
    }

    #[test]
    fn a_loop_puts_a_step_in_its_own_scope_without_hanging() {
        let looped = FLOW.replace(
            r#"<sequenceFlow id="f6" sourceRef="gw" targetRef="elsewhere"/>"#,
            r#"<sequenceFlow id="f6" sourceRef="gw" targetRef="collect"/>"#,
        );
        let p = Document::parse(&looped).unwrap().model.processes.remove(0);
        assert!(variables_in_scope(&p, "collect").contains(&"collect.result".to_string()));
    }

    #[test]
    fn an_open_placeholder_is_found_at_the_caret() {
        assert_eq!(open_placeholder("echo ${col"), Some("col"));
        assert_eq!(open_placeholder("echo ${"), Some(""));
        assert_eq!(open_placeholder("echo ${collect.result}"), None);
        assert_eq!(open_placeholder("echo ${a} and ${b.c"), Some("b.c"));
        assert_eq!(open_placeholder("echo $x"), None);
        assert_eq!(open_placeholder("echo ${a b"), None);
    }

    #[test]
    fn every_kind_offers_its_result() {
        for k in StepKind::ALL {
            assert_eq!(kind_parameters(Some(k)).last(), Some(&"result"), "{k}");
        }
        assert_eq!(kind_parameters(None), ["result"]);
        assert!(kind_parameters(Some(StepKind::Sql)).contains(&"dataSource.name"));
    }

    #[test]
    fn a_field_refers_to_a_node_by_its_variables_only() {
        assert!(refers_to("echo ${check.result.free} ${raw:x}", "check"));
        assert!(refers_to("${check} != null", "check"));
        assert!(refers_to("rm ${raw:check.result}", "check"));
        assert!(!refers_to("echo ${checks.result} check.result", "check"));
        assert!(!refers_to("echo $${check.result}", "check"));
    }
}
