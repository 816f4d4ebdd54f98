//! Flows run end to end on this host: deploy, start, local commands, conditions on
//! their results, failures named, and everything saved in the store (SQLite and
//! PostgreSQL). Also `lwams flow run` as an operator calls it.

use crate::support;

use lwams_server::engine::builtins::Initiator;
use lwams_server::engine::core::InstanceStatus;
use lwams_server::engine::runner::run_file;
use lwams_server::store::{companies, flows, Store};
use serde_json::{json, Map, Value};
use std::process::Command;

const EXAMPLE: &str = include_str!("../../../docs/examples/system-info.bpmn");

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_example_flow_runs_and_is_recorded_on_both_backends() {
    for db in support::both_backends().await {
        let store = Store::open(&db.url).await.unwrap();
        let mut c = store.conn().await.unwrap();
        let co = companies::insert(&mut c, "c", "C").await.unwrap();
        drop(c);
        let mut lines = Vec::new();
        let out = run_file(
            &store,
            co,
            EXAMPLE,
            vars(json!({"greeting": "hi; touch /tmp/lwams-pwned"})),
            &Initiator::default(),
            &mut |l| lines.push(l.to_string()),
        )
        .await
        .unwrap();
        assert_eq!(out.status, InstanceStatus::Completed, "{lines:?}");
        assert!(
            !std::path::Path::new("/tmp/lwams-pwned").exists(),
            "variables are quoted into commands"
        );
        assert_eq!(out.variables["collect"]["result"]["exitCode"], 0);
        assert_eq!(
            out.variables["LWAMS_PROCESS_START_WAY"], "api",
            "built-in variables are set"
        );
        assert_eq!(
            out.variables["collect"]["createDate"]
                .as_str()
                .unwrap()
                .len(),
            10
        );
        assert!(out.variables["info"]
            .as_str()
            .unwrap()
            .contains("hi; touch /tmp/lwams-pwned"));
        let mut c = store.conn().await.unwrap();
        let runs = flows::runs_of(&mut c, out.instance_id).await.unwrap();
        let ids: Vec<_> = runs
            .iter()
            .map(|r| (r.node_id.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(ids, [("collect", "completed"), ("list", "completed")]);
        let row = flows::get_instance(&mut c, co, out.instance_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "completed");
        assert!(
            flows::get_instance(&mut c, co + 1, out.instance_id)
                .await
                .unwrap()
                .is_none(),
            "scoped by company"
        );
    }
}

#[tokio::test]
async fn a_failing_step_fails_the_instance_with_its_error_recorded() {
    let (_db, store, co) = support::sqlite_store_with_company().await;
    let flow = EXAMPLE.replace(
        "uname -s; echo ${greeting}",
        "echo broken &gt;&amp;2; exit 7",
    );
    let out = support::run_quiet(&store, co, &flow).await;
    assert_eq!(out.status, InstanceStatus::Failed);
    assert_eq!(
        out.failures,
        vec![(
            "collect".to_string(),
            "exit code Some(7): broken".to_string()
        )]
    );
    let mut c = store.conn().await.unwrap();
    let runs = flows::runs_of(&mut c, out.instance_id).await.unwrap();
    assert_eq!(runs[0].status, "failed");
    assert_eq!(runs[0].error.as_deref(), Some("exit code Some(7): broken"));
}

#[tokio::test]
async fn invalid_flows_are_refused_before_anything_runs() {
    let (_db, store, co) = support::sqlite_store_with_company().await;
    let flow = EXAMPLE.replace(r#"lwams:command="ls -d /tmp""#, "");
    let e = run_file(
        &store,
        co,
        &flow,
        Map::new(),
        &Initiator::default(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("list: local command step: command or script is required"),
        "{e}"
    );
}

#[test]
fn lwams_flow_run_prints_each_step_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let lwams = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lwams"))
            .env("LWAMS_DATA_DIR", dir.path())
            .env_remove("DATABASE_URL")
            .args(args)
            .output()
            .unwrap()
    };
    let out = lwams(&[
        "admin",
        "create-user",
        "--login",
        "ops",
        "--password",
        "ops-password-1",
        "--admin",
    ]);
    assert!(out.status.success());
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/examples/system-info.bpmn"
    );
    let out = lwams(&["flow", "run", example, "--var", "greeting=hello"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("ok       collect") && text.contains("completed"),
        "{text}"
    );
    let out = lwams(&["flow", "run", example]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown variable ${greeting}"));
    let out = lwams(&["flow", "run", example, "--var", "bad name=1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--var"));
}

const CALLING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0">
  <bpmn:process id="main" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:callActivity id="call" calledElement="CALLED" lwams:out="childvar"/>
    <bpmn:serviceTask id="use" lwams:kind="localCommand" lwams:command="echo got ${childvar}" lwams:resultVariable="final"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="use"/>
    <bpmn:sequenceFlow id="f3" sourceRef="use" targetRef="e"/>
  </bpmn:process>
  INNER
</bpmn:definitions>"#;

const CHILD: &str = r#"<bpmn:process id="child" isExecutable="false">
    <bpmn:startEvent id="cs"/>
    <bpmn:serviceTask id="work" lwams:kind="localCommand" lwams:command="echo from-child-${input}" lwams:resultVariable="childvar"/>
    <bpmn:endEvent id="ce"/>
    <bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="work"/>
    <bpmn:sequenceFlow id="c2" sourceRef="work" targetRef="ce"/>
  </bpmn:process>"#;

#[tokio::test]
async fn a_call_activity_runs_the_child_with_the_callers_variables_and_returns_its_own() {
    let (_db, store, co) = support::sqlite_store_with_company().await;
    let xml = CALLING.replace("CALLED", "child").replace("INNER", CHILD);
    let mut lines = Vec::new();
    let out = run_file(
        &store,
        co,
        &xml,
        vars(json!({"input": "x"})),
        &Initiator::default(),
        &mut |l| lines.push(l.to_string()),
    )
    .await
    .unwrap();
    assert_eq!(out.status, InstanceStatus::Completed, "{lines:#?}");
    assert_eq!(out.variables["call"]["result"]["childvar"], "from-child-x");
    assert_eq!(
        out.variables["final"], "got from-child-x",
        "lwams:out copied the child's variable"
    );
    assert!(lines.iter().any(|l| l.contains("flow child")), "{lines:#?}");
}

#[tokio::test]
async fn a_call_activity_finds_deployed_flows_by_key_and_fails_clearly_when_missing() {
    let (_db, store, co) = support::sqlite_store_with_company().await;
    // Deploy the child on its own first (it runs once, which is fine).
    let child_file = format!(
        r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0">{}</bpmn:definitions>"#,
        CHILD.replace(r#"isExecutable="false""#, r#"isExecutable="true""#)
    );
    run_file(
        &store,
        co,
        &child_file,
        vars(json!({"input": "first"})),
        &Initiator::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let xml = CALLING.replace("CALLED", "child").replace("INNER", "");
    let out = run_file(
        &store,
        co,
        &xml,
        vars(json!({"input": "y"})),
        &Initiator::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.variables["final"], "got from-child-y");

    let xml = CALLING.replace("CALLED", "nowhere").replace("INNER", "");
    let out = support::run_quiet(&store, co, &xml).await;
    assert_eq!(out.status, InstanceStatus::Failed);
    assert!(
        out.failures[0]
            .1
            .contains("no deployed flow with key \"nowhere\""),
        "{:?}",
        out.failures
    );
}

#[tokio::test]
async fn multi_instance_steps_run_once_per_element_and_keep_every_result() {
    let (_db, store, co) = support::sqlite_store_with_company().await;
    let xml = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0">
      <bpmn:process id="each-host" isExecutable="true">
        <bpmn:startEvent id="s"/>
        <bpmn:serviceTask id="ping" lwams:kind="localCommand" lwams:command="echo ${loopCounter}:${host}">
          <bpmn:multiInstanceLoopCharacteristics lwams:collection="hosts" isSequential="true"/>
        </bpmn:serviceTask>
        <bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ping"/>
        <bpmn:sequenceFlow id="f2" sourceRef="ping" targetRef="e"/>
      </bpmn:process></bpmn:definitions>"#
        .replace("lwams:command=", "lwams:elementVariable=\"host\" lwams:command=");
    let out = run_file(
        &store,
        co,
        &xml,
        vars(json!({"hosts": ["node1", "node2", "node3"]})),
        &Initiator::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.failures);
    let results = out.variables["ping"]["results"].as_array().unwrap();
    let lines: Vec<_> = results
        .iter()
        .map(|r| r["stdout"].as_str().unwrap().trim().to_string())
        .collect();
    assert_eq!(lines, ["0:node1", "1:node2", "2:node3"]);
    let mut c = store.conn().await.unwrap();
    assert_eq!(
        flows::runs_of(&mut c, out.instance_id).await.unwrap().len(),
        3,
        "one recorded run per element"
    );
}
