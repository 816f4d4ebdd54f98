//! The egress policy and where data sources may be used, end to end: a company the
//! server does not trust (a second company) runs HTTP and SQL steps "in cloud" against
//! the server's own loopback — by address, by name, through a redirect — and is
//! refused, while the platform operator's company still reaches it; a data source
//! restricted to one host is refused on another and its password never goes there.

use crate::support;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use shared::dto::data_source::DataSource;
use shared::dto::flow::InstanceDetail;
use shared::dto::host::{ConnectionTest, Host, HostState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::served::{served, served_with, start_agent, Served};
use support::{attr, chain, node, Client};

const REFUSED_FOR_OTHER: &str = "the server does not connect there for company other (ask the \
                                 platform operator to allow it with LWAMS_EGRESS_ALLOW)";

/// An HTTP server on `ip`: `/hello` (counted in `hits`), `/to?url=…` (302 to it).
async fn peer(ip: &str, hits: Arc<AtomicUsize>) -> u16 {
    let app = Router::new()
        .route(
            "/hello",
            get(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async { "hello" }
            }),
        )
        .route(
            "/to",
            get(
                |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, q.get("url").cloned().unwrap_or_default())],
                    )
                        .into_response()
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn http_step(url: &str) -> String {
    format!(
        r#"<bpmn:serviceTask id="n0" lwams:kind="http" lwams:method="GET" lwams:url="{}"/>"#,
        attr(url)
    )
}

fn sql_step(source: &str, host: Option<&str>) -> String {
    let host = host
        .map(|h| format!(r#" lwams:host="{h}""#))
        .unwrap_or_default();
    format!(
        r#"<bpmn:serviceTask id="n0" lwams:kind="sql" lwams:dataSource="{source}" lwams:sql="SELECT 1 AS one" lwams:resultVariable="rows"{host}/>"#
    )
}

/// Deploys a one-step flow as `who`, starts it and waits for it to end.
async fn run_as(s: &Served, who: &Client, key: &str, step: String) -> InstanceDetail {
    let xml = chain(key, &[step]);
    let r = s.t.post("/api/v1/flows", who, &json!({ "xml": xml })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r =
        s.t.post(
            "/api/v1/instances",
            who,
            &json!({ "key": key, "variables": {} }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    s.t.wait_instance(who, id, &format!("{key} to end"), 60, |d| {
        d.instance.status != "running"
    })
    .await
}

/// The step's error (the flow failed), or panics.
fn error_of(d: &InstanceDetail) -> String {
    let n0 = node(d, "n0");
    assert_eq!(n0.state, "failed", "{d:#?}");
    n0.error.clone().unwrap_or_default()
}

fn completed(d: &InstanceDetail) {
    assert_eq!(d.instance.status, "completed", "{d:#?}");
}

#[tokio::test]
async fn an_untrusted_company_in_cloud_cannot_reach_loopback_by_address_name_or_redirect() {
    // 127.0.0.2 is allowed: the first hop of a redirect to 127.0.0.1.
    let s = served_with(|c| c.egress_allow = vec!["127.0.0.2".into()]).await;
    let hits = Arc::new(AtomicUsize::new(0));
    let port = peer("127.0.0.1", hits.clone()).await;
    let hop = peer("127.0.0.2", Arc::new(AtomicUsize::new(0))).await;
    let other = support::other_company_admin(&s.t).await;
    let target = format!("http://127.0.0.1:{port}/hello");
    let cases = [
        (
            "by-address",
            target.clone(),
            format!("http: 127.0.0.1 is a loopback address; {REFUSED_FOR_OTHER}"),
        ),
        (
            "by-mapped-address",
            format!("http://[::ffff:127.0.0.1]:{port}/hello"),
            format!("http: ::ffff:127.0.0.1 is a loopback address; {REFUSED_FOR_OTHER}"),
        ),
        (
            "by-name",
            format!("http://localhost:{port}/hello"),
            "http: localhost resolves to ".into(),
        ),
        (
            "by-redirect",
            format!("http://127.0.0.2:{hop}/to?url={target}"),
            format!(
                "http: 127.0.0.1 is a loopback address (the redirect to {target}); \
                 {REFUSED_FOR_OTHER}"
            ),
        ),
        (
            "by-redirect-to-a-name",
            format!("http://127.0.0.2:{hop}/to?url=http://localhost:{port}/hello"),
            "http: localhost resolves to ".into(),
        ),
    ];
    for (key, url, says) in &cases {
        let d = run_as(&s, &other, key, http_step(url)).await;
        let e = error_of(&d);
        assert!(e.starts_with(says.as_str()), "{key}: {e}");
        assert!(e.contains(REFUSED_FOR_OTHER), "{key}: {e}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached 127.0.0.1");
    // The allowed address itself is reached.
    let d = run_as(
        &s,
        &other,
        "allowed",
        http_step(&format!("http://127.0.0.2:{hop}/hello")),
    )
    .await;
    completed(&d);

    // The platform operator's company keeps reaching the server's network.
    for (key, url, _) in &cases {
        let d = run_as(&s, &s.admin, key, http_step(url)).await;
        completed(&d);
    }
    assert_eq!(hits.load(Ordering::SeqCst), cases.len());
}

async fn create_source(s: &Served, who: &Client, body: Value) -> DataSource {
    let r = s.t.post("/api/v1/data-sources", who, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()
}

async fn test_source(s: &Served, who: &Client, id: i64, host: Option<i64>) -> ConnectionTest {
    let path = match host {
        Some(h) => format!("/api/v1/data-sources/{id}/test?host_id={h}"),
        None => format!("/api/v1/data-sources/{id}/test"),
    };
    let r = s.t.post(&path, who, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

#[tokio::test]
async fn an_untrusted_company_in_cloud_cannot_reach_the_servers_databases_or_files() {
    let s = served().await;
    let other = support::other_company_admin(&s.t).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server-side.db");
    std::fs::File::create(&file).unwrap();
    let lite_url = format!("sqlite://{}", file.display());
    let sources = [
        (
            json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test", "username": "postgres" }),
            format!("sql: 127.0.0.1 is a loopback address; {REFUSED_FOR_OTHER}"),
        ),
        (
            json!({ "name": "pg-local", "kind": "postgres", "url": "postgres://localhost:5432/test", "username": "postgres" }),
            "sql: localhost resolves to ".to_string(),
        ),
        (
            json!({ "name": "pg-socket", "kind": "postgres", "url": "postgres:///test?host=/var/run/postgresql", "username": "postgres" }),
            "sql: postgres:///test?host=/var/run/postgresql names a file on the LWAMS server \
             (host)"
                .to_string(),
        ),
        (
            json!({ "name": "lite", "kind": "sqlite", "url": lite_url }),
            "data source lite is a file on the LWAMS server; only the platform operator's \
             company may use it in cloud"
                .to_string(),
        ),
    ];
    for (body, says) in &sources {
        let name = body["name"].as_str().unwrap();
        let ds = create_source(&s, &other, body.clone()).await;
        let d = run_as(&s, &other, &format!("sql-{name}"), sql_step(name, None)).await;
        let e = error_of(&d);
        assert!(e.starts_with(says.as_str()), "{name}: {e}");
        // "Test connection" from the server says the same.
        let t = test_source(&s, &other, ds.id, None).await;
        assert!(!t.ok, "{name}: {t:?}");
        assert!(t.message.starts_with(says.as_str()), "{name}: {t:?}");
    }

    // The platform operator's company still uses them in cloud.
    for (body, _) in &sources {
        let name = body["name"].as_str().unwrap();
        let ds = create_source(&s, &s.admin, body.clone()).await;
        let d = run_as(&s, &s.admin, &format!("sql-{name}"), sql_step(name, None)).await;
        completed(&d);
        let t = test_source(&s, &s.admin, ds.id, None).await;
        assert!(t.ok, "{name}: {t:?}");
    }
}

#[tokio::test]
async fn a_data_source_is_usable_only_on_the_hosts_it_names_and_in_cloud_when_allowed() {
    let s = served().await;
    let host = |name: &'static str| {
        let s = &s;
        async move {
            let r =
                s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": name }))
                    .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            r.json::<Host>()
        }
    };
    let a = host("edge-a").await;
    let b = host("edge-b").await;
    // edge-b's Sub Manager runs; edge-a's never connects.
    let work = tempfile::tempdir().unwrap();
    let root = s.unpack_package(b.id, work.path()).await;
    let log = work.path().join("agent.log");
    let mut agent = start_agent(&root, &log);
    s.wait_state(b.id, HostState::Connected).await;

    // Validation: only the company's hosts.
    let other = support::other_company_admin(&s.t).await;
    let theirs: Host =
        s.t.post("/api/v1/hosts", &other, &json!({ "name": "theirs" }))
            .await
            .json();
    for bad in [json!([99999]), json!([a.id, theirs.id])] {
        let r =
            s.t.post(
                "/api/v1/data-sources",
                &s.admin,
                &json!({ "name": "x", "kind": "postgres", "url": "postgres://127.0.0.1/test", "allowed_hosts": bad }),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["field"], "allowed_hosts", "{}", r.body);
    }

    // PostgreSQL here trusts local connections, so a step on edge-b would work — were
    // the password allowed to go there.
    let password = "never-goes-to-b";
    let ds = create_source(
        &s,
        &s.admin,
        json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test",
                "username": "postgres", "password": password,
                "allowed_hosts": [a.id], "in_cloud_allowed": false }),
    )
    .await;
    assert_eq!(ds.allowed_hosts, vec![a.id]);
    assert!(!ds.in_cloud_allowed);

    let d = run_as(&s, &s.admin, "on-b", sql_step("pg", Some("edge-b"))).await;
    let e = error_of(&d);
    assert!(
        e.contains("data source pg may not be used on host edge-b"),
        "{e}"
    );
    let d = run_as(&s, &s.admin, "in-cloud", sql_step("pg", None)).await;
    let e = error_of(&d);
    assert!(e.contains("data source pg may not be used in cloud"), "{e}");
    // On edge-a the data source may be used: the step gets as far as the host (whose
    // Sub Manager is not connected).
    let d = run_as(&s, &s.admin, "on-a", sql_step("pg", Some("edge-a"))).await;
    let e = error_of(&d);
    assert!(!e.contains("may not be used"), "{e}");
    assert!(e.contains("edge-a"), "{e}");
    // "Test connection" from edge-b or the server: refused the same way.
    let t = test_source(&s, &s.admin, ds.id, Some(b.id)).await;
    assert!(
        !t.ok && t.message.contains("may not be used on host edge-b"),
        "{t:?}"
    );
    let t = test_source(&s, &s.admin, ds.id, None).await;
    assert!(
        !t.ok && t.message.contains("may not be used in cloud"),
        "{t:?}"
    );
    // Nothing of it reached edge-b's Sub Manager.
    let detail = s.host(b.id).await;
    assert!(
        detail
            .recent_tasks
            .iter()
            .all(|t| !t.what.contains("SELECT")),
        "{:?}",
        detail.recent_tasks
    );
    let agent_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!agent_log.contains(password), "{agent_log}");

    // Naming edge-b too lets it use the data source; saving without the fields keeps them.
    let edit = json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test",
                       "username": "postgres", "allowed_hosts": [a.id, b.id] });
    let r =
        s.t.put(&format!("/api/v1/data-sources/{}", ds.id), &s.admin, &edit)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = run_as(&s, &s.admin, "on-b-named", sql_step("pg", Some("edge-b"))).await;
    completed(&d);
    let t = test_source(&s, &s.admin, ds.id, Some(b.id)).await;
    assert!(t.ok, "{t:?}");
    let kept = json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test",
                       "username": "postgres", "comments": "kept" });
    let kept: DataSource =
        s.t.put(&format!("/api/v1/data-sources/{}", ds.id), &s.admin, &kept)
            .await
            .json();
    assert_eq!(kept.allowed_hosts, vec![a.id, b.id]);
    assert!(!kept.in_cloud_allowed);
    // A deleted host stays named: the restriction never widens to every host.
    let r =
        s.t.delete(&format!("/api/v1/hosts/{}", a.id), &s.admin)
            .await;
    assert!(r.status.is_success(), "{}", r.body);
    let edit = json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test",
                       "username": "postgres", "allowed_hosts": [a.id], "in_cloud_allowed": true });
    let r =
        s.t.put(&format!("/api/v1/data-sources/{}", ds.id), &s.admin, &edit)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = run_as(&s, &s.admin, "on-b-again", sql_step("pg", Some("edge-b"))).await;
    assert!(
        error_of(&d).contains("may not be used on host edge-b"),
        "{d:#?}"
    );
    let d = run_as(&s, &s.admin, "in-cloud-allowed", sql_step("pg", None)).await;
    completed(&d);

    // Existing data sources (before migration 0011) stay usable everywhere.
    let open = create_source(
        &s,
        &s.admin,
        json!({ "name": "open", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test", "username": "postgres" }),
    )
    .await;
    assert!(open.allowed_hosts.is_empty() && open.in_cloud_allowed);
    let _ = agent.kill();
    let _ = agent.wait();
}
