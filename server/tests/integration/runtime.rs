//! The durable runtime through the API, on SQLite and PostgreSQL: start, user tasks,
//! every control (recorded with who and when), automatic retries with back-off,
//! timers (duration, date, timer start cycles), cancelling a running step, the live
//! hub, and kill -9 of a real server process with the idempotent/"interrupted" rule.

use crate::support;

use axum::http::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::served::{served_on, Served};
use support::{attr, bpmn, chain, node, wait_for, ws};

fn cmd(i: usize, command: &str, extra: &str) -> String {
    format!(
        r#"<bpmn:serviceTask id="n{i}" lwams:kind="localCommand" lwams:command="{}" {extra}/>"#,
        attr(command)
    )
}

fn user_task(i: usize) -> String {
    format!(r#"<bpmn:userTask id="n{i}" name="approve"/>"#)
}

/// The app over `db` with its engine working.
async fn engine(db: support::TestDb) -> Served {
    served_on(db, |_| {}).await
}

#[tokio::test]
async fn user_tasks_and_every_control_work_and_are_recorded_with_who_and_when() {
    for db in support::both_backends().await {
        let e = engine(db).await;
        e.deploy(&chain(
            "approve-then-run",
            &[user_task(0), cmd(1, "test -f ready", "")],
        ))
        .await;
        let id = e.start("approve-then-run", json!({})).await;
        // The step runs on the server, in its instance's directory.
        let marker = e.work_dir(id).await.join("ready");
        let d = e
            .wait_instance(id, "the user task", 10, |d| {
                d.nodes
                    .iter()
                    .any(|n| n.node_id == "n0" && n.state == "active")
            })
            .await;
        let task = node(&d, "n0").ni;
        assert_eq!(
            d.instance.start_way, "api",
            "a start through the API, not the app's button"
        );
        // Completing needs the node instance; a wrong one is refused and changes nothing.
        assert_eq!(
            e.control(id, "complete", None).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            e.control(id, "complete", Some(999)).await.status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            e.control(id, "complete", Some(task)).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            e.control(id, "complete", Some(task)).await.status,
            StatusCode::CONFLICT
        );
        // The step fails (no marker yet): the instance waits for an operator.
        let d = e.wait_status(id, "failed").await;
        let step = node(&d, "n1");
        assert_eq!(step.state, "failed");
        assert!(
            step.error.as_deref().unwrap_or("").contains("exit code"),
            "{step:?}"
        );
        std::fs::write(&marker, "").unwrap();
        assert_eq!(
            e.control(id, "retry", Some(step.ni)).await.status,
            StatusCode::NO_CONTENT
        );
        let d = e.wait_status(id, "completed").await;
        assert!(d.instance.ended_at.is_some());
        let runs: Vec<_> = d
            .runs
            .iter()
            .filter(|r| r.node_id == "n1")
            .map(|r| (r.attempt, r.status.as_str()))
            .collect();
        assert_eq!(runs, [(1, "failed"), (2, "completed")]);
        let actions: Vec<_> = d
            .actions
            .iter()
            .map(|a| {
                (
                    a.action.as_str(),
                    a.node_id.as_deref(),
                    a.user_name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            actions,
            [
                ("start", None, "Administrator"),
                ("complete", Some("n0"), "Administrator"),
                ("retry", Some("n1"), "Administrator"),
            ]
        );
        assert!(d.actions.iter().all(|a| a.user_id.is_some() && a.at > 0));
        // Ended: every control is refused.
        assert_eq!(
            e.control(id, "pause", None).await.status,
            StatusCode::CONFLICT
        );

        // Pause holds new steps back; resume lets them run; skip goes past a failure;
        // terminate stops the rest.
        std::fs::remove_file(&marker).unwrap();
        let id = e.start("approve-then-run", json!({})).await;
        let d = e
            .wait_instance(id, "the user task", 10, |d| {
                d.nodes.iter().any(|n| n.node_id == "n0")
            })
            .await;
        let task = node(&d, "n0").ni;
        assert_eq!(
            e.control(id, "pause", None).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            e.control(id, "pause", None).await.status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            e.control(id, "complete", Some(task)).await.status,
            StatusCode::NO_CONTENT
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let d = e.instance(id).await;
        assert_eq!(d.instance.status, "paused");
        assert!(d.runs.is_empty(), "no step runs while paused: {:?}", d.runs);
        assert_eq!(
            e.control(id, "resume", None).await.status,
            StatusCode::NO_CONTENT
        );
        let d = e.wait_status(id, "failed").await;
        assert_eq!(
            e.control(id, "skip", Some(node(&d, "n1").ni)).await.status,
            StatusCode::NO_CONTENT
        );
        let d = e.wait_status(id, "completed").await;
        assert_eq!(node(&d, "n1").state, "skipped");

        let id = e.start("approve-then-run", json!({})).await;
        e.wait_instance(id, "the user task", 10, |d| {
            d.nodes.iter().any(|n| n.node_id == "n0")
        })
        .await;
        assert_eq!(
            e.control(id, "terminate", None).await.status,
            StatusCode::NO_CONTENT
        );
        let d = e.wait_status(id, "terminated").await;
        assert_eq!(node(&d, "n0").state, "terminated");
        assert_eq!(d.actions.last().unwrap().action, "terminate");
    }
}

#[tokio::test]
async fn a_failing_step_is_retried_automatically_with_back_off_then_succeeds() {
    let e = engine(support::sqlite_db().await).await;
    // Fails on its first two runs, succeeds on the third (its directory is the
    // instance's, kept across retries).
    let command = "echo x >> count; test $(wc -l < count) -ge 3";
    e.deploy(&chain(
        "flaky",
        &[cmd(
            0,
            command,
            r#"lwams:retries="3" lwams:retryDelay="0.2""#,
        )],
    ))
    .await;
    let started = Instant::now();
    let id = e.start("flaky", json!({})).await;
    let d = e.wait_status(id, "completed").await;
    // Back-off: 0.2 s then 0.4 s.
    assert!(started.elapsed() >= Duration::from_millis(600));
    let runs: Vec<_> = d
        .runs
        .iter()
        .map(|r| (r.attempt, r.status.as_str()))
        .collect();
    assert_eq!(runs, [(1, "failed"), (2, "failed"), (3, "completed")]);
}

#[tokio::test]
async fn timers_wait_their_duration_and_fire_past_dates_at_once() {
    let e = engine(support::sqlite_db().await).await;
    e.deploy(&chain(
        "waits",
        &[
            r#"<bpmn:intermediateCatchEvent id="n0"><bpmn:timerEventDefinition><bpmn:timeDuration>PT0.5S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#.into(),
            r#"<bpmn:intermediateCatchEvent id="n1"><bpmn:timerEventDefinition><bpmn:timeDate>2020-01-01T00:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#.into(),
        ],
    ))
    .await;
    let started = Instant::now();
    let id = e.start("waits", json!({})).await;
    let d = e
        .wait_instance(id, "the duration timer", 10, |d| {
            d.nodes.iter().any(|n| n.node_id == "n0")
        })
        .await;
    assert_eq!(node(&d, "n0").state, "active");
    e.wait_status(id, "completed").await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_timer_start_event_starts_instances_on_its_cycle_and_a_new_version_replaces_it() {
    let e = engine(support::sqlite_db().await).await;
    let timed = |cycle: &str| {
        bpmn(
            "ticker",
            &format!(
                r#"<bpmn:startEvent id="start"><bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
                <bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/>"#
            ),
        )
    };
    e.deploy(&timed("R2/PT0.3S")).await;
    async fn list(e: &Served) -> Vec<Value> {
        e.t.get("/api/v1/instances?q=ticker", &e.admin).await.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
    let items = wait_for("two timer starts", 10, async || {
        let items = list(&e).await;
        (items.len() >= 2).then_some(items)
    })
    .await;
    assert!(
        items
            .iter()
            .all(|i| i["start_way"] == "timer" && i["status"] == "completed"),
        "{items:?}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(list(&e).await.len(), 2, "R2: two starts, then none");
    // An endless cycle runs until a new version without a timer replaces it.
    e.deploy(&timed("R/PT0.2S")).await;
    wait_for("the endless cycle starts", 10, async || {
        (list(&e).await.len() >= 3).then_some(())
    })
    .await;
    e.deploy(&chain("ticker", &[])).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n = list(&e).await.len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(list(&e).await.len(), n, "the new version has no schedule");
    // A bad cycle is refused at deploy with the element named.
    let r =
        e.t.post(
            "/api/v1/flows",
            &e.admin,
            &json!({ "xml": timed("every day") }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["message"].as_str().unwrap().contains("start"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn terminating_stops_a_running_step_and_its_processes() {
    let e = engine(support::sqlite_db().await).await;
    e.deploy(&chain("slow", &[cmd(0, "sleep 3 && touch late", "")]))
        .await;
    let id = e.start("slow", json!({})).await;
    let late = e.work_dir(id).await.join("late");
    e.wait_instance(id, "the step to run", 10, |d| {
        d.runs.iter().any(|r| r.status == "running")
    })
    .await;
    assert_eq!(
        e.control(id, "terminate", None).await.status,
        StatusCode::NO_CONTENT
    );
    let d = e
        .wait_instance(id, "the run to be cancelled", 10, |d| {
            d.runs.iter().all(|r| r.status == "cancelled")
        })
        .await;
    assert_eq!(d.instance.status, "terminated");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!late.exists(), "the step's process was killed");
}

#[tokio::test]
async fn a_node_change_reaches_a_signed_in_websocket_client() {
    use futures_util::StreamExt;
    let e = engine(support::sqlite_db().await).await;
    e.deploy(&chain("live", &[user_task(0)])).await;
    // Without a session: refused.
    assert!(
        tokio_tungstenite::connect_async(ws::feed_request(e.port, None))
            .await
            .is_err()
    );
    let mut ws = ws::feed(e.port, &e.admin).await;
    let id = e.start("live", json!({})).await;
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("an update within 5 s")
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert_eq!(v["type"], "update");
    assert_eq!(v["instance_id"], id);
    assert!(
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["node_id"] == "n0" && n["state"] == "active"),
        "{v}"
    );

    // A running step's output arrives as it is printed, before the step ends.
    e.deploy(&chain(
        "talk",
        &[cmd(0, "echo first-line; sleep 3; echo last-line", "")],
    ))
    .await;
    let id = e.start("talk", json!({})).await;
    let t = Instant::now();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("output within 5 s")
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        if v["type"] == "output" && v["instance_id"] == id {
            assert_eq!(v["stream"], "stdout");
            assert_eq!(v["text"], "first-line\n");
            assert!(
                t.elapsed() < Duration::from_secs(3),
                "before the step ended"
            );
            break;
        }
    }
}

mod kill9 {
    //! A real `lwams serve` killed with SIGKILL mid-step and started again.
    use super::*;
    use std::process::{Child, Stdio};

    fn serve(data: &std::path::Path, port: u16) -> Child {
        support::lwams()
            .env("LWAMS_DATA_DIR", data)
            .env("LWAMS_LISTEN", format!("127.0.0.1:{port}"))
            .env("LWAMS_ENGINE_NODE", "kill9-test")
            .env("LWAMS_ADMIN_PASSWORD", support::ADMIN_PASSWORD)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    #[tokio::test]
    async fn after_kill_9_a_step_runs_again_only_if_idempotent_else_it_fails_as_interrupted() {
        let data = tempfile::tempdir().unwrap();
        let port = support::free_port();
        let url = format!("sqlite:{}", data.path().join("lwams.db").display());
        let mut server = serve(data.path(), port);
        // Once the server has made (and migrated) its database, deploy and start
        // through the library against it; the server's engine runs the steps.
        wait_for("the server listens", 30, async || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        })
        .await;
        let store = lwams_server::store::Store::open(&url).await.unwrap();
        let rt = lwams_server::engine::runtime::Runtime::new(store.clone(), "test-client", 1);
        let company = wait_for("the server made its first company", 20, async || {
            let mut c = store.conn().await.unwrap();
            let first = lwams_server::store::companies::list(&mut c)
                .await
                .unwrap()
                .into_iter()
                .next();
            first.map(|co| co.id)
        })
        .await;
        // Steps on the server work in their instance's directory.
        let work = |id: i64| data.path().join(format!("steps/{company}/{id}"));
        let step = |key: &str, idempotent: bool| {
            chain(
                key,
                &[cmd(
                    0,
                    "echo run >> started; sleep 2; touch done",
                    if idempotent {
                        r#"lwams:idempotent="true""#
                    } else {
                        ""
                    },
                )],
            )
        };
        let mut ids = Vec::new();
        for (key, idem) in [("once", false), ("again", true)] {
            let (_, d) = lwams_server::engine::deploy::deploy(
                &rt,
                company,
                &step(key, idem),
                lwams_server::engine::deploy::Which::Executable,
                None,
                None,
                &Default::default(),
            )
            .await
            .unwrap();
            let id = rt
                .start(lwams_server::engine::runtime::StartSpec::new(
                    company, d[0].id, "api",
                ))
                .await
                .unwrap();
            ids.push((key, id));
        }
        // Both steps are running on the server: kill it.
        wait_for("the server ran both steps", 20, async || {
            (work(ids[0].1).join("started").exists() && work(ids[1].1).join("started").exists())
                .then_some(())
        })
        .await;
        // SAFETY: a plain syscall on the pid of the child we spawned.
        unsafe { libc::kill(server.id() as i32, libc::SIGKILL) };
        server.wait().unwrap();
        server = serve(data.path(), port);
        let status_of = |id: i64| {
            let store = store.clone();
            async move {
                let mut c = store.conn().await.unwrap();
                lwams_server::store::flows::load_instance(&mut c, id)
                    .await
                    .unwrap()
                    .unwrap()
                    .status
            }
        };
        wait_for("once failed, again completed", 20, async || {
            let (once, again) = (status_of(ids[0].1).await, status_of(ids[1].1).await);
            (once == "failed" && again == "completed").then_some(())
        })
        .await;
        let mut c = store.conn().await.unwrap();
        let once_runs = lwams_server::store::flows::runs_of(&mut c, ids[0].1)
            .await
            .unwrap();
        assert_eq!(
            once_runs.len(),
            1,
            "the non-idempotent step did not run twice"
        );
        assert_eq!(once_runs[0].status, "interrupted");
        assert!(once_runs[0]
            .error
            .as_deref()
            .unwrap()
            .contains("interrupted"));
        let again_runs = lwams_server::store::flows::runs_of(&mut c, ids[1].1)
            .await
            .unwrap();
        let statuses: Vec<_> = again_runs.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(
            statuses,
            ["interrupted", "completed"],
            "the idempotent step ran again"
        );
        let started = std::fs::read_to_string(work(ids[0].1).join("started")).unwrap();
        assert_eq!(started.lines().count(), 1);
        drop(c);
        // The operator retries the interrupted step; it runs and the flow completes.
        let snap = rt.snapshot(ids[0].1).await.unwrap();
        let ni = snap.nodes.iter().find(|n| n.node_id == "n0").unwrap().ni;
        rt.control(
            company,
            ids[0].1,
            shared::dto::flow::ControlAction::Retry,
            Some(ni),
            lwams_server::engine::runtime::Actor {
                user_id: None,
                name: "test".into(),
            },
        )
        .await
        .unwrap();
        wait_for(
            "the retried step completes on the restarted server",
            20,
            async || (status_of(ids[0].1).await == "completed").then_some(()),
        )
        .await;
        // SAFETY: as above.
        unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
        server.wait().unwrap();
    }
}
