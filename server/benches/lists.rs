//! `cargo bench -p server --bench lists`: latency of the user and group list endpoints
//! with 1,000 users and 1,000 groups in an SQLite store, through the real router
//! (session lookup, permission guard, queries, JSON). Prints p50/p99 per endpoint.

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
    for (name, path) in [
        ("GET /api/v1/users (page of 50)", "/api/v1/users"),
        ("GET /api/v1/users?limit=500", "/api/v1/users?limit=500"),
        ("GET /api/v1/users?q=user09", "/api/v1/users?q=user09"),
        ("GET /api/v1/groups (page of 50)", "/api/v1/groups"),
    ] {
        let mut times = Vec::with_capacity(500);
        for i in 0..520 {
            let req = Request::get(path)
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .expect("request");
            let t = Instant::now();
            let resp = app.clone().oneshot(req).await.expect("response");
            assert!(resp.status().is_success());
            let _ = resp.into_body().collect().await.expect("body");
            if i >= 20 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let p = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
        println!(
            "{name:<36} p50 {:>6.2} ms   p99 {:>6.2} ms   (500 requests)",
            p(0.50),
            p(0.99)
        );
    }
}
