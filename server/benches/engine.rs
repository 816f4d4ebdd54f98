//! `cargo bench -p server --bench engine`: engine figures of issue 3 as far as they
//! exist today.
//! 1. the pure core: per-step cost in a 40-step chain of no-op jobs;
//! 2. the same chain with the state saved after every step (one transaction each), on
//!    SQLite, p50/p99 per step;
//! 3. completed single-task instances per second with history kept, SQLite and
//!    PostgreSQL (set LWAMS_BENCH_PG=postgres://… to include PostgreSQL; default
//!    postgres://postgres@127.0.0.1:5432/postgres, skipped when unreachable).

use lwams_server::engine::compile::{compile, Executable};
use lwams_server::engine::core::{step, Command, Conditions, Event, InstanceState};
use lwams_server::store::{companies, flows, Store};
use shared::bpmn::Document;
use std::time::Instant;

struct NoConditions;
impl Conditions for NoConditions {
    fn eval(&self, e: &str) -> Result<bool, String> {
        Err(format!("no conditions in this bench: {e}"))
    }

    fn count(&self, over: &str) -> Result<usize, String> {
        Err(format!("no multi-instance in this bench: {over}"))
    }
}

fn chain(n: usize) -> String {
    let mut body = String::from(r#"<startEvent id="s"/>"#);
    let mut prev = "s".to_string();
    for i in 0..n {
        body.push_str(&format!(
            r#"<serviceTask id="t{i}" lwams:kind="localCommand" lwams:command="true"/>"#
        ));
        body.push_str(&format!(
            r#"<sequenceFlow id="f{i}" sourceRef="{prev}" targetRef="t{i}"/>"#
        ));
        prev = format!("t{i}");
    }
    body.push_str(&format!(
        r#"<endEvent id="e"/><sequenceFlow id="fe" sourceRef="{prev}" targetRef="e"/>"#
    ));
    format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0"><process id="chain" isExecutable="true">{body}</process></definitions>"#
    )
}

fn executable(xml: &str) -> Executable {
    let doc = Document::parse(xml).expect("parses");
    compile(&doc.model.processes[0], &doc.model.errors).expect("compiles")
}

/// Drives an instance: every RunJob is completed at once.
fn drive(ex: &Executable, mut on_step: impl FnMut(&InstanceState)) -> usize {
    let mut state = InstanceState::default();
    let mut events = vec![Event::Start];
    let mut steps = 0;
    while let Some(e) = events.pop() {
        for c in step(&mut state, ex, e, &NoConditions).expect("step") {
            if let Command::RunJob { ni, .. } = c {
                events.push(Event::JobCompleted { ni });
            }
        }
        steps += 1;
        on_step(&state);
    }
    steps
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * q) as usize]
}

async fn store_with_company(url: &str) -> (Store, i64, i64) {
    let store = Store::open(url).await.expect("store");
    let mut c = store.conn().await.expect("conn");
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let code = format!(
        "bench{}",
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let co = companies::insert(&mut c, &code, "Bench")
        .await
        .expect("company");
    let (def, _) = flows::insert_definition(&mut c, co, "chain", "chain", "<xml/>", None)
        .await
        .expect("definition");
    drop(c);
    (store, co, def)
}

async fn new_instance(store: &Store, co: i64, def: i64) -> i64 {
    let mut c = store.conn().await.expect("conn");
    let new = flows::NewInstance {
        company_id: co,
        definition_id: def,
        status: "running",
        state: "{}",
        variables: "{}",
        start_way: "api",
        created_by: None,
    };
    flows::insert_instance(&mut c, &new)
        .await
        .expect("instance")
}

async fn save(store: &Store, id: i64, state: &InstanceState) {
    let mut tx = store.begin().await.expect("tx");
    let json = serde_json::to_string(state).expect("json");
    flows::save_instance(&mut tx, id, "running", &json, "{}", false)
        .await
        .expect("save");
    tx.commit().await.expect("commit");
}

async fn instances_per_second(label: &str, url: &str, n: usize) {
    let (store, co, def) = store_with_company(url).await;
    let ex = executable(&chain(1));
    let t = Instant::now();
    for _ in 0..n {
        let id = new_instance(&store, co, def).await;
        let mut states = Vec::new();
        drive(&ex, |s| states.push(s.clone()));
        for s in &states {
            save(&store, id, s).await;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{label:<11} {n} single-task instances (3 saved steps each): {:.0} instances/s",
        n as f64 / secs
    );
    store.close().await;
}

#[tokio::main]
async fn main() {
    let ex = executable(&chain(40));
    // 1. Pure core.
    let mut per_step = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        let steps = drive(&ex, |_| {});
        per_step.push(t.elapsed().as_secs_f64() * 1e6 / steps as f64);
    }
    println!(
        "pure core, 40-step chain: p50 {:.1} µs/step, p99 {:.1} µs/step (500 instances)",
        pct(&mut per_step, 0.5),
        pct(&mut per_step, 0.99)
    );

    // 2. With the state saved after every step (SQLite).
    let dir = tempfile::tempdir().expect("tmp");
    let sqlite = format!("sqlite:{}", dir.path().join("bench.db").display());
    let (store, co, def) = store_with_company(&sqlite).await;
    let mut times = Vec::new();
    for _ in 0..50 {
        let id = new_instance(&store, co, def).await;
        let mut state = InstanceState::default();
        let mut events = vec![Event::Start];
        while let Some(e) = events.pop() {
            let t = Instant::now();
            for cmd in step(&mut state, &ex, e, &NoConditions).expect("step") {
                if let Command::RunJob { ni, .. } = cmd {
                    events.push(Event::JobCompleted { ni });
                }
            }
            save(&store, id, &state).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    println!("40-step chain, state saved per step (SQLite): p50 {:.2} ms/step, p99 {:.2} ms/step (50 instances)", pct(&mut times, 0.5), pct(&mut times, 0.99));
    store.close().await;

    // 3. Instances per second.
    instances_per_second("SQLite", &sqlite, 2000).await;
    let pg = std::env::var("LWAMS_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("lwams_bench_{}", std::process::id());
    use sqlx::{Connection, Executor};
    match sqlx::PgConnection::connect(&pg).await {
        Ok(mut admin) => {
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create db");
            let url = format!("{}/{}", &pg[..pg.rfind('/').unwrap_or(pg.len())], name);
            instances_per_second("PostgreSQL", &url, 500).await;
            admin
                .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
                .await
                .expect("drop db");
        }
        Err(e) => println!("PostgreSQL  skipped: {e}"),
    }
}
