//! Security boundaries, each test named for the attack it stops: agents of another
//! protocol version, a second agent process with the same credential, steps of other
//! companies on the server itself, and what a step on the server can see.

use crate::support;

use axum::http::StatusCode;
use serde_json::json;
use shared::dto::host::HostState;
use support::served::served;
use support::{chain, node, output_json, run, step, ws};

/// Dials `/agent` as a Sub Manager would, with the host's credential.
async fn dial_agent(port: u16, credential: &str) -> ws::Ws {
    tokio_tungstenite::connect_async(support::served::agent_request(port, credential))
        .await
        .unwrap()
        .0
}

/// The next text message of an agent's line, within 10 s; `None` once closed.
async fn next_text(ws: &mut ws::Ws) -> Option<String> {
    ws::next_text(ws, "the agent's line").await
}

#[tokio::test]
async fn an_agent_of_another_protocol_version_is_refused_with_the_version_to_download() {
    use futures_util::SinkExt;
    use shared::agent::{FromAgent, ToAgent, PROTOCOL_VERSION};
    use tokio_tungstenite::tungstenite::Message;
    let s = served().await;
    let h =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "old-1" }))
            .await;
    let hid = h.body["id"].as_i64().unwrap();
    let issued =
        s.t.post(
            &format!("/api/v1/hosts/{hid}/credential"),
            &s.admin,
            &json!({}),
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let credential = issued.body["credential"].as_str().unwrap().to_string();

    // A Sub Manager from before versioning says hello without a protocol.
    let mut ws = dial_agent(s.port, &credential).await;
    ws.send(Message::text(
        r#"{"type":"hello","version":"0.0.9","facts":{}}"#,
    ))
    .await
    .unwrap();
    let refusal: ToAgent = serde_json::from_str(&next_text(&mut ws).await.unwrap()).unwrap();
    let ToAgent::Incompatible {
        protocol, message, ..
    } = refusal
    else {
        panic!("not refused: {refusal:?}")
    };
    assert_eq!(protocol, PROTOCOL_VERSION);
    assert!(
        message.contains("Sub Manager 0.0.9 speaks agent protocol 1"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "Sub Manager {} package",
            env!("CARGO_PKG_VERSION")
        )),
        "the message names the version to download: {message}"
    );
    assert_eq!(next_text(&mut ws).await, None, "then the line is closed");
    let detail = s.host(hid).await;
    assert_ne!(detail.host.state, HostState::Connected, "never connected");
    assert!(
        detail.log.iter().any(|l| l.message == message),
        "the host page says why: {:?}",
        detail.log
    );

    // A current agent connects; the same process reconnecting is quiet, a second
    // process with the same credential is said on the host page.
    let hello = |process: &str| {
        serde_json::to_string(&FromAgent::Hello {
            protocol: PROTOCOL_VERSION,
            process: process.into(),
            version: "9.9.9".into(),
            facts: Default::default(),
        })
        .unwrap()
    };
    let mut first = dial_agent(s.port, &credential).await;
    first.send(Message::text(hello("111-a"))).await.unwrap();
    assert!(next_text(&mut first).await.unwrap().contains("welcome"));
    s.wait_state(hid, HostState::Connected).await;
    let mut again = dial_agent(s.port, &credential).await;
    again.send(Message::text(hello("111-a"))).await.unwrap();
    assert!(next_text(&mut again).await.unwrap().contains("welcome"));
    let second_process = |d: &shared::dto::host::HostDetail| {
        d.log
            .iter()
            .any(|l| l.message.contains("a second Sub Manager process"))
    };
    assert!(
        !second_process(&s.host(hid).await),
        "a reconnect is not a clone"
    );
    let mut clone = dial_agent(s.port, &credential).await;
    clone.send(Message::text(hello("222-b"))).await.unwrap();
    assert!(next_text(&mut clone).await.unwrap().contains("welcome"));
    let d = s.host(hid).await;
    assert!(second_process(&d), "{:?}", d.log);
    assert!(d
        .log
        .iter()
        .any(|l| l.level == "warn" && l.message.contains("222-b") && l.message.contains("111-a")));
    // The host page lists both processes, the newest holding the line.
    let seen: Vec<(&str, bool)> = d
        .processes
        .iter()
        .map(|p| (p.process.as_str(), p.current))
        .collect();
    assert_eq!(
        seen,
        [("222-b", true), ("111-a", false)],
        "{:?}",
        d.processes
    );
    // Rotating the credential cuts both: neither can dial in again.
    let r =
        s.t.post(
            &format!("/api/v1/hosts/{hid}/credential"),
            &s.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(next_text(&mut clone).await, None, "the current line is cut");
    let req = support::served::agent_request(s.port, &credential);
    assert!(
        tokio_tungstenite::connect_async(req).await.is_err(),
        "the old credential is refused for every process"
    );
}

/// The variables a step on the server may find in its environment.
const STEP_ENV: &[&str] = &[
    "PATH", "LANG", "HOME", "TMPDIR", "PWD", "SHLVL", "OLDPWD", "_",
];

#[tokio::test]
async fn another_companys_flow_cannot_run_commands_scripts_or_file_operations_on_the_server() {
    let s = served().await;
    let other = support::other_company_admin(&s.t).await;
    let xml = chain(
        "on-server",
        &[
            step(
                0,
                "localCommand",
                &[("command", "cat data/secret.key; env")],
            ),
            step(1, "localCommand", &[("script", "dump")]),
            step(
                2,
                "fileOperation",
                &[("tool", "read"), ("filename", "data/secret.key")],
            ),
            step(
                3,
                "fileOperation",
                &[
                    ("tool", "read"),
                    ("filename", "x"),
                    ("host", "h"),
                    ("inCloud", "true"),
                ],
            ),
            step(4, "localCommand", &[("command", "env"), ("host", "edge-1")]),
        ],
    );
    let r =
        s.t.post("/api/v1/flows", &other, &json!({ "xml": xml }))
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let problems = r.body["problems"].as_array().expect("problems listed");
    let refused: Vec<&str> = problems
        .iter()
        .map(|p| p["element_id"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["n0", "n1", "n2", "n3"], "{}", r.body);
    for p in problems {
        assert!(p["line"].as_u64().unwrap() > 0);
        assert!(
            p["message"]
                .as_str()
                .unwrap()
                .contains("name a host (lwams:host)"),
            "{p}"
        );
    }
    let flows = s.t.get("/api/v1/flows", &other).await;
    assert_eq!(flows.body["total"], 0, "nothing deployed: {}", flows.body);
    // The operator's company (created at first start) deploys the same flow.
    let r =
        s.t.post("/api/v1/flows", &s.admin, &json!({ "xml": xml }))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn a_step_on_the_server_reads_neither_the_secret_key_nor_the_database_nor_the_servers_environment(
) {
    let s = served().await;
    let data = s.t.state.config.data_dir.clone();
    std::fs::create_dir_all(&data).unwrap();
    let key = data.join("secret.key");
    std::fs::write(&key, "KEY-MATERIAL-0123").unwrap();
    lwams_server::security::confined::protect_data_files(&data);
    let db = data.join("lwams.db");
    std::fs::write(&db, "DATABASE-PAGES-4567").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        // World-readable, as SQLite would create it under a lax umask.
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let command = format!(
        "cat {k}; cat {d}; cat ../../../secret.key; ls -a {data}; env; echo written > mine.txt && cat mine.txt",
        k = key.display(),
        d = db.display(),
        data = data.display()
    );
    let xml = chain("peek", &[step(0, "localCommand", &[("command", &command)])]);
    let id = s.deploy_and_start(&xml, "peek").await;
    let d = s
        .wait_instance(id, "the step ends", 30, |d| d.instance.status != "running")
        .await;
    let run = run(&d, "n0");
    let out: serde_json::Value = serde_json::from_str(run.output.as_deref().unwrap()).unwrap();
    let stdout = out["stdout"].as_str().unwrap();
    let stderr = out["stderr"].as_str().unwrap();
    assert!(!stdout.contains("KEY-MATERIAL"), "{stdout}");
    assert!(!stdout.contains("DATABASE-PAGES"), "{stdout}");
    assert!(
        !stdout.contains("lwams.db"),
        "the data directory is not listed: {stdout}"
    );
    assert!(stderr.contains("secret.key"), "cat says why: {stderr}");
    assert!(
        stdout.ends_with("written\n"),
        "its own directory is writable: {stdout}"
    );
    for line in stdout.lines().filter(|l| l.contains('=')) {
        let name = line.split('=').next().unwrap();
        if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !name.is_empty() {
            assert!(
                STEP_ENV.contains(&name),
                "{name} leaked into the step: {line}"
            );
        }
    }
    assert!(
        !stdout.contains("LWAMS_") && !stdout.contains("DATABASE_URL"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "HOME={}",
            data.join("steps/1").join(id.to_string()).display()
        )),
        "{stdout}"
    );
}

#[tokio::test]
async fn file_operations_on_the_server_stay_in_the_instances_directory() {
    let s = served().await;
    let xml = chain(
        "files",
        &[
            step(
                0,
                "fileOperation",
                &[
                    ("tool", "write"),
                    ("filename", "note.txt"),
                    ("body", "a $(id) `id` ${who}"),
                ],
            ),
            step(
                1,
                "fileOperation",
                &[
                    ("tool", "read"),
                    ("filename", "note.txt"),
                    ("resultVariable", "got"),
                ],
            ),
            step(
                2,
                "fileOperation",
                &[
                    ("tool", "rename"),
                    ("filename", "note.txt"),
                    ("newFilename", "kept.txt"),
                ],
            ),
            step(
                3,
                "fileOperation",
                &[("tool", "read"), ("filename", "../../../secret.key")],
            ),
        ],
    );
    let id = s
        .deploy_and_start_with(&xml, "files", json!({ "who": "O'Brien; rm -rf /" }))
        .await;
    let d = s
        .wait_instance(id, "the flow ends", 30, |d| d.instance.status != "running")
        .await;
    let out = |node: &str| output_json(&d, node);
    assert_eq!(out("n1")["stdout"], "a $(id) `id` O'Brien; rm -rf /");
    assert_eq!(out("n2")["stdout"], "renamed note.txt to kept.txt\n");
    let dir =
        s.t.state
            .config
            .data_dir
            .join("steps/1")
            .join(id.to_string());
    assert_eq!(
        std::fs::read_to_string(dir.join("kept.txt")).unwrap(),
        "a $(id) `id` O'Brien; rm -rf /"
    );
    let n3 = node(&d, "n3");
    assert_eq!(n3.state, "failed");
    assert!(
        n3.error
            .as_deref()
            .unwrap()
            .contains("leaves the step's directory"),
        "{n3:?}"
    );
}

#[tokio::test]
async fn every_answer_carries_security_headers_and_bpmn_xml_downloads_as_an_attachment() {
    use axum::http::Method;
    let t = support::sqlite_app().await;
    let admin = t.admin().await;
    for path in ["/healthz", "/login", "/api/v1/flows", "/no/such/page"] {
        let (_, h, _) = t.request_raw(Method::GET, path, Some(&admin), None).await;
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("object-src 'none'") && csp.contains("default-src 'self'"));
        assert!(!csp.contains("'unsafe-eval'"), "no eval: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    let xml = chain("dl", &[]);
    let r = t
        .post("/api/v1/flows", &admin, &json!({ "xml": xml }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (status, h, body) = t
        .request_raw(
            Method::GET,
            "/api/v1/flows/dl/versions/1/xml",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"dl-v1.bpmn\""
    );
    assert!(String::from_utf8_lossy(&body).contains("<bpmn:"));
}

#[tokio::test]
async fn concurrent_password_guesses_cannot_exceed_the_lock_out_limit() {
    let t = std::sync::Arc::new(support::sqlite_app().await);
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move {
                t.try_login(None, "admin", &format!("guess-{i}"))
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let locked = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + locked, 12, "{statuses:?}");
    assert!(
        checked <= lwams_server::auth::login::MAX_FAILURES as usize,
        "{checked} guesses were checked: {statuses:?}"
    );
    // Locked now: even the right password waits.
    let r = t.try_login(None, "admin", support::ADMIN_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_stopped_after_its_failures() {
    use lwams_server::auth::throttle::MAX_FAILURES_PER_ADDRESS;
    let s = served().await;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/api/v1/auth/login", s.port);
    // Different accounts each time: the per-account lock-out never triggers.
    for i in 0..MAX_FAILURES_PER_ADDRESS {
        let r = http
            .post(&url)
            .header("content-type", "application/json")
            .body(json!({ "login": format!("user{i}"), "password": "guess" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    let r = http
        .post(&url)
        .header("content-type", "application/json")
        .body(json!({ "login": "admin", "password": support::ADMIN_PASSWORD }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("from your address"),
        "{body}"
    );
}

#[tokio::test]
async fn a_live_feed_closes_within_seconds_once_its_session_is_signed_out() {
    use futures_util::StreamExt;
    let s = served().await;
    let other_session = s.t.admin().await;
    let mut ws = ws::feed(s.port, &other_session).await;
    let r =
        s.t.post("/api/v1/auth/logout", &other_session, &json!({}))
            .await;
    assert!(r.status.is_success(), "{}", r.body);
    let t = std::time::Instant::now();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) => break,
                Some(Ok(m)) if m.is_close() => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the feed still runs after sign-out");
    assert!(t.elapsed() <= lwams_server::live::RECHECK * 2 + std::time::Duration::from_secs(1));
}

#[tokio::test]
async fn a_timer_started_flow_runs_with_its_deployers_rights_and_pauses_once_they_are_lost() {
    use shared::{Function::*, Level::Manage};
    let s = served().await;
    let xml = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
      <bpmn:process id="tick" isExecutable="true">
        <bpmn:startEvent id="s"><bpmn:timerEventDefinition><bpmn:timeCycle>R100/PT1S</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
        <bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>
      </bpmn:process></bpmn:definitions>"#;
    // May edit flows but not start them: may not deploy one that starts itself.
    let (_, editor) =
        s.t.user_with(&s.admin, "editor", &[(FlowEditor, Manage)])
            .await;
    let r =
        s.t.post("/api/v1/flows", &editor, &json!({ "xml": xml }))
            .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let (starter_id, starter) =
        s.t.user_with(
            &s.admin,
            "starter",
            &[(FlowEditor, Manage), (FlowMonitor, Manage)],
        )
        .await;
    let r =
        s.t.post("/api/v1/flows", &starter, &json!({ "xml": xml }))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let count = || async {
        let l = s.t.get("/api/v1/instances?key=tick", &s.admin).await;
        l.body["items"].as_array().unwrap().clone()
    };
    let first = support::wait_for("a timer start", 10, async || {
        let items = count().await;
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(first[0]["start_way"], "timer");
    assert_eq!(
        first[0]["created_by"], starter_id,
        "started as its deployer"
    );
    // The deployer is disabled: the next fire is refused and the schedule pauses.
    let r =
        s.t.put(
            &format!("/api/v1/users/{starter_id}"),
            &s.admin,
            &json!({ "display_name": "starter", "enabled": false, "group_ids": [] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let paused = support::wait_for("the schedule to pause", 10, async || {
        let mut c = s.t.state.store.conn().await.unwrap();
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT status, payload FROM jobs WHERE kind = 'start_timer' AND status = 'held'",
        )
        .fetch_optional(&mut *c)
        .await
        .unwrap();
        row
    })
    .await;
    assert!(paused.1.contains("is disabled"), "{}", paused.1);
    let n = count().await.len();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(count().await.len(), n, "no start after the pause");
}
