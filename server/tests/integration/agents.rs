//! Sub Managers for real: the server listens on a loopback port, a `sub-manager`
//! process unpacked from the host's download package dials in, reports its facts and
//! runs steps on a real OpenSSH `sshd` (password and key sign-in, wrong password,
//! unreachable port, timeout, shell quoting); killed mid-step its step ends as
//! interrupted (never left running) and a restarted agent carries on; a rotated
//! credential disconnects it and refuses it from then on.

use crate::support;

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};
use shared::dto::host::{Host, HostState, Terminal};
use std::path::Path;
use support::fake_winrm;
use support::served::{served, start_agent};
use support::sshd::{self, Sshd};
use support::wait_for;
use support::{attr, chain, node, output, output_json};

fn remote(i: usize, command: &str, extra: &str) -> String {
    format!(
        r#"<bpmn:serviceTask id="n{i}" lwams:kind="remoteCommand" lwams:host="edge-1" lwams:terminal="sshd" lwams:terminalUser="{}" lwams:command="{}" {extra}/>"#,
        sshd::USER,
        attr(command)
    )
}

#[tokio::test]
async fn a_real_agent_runs_steps_on_a_real_sshd_survives_being_killed_and_is_refused_once_revoked()
{
    let sshd = Sshd::start();
    let s = served().await;
    let work = tempfile::tempdir().unwrap();

    // Add the host; it is pink (never connected) until its agent dials in.
    let r =
        s.t.post(
            "/api/v1/hosts",
            &s.admin,
            &json!({ "name": "edge-1", "comments": "rack 4" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let host: Host = r.json();
    assert_eq!(host.state, HostState::Uninitialised);
    let root = s.unpack_package(host.id, work.path()).await;
    let log = work.path().join("agent.log");
    let mut agent = start_agent(&root, &log);
    let detail = s.wait_state(host.id, HostState::Connected).await;
    assert!(
        detail.host.facts.contains_key("hostName"),
        "{:?}",
        detail.host.facts
    );
    assert!(detail.host.facts["memoryTotal"].parse::<u64>().unwrap() > 0);
    assert_eq!(detail.host.agent_version, env!("CARGO_PKG_VERSION"));
    assert!(
        detail.log.iter().any(|l| l.message.contains("connected")),
        "{:?}",
        detail.log
    );

    // A terminal (the test sshd) with a password account and a key account.
    let r = s
        .t
        .post(
            "/api/v1/terminals",
            &s.admin,
            &json!({ "host_id": host.id, "host_name": "sshd", "host_address": "127.0.0.1", "port": sshd.port, "connection_type": "ssh" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let terminal: Terminal = r.json();
    let add_user = |username: &str, auth: &str, secret: &str| json!({ "username": username, "auth": auth, "secret": secret });
    let path = format!("/api/v1/terminals/{}/users", terminal.id);
    let r =
        s.t.post(
            &path,
            &s.admin,
            &add_user(sshd::USER, "password", sshd::PASSWORD),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        !r.body.to_string().contains(sshd::PASSWORD),
        "secrets are write-only"
    );
    let terminal: Terminal = r.json();
    // The same account by key, as a second terminal entry of the same machine.
    let r = s
        .t
        .post(
            "/api/v1/terminals",
            &s.admin,
            &json!({ "host_id": host.id, "host_name": "sshd-key", "host_address": "127.0.0.1", "port": sshd.port, "connection_type": "ssh" }),
        )
        .await;
    let key_terminal: Terminal = r.json();
    let r =
        s.t.post(
            &format!("/api/v1/terminals/{}/users", key_terminal.id),
            &s.admin,
            &add_user(sshd::USER, "private_key", &sshd.private_key),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let key_terminal: Terminal = r.json();
    assert!(key_terminal.users[0].has_secret);
    assert!(!r.body.to_string().contains("PRIVATE KEY"));

    // Test connection: password, key, wrong password, nothing listening.
    let t = s.test_connection(&terminal, sshd::USER).await;
    assert!(t.ok && t.message.contains("Linux"), "{t:?}");
    let t = s.test_connection(&key_terminal, sshd::USER).await;
    assert!(t.ok && t.message.contains("Linux"), "{t:?}");
    let r =
        s.t.post(
            &path,
            &s.admin,
            &add_user("nobody-here", "password", "wrong-password"),
        )
        .await;
    let with_wrong: Terminal = r.json();
    let t = s.test_connection(&with_wrong, "nobody-here").await;
    assert!(!t.ok && t.message.contains("refused the sign-in"), "{t:?}");
    let r = s
        .t
        .post(
            "/api/v1/terminals",
            &s.admin,
            &json!({ "host_id": host.id, "host_name": "nothing", "host_address": "127.0.0.1", "port": sshd::free_port(), "connection_type": "ssh" }),
        )
        .await;
    let nothing: Terminal = r.json();
    let r =
        s.t.post(
            &format!("/api/v1/terminals/{}/users", nothing.id),
            &s.admin,
            &add_user("x", "password", "y"),
        )
        .await;
    let nothing: Terminal = r.json();
    let t = s.test_connection(&nothing, "x").await;
    assert!(!t.ok && t.message.contains("cannot reach"), "{t:?}");

    // A flow on the terminal: output and variables come back; a form value with shell
    // syntax stays a literal; a step past its timeout fails.
    let xml = chain(
        "on-sshd",
        &[
            remote(0, "uname -a; echo ${who}; whoami", ""),
            remote(
                1,
                "echo second:${n0.terminal.hostAddress}:${n0.host.name}",
                r#"lwams:resultVariable="said""#,
            ),
            // On the agent's own machine: a local command with a host.
            r#"<bpmn:serviceTask id="n2" lwams:kind="localCommand" lwams:host="edge-1" lwams:command="echo on-agent:$PPID; echo ${said}"/>"#.to_string(),
        ],
    );
    let id = s.deploy_and_start(&xml, "on-sshd").await;
    let d = s
        .wait_instance(id, "the flow on sshd completes", 30, |d| {
            d.instance.status != "running"
        })
        .await;
    assert_eq!(d.instance.status, "completed", "{d:#?}");
    let out = output(&d, "n0");
    assert!(out.contains("Linux"), "{out}");
    assert!(
        out.contains("; rm -rf /"),
        "the value stayed a literal: {out}"
    );
    assert!(out.contains(sshd::USER), "{out}");
    let out1 = output(&d, "n1");
    assert!(out1.contains("second:127.0.0.1:edge-1"), "{out1}");
    let out2 = output(&d, "n2");
    // Its parent is the agent process, not the server.
    assert!(out2.contains(&format!("on-agent:{}", agent.id())), "{out2}");
    assert!(out2.contains("second:127.0.0.1:edge-1"), "{out2}");
    let tasks = s.host(host.id).await.recent_tasks;
    assert!(
        tasks.iter().any(|t| t.ok && t.what.starts_with("uname -a")),
        "{tasks:?}"
    );
    assert!(tasks
        .iter()
        .all(|t| !t.what.contains(sshd::PASSWORD) && !t.detail.contains(sshd::PASSWORD)));

    // Values are data over SSH (the launcher's standard input; sshd passes no
    // environment of ours) and on the agent's machine (its environment): written
    // outside quotes, inside "…" and '…', in $(…), every value arrives byte for byte.
    let hostile = "$(id) `id` '; id; ' \" & calc & \" %PATH% $env:PATH \\n\n中文 ünï";
    let big: String = "ab'\"$`\\ \n".repeat(1024);
    let printf =
        r#"printf '[%s]' ${v} "${v}" '${v}' "$(printf %s ${v})"; printf '%s' ${big} | wc -c"#;
    let expected = format!("[{hostile}][{hostile}][{hostile}][{hostile}]{}", big.len());
    let script = "printf '[%s]' \"${v}\" '${v}' ${v}\n";
    let r =
        s.t.post(
            "/api/v1/scripts",
            &s.admin,
            &json!({ "name": "values", "kind": "bash", "body": script }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let xml = chain(
        "values-on-sshd",
        &[
            remote(0, printf, ""),
            format!(
                r#"<bpmn:serviceTask id="n1" lwams:kind="localCommand" lwams:host="edge-1" lwams:command="{}"/>"#,
                attr(printf)
            ),
            format!(
                r#"<bpmn:serviceTask id="n2" lwams:kind="remoteCommand" lwams:host="edge-1" lwams:terminal="sshd" lwams:terminalUser="{}" lwams:script="values"/>"#,
                sshd::USER
            ),
        ],
    );
    let id = s
        .deploy_and_start_with(&xml, "values-on-sshd", json!({ "v": hostile, "big": big }))
        .await;
    let d = s
        .wait_instance(id, "the values flow ends", 30, |d| {
            d.instance.status != "running"
        })
        .await;
    assert_eq!(d.instance.status, "completed", "{d:#?}");
    let stdout = |node: &str| -> String {
        let out: Value = output_json(&d, node);
        out["stdout"].as_str().unwrap().trim_end().to_string()
    };
    assert_eq!(stdout("n0"), expected, "over SSH");
    assert_eq!(stdout("n1"), expected, "on the agent's machine");
    assert_eq!(
        stdout("n2"),
        format!("[{hostile}][{hostile}][{hostile}]"),
        "a bash script over SSH"
    );
    let tasks = s.host(host.id).await.recent_tasks;
    assert!(
        tasks.iter().all(|t| !t.what.contains("calc")),
        "the values never are in the command: {tasks:?}"
    );

    // File distribution over SFTP and over SCP: PUT a file to the terminal, GET it back.
    for protocol in ["SFTP", "SCP"] {
        let put_from = work.path().join("report.txt");
        std::fs::write(&put_from, "disk usage: 42%\n".repeat(10_000)).unwrap();
        let got_back = work.path().join(format!("report-back-{protocol}.txt"));
        let remote_file = format!("/tmp/lwams-{protocol}-{}.txt", std::process::id());
        let transfer = |i: usize, direction: &str, local: &Path| {
            format!(
                r#"<bpmn:serviceTask id="n{i}" lwams:kind="fileDistribution" lwams:host="edge-1" lwams:terminal="sshd" lwams:terminalUser="{}" lwams:connectionType="{protocol}" lwams:direction="{direction}" lwams:localFile="{}" lwams:remoteFile="{remote_file}"/>"#,
                sshd::USER,
                local.display()
            )
        };
        let key = format!("transfer-{protocol}");
        let xml = chain(
            &key,
            &[
                transfer(0, "PUT", &put_from),
                remote(1, &format!("wc -c < {remote_file}"), ""),
                transfer(2, "GET", &got_back),
            ],
        );
        let id = s.deploy_and_start(&xml, &key).await;
        let d = s
            .wait_instance(id, "the transfers complete", 30, |d| {
                d.instance.status != "running"
            })
            .await;
        assert_eq!(d.instance.status, "completed", "{protocol}: {d:#?}");
        assert_eq!(
            std::fs::read(&got_back).unwrap(),
            std::fs::read(&put_from).unwrap(),
            "the file came back unchanged"
        );
        let size = output(&d, "n1");
        assert!(size.contains("160000"), "{size}");
        let put = output(&d, "n0");
        assert!(put.contains(&format!("{protocol} PUT")), "{put}");
        let _ = std::fs::remove_file(&remote_file);
        // A missing remote file fails the step with its name.
        let key = format!("transfer-missing-{protocol}");
        let xml = chain(
            &key,
            &[transfer(
                0,
                "GET",
                &work.path().join(format!("nothing-{protocol}")),
            )],
        );
        std::fs::remove_file(&remote_file).ok();
        let id = s.deploy_and_start(&xml, &key).await;
        let d = s
            .wait_instance(id, "the missing file fails", 30, |d| {
                d.instance.status != "running"
            })
            .await;
        let n0 = node(&d, "n0");
        assert_eq!(n0.state, "failed");
        assert!(
            n0.error.as_deref().unwrap_or("").contains(&remote_file),
            "{n0:?}"
        );
        assert!(
            !work.path().join(format!("nothing-{protocol}")).exists(),
            "no partial download is left"
        );
    }

    // A library script on the terminal: sent through the command's standard input
    // (200 KB: more than an SSH packet holds), run by bash in the work dir with the
    // value quoted, then removed.
    let filler = "# padding\n".repeat(20_000);
    let body = format!(
        "echo \"$BASH_VERSION\" | cut -c1\necho ${{who}}\necho \"$0\"\npwd\n{filler}exit 4\n"
    );
    let r =
        s.t.post(
            "/api/v1/scripts",
            &s.admin,
            &json!({ "name": "probe", "kind": "bash", "body": body }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let xml = chain(
        "script-on-sshd",
        &[format!(
            r#"<bpmn:serviceTask id="n0" lwams:kind="remoteCommand" lwams:host="edge-1" lwams:terminal="sshd" lwams:terminalUser="{}" lwams:script="probe" lwams:workDir="/tmp"/>"#,
            sshd::USER
        )],
    );
    let id = s.deploy_and_start(&xml, "script-on-sshd").await;
    let d = s
        .wait_instance(id, "the script runs", 30, |d| {
            d.instance.status != "running"
        })
        .await;
    let n0 = node(&d, "n0");
    assert_eq!(n0.state, "failed", "exit 4 fails the step: {n0:?}");
    assert!(
        n0.error.as_deref().unwrap_or("").contains("Some(4)"),
        "{n0:?}"
    );
    let out: serde_json::Value = output_json(&d, "n0");
    let lines: Vec<&str> = out["stdout"].as_str().unwrap().lines().collect();
    assert!(!lines[0].is_empty(), "run by bash: {out}");
    assert_eq!(lines[1], "; rm -rf /", "{out}");
    assert!(lines[2].ends_with("/probe.sh"), "{out}");
    assert_eq!(lines[3], "/tmp", "{out}");
    let script_dir = std::path::Path::new(lines[2]).parent().unwrap();
    assert!(!script_dir.exists(), "the script's directory is removed");

    let id = s
        .deploy_and_start(
            &chain("slow", &[remote(0, "sleep 30", r#"lwams:timeout="1""#)]),
            "slow",
        )
        .await;
    let d = s
        .wait_instance(id, "the slow step times out", 20, |d| {
            d.instance.status != "running"
        })
        .await;
    let n0 = node(&d, "n0");
    assert_eq!(n0.state, "failed");
    assert!(
        n0.error.as_deref().unwrap_or("").contains("timed out"),
        "{n0:?}"
    );

    // Kill the agent mid-step: the step ends as interrupted, the host goes offline.
    let marker = format!("/tmp/lwams-agent-test-{}", std::process::id());
    let _ = std::fs::remove_file(&marker);
    let once =
        format!("if [ -f {marker} ]; then echo second-run; else touch {marker}; sleep 60; fi");
    let id = s
        .deploy_and_start(&chain("killed", &[remote(0, &once, "")]), "killed")
        .await;
    wait_for("the step started on the terminal", 20, async || {
        Path::new(&marker).exists().then_some(())
    })
    .await;
    agent.kill().unwrap();
    agent.wait().unwrap();
    let d = s
        .wait_instance(id, "the step ends as interrupted", 40, |d| {
            d.nodes
                .iter()
                .any(|n| n.node_id == "n0" && n.state == "failed")
        })
        .await;
    let n0 = node(&d, "n0");
    assert!(
        n0.error.as_deref().unwrap_or("").contains("the agent"),
        "{n0:?}"
    );
    s.wait_state(host.id, HostState::Offline).await;

    // Started again, it reconnects and the operator's retry completes the step.
    let mut agent = start_agent(&root, &log);
    s.wait_state(host.id, HostState::Connected).await;
    let r =
        s.t.post(
            &format!("/api/v1/instances/{id}/control"),
            &s.admin,
            &json!({ "action": "retry", "node_instance": n0.ni }),
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let d = s
        .wait_instance(id, "the retried step completes", 30, |d| {
            d.instance.status == "completed"
        })
        .await;
    assert!(d
        .runs
        .iter()
        .any(|r| r.output.as_deref().unwrap_or("").contains("second-run")));
    let _ = std::fs::remove_file(&marker);

    // Rotating the credential disconnects the agent and refuses its old one.
    let r =
        s.t.post(
            &format!("/api/v1/hosts/{}/credential", host.id),
            &s.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let fresh = r.body["credential"].as_str().unwrap().to_string();
    s.wait_state(host.id, HostState::Offline).await;
    wait_for("the agent reports the refusal", 20, async || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("refused this host's credential")
            .then_some(())
    })
    .await;
    assert_eq!(s.host(host.id).await.host.state, HostState::Offline);
    assert!(!std::fs::read_to_string(&log).unwrap().contains(&fresh));
    agent.kill().unwrap();
    agent.wait().unwrap();
}

#[tokio::test]
async fn hosts_are_company_scoped_validated_and_their_secrets_never_come_back() {
    let s = served().await;
    let bad =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "  " }))
            .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.body["field"], "name");
    let g =
        s.t.post("/api/v1/host-groups", &s.admin, &json!({ "name": "DC 1" }))
            .await;
    assert_eq!(g.status, StatusCode::CREATED);
    let gid = g.body["id"].as_i64().unwrap();
    let sub =
        s.t.post(
            "/api/v1/host-groups",
            &s.admin,
            &json!({ "name": "rack", "parent_id": gid }),
        )
        .await;
    let sub_id = sub.body["id"].as_i64().unwrap();
    let cycle =
        s.t.put(
            &format!("/api/v1/host-groups/{gid}"),
            &s.admin,
            &json!({ "name": "DC 1", "parent_id": sub_id }),
        )
        .await;
    assert_eq!(
        cycle.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        cycle.body
    );
    let h =
        s.t.post(
            "/api/v1/hosts",
            &s.admin,
            &json!({ "name": "db-1", "group_id": sub_id }),
        )
        .await;
    let hid = h.body["id"].as_i64().unwrap();
    let dup =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "db-1" }))
            .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let busy =
        s.t.delete(&format!("/api/v1/host-groups/{sub_id}"), &s.admin)
            .await;
    assert_eq!(
        busy.status,
        StatusCode::CONFLICT,
        "a group with hosts stays"
    );
    let bad_port = s
        .t
        .post("/api/v1/terminals", &s.admin, &json!({ "host_id": hid, "host_name": "t", "host_address": "10.0.0.1", "port": 0, "connection_type": "ssh" }))
        .await;
    assert_eq!(bad_port.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_port.body["field"], "port");
    let t = s
        .t
        .post("/api/v1/terminals", &s.admin, &json!({ "host_id": hid, "host_name": "t", "host_address": "10.0.0.1", "connection_type": "winrm" }))
        .await;
    assert_eq!(t.status, StatusCode::CREATED);
    assert_eq!(t.body["port"], 5985, "the connection type's default port");
    let tid = t.body["id"].as_i64().unwrap();
    let not_a_key =
        s.t.post(
            &format!("/api/v1/terminals/{tid}/users"),
            &s.admin,
            &json!({ "username": "ops", "auth": "private_key", "secret": "hunter2" }),
        )
        .await;
    assert_eq!(not_a_key.status, StatusCode::UNPROCESSABLE_ENTITY);
    let u =
        s.t.post(
            &format!("/api/v1/terminals/{tid}/users"),
            &s.admin,
            &json!({ "username": "ops", "auth": "password", "secret": "hunter2" }),
        )
        .await;
    assert_eq!(u.status, StatusCode::CREATED);
    let uid = u.body["users"][0]["id"].as_i64().unwrap();
    // Keeping the secret on an update; the store holds it sealed only.
    let kept =
        s.t.put(
            &format!("/api/v1/terminals/{tid}/users/{uid}"),
            &s.admin,
            &json!({ "username": "ops2", "auth": "password" }),
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    assert_eq!(kept.body["users"][0]["has_secret"], true);
    let detail = s.t.get(&format!("/api/v1/hosts/{hid}"), &s.admin).await;
    assert!(!detail.body.to_string().contains("hunter2"));
    let mut c = s.t.state.store.conn().await.unwrap();
    let rows = lwams_server::store::sealed::all(&mut c).await.unwrap();
    assert!(rows.iter().any(|s| s.table == "terminal_users"));
    assert!(rows
        .iter()
        .all(|s| !s.value.contains("hunter2") && s.value.starts_with("v2:")));
    drop(c);
    // Testing needs the host's Sub Manager, which never connected: said so.
    let test =
        s.t.post(
            &format!("/api/v1/terminals/{tid}/users/{uid}/test"),
            &s.admin,
            &json!({}),
        )
        .await;
    assert_eq!(test.body["ok"], false);
    assert!(
        test.body["message"]
            .as_str()
            .unwrap()
            .contains("not connected"),
        "{}",
        test.body
    );

    // Another company sees none of it.
    let other = support::other_company_admin(&s.t).await;
    for path in [
        format!("/api/v1/hosts/{hid}"),
        format!("/api/v1/hosts/{hid}/package"),
    ] {
        assert_eq!(
            s.t.get(&path, &other).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let list = s.t.get("/api/v1/hosts", &other).await;
    assert_eq!(list.body["total"], 0);
    let steal = s
        .t
        .post("/api/v1/terminals", &other, &json!({ "host_id": hid, "host_name": "x", "host_address": "h", "connection_type": "ssh" }))
        .await;
    assert_eq!(steal.status, StatusCode::UNPROCESSABLE_ENTITY);

    // An agent with a made-up credential is refused before the upgrade.
    let req = support::served::agent_request(s.port, &format!("h{hid}.forged"));
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!(
            "a forged credential was not refused: {:?}",
            other.map(|_| ())
        ),
    }
}

#[tokio::test]
async fn the_sub_manager_page_signs_in_accounts_allowed_to_and_shows_the_line_and_tasks() {
    let s = served().await;
    let host: Host =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "paged" }))
            .await
            .json();
    // An account that may not log in to Sub Manager.
    let r =
        s.t.post(
            "/api/v1/users",
            &s.admin,
            &json!({ "login": "clerk", "display_name": "Clerk", "password": "clerk-password-1",
                     "may_login_agent": false, "group_ids": [] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let work = tempfile::tempdir().unwrap();
    let root = s.unpack_package(host.id, work.path()).await;
    let page_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let path = root.join("sub-manager.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["http.host"] = json!("127.0.0.1");
    config["http.port"] = json!(page_port);
    std::fs::write(&path, config.to_string()).unwrap();
    let mut agent = start_agent(&root, &work.path().join("agent.log"));
    s.wait_state(host.id, HostState::Connected).await;
    // One task for the page to list.
    let id = s
        .deploy_and_start(
            &chain(
                "paged-flow",
                &[r#"<bpmn:serviceTask id="n0" lwams:kind="localCommand" lwams:host="paged" lwams:command="echo paged"/>"#.to_string()],
            ),
            "paged-flow",
        )
        .await;
    s.wait_instance(id, "the step on the agent", 30, |d| {
        d.instance.status == "completed"
    })
    .await;

    let base = format!("http://127.0.0.1:{page_port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = wait_for("the local page", 20, async || {
        http.get(format!("{base}/")).send().await.ok()
    })
    .await;
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(
        text.contains(r#"name="password""#),
        "a sign-in form: {text}"
    );
    assert!(
        !text.contains("echo paged"),
        "nothing shown before signing in"
    );

    let sign_in = async |login: &str, password: &str| {
        http.post(format!("{base}/login"))
            .form(&[("login", login), ("password", password)])
            .send()
            .await
            .unwrap()
    };
    let r = sign_in("admin", "wrong-password").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("wrong"), "says why");
    let r = sign_in("clerk", "clerk-password-1").await;
    assert_eq!(r.status(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("may not log in to Sub Manager"));
    let r = sign_in("admin", support::ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let session = cookie.split(';').next().unwrap().to_string();
    let text = http
        .get(format!("{base}/"))
        .header("cookie", &session)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(r#"data-state="connected""#), "{text}");
    assert!(text.contains("paged"), "the host's name: {text}");
    assert!(text.contains("echo paged"), "the recent task: {text}");
    assert!(text.contains("signed in to this page"), "the log: {text}");
    // The server's host log records page sign-ins, refusals included.
    let detail = s.host(host.id).await;
    let log: Vec<&str> = detail.log.iter().map(|l| l.message.as_str()).collect();
    assert!(
        log.iter()
            .any(|m| m.contains("admin signed in to the Sub Manager page")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|m| m.contains("refused a Sub Manager page sign-in as clerk")),
        "{log:?}"
    );
    assert!(!log.iter().any(|m| m.contains("wrong-password")), "{log:?}");
    // Chinese for a Chinese browser; signing out ends the session.
    let zh = http
        .get(format!("{base}/"))
        .header("cookie", &session)
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("最近的任务"), "{zh}");
    let r = http
        .post(format!("{base}/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let text = http
        .get(format!("{base}/"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(r#"name="password""#), "signed out");
    let _ = agent.kill();
    let _ = agent.wait();
}

#[tokio::test]
async fn a_real_agent_runs_commands_and_powershell_scripts_on_a_windows_terminal_over_winrm() {
    // Set up as Windows ships: Negotiate (NTLM) only, unencrypted envelopes refused.
    let winrm = fake_winrm::start_negotiate("Administrator", "Win-pass-1").await;
    let s = served().await;
    let work = tempfile::tempdir().unwrap();
    let host: Host =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "win-edge" }))
            .await
            .json();
    let root = s.unpack_package(host.id, work.path()).await;
    let mut agent = start_agent(&root, &work.path().join("agent.log"));
    s.wait_state(host.id, HostState::Connected).await;

    let r = s
        .t
        .post(
            "/api/v1/terminals",
            &s.admin,
            &json!({ "host_id": host.id, "host_name": "node2", "host_address": "127.0.0.1", "port": winrm.port, "connection_type": "winrm", "os_name": "Windows" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut terminal: Terminal = r.json();
    let path = format!("/api/v1/terminals/{}/users", terminal.id);
    for (user, password) in [("Administrator", "Win-pass-1"), ("guest", "wrong")] {
        let r =
            s.t.post(
                &path,
                &s.admin,
                &json!({ "username": user, "auth": "password", "secret": password }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        terminal = r.json();
    }
    let t = s.test_connection(&terminal, "Administrator").await;
    assert!(t.ok, "{t:?}");
    let t = s.test_connection(&terminal, "guest").await;
    assert!(!t.ok && t.message.contains("refused"), "{t:?}");

    // A command (values quoted for cmd) and a PowerShell script of the library.
    let r =
        s.t.post(
            "/api/v1/scripts",
            &s.admin,
            &json!({ "name": "win-info", "kind": "powershell", "body": "echo ps:${who}" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let on_node2 = |i: usize, what: &str| {
        format!(
            r#"<bpmn:serviceTask id="n{i}" lwams:kind="remoteCommand" lwams:host="win-edge" lwams:terminal="node2" lwams:terminalUser="Administrator" {what}/>"#
        )
    };
    let xml = chain(
        "on-windows",
        &[
            on_node2(
                0,
                r#"lwams:command="echo cmd:${who}" lwams:resultVariable="said""#,
            ),
            on_node2(1, r#"lwams:script="win-info""#),
        ],
    );
    let id = s.deploy_and_start(&xml, "on-windows").await;
    let d = s
        .wait_instance(id, "the flow on WinRM ends", 30, |d| {
            d.instance.status != "running"
        })
        .await;
    assert_eq!(d.instance.status, "completed", "{d:#?}");
    let out = |node: &str| -> Value { output_json(&d, node) };
    assert_eq!(out("n0")["stdout"], "cmd:; rm -rf /\n", "{}", out("n0"));
    assert_eq!(out("n1")["stdout"], "ps:; rm -rf /\n", "{}", out("n1"));
    assert!(
        winrm
            .commands_seen()
            .iter()
            .any(|c| c.script.contains("Join-Path $d 'win-info.ps1'") && c.stdin_closed),
        "the script went as the launcher, its body fed on standard input"
    );
    // The value went on standard input (base64), the command as `!LWAMS_V_1!` under
    // `cmd /v:on`: never inside the code.
    let b64 = base64::engine::general_purpose::STANDARD;
    let value_line = format!("\n{}\n", b64.encode("; rm -rf /"));
    for c in winrm
        .commands_seen()
        .iter()
        .filter(|c| c.script.contains("$l = @($input"))
    {
        assert!(!c.script.contains("rm -rf"), "{}", c.script);
        assert!(
            String::from_utf8_lossy(&c.stdin).contains(&value_line),
            "{c:?}"
        );
    }
    assert!(winrm
        .commands_seen()
        .iter()
        .any(|c| c.script.contains("/d /s /v:on /c")));
    assert_eq!(winrm.open_shells(), 0, "every shell is deleted");
    assert!(
        winrm.sealed_messages() >= 10,
        "the steps' envelopes went sealed"
    );
    let tasks = s.host(host.id).await.recent_tasks;
    assert!(
        tasks
            .iter()
            .all(|t| !t.what.contains("Win-pass-1") && !t.detail.contains("Win-pass-1")),
        "{tasks:?}"
    );
    let _ = agent.kill();
    let _ = agent.wait();
}

/// A host with a connected Sub Manager and a terminal on `sshd` whose account signs in
/// with the password.
async fn edge_on_sshd(
    s: &support::served::Served,
    sshd: &Sshd,
    work: &Path,
) -> (Host, Terminal, std::process::Child) {
    let host: Host =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "edge-1" }))
            .await
            .json();
    let root = s.unpack_package(host.id, work).await;
    let agent = start_agent(&root, &work.join("agent.log"));
    s.wait_state(host.id, HostState::Connected).await;
    let r = s
        .t
        .post(
            "/api/v1/terminals",
            &s.admin,
            &json!({ "host_id": host.id, "host_name": "sshd", "host_address": "127.0.0.1", "port": sshd.port, "connection_type": "ssh" }),
        )
        .await;
    let terminal: Terminal = r.json();
    let r =
        s.t.post(
            &format!("/api/v1/terminals/{}/users", terminal.id),
            &s.admin,
            &json!({ "username": sshd::USER, "auth": "password", "secret": sshd::PASSWORD }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (host, r.json(), agent)
}

/// The terminal as the host page shows it.
async fn terminal_now(s: &support::served::Served, host: &Host, id: i64) -> Terminal {
    s.host(host.id)
        .await
        .terminals
        .into_iter()
        .find(|t| t.id == id)
        .unwrap()
}

#[tokio::test]
async fn an_ssh_terminal_showing_another_host_key_than_the_one_trusted_is_refused_until_accepted() {
    let sshd = Sshd::start();
    let s = served().await;
    let work = tempfile::tempdir().unwrap();
    let (host, terminal, mut agent) = edge_on_sshd(&s, &sshd, work.path()).await;
    assert_eq!(
        terminal.host_key, "",
        "nothing known before the first connection"
    );

    // First use: the key is learnt and recorded on the terminal.
    let t = s.test_connection(&terminal, sshd::USER).await;
    assert!(t.ok, "{t:?}");
    let learnt = terminal_now(&s, &host, terminal.id).await;
    assert_eq!(learnt.host_key, sshd.host_fingerprint);
    assert!(learnt.host_key_at.is_some());
    assert!(s
        .host(host.id)
        .await
        .log
        .iter()
        .any(|l| l.message.contains("learnt on first use")));

    // The server trusts another key than the one the terminal shows (the machine at
    // that address is not the one it was): refused, naming both fingerprints.
    let trusted = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    {
        let mut c = s.t.state.store.conn().await.unwrap();
        sqlx::query("UPDATE terminals SET host_key = $1 WHERE id = $2")
            .bind(trusted)
            .bind(terminal.id)
            .execute(&mut *c)
            .await
            .unwrap();
    }
    let t = s.test_connection(&terminal, sshd::USER).await;
    assert!(!t.ok, "{t:?}");
    assert!(
        t.message.contains(trusted) && t.message.contains(&sshd.host_fingerprint),
        "{t:?}"
    );
    assert!(t.message.contains("accept the new key"), "{t:?}");
    let changed = terminal_now(&s, &host, terminal.id).await;
    assert_eq!(changed.host_key, trusted, "still the trusted one");
    assert_eq!(changed.host_key_pending, sshd.host_fingerprint);
    // A step is refused as well, and nothing ran.
    let id = s
        .deploy_and_start(
            &chain("changed-key", &[remote(0, "echo ran", "")]),
            "changed-key",
        )
        .await;
    let d = s
        .wait_instance(id, "the step is refused", 30, |d| {
            d.instance.status != "running"
        })
        .await;
    let n0 = node(&d, "n0");
    assert_eq!(n0.state, "failed");
    assert!(
        n0.error.as_deref().unwrap_or("").contains("host key"),
        "{n0:?}"
    );

    // Accepting another fingerprint than the one waiting changes nothing.
    let path = format!("/api/v1/terminals/{}/host-key", terminal.id);
    let r =
        s.t.post(&path, &s.admin, &json!({ "fingerprint": "SHA256:other" }))
            .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // The operator accepts the key shown: it is trusted from then on.
    let r =
        s.t.post(
            &path,
            &s.admin,
            &json!({ "fingerprint": sshd.host_fingerprint }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let accepted: Terminal = r.json();
    assert_eq!(accepted.host_key, sshd.host_fingerprint);
    assert_eq!(accepted.host_key_pending, "");
    let t = s.test_connection(&terminal, sshd::USER).await;
    assert!(t.ok, "{t:?}");
    agent.kill().unwrap();
    agent.wait().unwrap();
}

#[tokio::test]
async fn a_key_other_than_the_one_in_known_hosts_or_the_servers_is_refused_naming_both() {
    use agent::executors::local::ignore_output;
    use agent::executors::ssh::{SshError, SshPool, SshTarget};
    use std::time::Duration;
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let target = |host_key: Option<&str>| SshTarget {
        address: "127.0.0.1".into(),
        port: sshd.port,
        username: sshd::USER.into(),
        auth: shared::agent::SshAuth::Password {
            password: sshd::PASSWORD.into(),
        },
        host_key: host_key.map(str::to_string),
    };
    let run = async |pool: &SshPool, t: &SshTarget| {
        pool.run(
            t,
            "true",
            Duration::from_secs(10),
            std::future::pending(),
            &ignore_output,
        )
        .await
    };
    // First use without the server's say: learnt into known_hosts and reported.
    let pool = SshPool::new(known_hosts.clone());
    let since = std::time::Instant::now();
    run(&pool, &target(None)).await.unwrap();
    let seen = pool.host_key_seen("127.0.0.1", sshd.port, since).unwrap();
    assert_eq!(seen.fingerprint, sshd.host_fingerprint);
    assert_eq!(seen.expected, None);
    assert!(std::fs::read_to_string(&known_hosts)
        .unwrap()
        .contains(&format!("[127.0.0.1]:{}", sshd.port)));

    // The server trusts another key: refused, even with a connection pooled.
    let wrong = "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    let since = std::time::Instant::now();
    match run(&pool, &target(Some(wrong))).await {
        Err(e @ SshError::KeyChanged { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains(wrong) && m.contains(&sshd.host_fingerprint),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    let seen = pool.host_key_seen("127.0.0.1", sshd.port, since).unwrap();
    assert_eq!(seen.expected.as_deref(), Some(wrong));
    // The key the server trusts is the one shown: it runs.
    run(&pool, &target(Some(&sshd.host_fingerprint)))
        .await
        .unwrap();

    // known_hosts holds another key of the same type for the address: refused, naming
    // the file's key and the one shown.
    let other = dir.path().join("other");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(keygen.success());
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut fields = other_pub.split_whitespace();
    let (kind, b64) = (fields.next().unwrap(), fields.next().unwrap());
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {kind} {b64}\n", sshd.port),
    )
    .unwrap();
    let listed = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(other.with_extension("pub"))
        .output()
        .unwrap();
    let other_fp = String::from_utf8_lossy(&listed.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let fresh = SshPool::new(known_hosts.clone());
    match run(&fresh, &target(None)).await {
        Err(e @ SshError::KeyChanged { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains(&other_fp) && m.contains(&sshd.host_fingerprint),
                "{m}"
            );
            assert!(m.contains("known_hosts line 1"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn moving_a_terminal_clears_its_stored_secrets_so_they_never_reach_the_new_address() {
    use lwams_server::store::{sealed, terminals};
    let s = served().await;
    let host: Host =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "mover" }))
            .await
            .json();
    let t: Terminal = s
        .t
        .post(
            "/api/v1/terminals",
            &s.admin,
            &json!({ "host_id": host.id, "host_name": "t", "host_address": "10.0.0.1", "connection_type": "ssh" }),
        )
        .await
        .json();
    let users = format!("/api/v1/terminals/{}/users", t.id);
    s.t.post(
        &users,
        &s.admin,
        &json!({ "username": "ops", "auth": "password", "secret": "Old-pw-1" }),
    )
    .await;
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----";
    let t: Terminal = s
        .t
        .post(&users, &s.admin, &json!({ "username": "keyed", "auth": "private_key", "secret": key, "passphrase": "pp-1" }))
        .await
        .json();
    let id_of = |t: &Terminal, name: &str| t.users.iter().find(|u| u.username == name).unwrap().id;
    let (ops, keyed) = (id_of(&t, "ops"), id_of(&t, "keyed"));
    let path = format!("/api/v1/terminals/{}", t.id);
    let body = |address: &str, port: u16, again: Value| {
        json!({ "host_id": host.id, "host_name": "t", "host_address": address, "port": port,
                "connection_type": "ssh", "comments": "c", "account_secrets": again })
    };
    // Saved where it is: the secrets stay.
    let kept: Terminal =
        s.t.put(&path, &s.admin, &body("10.0.0.1", 22, json!([])))
            .await
            .json();
    assert!(kept.users.iter().all(|u| u.has_secret), "{kept:?}");
    {
        let mut c = s.t.state.store.conn().await.unwrap();
        terminals::record_host_key(&mut c, 1, t.id, "10.0.0.1", 22, "SHA256:old-machine", false)
            .await
            .unwrap();
    }
    // Moved to another address: every secret and the host key are cleared, except the
    // one given again in the same request.
    let r =
        s.t.put(
            &path,
            &s.admin,
            &body(
                "10.9.9.9",
                22,
                json!([{ "user_id": ops, "secret": "New-pw-2" }]),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let moved: Terminal = r.json();
    let has = |t: &Terminal, id: i64| t.users.iter().find(|u| u.id == id).unwrap().has_secret;
    assert!(has(&moved, ops), "given again: {moved:?}");
    assert!(!has(&moved, keyed), "cleared: {moved:?}");
    assert_eq!(moved.host_key, "", "the old machine's key is forgotten");
    {
        let mut c = s.t.state.store.conn().await.unwrap();
        let rows = terminals::list_users(&mut c, 1, &[t.id]).await.unwrap();
        let keyed_row = rows.iter().find(|u| u.id == keyed).unwrap();
        assert_eq!(
            (
                keyed_row.sealed_secret.as_str(),
                keyed_row.sealed_passphrase.as_str()
            ),
            ("", "")
        );
        let ops_row = rows.iter().find(|u| u.id == ops).unwrap();
        assert_eq!(
            s.t.state
                .secrets
                .open(&sealed::TERMINAL_SECRET.at(1, ops), &ops_row.sealed_secret)
                .unwrap(),
            "New-pw-2"
        );
    }
    // Testing the cleared account sends nothing anywhere: refused before the agent.
    let r =
        s.t.post(
            &format!("/api/v1/terminals/{}/users/{keyed}/test", t.id),
            &s.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.body["ok"], false, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("no password or key stored"),
        "{}",
        r.body
    );
    assert!(
        s.host(host.id).await.recent_tasks.is_empty(),
        "no task was sent"
    );
    // Another port is a move too; a secret for another terminal's account is refused.
    let moved: Terminal =
        s.t.put(&path, &s.admin, &body("10.9.9.9", 2222, json!([])))
            .await
            .json();
    assert!(moved.users.iter().all(|u| !u.has_secret), "{moved:?}");
    let r =
        s.t.put(
            &path,
            &s.admin,
            &body(
                "10.9.9.9",
                2222,
                json!([{ "user_id": 999_999, "secret": "x-pw-123" }]),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test]
async fn a_sealed_secret_copied_into_another_accounts_row_does_not_open_there() {
    let s = served().await;
    let host: Host =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "copy" }))
            .await
            .json();
    let t: Terminal = s
        .t
        .post(
            "/api/v1/terminals",
            &s.admin,
            &json!({ "host_id": host.id, "host_name": "t", "host_address": "10.0.0.1", "connection_type": "ssh" }),
        )
        .await
        .json();
    let users = format!("/api/v1/terminals/{}/users", t.id);
    s.t.post(
        &users,
        &s.admin,
        &json!({ "username": "root", "auth": "password", "secret": "Root-pw-1" }),
    )
    .await;
    let t: Terminal =
        s.t.post(
            &users,
            &s.admin,
            &json!({ "username": "guest", "auth": "password", "secret": "Guest-pw-1" }),
        )
        .await
        .json();
    let id_of = |name: &str| t.users.iter().find(|u| u.username == name).unwrap().id;
    // Someone with write access to the database copies root's sealed password into
    // the guest account, hoping a "test" as guest would send it.
    {
        let mut c = s.t.state.store.conn().await.unwrap();
        sqlx::query(
            "UPDATE terminal_users SET secret = (SELECT secret FROM terminal_users WHERE id = $1) \
             WHERE id = $2",
        )
        .bind(id_of("root"))
        .bind(id_of("guest"))
        .execute(&mut *c)
        .await
        .unwrap();
    }
    let r =
        s.t.post(
            &format!("{users}/{}/test", id_of("guest")),
            &s.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.body["ok"], false, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("cannot be unsealed"),
        "{}",
        r.body
    );
    assert!(
        s.host(host.id).await.recent_tasks.is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn old_v1_secrets_are_resealed_bound_to_their_row_and_still_open() {
    use lwams_server::store::{hosts, sealed};
    let s = served().await;
    let host: Host =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "legacy" }))
            .await
            .json();
    let key = &s.t.state.secrets;
    // A value sealed the old way (before associated data), as an older server left it.
    let old = key.seal_v1_for_tests("h-legacy.credential");
    {
        let mut c = s.t.state.store.conn().await.unwrap();
        hosts::set_credential(&mut c, 1, host.id, "hash", &old)
            .await
            .unwrap();
    }
    assert!(
        key.open(&sealed::HOST_CREDENTIAL.at(1, host.id), &old)
            .is_err(),
        "an unconverted v1 value is not opened as if it were bound"
    );
    let done = lwams_server::reseal_v1_secrets(&s.t.state.store, key)
        .await
        .unwrap();
    assert_eq!(done.resealed, 1, "{done:?}");
    let mut c = s.t.state.store.conn().await.unwrap();
    let all = sealed::all(&mut c).await.unwrap();
    assert!(all.iter().all(|v| v.value.starts_with("v2:")), "{all:?}");
    let stored = hosts::sealed_credential(&mut c, 1, host.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        key.open(&sealed::HOST_CREDENTIAL.at(1, host.id), &stored)
            .unwrap(),
        "h-legacy.credential"
    );
    drop(c);
    // Once converted there is nothing left to do.
    let again = lwams_server::reseal_v1_secrets(&s.t.state.store, key)
        .await
        .unwrap();
    assert_eq!(again.resealed, 0);
}

#[tokio::test]
async fn a_steps_recorded_input_and_output_never_show_the_terminals_password_or_url_credentials() {
    let sshd = Sshd::start();
    let s = served().await;
    let work = tempfile::tempdir().unwrap();
    let (host, _terminal, mut agent) = edge_on_sshd(&s, &sshd, work.path()).await;
    // The step prints the account's password and a URL with credentials and a token.
    let command = format!(
        "echo pw={pw}; echo {pw}; echo https://u:Url-pw-9@api.example/x?token=Tok-9",
        pw = sshd::PASSWORD
    );
    let id = s
        .deploy_and_start(&chain("leaky", &[remote(0, &command, "")]), "leaky")
        .await;
    let d = s
        .wait_instance(id, "the step runs", 30, |d| d.instance.status != "running")
        .await;
    assert_eq!(d.instance.status, "completed", "{d:#?}");
    let output = output(&d, "n0");
    let (input,): (String,) = {
        let mut c = s.t.state.store.conn().await.unwrap();
        sqlx::query_as("SELECT input FROM node_runs WHERE instance_id = $1 AND node_id = 'n0'")
            .bind(id)
            .fetch_one(&mut *c)
            .await
            .unwrap()
    };
    let tasks = format!("{:?}", s.host(host.id).await.recent_tasks);
    for shown in [&output, &input, &tasks] {
        for secret in [sshd::PASSWORD, "Url-pw-9", "Tok-9"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("•••"), "{shown}");
    }
    assert!(output.contains("api.example"), "the rest is kept: {output}");
    agent.kill().unwrap();
    agent.wait().unwrap();
}
