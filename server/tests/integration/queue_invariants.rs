//! The queue's invariants, as Windmill pins its own: two servers (two runtimes with
//! their own engine node names) on one PostgreSQL database never claim the same job —
//! 1,000 queued steps, each run exactly once —, and two writers changing one instance
//! at the same time both land and the instance converges to the right final state.

use crate::support::{self, chain, node, served, step, wait_for, TestApp};
use axum::extract::{Path, State};
use axum::routing::get;
use lwams_server::engine::runtime::Actor;
use serde_json::json;
use shared::dto::flow::ControlAction;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A server's app over `db` whose engine leases jobs as `node` (its worker not
/// started yet).
async fn server(db: support::TestDb, node: &str) -> TestApp {
    let node = node.to_string();
    support::app_with(db, move |c| {
        c.engine_node = Some(node);
        c.engine_slots = 8;
    })
    .await
}

/// An HTTP peer counting the requests to `/hit/{n}` per `n`.
async fn counter() -> (u16, Arc<Mutex<HashMap<u64, usize>>>) {
    let hits: Arc<Mutex<HashMap<u64, usize>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hit/{n}",
            get(
                |State(hits): State<Arc<Mutex<HashMap<u64, usize>>>>, Path(n): Path<u64>| async move {
                    *hits.lock().expect("counter").entry(n).or_default() += 1;
                    "counted"
                },
            ),
        )
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, hits)
}

/// The instances each runtime saw complete (its own live feed: the changes it made).
fn completions(t: &TestApp) -> Arc<Mutex<HashSet<i64>>> {
    let seen: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let mut rx = t.state.runtime.subscribe();
    let into = seen.clone();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(live) => {
                    if live.update.status.as_str() == "completed" {
                        into.lock().expect("set").insert(live.update.instance_id);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    seen
}

async fn count(t: &TestApp, sql: &str) -> i64 {
    let mut c = t.state.store.conn().await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut *c).await.unwrap();
    n
}

#[tokio::test]
async fn two_runtimes_on_one_postgres_run_each_of_1000_queued_steps_exactly_once() {
    const N: u64 = 1000;
    let db = support::pg_db().await;
    let a = server(db.shared(), "worker-a").await;
    let b = server(db.shared(), "worker-b").await;
    let admin = a.admin().await;
    let (port, hits) = counter().await;
    let url = format!("http://127.0.0.1:{port}/hit/${{n}}");
    let xml = chain(
        "counted",
        &[step(0, "http", &[("method", "GET"), ("url", &url)])],
    );
    let r = a
        .post("/api/v1/flows", &admin, &json!({ "xml": xml }))
        .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.body);
    // Queued while no worker runs: every step waits in the queue to be claimed.
    for n in 0..N {
        let r = a
            .post(
                "/api/v1/instances",
                &admin,
                &json!({ "key": "counted", "variables": { "n": n } }),
            )
            .await;
        assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.body);
    }
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'step' AND status = 'queued'"
        )
        .await,
        N as i64
    );
    let (seen_a, seen_b) = (completions(&a), completions(&b));
    let (_stop, stop) = tokio::sync::watch::channel(false);
    for t in [&a, &b] {
        let (rt, stop) = (t.state.runtime.clone(), stop.clone());
        tokio::spawn(async move { rt.work(None, stop).await });
    }
    let started = std::time::Instant::now();
    wait_for("every instance to complete", 300, async || {
        let done = count(
            &a,
            "SELECT COUNT(*) FROM flow_instances WHERE status <> 'running'",
        )
        .await;
        (done == N as i64).then_some(())
    })
    .await;
    let took = started.elapsed();
    eprintln!("{N} steps on two runtimes: {took:?}");
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM flow_instances WHERE status = 'completed'"
        )
        .await,
        N as i64,
        "every instance completed"
    );
    let hits = hits.lock().unwrap().clone();
    assert_eq!(hits.len() as u64, N, "every step ran");
    let twice: Vec<_> = hits.iter().filter(|(_, c)| **c != 1).collect();
    assert!(twice.is_empty(), "steps run more than once: {twice:?}");
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'step' AND status = 'done'"
        )
        .await,
        N as i64,
        "every step job done, none left or cancelled"
    );
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM node_runs WHERE status = 'completed' AND attempt = 1"
        )
        .await,
        N as i64,
        "one completed first run per instance"
    );
    // Both runtimes took part, and no instance was finished by both.
    let (seen_a, seen_b) = (
        seen_a.lock().unwrap().clone(),
        seen_b.lock().unwrap().clone(),
    );
    assert!(
        !seen_a.is_empty() && !seen_b.is_empty(),
        "both claimed: a {} b {}",
        seen_a.len(),
        seen_b.len()
    );
    assert!(
        seen_a.is_disjoint(&seen_b),
        "finished by both: {:?}",
        seen_a.intersection(&seen_b).collect::<Vec<_>>()
    );
    drop(b);
    drop(a);
    drop(db);
}

/// start → a parallel fork to `n` user tasks u0 … → a join → end.
fn fork_of_user_tasks(key: &str, n: usize) -> String {
    let mut body = String::from(
        r#"<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>
        <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/><bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="end"/>"#,
    );
    for i in 0..n {
        body.push_str(&format!(
            r#"<bpmn:userTask id="u{i}"/><bpmn:sequenceFlow id="a{i}" sourceRef="fork" targetRef="u{i}"/><bpmn:sequenceFlow id="b{i}" sourceRef="u{i}" targetRef="join"/>"#
        ));
    }
    support::bpmn(key, &body)
}

#[tokio::test]
async fn two_servers_completing_tasks_of_one_instance_at_once_both_land_and_it_converges() {
    const TASKS: usize = 12;
    let db = support::pg_db().await;
    let a = served::serve(server(db.shared(), "writer-a").await).await;
    let b = server(db.shared(), "writer-b").await;
    a.deploy(&fork_of_user_tasks("parallel", TASKS)).await;
    let id = a.start("parallel", json!({})).await;
    a.wait_instance(id, "every user task to wait", 10, |d| {
        (0..TASKS).all(|i| {
            d.nodes
                .iter()
                .any(|n| n.node_id == format!("u{i}") && n.state == "active")
        })
    })
    .await;
    let before = a.t.state.runtime.snapshot(id).await.unwrap();
    let company = before.record.company_id;
    assert_eq!(before.user_tasks.len(), TASKS);
    // Each task completed by one of the two servers, all at the same time.
    let completes = before.user_tasks.iter().enumerate().map(|(i, ni)| {
        let rt = if i % 2 == 0 {
            a.t.state.runtime.clone()
        } else {
            b.state.runtime.clone()
        };
        let ni = *ni;
        tokio::spawn(async move {
            rt.control(
                company,
                id,
                ControlAction::Complete,
                Some(ni),
                Actor {
                    user_id: None,
                    name: format!("writer {i}"),
                },
            )
            .await
        })
    });
    for (i, done) in futures_util::future::join_all(completes)
        .await
        .into_iter()
        .enumerate()
    {
        let done = done.expect("the task ran");
        assert!(done.is_ok(), "complete u{i}: {done:?}");
    }
    let d = a.wait_status(id, "completed").await;
    for i in 0..TASKS {
        assert_eq!(node(&d, &format!("u{i}")).state, "completed", "{d:#?}");
    }
    let after = a.t.state.runtime.snapshot(id).await.unwrap();
    assert!(
        after.record.revision >= before.record.revision + TASKS as i64,
        "every completion saved its own revision: {} then {}",
        before.record.revision,
        after.record.revision
    );
    assert_eq!(
        count(
            &a.t,
            &format!("SELECT COUNT(*) FROM instance_actions WHERE instance_id = {id} AND action = 'complete'")
        )
        .await,
        TASKS as i64,
        "each completion recorded once"
    );
}

#[tokio::test]
async fn a_writer_holding_an_outdated_revision_cannot_overwrite_the_instance() {
    use lwams_server::store::flows;
    let db = support::pg_db().await;
    let a = served::serve(server(db.shared(), "stale-a").await).await;
    a.deploy(&fork_of_user_tasks("stale", 1)).await;
    let id = a.start("stale", json!({})).await;
    a.wait_instance(id, "the user task", 10, |d| {
        d.nodes.iter().any(|n| n.node_id == "u0")
    })
    .await;
    let store = &a.t.state.store;
    let mut first = store.begin().await.unwrap();
    let mut second = store.begin().await.unwrap();
    let r1 = flows::load_instance(&mut first, id).await.unwrap().unwrap();
    let r2 = flows::load_instance(&mut second, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r1.revision, r2.revision);
    let saved = flows::save_revision(
        &mut first,
        id,
        r1.revision,
        r1.status,
        &r1.state,
        r1.variables.as_str(),
        false,
    )
    .await
    .unwrap();
    assert!(saved, "the first writer lands");
    first.commit().await.unwrap();
    let saved = flows::save_revision(
        &mut second,
        id,
        r2.revision,
        r2.status,
        &r2.state,
        "{\"lost\":true}",
        false,
    )
    .await
    .unwrap();
    assert!(!saved, "the second, from the same revision, is refused");
    second.commit().await.unwrap();
    let now = flows::load_instance(&mut store.conn().await.unwrap(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.revision, r1.revision + 1);
    assert!(!now.variables.contains("lost"), "{}", now.variables);
    // The engine, told to change it after that, reads the new revision and lands.
    let ni = a.t.state.runtime.snapshot(id).await.unwrap().user_tasks[0];
    a.t.state
        .runtime
        .control(
            now.company_id,
            id,
            ControlAction::Complete,
            Some(ni),
            Actor {
                user_id: None,
                name: "after".into(),
            },
        )
        .await
        .unwrap();
    a.wait_status(id, "completed").await;
}
