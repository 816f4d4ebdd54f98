//! `cargo bench -p server --bench engine` (the `lwams-bench engine` figures of issue 3):
//! 1. the pure core: per-step cost in a 40-step chain;
//! 2. the full durable runtime (jobs, leases, one transaction per change): overhead per
//!    step of a 40-step chain of `noop` steps, p50/p99, on SQLite;
//! 3. completed single-task instances per second, history kept, SQLite and PostgreSQL
//!    (LWAMS_BENCH_PG=postgres://…; default postgres://postgres@127.0.0.1:5432/postgres,
//!    skipped when unreachable);
//! 4. dispatch: on an idle engine, start → first step running, p50/p99;
//! 5. memory: RSS with 10,000 instances waiting at user tasks;
//! 6. fan-out: a node change reaching 100 signed-in `/ws` clients, p50/p99.

use futures_util::StreamExt;
use lwams_server::engine::compile::{compile, Executable};
use lwams_server::engine::core::{step, Command, Conditions, Event, InstanceState};
use lwams_server::engine::deploy::{deploy, Which};
use lwams_server::engine::runtime::{Runtime, StartSpec};
use lwams_server::store::{companies, Store};
use shared::bpmn::Document;
use std::time::{Duration, Instant};

struct NoConditions;
impl Conditions for NoConditions {
    fn eval(&self, e: &str) -> Result<bool, String> {
        Err(format!("no conditions in this bench: {e}"))
    }

    fn count(&self, over: &str) -> Result<usize, String> {
        Err(format!("no multi-instance in this bench: {over}"))
    }
}

fn process(key: &str, body: String) -> String {
    format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0"><process id="{key}" isExecutable="true">{body}</process></definitions>"#
    )
}

fn chain(key: &str, n: usize, kind: &str) -> String {
    let mut body = String::from(r#"<startEvent id="s"/>"#);
    let mut prev = "s".to_string();
    for i in 0..n {
        body.push_str(&format!(
            r#"<serviceTask id="t{i}" lwams:kind="{kind}" lwams:command="true"/><sequenceFlow id="f{i}" sourceRef="{prev}" targetRef="t{i}"/>"#
        ));
        prev = format!("t{i}");
    }
    body.push_str(&format!(
        r#"<endEvent id="e"/><sequenceFlow id="fe" sourceRef="{prev}" targetRef="e"/>"#
    ));
    process(key, body)
}

fn waiting(key: &str) -> String {
    process(
        key,
        r#"<startEvent id="s"/><userTask id="u"/><endEvent id="e"/><sequenceFlow id="a" sourceRef="s" targetRef="u"/><sequenceFlow id="b" sourceRef="u" targetRef="e"/>"#.into(),
    )
}

fn executable(xml: &str) -> Executable {
    let doc = Document::parse(xml).expect("parses");
    compile(&doc.model.processes[0], &doc.model.errors).expect("compiles")
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

struct Bench {
    rt: Runtime,
    co: i64,
    stop: tokio::sync::watch::Sender<bool>,
}

async fn engine(url: &str) -> Bench {
    let store = Store::open(url).await.expect("store");
    let mut c = store.conn().await.expect("conn");
    let co = companies::insert(&mut c, "bench", "Bench")
        .await
        .expect("company");
    drop(c);
    let rt = Runtime::new(store, "bench", 16);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let w = rt.clone();
    tokio::spawn(async move { w.work(None, rx).await });
    Bench { rt, co, stop }
}

impl Bench {
    async fn deploy(&self, xml: &str) -> i64 {
        deploy(
            &self.rt,
            self.co,
            xml,
            Which::Executable,
            None,
            None,
            &Default::default(),
        )
        .await
        .expect("deploy")
        .1[0]
            .id
    }

    async fn start(&self, def: i64) -> i64 {
        self.rt
            .start(StartSpec::new(self.co, def, "api"))
            .await
            .expect("start")
    }
}

/// Waits for the live update saying `id` has `status`.
async fn until(
    rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<lwams_server::engine::runtime::Live>>,
    pred: impl Fn(&shared::dto::flow::LiveUpdate) -> bool,
) {
    loop {
        match rx.recv().await {
            Ok(l) if pred(&l.update) => return,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

async fn per_step(url: &str) {
    let b = engine(url).await;
    let def = b.deploy(&chain("c40", 40, "noop")).await;
    let mut per = Vec::new();
    for _ in 0..30 {
        let mut rx = b.rt.subscribe();
        let t = Instant::now();
        let id = b.start(def).await;
        until(&mut rx, |u| u.instance_id == id && u.status == "completed").await;
        per.push(t.elapsed().as_secs_f64() * 1000.0 / 40.0);
    }
    println!(
        "runtime, 40-step chain of noop steps (SQLite): p50 {:.2} ms/step, p99 {:.2} ms/step (30 instances)",
        pct(&mut per, 0.5),
        pct(&mut per, 0.99)
    );
    let _ = b.stop.send(true);
}

/// `n` single-task instances started by `clients` concurrent clients; the figure is
/// from the first start until the store counts all of them completed.
async fn throughput(label: &str, url: &str, n: usize, clients: usize) {
    let b = std::sync::Arc::new(engine(url).await);
    let def = b.deploy(&chain("one", 1, "noop")).await;
    let t = Instant::now();
    let mut starters = Vec::new();
    for c in 0..clients {
        let b = b.clone();
        let share = n / clients + usize::from(c < n % clients);
        starters.push(tokio::spawn(async move {
            for _ in 0..share {
                b.start(def).await;
            }
        }));
    }
    for s in starters {
        s.await.expect("starter");
    }
    loop {
        let mut c = b.rt.store().conn().await.expect("conn");
        let done: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT COUNT(*) AS n FROM flow_instances WHERE status = 'completed'")
                .fetch_one(&mut *c)
                .await
                .expect("count"),
            "n",
        )
        .expect("n");
        if done as usize >= n || t.elapsed() > Duration::from_secs(300) {
            break;
        }
        drop(c);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{label:<11} {n} single-task instances, {clients} starting clients (history kept): {:.0} completed/s",
        n as f64 / secs
    );
    let _ = b.stop.send(true);
}

async fn dispatch(url: &str) {
    let b = engine(url).await;
    let def = b.deploy(&chain("d1", 1, "noop")).await;
    let mut lat = Vec::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(20)).await; // idle engine
        let mut rx = b.rt.subscribe();
        let id = b.start(def).await;
        let t = Instant::now();
        // The step's completion is the first update after the start: the job was
        // claimed, run (noop) and finished.
        until(&mut rx, |u| u.instance_id == id && u.status == "completed").await;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "dispatch on an idle engine, start committed → noop step done (SQLite): p50 {:.2} ms, p99 {:.2} ms (200 starts)",
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99)
    );
    let _ = b.stop.send(true);
}

async fn memory(url: &str) {
    let b = engine(url).await;
    let def = b.deploy(&waiting("w")).await;
    let before = rss_mb();
    for _ in 0..10_000 {
        b.start(def).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!(
        "10,000 instances waiting at user tasks: RSS {:.1} MB (before {:.1} MB)",
        rss_mb(),
        before
    );
    let _ = b.stop.send(true);
}

async fn fan_out(url: &str) {
    use lwams_server::auth::session::{new_token, token_hash};
    let dir = tempfile::tempdir().expect("tmp");
    let config = lwams_server::config::Config {
        database_url: Some(url.to_string()),
        data_dir: dir.path().into(),
        secret_key: Some(lwams_server::crypto::SecretBox::generate_key()),
        ..Default::default()
    };
    let state = lwams_server::build_state(config).await.expect("state");
    lwams_server::bootstrap::ensure_first_admin(&state.store, "admin", Some("bench-password-1"))
        .await
        .expect("admin");
    let token = new_token();
    let mut c = state.store.conn().await.expect("conn");
    lwams_server::store::sessions::insert(
        &mut c,
        &token_hash(&token),
        1,
        1,
        "csrf",
        lwams_server::store::now_millis() + 3_600_000,
    )
    .await
    .expect("session");
    drop(c);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let w = state.runtime.clone();
    tokio::spawn(async move { w.work(None, rx).await });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = lwams_server::web::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut clients = Vec::new();
    for _ in 0..100 {
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!("ws://{addr}/ws"),
            )
            .expect("request");
        req.headers_mut().insert(
            "cookie",
            format!("lwams_session={token}").parse().expect("cookie"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("ws");
        clients.push(ws);
    }
    let def = deploy(
        &state.runtime,
        1,
        &waiting("fan"),
        Which::Executable,
        None,
        None,
        &Default::default(),
    )
    .await
    .expect("deploy")
    .1[0]
        .id;
    let mut lat = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        state
            .runtime
            .start(StartSpec::new(1, def, "api"))
            .await
            .expect("start");
        let committed = t.elapsed();
        let mut reads = Vec::new();
        for ws in clients.iter_mut() {
            reads.push(async move {
                let _ = ws.next().await;
                Instant::now()
            });
        }
        for at in futures_util::future::join_all(reads).await {
            lat.push((at - t - committed).as_secs_f64() * 1000.0);
        }
    }
    println!(
        "a node change → 100 /ws clients: p50 {:.2} ms, p99 {:.2} ms (20 changes, 2,000 deliveries)",
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99)
    );
    let _ = stop.send(true);
}

#[tokio::main]
async fn main() {
    let ex = executable(&chain("c", 40, "noop"));
    // 1. Pure core.
    let mut per_step_core = Vec::new();
    for _ in 0..500 {
        let mut state = InstanceState::default();
        let mut events = vec![Event::Start];
        let mut steps = 0;
        let t = Instant::now();
        while let Some(e) = events.pop() {
            for c in step(&mut state, &ex, e, &NoConditions).expect("step") {
                if let Command::RunJob { ni, .. } = c {
                    events.push(Event::JobCompleted { ni });
                }
            }
            steps += 1;
        }
        per_step_core.push(t.elapsed().as_secs_f64() * 1e6 / steps as f64);
    }
    println!(
        "pure core, 40-step chain: p50 {:.1} µs/step, p99 {:.1} µs/step (500 instances)",
        pct(&mut per_step_core, 0.5),
        pct(&mut per_step_core, 0.99)
    );
    let dir = tempfile::tempdir().expect("tmp");
    let sqlite = |name: &str| format!("sqlite:{}", dir.path().join(name).display());
    per_step(&sqlite("steps.db")).await;
    dispatch(&sqlite("dispatch.db")).await;
    throughput("SQLite", &sqlite("tput1.db"), 3000, 1).await;
    throughput("SQLite", &sqlite("tput8.db"), 3000, 8).await;
    let pg = std::env::var("LWAMS_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("lwams_bench_{}", std::process::id());
    use sqlx::{Connection, Executor};
    match sqlx::PgConnection::connect(&pg).await {
        Ok(mut admin) => {
            for (n, clients) in [(1000, 1), (2000, 8)] {
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create db");
                let url = format!("{}/{}", &pg[..pg.rfind('/').unwrap_or(pg.len())], name);
                throughput("PostgreSQL", &url, n, clients).await;
                admin
                    .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
                    .await
                    .expect("drop db");
            }
        }
        Err(e) => println!("PostgreSQL  skipped: {e}"),
    }
    fan_out(&sqlite("fanout.db")).await;
    memory(&sqlite("memory.db")).await;
}
