//! `cargo bench -p server --bench lists`: latency of the user and group list endpoints
//! with 1,000 users and 1,000 groups in an SQLite store, through the real router
//! (session lookup, permission guard, queries, JSON). Prints p50/p99 per endpoint.
//! Then the Flow › Monitor list over 100,000 instances of 10 flows: first page, last
//! page, a status filter and a flow-key search.

use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use lwams_server::config::Config;
use lwams_server::store::{groups, users};
use shared::dto::ListQuery;
use shared::Locale;
use std::time::Instant;
use tower::ServiceExt;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        database_url: Some(format!("sqlite:{}", dir.path().join("bench.db").display())),
        data_dir: dir.path().into(),
        secret_key: Some(lwams_server::crypto::SecretBox::generate_key()),
        ..Config::default()
    };
    let state = lwams_server::build_state(config).await.expect("state");
    lwams_server::bootstrap::ensure_first_admin(&state.store, "admin", Some("bench-password"))
        .await
        .expect("admin");
    let mut tx = state.store.begin().await.expect("tx");
    let f = users::UserFields {
        display_name: "Bench User",
        email: "b@example.com",
        phone: "",
        mobile: "",
        enabled: true,
        may_login_agent: false,
    };
    for i in 0..999 {
        let u = users::insert(&mut tx, 1, &format!("user{i:04}"), "x", Locale::En, &f)
            .await
            .expect("user");
        let g = groups::insert(&mut tx, 1, &format!("group{i:04}"), "bench")
            .await
            .expect("group");
        groups::add_members(&mut tx, g, &[u]).await.expect("member");
    }
    tx.commit().await.expect("commit");
    let app = lwams_server::web::app(state.clone());

    let login = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"login":"admin","password":"bench-password"}"#,
        ))
        .expect("request");
    let resp = app.clone().oneshot(login).await.expect("login");
    let cookie = resp.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();

    let mut conn = state.store.conn().await.expect("conn");
    let (_, n) = users::list(&mut conn, 1, &ListQuery::default())
        .await
        .expect("count");
    drop(conn);
    println!("lists bench: {n} users, 1000 groups, SQLite (WAL), through the router");
    let time = |name: &'static str, path: &'static str, n: usize| {
        let app = app.clone();
        let cookie = cookie.clone();
        async move {
            let mut times = Vec::with_capacity(n);
            for i in 0..n + 20 {
                let req = Request::get(path)
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .expect("request");
                let t = Instant::now();
                let resp = app.clone().oneshot(req).await.expect("response");
                assert!(resp.status().is_success(), "{path}: {}", resp.status());
                let _ = resp.into_body().collect().await.expect("body");
                if i >= 20 {
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let p = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
            println!(
                "{name:<44} p50 {:>7.2} ms   p99 {:>7.2} ms   ({n} requests)",
                p(0.50),
                p(0.99)
            );
        }
    };
    for (name, path) in [
        ("GET /api/v1/users (page of 50)", "/api/v1/users"),
        ("GET /api/v1/users?limit=500", "/api/v1/users?limit=500"),
        ("GET /api/v1/users?q=user09", "/api/v1/users?q=user09"),
        ("GET /api/v1/groups (page of 50)", "/api/v1/groups"),
    ] {
        time(name, path, 500).await;
    }

    // 100,000 instances.
    let mut tx = state.store.begin().await.expect("tx");
    let mut defs = Vec::new();
    for k in 0..10 {
        let key = format!("flow-{k}");
        let def = lwams_server::store::flows::NewDefinition {
            key: &key,
            name: "bench",
            xml: "<definitions/>",
            compiled: "[]",
            by: None,
            about: &Default::default(),
        };
        let (id, _) = lwams_server::store::flows::insert_definition(&mut tx, 1, &def)
            .await
            .expect("definition");
        defs.push(id);
    }
    use shared::dto::status::InstanceStatus as S;
    let statuses = [
        S::Completed,
        S::Completed,
        S::Completed,
        S::Failed,
        S::Running,
    ];
    for i in 0..100_000usize {
        lwams_server::store::flows::insert_instance(
            &mut tx,
            &lwams_server::store::flows::NewInstance {
                company_id: 1,
                definition_id: defs[i % 10],
                process_id: "",
                status: statuses[i % 5],
                state: "{}",
                variables: "{}",
                start_way: "api",
                created_by: Some(1),
                parent: None,
                root: None,
            },
        )
        .await
        .expect("instance");
    }
    tx.commit().await.expect("commit");
    println!("monitor list: 100,000 instances of 10 flows, SQLite");
    time(
        "GET /api/v1/instances (first page of 50)",
        "/api/v1/instances",
        100,
    )
    .await;
    time(
        "GET /api/v1/instances?offset=99950 (last)",
        "/api/v1/instances?offset=99950",
        100,
    )
    .await;
    time(
        "GET /api/v1/instances?status=failed",
        "/api/v1/instances?status=failed",
        100,
    )
    .await;
    time(
        "GET /api/v1/instances?q=flow-7",
        "/api/v1/instances?q=flow-7",
        100,
    )
    .await;
}
