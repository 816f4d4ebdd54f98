//! The engine core, data-driven: a BPMN document in, events applied, node states and
//! commands checked. No database, clock or network.

use super::compile::compile;
use super::core::{
    step, Command, Conditions, Event, InstanceState, InstanceStatus, NodeInstanceId, NodeState,
};
use shared::bpmn::Document;
use std::collections::BTreeMap;

/// Conditions decided by the test: expression → value; unknown expressions fail.
struct Fixed(BTreeMap<&'static str, bool>);

impl Conditions for Fixed {
    fn eval(&self, e: &str) -> Result<bool, String> {
        self.0
            .get(e)
            .copied()
            .ok_or_else(|| format!("unknown variable in {e}"))
    }

    /// Counts are written as literals in these tests.
    fn count(&self, over: &str) -> Result<usize, String> {
        over.parse().map_err(|_| format!("unknown list {over}"))
    }
}

fn conds(pairs: &[(&'static str, bool)]) -> Fixed {
    Fixed(pairs.iter().copied().collect())
}

struct Run {
    ex: super::compile::Executable,
    state: InstanceState,
    commands: Vec<Command>,
    cond: Fixed,
}

const HEAD: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0"><process id="p" isExecutable="true">"#;

fn start(body: &str, cond: Fixed) -> Run {
    let doc = Document::parse(&format!("{HEAD}{body}</process></definitions>")).expect("parses");
    let ex = compile(&doc.model.processes[0], &doc.model.errors).expect("compiles");
    let mut state = InstanceState::default();
    let commands = step(&mut state, &ex, Event::Start, &cond).expect("starts");
    Run {
        ex,
        state,
        commands,
        cond,
    }
}

impl Run {
    fn send(&mut self, e: Event) {
        self.commands = step(&mut self.state, &self.ex, e, &self.cond).expect("event applies");
    }

    fn ni(&self, id: &str) -> NodeInstanceId {
        self.state
            .of(&self.ex, id)
            .last()
            .unwrap_or_else(|| panic!("{id} never entered"))
            .id
    }

    fn states(&self, id: &str) -> Vec<NodeState> {
        self.state.of(&self.ex, id).map(|n| n.state).collect()
    }

    fn jobs(&self) -> Vec<String> {
        self.commands
            .iter()
            .filter_map(|c| match c {
                Command::RunJob { node, .. } => Some(self.ex.nodes[*node].id.clone()),
                _ => None,
            })
            .collect()
    }

    fn complete(&mut self, id: &str) {
        let ni = self.ni(id);
        self.send(Event::JobCompleted { ni });
    }
}

fn job(id: &str) -> String {
    format!(r#"<serviceTask id="{id}" lwams:kind="localCommand" lwams:command="true"/>"#)
}

fn flow(id: &str, from: &str, to: &str) -> String {
    format!(r#"<sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"/>"#)
}

fn cflow(id: &str, from: &str, to: &str, cond: &str) -> String {
    format!(
        r#"<sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"><conditionExpression>{cond}</conditionExpression></sequenceFlow>"#
    )
}

/// start → a → b → end
fn chain_a_b() -> String {
    format!(
        r#"<startEvent id="s"/>{}{}<endEvent id="e"/>{}{}{}"#,
        job("a"),
        job("b"),
        flow("f1", "s", "a"),
        flow("f2", "a", "b"),
        flow("f3", "b", "e")
    )
}

#[test]
fn a_chain_runs_job_by_job_and_completes() {
    let body = chain_a_b();
    let mut r = start(&body, conds(&[]));
    assert_eq!(r.jobs(), ["a"]);
    r.complete("a");
    assert_eq!(r.jobs(), ["b"]);
    r.complete("b");
    assert_eq!(r.state.status, InstanceStatus::Completed);
    assert!(r.commands.contains(&Command::Ended {
        status: InstanceStatus::Completed
    }));
    assert_eq!(r.states("e"), [NodeState::Completed]);
}

#[test]
fn exclusive_gateway_takes_the_first_true_flow_or_the_default() {
    let body = |default: bool| {
        format!(
            r#"<startEvent id="s"/><exclusiveGateway id="g" {}/>{}{}{}<endEvent id="e"/>{}{}{}{}{}{}{}"#,
            if default { r#"default="fc""# } else { "" },
            job("a"),
            job("b"),
            job("c"),
            flow("f0", "s", "g"),
            cflow("fa", "g", "a", "x"),
            cflow("fb", "g", "b", "y"),
            flow("fc", "g", "c"),
            flow("ea", "a", "e"),
            flow("eb", "b", "e"),
            flow("ec", "c", "e"),
        )
    };
    let r = start(&body(true), conds(&[("x", false), ("y", true)]));
    assert_eq!(r.jobs(), ["b"]);
    let r = start(&body(true), conds(&[("x", true), ("y", true)]));
    assert_eq!(r.jobs(), ["a"], "only the first true flow");
    let r = start(&body(true), conds(&[("x", false), ("y", false)]));
    assert_eq!(r.jobs(), ["c"], "the default flow");
    // Without a default: the unconditioned flow counts as true.
    let r = start(&body(false), conds(&[("x", false), ("y", false)]));
    assert_eq!(r.jobs(), ["c"]);
}

#[test]
fn a_condition_that_does_not_evaluate_fails_the_gateway_with_the_flow_named() {
    let body = format!(
        r#"<startEvent id="s"/><exclusiveGateway id="g" default="fb"/>{}{}{}{}{}"#,
        job("a"),
        job("b"),
        flow("f0", "s", "g"),
        cflow("fa", "g", "a", "nope"),
        flow("fb", "g", "b")
    );
    let r = start(&body, conds(&[]));
    assert_eq!(r.state.status, InstanceStatus::Failed);
    let g = r.state.of(&r.ex, "g").next().unwrap();
    assert_eq!(g.state, NodeState::Failed);
    assert!(
        g.error.as_deref().unwrap().contains("flow fa"),
        "{:?}",
        g.error
    );
}

#[test]
fn parallel_split_and_join_wait_for_every_branch() {
    let body = format!(
        r#"<startEvent id="s"/><parallelGateway id="split"/>{}{}<parallelGateway id="join"/>{}<endEvent id="e"/>{}{}{}{}{}{}{}"#,
        job("a"),
        job("b"),
        job("after"),
        flow("f0", "s", "split"),
        flow("fa", "split", "a"),
        flow("fb", "split", "b"),
        flow("ja", "a", "join"),
        flow("jb", "b", "join"),
        flow("fj", "join", "after"),
        flow("fe", "after", "e"),
    );
    let mut r = start(&body, conds(&[]));
    let mut jobs = r.jobs();
    jobs.sort();
    assert_eq!(jobs, ["a", "b"]);
    r.complete("a");
    assert!(r.jobs().is_empty(), "the join waits for b");
    assert!(r.states("join").is_empty());
    r.complete("b");
    assert_eq!(r.jobs(), ["after"]);
    r.complete("after");
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

fn inclusive(x: bool, y: bool) -> Run {
    let body = format!(
        r#"<startEvent id="s"/><inclusiveGateway id="split"/>{}{}{}<inclusiveGateway id="join"/>{}<endEvent id="e"/>{}{}{}{}{}{}{}{}{}"#,
        job("a"),
        job("b"),
        job("a2"),
        job("after"),
        flow("f0", "s", "split"),
        cflow("fa", "split", "a", "x"),
        cflow("fb", "split", "b", "y"),
        flow("fa2", "a", "a2"),
        flow("ja", "a2", "join"),
        flow("jb", "b", "join"),
        flow("fj", "join", "after"),
        flow("fe", "after", "e"),
        "",
    );
    start(&body, conds(&[("x", x), ("y", y)]))
}

#[test]
fn inclusive_join_waits_only_for_branches_that_were_taken() {
    // Only branch a: the join fires when a's branch arrives, without waiting for b.
    let mut r = inclusive(true, false);
    assert_eq!(r.jobs(), ["a"]);
    r.complete("a");
    assert_eq!(r.jobs(), ["a2"]);
    r.complete("a2");
    assert_eq!(
        r.jobs(),
        ["after"],
        "b was skipped: the join does not wait for it"
    );

    // Both branches: b arrives first, the join waits while a's branch is still live.
    let mut r = inclusive(true, true);
    r.complete("b");
    assert!(
        r.jobs().is_empty(),
        "a token upstream on the other branch holds the join"
    );
    assert!(r.states("join").is_empty());
    r.complete("a");
    assert!(r.jobs() == ["a2"]);
    r.complete("a2");
    assert_eq!(r.jobs(), ["after"]);
    assert_eq!(
        r.states("join"),
        [NodeState::Completed],
        "the join fired once"
    );
    r.complete("after");
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

#[test]
fn user_tasks_wait_until_completed() {
    let body = format!(
        r#"<startEvent id="s"/><userTask id="approve"/><endEvent id="e"/>{}{}"#,
        flow("f1", "s", "approve"),
        flow("f2", "approve", "e")
    );
    let mut r = start(&body, conds(&[]));
    assert!(matches!(r.commands[..], [Command::OpenUserTask { .. }]));
    assert_eq!(r.state.status, InstanceStatus::Running);
    let ni = r.ni("approve");
    assert!(
        step(
            &mut r.state,
            &r.ex,
            Event::JobCompleted { ni: 999 },
            &r.cond
        )
        .is_err(),
        "unknown ids change nothing"
    );
    r.send(Event::UserTaskCompleted { ni });
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

#[test]
fn timers_start_and_fire_and_boundary_timers_interrupt_their_host() {
    let body = format!(
        r#"<startEvent id="s"/><intermediateCatchEvent id="wait"><timerEventDefinition><timeDuration>PT5M</timeDuration></timerEventDefinition></intermediateCatchEvent>
        <userTask id="approve"/><boundaryEvent id="late" attachedToRef="approve"><timerEventDefinition><timeDuration>P1D</timeDuration></timerEventDefinition></boundaryEvent>
        {}<endEvent id="e"/><endEvent id="e2"/>{}{}{}{}{}"#,
        job("escalate"),
        flow("f1", "s", "wait"),
        flow("f2", "wait", "approve"),
        flow("f3", "approve", "e"),
        flow("f4", "late", "escalate"),
        flow("f5", "escalate", "e2"),
    );
    let mut r = start(&body, conds(&[]));
    assert!(
        matches!(&r.commands[..], [Command::StartTimer { def: super::core::TimerDefDto::Duration(d), .. }] if d == "PT5M")
    );
    let wait = r.ni("wait");
    r.send(Event::TimerFired { ni: wait });
    assert!(r
        .commands
        .iter()
        .any(|c| matches!(c, Command::OpenUserTask { .. })));
    assert!(r.commands.iter().any(|c| matches!(c, Command::StartTimer { def: super::core::TimerDefDto::Duration(d), .. } if d == "P1D")));
    let late = r.ni("late");
    r.send(Event::TimerFired { ni: late });
    assert_eq!(r.states("approve"), [NodeState::Terminated]);
    assert!(r.commands.contains(&Command::Cancel {
        ni: r.ni("approve")
    }));
    assert_eq!(r.jobs(), ["escalate"]);
    r.complete("escalate");
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

#[test]
fn completing_the_host_cancels_its_boundary_timer() {
    let body = format!(
        r#"<startEvent id="s"/>{}<boundaryEvent id="t" attachedToRef="a"><timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition></boundaryEvent><endEvent id="e"/>{}{}"#,
        job("a"),
        flow("f1", "s", "a"),
        flow("f2", "a", "e"),
    );
    let mut r = start(&body, conds(&[]));
    let t = r.ni("t");
    r.complete("a");
    assert!(r.commands.contains(&Command::Cancel { ni: t }));
    assert_eq!(r.states("t"), [NodeState::Terminated]);
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

#[test]
fn errors_are_caught_by_matching_boundaries_else_the_step_waits_for_an_operator() {
    let body = format!(
        r#"<startEvent id="s"/>{}<boundaryEvent id="onErr" attachedToRef="a"><errorEventDefinition errorRef="E1"/></boundaryEvent>{}<endEvent id="e"/><endEvent id="e2"/>{}{}{}{}"#,
        job("a"),
        job("recover"),
        flow("f1", "s", "a"),
        flow("f2", "a", "e"),
        flow("f3", "onErr", "recover"),
        flow("f4", "recover", "e2"),
    );
    let doc_errors = r#"</process><error id="E1" errorCode="DISK_FULL"/><process id="unused">"#;
    let with_decl = format!("{body}{doc_errors}");
    let mut r = start(&with_decl, conds(&[]));
    let a = r.ni("a");
    r.send(Event::JobFailed {
        ni: a,
        message: "disk full".into(),
        code: Some("DISK_FULL".into()),
    });
    assert_eq!(r.states("a"), [NodeState::Terminated]);
    assert_eq!(r.jobs(), ["recover"]);

    // Another code is not caught: the step fails and waits; retry runs it again.
    let mut r = start(&with_decl, conds(&[]));
    let a = r.ni("a");
    r.send(Event::JobFailed {
        ni: a,
        message: "exit 2".into(),
        code: Some("OTHER".into()),
    });
    assert_eq!(r.state.status, InstanceStatus::Failed);
    assert_eq!(r.states("a"), [NodeState::Failed]);
    assert_eq!(r.state.get(a).unwrap().error.as_deref(), Some("exit 2"));
    r.send(Event::Retry { ni: a });
    assert!(matches!(
        r.commands[..],
        [Command::RunJob { attempt: 2, .. }]
    ));
    assert_eq!(r.state.status, InstanceStatus::Running);
    r.send(Event::JobFailed {
        ni: a,
        message: "exit 2".into(),
        code: None,
    });
    r.send(Event::Skip { ni: a });
    assert_eq!(r.states("a"), [NodeState::Skipped]);
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

#[test]
fn sub_processes_run_their_contents_and_error_ends_inside_reach_the_boundary() {
    let body = format!(
        r#"<startEvent id="s"/><subProcess id="sub"><startEvent id="ss"/>{}<endEvent id="se"/>{}{}</subProcess>{}<endEvent id="e"/>{}{}"#,
        job("inner"),
        flow("i1", "ss", "inner"),
        flow("i2", "inner", "se"),
        job("after"),
        flow("f1", "s", "sub"),
        flow("f2", "sub", "after"),
    );
    let body = format!("{body}{}", flow("f3", "after", "e"));
    let mut r = start(&body, conds(&[]));
    assert_eq!(r.jobs(), ["inner"]);
    r.complete("inner");
    assert_eq!(r.states("sub"), [NodeState::Completed]);
    assert_eq!(r.jobs(), ["after"]);

    let body = format!(
        r#"<startEvent id="s"/><subProcess id="sub"><startEvent id="ss"/><endEvent id="boom"><errorEventDefinition/></endEvent>{}</subProcess>
        <boundaryEvent id="caught" attachedToRef="sub"><errorEventDefinition/></boundaryEvent>{}<endEvent id="e"/>{}{}{}"#,
        flow("i1", "ss", "boom"),
        job("handle"),
        flow("f1", "s", "sub"),
        flow("f2", "caught", "handle"),
        flow("f3", "handle", "e"),
    );
    let r = start(&body, conds(&[]));
    assert_eq!(r.states("sub"), [NodeState::Terminated]);
    assert_eq!(r.jobs(), ["handle"]);
}

#[test]
fn terminate_end_and_the_terminate_control_stop_everything() {
    let body = format!(
        r#"<startEvent id="s"/><parallelGateway id="split"/>{}<endEvent id="stop"><terminateEventDefinition/></endEvent><userTask id="slow"/><endEvent id="e"/>{}{}{}{}{}"#,
        job("fast"),
        flow("f0", "s", "split"),
        flow("f1", "split", "fast"),
        flow("f2", "split", "slow"),
        flow("f3", "fast", "stop"),
        flow("f4", "slow", "e"),
    );
    let mut r = start(&body, conds(&[]));
    let slow = r.ni("slow");
    r.complete("fast");
    assert_eq!(r.states("slow"), [NodeState::Terminated]);
    assert!(r.commands.contains(&Command::Cancel { ni: slow }));
    assert_eq!(r.state.status, InstanceStatus::Completed);

    let mut r = start(&body, conds(&[]));
    r.send(Event::Terminate);
    assert_eq!(r.state.status, InstanceStatus::Terminated);
    assert!(
        step(&mut r.state, &r.ex, Event::Resume, &r.cond).is_err(),
        "an ended instance takes no events"
    );
}

#[test]
fn pause_holds_new_work_until_resume() {
    let body = chain_a_b();
    let mut r = start(&body, conds(&[]));
    r.send(Event::Pause);
    assert_eq!(r.state.status, InstanceStatus::Paused);
    r.complete("a");
    assert!(r.jobs().is_empty(), "b is not started while paused");
    r.send(Event::Resume);
    assert_eq!(r.jobs(), ["b"]);
}

#[test]
fn the_state_serialises_for_the_store() {
    let body = format!(
        r#"<startEvent id="s"/>{}<endEvent id="e"/>{}{}"#,
        job("a"),
        flow("f1", "s", "a"),
        flow("f2", "a", "e")
    );
    let r = start(&body, conds(&[]));
    let json = serde_json::to_string(&r.state).unwrap();
    let back: InstanceState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r.state);
}

#[test]
fn call_activities_start_a_child_and_continue_when_it_ends() {
    let body = format!(
        r#"<startEvent id="s"/><callActivity id="call" calledElement="child"/>{}<endEvent id="e"/>{}{}{}"#,
        job("after"),
        flow("f1", "s", "call"),
        flow("f2", "call", "after"),
        flow("f3", "after", "e"),
    );
    let mut r = start(&body, conds(&[]));
    assert!(matches!(&r.commands[..], [Command::StartChild { called, .. }] if called == "child"));
    let ni = r.ni("call");
    r.send(Event::ChildEnded {
        ni,
        ok: true,
        message: String::new(),
    });
    assert_eq!(r.jobs(), ["after"]);

    let mut r = start(&body, conds(&[]));
    let ni = r.ni("call");
    r.send(Event::ChildEnded {
        ni,
        ok: false,
        message: "child failed".into(),
    });
    assert_eq!(r.state.status, InstanceStatus::Failed);
    assert_eq!(
        r.state.get(ni).unwrap().error.as_deref(),
        Some("child failed")
    );
}

fn multi_flow(sequential: bool, over: &str) -> String {
    format!(
        r#"<startEvent id="s"/><serviceTask id="each" lwams:kind="localCommand" lwams:command="true">
        <multiInstanceLoopCharacteristics isSequential="{sequential}" lwams:collection="{over}"/></serviceTask>{}<endEvent id="e"/>{}{}{}"#,
        job("after"),
        flow("f1", "s", "each"),
        flow("f2", "each", "after"),
        flow("f3", "after", "e"),
    )
}

#[test]
fn parallel_multi_instance_runs_every_element_at_once_and_continues_after_all() {
    let mut r = start(&multi_flow(false, "3"), conds(&[]));
    assert_eq!(r.jobs(), ["each", "each", "each"]);
    let runs: Vec<_> = r
        .state
        .of(&r.ex, "each")
        .filter(|n| n.index.is_some())
        .map(|n| n.id)
        .collect();
    assert_eq!(runs.len(), 3);
    r.send(Event::JobCompleted { ni: runs[1] });
    r.send(Event::JobCompleted { ni: runs[0] });
    assert!(r.jobs().is_empty());
    r.send(Event::JobCompleted { ni: runs[2] });
    assert_eq!(r.jobs(), ["after"]);
}

#[test]
fn sequential_multi_instance_runs_one_after_the_other_and_a_failed_run_can_be_retried() {
    let mut r = start(&multi_flow(true, "2"), conds(&[]));
    assert_eq!(r.jobs(), ["each"]);
    let first = r
        .state
        .of(&r.ex, "each")
        .find(|n| n.index == Some(0))
        .unwrap()
        .id;
    r.send(Event::JobFailed {
        ni: first,
        message: "boom".into(),
        code: None,
    });
    assert_eq!(r.state.status, InstanceStatus::Failed);
    r.send(Event::Retry { ni: first });
    r.send(Event::JobCompleted { ni: first });
    assert_eq!(r.jobs(), ["each"], "the second run starts");
    let second = r
        .state
        .of(&r.ex, "each")
        .find(|n| n.index == Some(1))
        .unwrap()
        .id;
    r.send(Event::JobCompleted { ni: second });
    assert_eq!(r.jobs(), ["after"]);
    // An empty list completes the activity at once; a bad list fails it with a reason.
    let r = start(&multi_flow(false, "0"), conds(&[]));
    assert_eq!(r.jobs(), ["after"]);
    let r = start(&multi_flow(false, "hosts"), conds(&[]));
    assert_eq!(r.state.status, InstanceStatus::Failed);
    assert!(r
        .state
        .of(&r.ex, "each")
        .next()
        .unwrap()
        .error
        .as_deref()
        .unwrap()
        .contains("hosts"));
}

/// Conditions with a cap on multi-instance runs.
struct Capped(usize);

impl Conditions for Capped {
    fn eval(&self, e: &str) -> Result<bool, String> {
        Err(format!("no conditions here: {e}"))
    }

    fn count(&self, over: &str) -> Result<usize, String> {
        over.parse().map_err(|_| format!("unknown list {over}"))
    }

    fn multi_instance_max(&self) -> usize {
        self.0
    }
}

#[test]
fn a_multi_instance_over_more_elements_than_allowed_fails_naming_the_node_before_any_run() {
    let doc = Document::parse(&format!(
        "{HEAD}{}</process></definitions>",
        multi_flow(false, "10001")
    ))
    .expect("parses");
    let ex = compile(&doc.model.processes[0], &doc.model.errors).expect("compiles");
    let mut state = InstanceState::default();
    let commands = step(&mut state, &ex, Event::Start, &Capped(10_000)).expect("starts");
    assert!(
        !commands.iter().any(|c| matches!(c, Command::RunJob { .. })),
        "no run was queued: {commands:?}"
    );
    assert_eq!(state.status, InstanceStatus::Failed);
    assert!(state.nodes.len() < 10, "no run was created");
    let error = state
        .nodes
        .iter()
        .find_map(|n| n.error.clone())
        .expect("the activity failed");
    assert!(
        error.starts_with("each:")
            && error.contains("10001 runs")
            && error.contains("10000 allowed"),
        "{error}"
    );
    assert!(error.contains("LWAMS_MULTI_INSTANCE_MAX"), "{error}");
    // At the cap it runs.
    let mut state = InstanceState::default();
    step(&mut state, &ex, Event::Start, &Capped(10_001)).expect("starts");
    assert_eq!(state.status, InstanceStatus::Running);
}

#[test]
fn a_step_kind_without_an_executor_does_not_compile_and_names_the_node() {
    let xml = format!(
        r#"{HEAD}<startEvent id="s"/><serviceTask id="mail" lwams:kind="email" lwams:to="x"/><userTask id="u" lwams:kind="report"/><sequenceFlow id="a" sourceRef="s" targetRef="mail"/><sequenceFlow id="b" sourceRef="mail" targetRef="u"/></process></definitions>"#
    );
    let doc = Document::parse(&xml).expect("parses");
    let e = compile(&doc.model.processes[0], &doc.model.errors).expect_err("refused");
    let text = e.to_string();
    assert!(text.starts_with("mail: e-mail steps"), "{text}");
    // A user task is a user task whatever kind it names; a known kind is a typed job.
    let ok = xml.replace(r#"lwams:kind="email""#, r#"lwams:kind="noop""#);
    let doc = Document::parse(&ok).expect("parses");
    let ex = compile(&doc.model.processes[0], &doc.model.errors).expect("compiles");
    assert_eq!(
        ex.nodes[ex.index["mail"]].behaviour,
        super::compile::Behaviour::Job {
            kind: shared::bpmn::lwams::StepKind::Noop
        }
    );
    assert_eq!(
        ex.nodes[ex.index["u"]].behaviour,
        super::compile::Behaviour::UserTask
    );
}
