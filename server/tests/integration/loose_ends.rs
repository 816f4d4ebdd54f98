//! Loose ends of issue 17: the Sub Manager's command line, call activities honouring
//! the version they name, how an instance was started (API or browser), and terminals
//! that no longer offer rexec.

#[allow(dead_code, unused_imports)]
use crate::support as common;

use std::process::Command;

fn sub_manager() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sub-manager"))
}

#[test]
fn sub_manager_help_prints_usage_and_exits_zero() {
    let out = sub_manager().arg("--help").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--config") && text.contains("--version"),
        "{text}"
    );
}

#[test]
fn sub_manager_version_prints_the_version_and_exits_zero() {
    let out = sub_manager().arg("--version").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        format!("sub-manager {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn sub_manager_refuses_an_unknown_argument_naming_it() {
    let out = sub_manager().arg("--conf").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unknown argument \"--conf\""), "{text}");
}

mod called_version {
    use super::common;
    use lwams_server::engine::builtins::Initiator;
    use lwams_server::engine::core::InstanceStatus;
    use lwams_server::engine::runner::{run_file, Outcome};
    use lwams_server::store::Store;
    use serde_json::Map;

    const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0""#;

    /// The called flow `child`, whose one step says which version it is.
    fn child(says: &str) -> String {
        format!(
            r#"<bpmn:definitions {NS}><bpmn:process id="child" isExecutable="true">
    <bpmn:startEvent id="cs"/>
    <bpmn:serviceTask id="work" lwams:kind="localCommand" lwams:command="echo {says}" lwams:resultVariable="said"/>
    <bpmn:endEvent id="ce"/>
    <bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="work"/>
    <bpmn:sequenceFlow id="c2" sourceRef="work" targetRef="ce"/>
  </bpmn:process></bpmn:definitions>"#
        )
    }

    /// A flow calling `child` with `lwams:version` (absent when `None`).
    fn caller(version: Option<&str>) -> String {
        let v = version
            .map(|v| format!(r#" lwams:version="{v}""#))
            .unwrap_or_default();
        format!(
            r#"<bpmn:definitions {NS}><bpmn:process id="main" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:callActivity id="call" calledElement="child"{v} lwams:out="said"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
  </bpmn:process></bpmn:definitions>"#
        )
    }

    /// A store with two deployed versions of `child`: 1 says "first", 2 says "second".
    async fn two_versions() -> (common::TestDb, Store, i64) {
        let (db, store, co) = common::sqlite_store_with_company().await;
        for says in ["first", "second"] {
            let out = common::run_quiet(&store, co, &child(says)).await;
            assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.failures);
        }
        (db, store, co)
    }

    fn said(out: &Outcome) -> String {
        assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.failures);
        out.variables["said"]["stdout"]
            .as_str()
            .or(out.variables["said"].as_str())
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    #[tokio::test]
    async fn a_call_activity_pinned_to_version_1_runs_version_1_though_2_is_deployed() {
        let (_db, store, co) = two_versions().await;
        let out = common::run_quiet(&store, co, &caller(Some("1"))).await;
        assert_eq!(said(&out), "first", "{:?}", out.variables);
        assert_eq!(out.variables["call"]["process"]["version"], 1);
    }

    #[tokio::test]
    async fn a_call_activity_naming_latest_or_no_version_runs_the_newest() {
        let (_db, store, co) = two_versions().await;
        for v in [Some("latest"), None] {
            let out = common::run_quiet(&store, co, &caller(v)).await;
            assert_eq!(said(&out), "second", "{v:?}: {:?}", out.variables);
        }
    }

    #[tokio::test]
    async fn a_call_activity_pinned_to_a_version_never_deployed_fails_naming_it() {
        let (_db, store, co) = two_versions().await;
        let out = common::run_quiet(&store, co, &caller(Some("7"))).await;
        assert_eq!(out.status, InstanceStatus::Failed);
        assert!(
            out.failures[0]
                .1
                .contains("no version 7 of flow \"child\" is deployed"),
            "{:?}",
            out.failures
        );
    }

    #[tokio::test]
    async fn a_version_that_is_neither_latest_nor_a_number_is_refused_at_deploy() {
        let (_db, store, co) = two_versions().await;
        let e = run_file(
            &store,
            co,
            &caller(Some("v2")),
            Map::new(),
            &Initiator::default(),
            &mut |_| {},
        )
        .await
        .err()
        .expect("deploy refuses lwams:version=\"v2\"");
        assert!(e.to_string().contains("lwams:version \"v2\""), "{e}");
    }
}

mod rexec {
    use super::common;
    use axum::http::StatusCode;
    use lwams_server::store::{companies, terminals};
    use serde_json::json;
    use shared::dto::host::ConnectionType;

    #[tokio::test]
    async fn rexec_is_refused_for_new_and_saved_terminals_and_an_old_one_still_reads() {
        let t = common::sqlite_app().await;
        let admin = t.admin().await;
        let r = t
            .post("/api/v1/hosts", &admin, &json!({ "name": "edge" }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let hid = r.body["id"].as_i64().unwrap();
        let terminal = |kind: &str| json!({ "host_id": hid, "host_name": "old-unix", "host_address": "10.0.0.9", "connection_type": kind });

        let r = t
            .post("/api/v1/terminals", &admin, &terminal("rexec"))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["field"], "connection_type");
        let message = r.body["message"].as_str().unwrap();
        assert!(
            message.contains("rexec is no longer offered") && message.contains("in clear"),
            "{message}"
        );

        // A terminal an older version stored with rexec.
        let mut c = t.state.store.conn().await.unwrap();
        let co = companies::by_code(&mut c, "default")
            .await
            .unwrap()
            .unwrap()
            .id;
        let tid = terminals::insert_terminal(
            &mut c,
            co,
            &terminals::TerminalFields {
                host_id: hid,
                host_name: "old-unix",
                host_address: "10.0.0.9",
                port: 512,
                connection_type: ConnectionType::Rexec,
                os_name: "",
                os_version: "",
                comments: "",
                allow_basic_http: false,
            },
        )
        .await
        .unwrap();
        drop(c);
        let detail = t.get(&format!("/api/v1/hosts/{hid}"), &admin).await;
        assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
        assert_eq!(detail.body["terminals"][0]["connection_type"], "rexec");

        // Its steps and tests fail clearly, sending nothing.
        let u = t
            .post(
                &format!("/api/v1/terminals/{tid}/users"),
                &admin,
                &json!({ "username": "ops", "auth": "password", "secret": "hunter22" }),
            )
            .await;
        assert_eq!(u.status, StatusCode::CREATED, "{}", u.body);
        let uid = u.body["id"].as_i64().unwrap();
        let test = t
            .post(
                &format!("/api/v1/terminals/{tid}/users/{uid}/test"),
                &admin,
                &json!({}),
            )
            .await;
        assert_eq!(test.status, StatusCode::OK, "{}", test.body);
        assert_eq!(test.body["ok"], false);
        assert!(
            test.body["message"]
                .as_str()
                .unwrap()
                .contains("rexec connections are no longer offered"),
            "{}",
            test.body
        );

        // Saving it again needs SSH or WinRM.
        let path = format!("/api/v1/terminals/{tid}");
        let r = t.put(&path, &admin, &terminal("rexec")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let r = t.put(&path, &admin, &terminal("ssh")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["connection_type"], "ssh");
    }
}

mod monitor_list {
    use super::common;
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn starts_through_the_api_say_api_the_apps_button_says_manual_and_name_their_creator() {
        let t = common::sqlite_app().await;
        let admin = t.admin().await;
        let xml = common::bpmn(
            "noop-flow",
            r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>"#,
        );
        let r = t
            .post("/api/v1/flows", &admin, &json!({ "xml": xml }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

        let api = t
            .post("/api/v1/instances", &admin, &json!({ "key": "noop-flow" }))
            .await;
        assert_eq!(api.status, StatusCode::CREATED, "{}", api.body);
        assert_eq!(api.body["start_way"], "api");
        let button = t
            .post(
                "/api/v1/instances",
                &admin,
                &json!({ "key": "noop-flow", "manual": true }),
            )
            .await;
        assert_eq!(button.status, StatusCode::CREATED, "{}", button.body);
        assert_eq!(button.body["start_way"], "manual");

        let me = t.get("/api/v1/auth/me", &admin).await;
        let name = me.body["display_name"].clone();
        assert!(name.is_string(), "{}", me.body);
        let list = t.get("/api/v1/instances", &admin).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let items = list.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        for i in items {
            assert_eq!(i["created_by_name"], name, "{i}");
            assert!(i.get("ended_at").is_some(), "{i}");
        }
        let ways: Vec<&str> = items
            .iter()
            .map(|i| i["start_way"].as_str().unwrap())
            .collect();
        assert_eq!(ways, ["manual", "api"], "newest first");
    }
}
