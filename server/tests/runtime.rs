//! The durable runtime through the API, on SQLite and PostgreSQL: start, user tasks,
//! every control (recorded with who and when), automatic retries with back-off,
//! timers (duration, date, timer start cycles), cancelling a running step, the live
//! hub, and kill -9 of a real server process with the idempotent/"interrupted" rule.

mod common;

use axum::http::StatusCode;
use common::{bpmn, chain, Client, TestApp};
use serde_json::{json, Value};
use shared::dto::flow::{InstanceDetail, NodeStatus};
use std::time::{Duration, Instant};

fn cmd(i: usize, command: &str, extra: &str) -> String {
    let command = command
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        r#"<bpmn:serviceTask id="n{i}" lwams:kind="localCommand" lwams:command="{command}" {extra}/>"#
    )
}

fn user_task(i: usize) -> String {
    format!(r#"<bpmn:userTask id="n{i}" name="approve"/>"#)
}

struct Engine {
    t: TestApp,
    admin: Client,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn engine(db: common::TestDb) -> Engine {
    let t = common::app_on(db).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let rt = t.state.runtime.clone();
    tokio::spawn(async move { rt.work(None, rx).await });
    let admin = t.admin().await;
    Engine {
        t,
        admin,
        _stop: stop,
    }
}

impl Engine {
    /// Where the instance's steps on the server work.
    async fn work_dir(&self, instance: i64) -> std::path::PathBuf {
        let mut c = self.t.state.store.conn().await.unwrap();
        let company = lwams_server::store::companies::first_id(&mut c)
            .await
            .unwrap()
            .unwrap();
        self.t
            .state
            .confinement
            .work_dir(company, instance)
            .unwrap()
    }

    async fn deploy(&self, xml: &str) {
        let r = self
            .t
            .post("/api/v1/flows", &self.admin, &json!({ "xml": xml }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    async fn start(&self, key: &str, vars: Value) -> i64 {
        let r = self
            .t
            .post(
                "/api/v1/instances",
                &self.admin,
                &json!({ "key": key, "variables": vars }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    async fn detail(&self, id: i64) -> InstanceDetail {
        self.t
            .get(&format!("/api/v1/instances/{id}"), &self.admin)
            .await
            .json()
    }

    /// Waits until `done` holds for the instance (10 s at most).
    async fn wait(
        &self,
        id: i64,
        what: &str,
        done: impl Fn(&InstanceDetail) -> bool,
    ) -> InstanceDetail {
        let t = Instant::now();
        loop {
            let d = self.detail(id).await;
            if done(&d) {
                return d;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "instance {id}: waited for {what}: {d:#?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn wait_status(&self, id: i64, status: &str) -> InstanceDetail {
        self.wait(id, status, |d| d.instance.status == status).await
    }

    async fn control(&self, id: i64, action: &str, ni: Option<u64>) -> common::Resp {
        self.t
            .post(
                &format!("/api/v1/instances/{id}/control"),
                &self.admin,
                &json!({ "action": action, "node_instance": ni }),
            )
            .await
    }
}

fn node<'a>(d: &'a InstanceDetail, id: &str) -> &'a NodeStatus {
    d.nodes
        .iter()
        .rev()
        .find(|n| n.node_id == id)
        .unwrap_or_else(|| panic!("node {id} in {:#?}", d.nodes))
}

#[tokio::test]
async fn user_tasks_and_every_control_work_and_are_recorded_with_who_and_when() {
    for db in common::both_backends().await {
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
            .wait(id, "the user task", |d| {
                d.nodes
                    .iter()
                    .any(|n| n.node_id == "n0" && n.state == "active")
            })
            .await;
        let task = node(&d, "n0").ni;
        assert_eq!(d.instance.start_way, "manual");
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
            .wait(id, "the user task", |d| {
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
        let d = e.detail(id).await;
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
        e.wait(id, "the user task", |d| {
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
    let e = engine(common::sqlite_db().await).await;
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
    let e = engine(common::sqlite_db().await).await;
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
        .wait(id, "the duration timer", |d| {
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
    let e = engine(common::sqlite_db().await).await;
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
    async fn list(e: &Engine) -> Vec<Value> {
        e.t.get("/api/v1/instances?q=ticker", &e.admin).await.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
    let t = Instant::now();
    loop {
        let items = list(&e).await;
        if items.len() >= 2 {
            assert!(
                items
                    .iter()
                    .all(|i| i["start_way"] == "timer" && i["status"] == "completed"),
                "{items:?}"
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "two timer starts: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(list(&e).await.len(), 2, "R2: two starts, then none");
    // An endless cycle runs until a new version without a timer replaces it.
    e.deploy(&timed("R/PT0.2S")).await;
    let t = Instant::now();
    while list(&e).await.len() < 3 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the endless cycle starts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    let e = engine(common::sqlite_db().await).await;
    e.deploy(&chain("slow", &[cmd(0, "sleep 3 && touch late", "")]))
        .await;
    let id = e.start("slow", json!({})).await;
    let late = e.work_dir(id).await.join("late");
    e.wait(id, "the step to run", |d| {
        d.runs.iter().any(|r| r.status == "running")
    })
    .await;
    assert_eq!(
        e.control(id, "terminate", None).await.status,
        StatusCode::NO_CONTENT
    );
    let d = e
        .wait(id, "the run to be cancelled", |d| {
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
    let e = engine(common::sqlite_db().await).await;
    e.deploy(&chain("live", &[user_task(0)])).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = e.t.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{addr}/ws"),
    )
    .unwrap();
    // Without a session: refused.
    assert!(tokio_tungstenite::connect_async(req.clone()).await.is_err());
    req.headers_mut()
        .insert("cookie", e.admin.cookie.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
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
    use std::process::{Child, Command, Stdio};

    fn serve(data: &std::path::Path, port: u16) -> Child {
        Command::new(env!("CARGO_BIN_EXE_lwams"))
            .env("LWAMS_DATA_DIR", data)
            .env("LWAMS_LISTEN", format!("127.0.0.1:{port}"))
            .env("LWAMS_ENGINE_NODE", "kill9-test")
            .env("LWAMS_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    #[tokio::test]
    async fn after_kill_9_a_step_runs_again_only_if_idempotent_else_it_fails_as_interrupted() {
        let data = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("sqlite:{}", data.path().join("lwams.db").display());
        let mut server = serve(data.path(), port);
        // Once the server has made (and migrated) its database, deploy and start
        // through the library against it; the server's engine runs the steps.
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t.elapsed() < Duration::from_secs(30), "the server listens");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let store = lwams_server::store::Store::open(&url).await.unwrap();
        let rt = lwams_server::engine::runtime::Runtime::new(store.clone(), "test-client", 1);
        let company = {
            let t = Instant::now();
            loop {
                let mut c = store.conn().await.unwrap();
                if let Some(co) = lwams_server::store::companies::list(&mut c)
                    .await
                    .unwrap()
                    .into_iter()
                    .next()
                {
                    break co.id;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(20),
                    "the server made its first company"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
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
        let t = Instant::now();
        while !(work(ids[0].1).join("started").exists() && work(ids[1].1).join("started").exists())
        {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the server ran both steps"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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
        let t = Instant::now();
        loop {
            let (once, again) = (status_of(ids[0].1).await, status_of(ids[1].1).await);
            if once == "failed" && again == "completed" {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "once={once} again={again}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
        let t = Instant::now();
        while status_of(ids[0].1).await != "completed" {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the retried step completes on the restarted server"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // SAFETY: as above.
        unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
        server.wait().unwrap();
    }
}
