//! HTTP and SQL steps and the data sources they use: run "in cloud" by the server and on
//! a real Sub Manager process, against a real HTTP server on loopback and the real
//! PostgreSQL and MariaDB on 127.0.0.1 (and SQLite files). Data sources are validated,
//! company-scoped, and their passwords never come back.

use crate::support;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use shared::dto::data_source::DataSource;
use shared::dto::flow::{ArtifactInfo, InstanceDetail};
use shared::dto::host::{ConnectionTest, Host, HostState};
use support::served::{served, start_agent, Served};
use support::{bpmn, chain, node, output_json as output, run, step};

/// A real HTTP server on a loopback port: `/hello` (JSON), `/echo` (what it got),
/// `/fail` (503), `/slow` (answers after 10 s).
async fn http_peer() -> u16 {
    let app = Router::new()
        .route(
            "/hello",
            get(|| async { Json(json!({ "greeting": "hello", "n": 3 })) }),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, body: String| async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                Json(json!({
                    "authorization": h("authorization"),
                    "contentType": h("content-type"),
                    "body": body,
                }))
            }),
        )
        .route(
            "/seen/{segment}",
            get(|uri: axum::extract::OriginalUri| async move {
                Json(json!({ "uri": uri.0.to_string() }))
            }),
        )
        .route(
            "/fail",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "down for maintenance\nsecond line",
                )
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

async fn finished(s: &Served, id: i64) -> InstanceDetail {
    s.ended(id, 60).await
}

async fn create_source(s: &Served, body: Value) -> DataSource {
    let r = s.t.post("/api/v1/data-sources", &s.admin, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()
}

async fn test_source(s: &Served, id: i64, host: Option<i64>) -> ConnectionTest {
    let path = match host {
        Some(h) => format!("/api/v1/data-sources/{id}/test?host_id={h}"),
        None => format!("/api/v1/data-sources/{id}/test"),
    };
    let r = s.t.post(&path, &s.admin, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

#[tokio::test]
async fn data_sources_are_validated_and_their_password_never_comes_back() {
    let s = served().await;
    let bad = [
        (json!({ "name": "x", "url": "postgres://db/x" }), "kind"),
        (
            json!({ "name": "", "kind": "postgres", "url": "postgres://db/x" }),
            "name",
        ),
        (
            json!({ "name": "x", "kind": "postgres", "url": "postgres://u:hunter2@db/x" }),
            "url",
        ),
        (
            json!({ "name": "x", "kind": "mysql", "url": "postgres://db/x" }),
            "url",
        ),
        (json!({ "name": "x", "kind": "oracle", "url": "x" }), ""),
    ];
    for (body, field) in bad {
        let r = s.t.post("/api/v1/data-sources", &s.admin, &body).await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::BAD_REQUEST,
            "{body}: {} {}",
            r.status,
            r.body
        );
        if !field.is_empty() {
            assert_eq!(r.body["field"], field, "{body}: {}", r.body);
        }
        assert!(!r.body.to_string().contains("hunter2"), "{}", r.body);
    }
    let list: Vec<DataSource> = s.t.get("/api/v1/data-sources", &s.admin).await.json();
    assert!(list.is_empty(), "nothing was saved: {list:?}");

    let ds = create_source(
        &s,
        json!({ "name": "inventory", "kind": "mysql", "url": "jdbc:mariadb://127.0.0.1:3306/test",
                "username": "root", "password": "s3cret-pw", "comments": "CMDB" }),
    )
    .await;
    assert!(ds.has_password);
    let r =
        s.t.post(
            "/api/v1/data-sources",
            &s.admin,
            &json!({ "name": "inventory", "kind": "sqlite", "url": "sqlite:///tmp/x.db" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    for path in [
        "/api/v1/data-sources".to_string(),
        format!("/api/v1/data-sources/{}", ds.id),
    ] {
        let r = s.t.get(&path, &s.admin).await;
        assert!(!r.body.to_string().contains("s3cret-pw"), "{}", r.body);
    }
    // The password is sealed in the store, not kept in plain text.
    let mut c = s.t.state.store.conn().await.unwrap();
    let row = lwams_server::store::data_sources::get(&mut c, 1, ds.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.sealed_password.contains("s3cret-pw"));
    drop(c);
    // The wrong password (root has none here) is refused by MariaDB, named clearly.
    let t = test_source(&s, ds.id, None).await;
    assert!(!t.ok, "{t:?}");
    assert!(t.message.contains("refused"), "{t:?}");
    assert!(!t.message.contains("s3cret-pw"), "{t:?}");
    // Saving without a password keeps it; clear_password removes it, and then it works.
    let edit = json!({ "name": "inventory", "kind": "mysql", "url": "jdbc:mariadb://127.0.0.1:3306/test",
                       "username": "root", "comments": "CMDB 2" });
    let kept: DataSource =
        s.t.put(&format!("/api/v1/data-sources/{}", ds.id), &s.admin, &edit)
            .await
            .json();
    assert!(kept.has_password && kept.comments == "CMDB 2");
    let mut cleared = edit.clone();
    cleared["clear_password"] = json!(true);
    let cleared: DataSource =
        s.t.put(
            &format!("/api/v1/data-sources/{}", ds.id),
            &s.admin,
            &cleared,
        )
        .await
        .json();
    assert!(!cleared.has_password);
    let t = test_source(&s, ds.id, None).await;
    assert!(t.ok, "{t:?}");
    // Search, and delete.
    let found: Vec<DataSource> =
        s.t.get("/api/v1/data-sources?q=cmdb", &s.admin)
            .await
            .json();
    assert_eq!(found.len(), 1);
    let none: Vec<DataSource> = s.t.get("/api/v1/data-sources?q=zzz", &s.admin).await.json();
    assert!(none.is_empty());
    let r =
        s.t.delete(&format!("/api/v1/data-sources/{}", ds.id), &s.admin)
            .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r =
        s.t.get(&format!("/api/v1/data-sources/{}", ds.id), &s.admin)
            .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A table name unique to this test run.
fn table(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// create → insert a value holding quotes → select it back → use it in a command →
/// drop, on one data source; the value arrives intact (quoted as a literal).
#[tokio::test]
async fn pointing_a_data_source_at_another_server_clears_its_password_so_it_never_goes_there() {
    use lwams_server::store::{data_sources, sealed};
    let s = served().await;
    let ds = create_source(
        &s,
        json!({ "name": "erp", "kind": "postgres", "url": "postgres://db-a.internal:5432/erp",
                "username": "erp", "password": "Erp-pw-1" }),
    )
    .await;
    assert!(ds.has_password);
    let path = format!("/api/v1/data-sources/{}", ds.id);
    let edit = |url: &str, kind: &str, password: Option<&str>| {
        let mut b = json!({ "name": "erp", "kind": kind, "url": url, "username": "erp" });
        if let Some(p) = password {
            b["password"] = json!(p);
        }
        b
    };
    let put = async |body: Value| -> DataSource {
        let r = s.t.put(&path, &s.admin, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    };
    let stored = async || {
        let mut c = s.t.state.store.conn().await.unwrap();
        data_sources::get(&mut c, 1, ds.id)
            .await
            .unwrap()
            .unwrap()
            .sealed_password
    };
    // Same URL: the password stays.
    assert!(
        put(edit("postgres://db-a.internal:5432/erp", "postgres", None))
            .await
            .has_password
    );
    // Someone points it at a server they listen on, hoping a test or a step sends the
    // stored password there: it is cleared instead.
    let moved = put(edit(
        "postgres://listener.example:5432/erp",
        "postgres",
        None,
    ))
    .await;
    assert!(!moved.has_password, "{moved:?}");
    assert_eq!(stored().await, "");
    // Given again in the same request, it is kept for the new URL (sealed for this row).
    let back = put(edit(
        "postgres://db-b.internal:5432/erp",
        "postgres",
        Some("Erp-pw-2"),
    ))
    .await;
    assert!(back.has_password);
    let sealed_now = stored().await;
    assert_eq!(
        s.t.state
            .secrets
            .open(&sealed::DATA_SOURCE_PASSWORD.at(1, ds.id), &sealed_now)
            .unwrap(),
        "Erp-pw-2"
    );
    // Another kind is another server too.
    let other_kind = put(edit("mysql://db-b.internal:5432/erp", "mysql", None)).await;
    assert!(!other_kind.has_password);
}

async fn sql_round_trip(s: &Served, source: &str, host: Option<&str>) {
    let t = table("lwams_sql");
    let mut where_: Vec<(&str, &str)> = vec![("dataSource", source)];
    if let Some(h) = host {
        where_.push(("host", h));
    }
    let with = |extra: &[(&'static str, &str)]| -> Vec<(String, String)> {
        where_
            .iter()
            .chain(extra.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let sql_step = |i: usize, extra: &[(&'static str, &str)]| {
        let attrs = with(extra);
        let attrs: Vec<(&str, &str)> = attrs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        step(i, "sql", &attrs)
    };
    let create = format!("CREATE TABLE {t} (id INTEGER, name VARCHAR(100), score FLOAT)");
    let insert = format!("INSERT INTO {t} VALUES (1, ${{who}}, 1.5), (2, ${{path}}, NULL)");
    let select = format!("SELECT id, name, score FROM {t} ORDER BY id");
    let drop = format!("DROP TABLE {t}");
    let xml = chain(
        "sql-flow",
        &[
            sql_step(0, &[("sql", &create)]),
            sql_step(1, &[("sql", &insert), ("resultVariable", "inserted")]),
            sql_step(2, &[("sql", &select), ("resultVariable", "rows")]),
            step(
                3,
                "localCommand",
                &[(
                    "command",
                    "printf '%s|%s|%s' ${rows.0.name} ${rows.1.name} ${inserted}",
                )],
            ),
            sql_step(4, &[("sql", &drop)]),
        ],
    );
    let who = "O'Brien; DROP TABLE x; --";
    // A backslash is an escape in MySQL string literals, plain text elsewhere.
    let path = r"C:\temp\";
    let id = s
        .deploy_and_start_with(&xml, "sql-flow", json!({ "who": who, "path": path }))
        .await;
    let d = finished(s, id).await;
    assert_eq!(d.instance.status, "completed", "{source}: {d:#?}");
    let rows = output(&d, "n2");
    assert_eq!(rows["columns"], json!(["id", "name", "score"]), "{source}");
    assert_eq!(rows["rows"][0]["id"], 1, "{source}: {rows}");
    assert_eq!(rows["rows"][0]["name"], who, "{source}");
    assert_eq!(rows["rows"][0]["score"], 1.5, "{source}");
    assert_eq!(rows["rows"][1]["score"], Value::Null, "{source}");
    assert_eq!(output(&d, "n1")["rowsAffected"], 2, "{source}");
    let printed = output(&d, "n3");
    assert_eq!(
        printed["stdout"],
        format!("{who}|{path}|2"),
        "{source}: the values went through intact"
    );
}

#[tokio::test]
async fn sql_steps_query_and_change_postgres_mariadb_and_sqlite_in_cloud() {
    let s = served().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("steps.db");
    std::fs::File::create(&file).unwrap();
    create_source(
        &s,
        json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test", "username": "postgres" }),
    )
    .await;
    create_source(
        &s,
        json!({ "name": "maria", "kind": "mysql", "url": "mysql://127.0.0.1:3306/test", "username": "root" }),
    )
    .await;
    create_source(
        &s,
        json!({ "name": "file", "kind": "sqlite", "url": format!("sqlite://{}", file.display()) }),
    )
    .await;
    for source in ["pg", "maria", "file"] {
        sql_round_trip(&s, source, None).await;
    }

    // A statement the database refuses fails the step with the database's message.
    let xml = chain(
        "sql-bad",
        &[step(
            0,
            "sql",
            &[("dataSource", "pg"), ("sql", "SELECT nope FROM nowhere")],
        )],
    );
    let id = s.deploy_and_start(&xml, "sql-bad").await;
    let d = finished(&s, id).await;
    let n0 = node(&d, "n0");
    assert_eq!(n0.state, "failed");
    assert!(
        n0.error.as_deref().unwrap_or("").contains("nowhere"),
        "{n0:?}"
    );
    // An unknown data source is named.
    let xml = chain(
        "sql-missing",
        &[step(
            0,
            "sql",
            &[("dataSource", "nosuch"), ("sql", "SELECT 1")],
        )],
    );
    let id = s.deploy_and_start(&xml, "sql-missing").await;
    let d = finished(&s, id).await;
    let n0 = node(&d, "n0");
    assert!(
        n0.error.as_deref().unwrap_or("").contains("nosuch"),
        "{n0:?}"
    );
}

/// SQL values are bound as parameters: hostile values arrive as data and change
/// nothing, `id = ${x}` and `LIMIT ${n}` work, text arrives byte for byte, and the
/// node's input shows the statement with its placeholders and the values beside it.
async fn sql_values_round_trip(s: &Served, source: &str, placeholder: &str) {
    let t = table("lwams_bound");
    let sql = |i: usize, sql: &str, var: &str| {
        step(
            i,
            "sql",
            &[
                ("dataSource", source),
                ("sql", sql),
                ("resultVariable", var),
            ],
        )
    };
    let nodes = vec![
        sql(
            0,
            &format!(
                "CREATE TABLE {t} (id INTEGER, name TEXT); \
                 INSERT INTO {t} VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')"
            ),
            "created",
        ),
        sql(
            1,
            &format!("SELECT id, name FROM {t} WHERE id = ${{x}}"),
            "byId",
        ),
        sql(
            2,
            &format!("SELECT id FROM {t} ORDER BY id LIMIT ${{n}}"),
            "limited",
        ),
        sql(
            3,
            &format!("SELECT id FROM {t} WHERE name = ${{or}}"),
            "matched",
        ),
        sql(
            4,
            &format!("UPDATE {t} SET name = 'z' WHERE name = ${{or}} OR name = '${{drop}}'"),
            "updated",
        ),
        sql(
            5,
            &format!("DELETE FROM {t} WHERE name = ${{drop}}"),
            "deleted",
        ),
        sql(
            6,
            &format!(
                "INSERT INTO {t} VALUES (10, ${{uni}}); INSERT INTO {t} VALUES (11, ${{big}})"
            ),
            "inserted",
        ),
        sql(
            7,
            &format!("SELECT id, name FROM {t} WHERE id >= 10 OR name = 'z' ORDER BY id"),
            "back",
        ),
        sql(8, &format!("SELECT COUNT(*) AS c FROM {t}"), "count"),
        sql(9, &format!("DROP TABLE {t}"), "dropped"),
        step(
            10,
            "localCommand",
            &[("command", "printf '%s|%s' ${n1.sql} ${n1.values}")],
        ),
    ];
    let big: String = "0123456789 ünï 中文 '\"\\;".repeat(400);
    assert!(big.len() > 10_000);
    let vars = json!({
        "x": 3, "n": "2",
        "or": "' OR 1=1 --",
        "drop": format!("x'; DROP TABLE {t}; --"),
        "uni": "中文 ünïcödé 🎉 \\' \" `",
        "big": big,
    });
    let key = format!("sql-bound-{source}");
    let id = s
        .deploy_and_start_with(&chain(&key, &nodes), &key, vars.clone())
        .await;
    let d = finished(s, id).await;
    assert_eq!(d.instance.status, "completed", "{source}: {d:#?}");
    let by_id = output(&d, "n1");
    assert_eq!(by_id["rows"], json!([{ "id": 3, "name": "c" }]), "{source}");
    assert_eq!(
        output(&d, "n2")["rows"],
        json!([{ "id": 1 }, { "id": 2 }]),
        "{source}"
    );
    assert_eq!(output(&d, "n3")["rows"], json!([]), "{source}");
    assert_eq!(output(&d, "n4")["rowsAffected"], 0, "{source}");
    assert_eq!(output(&d, "n5")["rowsAffected"], 0, "{source}");
    assert_eq!(output(&d, "n6")["rowsAffected"], 2, "{source}");
    let back = output(&d, "n7");
    assert_eq!(back["rows"][0]["name"], vars["uni"], "{source}");
    assert_eq!(
        back["rows"][1]["name"], vars["big"],
        "{source}: 10 KB byte for byte"
    );
    assert_eq!(
        back["rows"].as_array().map(Vec::len),
        Some(2),
        "{source}: {back}"
    );
    assert_eq!(
        output(&d, "n8")["rows"][0]["c"],
        7,
        "{source}: nothing else changed"
    );
    // The node shows the statement with the driver's placeholder and the values.
    assert_eq!(
        output(&d, "n10")["stdout"],
        format!("SELECT id, name FROM {t} WHERE id = {placeholder}|[3]"),
        "{source}"
    );
}

#[tokio::test]
async fn sql_values_are_bound_as_data_on_postgres_mariadb_and_sqlite() {
    let s = served().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bound.db");
    std::fs::File::create(&file).unwrap();
    for body in [
        json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test", "username": "postgres" }),
        json!({ "name": "maria", "kind": "mysql", "url": "mysql://127.0.0.1:3306/test", "username": "root" }),
        json!({ "name": "file", "kind": "sqlite", "url": format!("sqlite://{}", file.display()) }),
    ] {
        create_source(&s, body).await;
    }
    for (source, placeholder) in [("pg", "$1"), ("maria", "?"), ("file", "?1")] {
        sql_values_round_trip(&s, source, placeholder).await;
    }

    // A placeholder that cannot be a value is refused by name: at deploy, and when a
    // SQL script is saved.
    let like = "SELECT * FROM t WHERE name LIKE '%${who}%'";
    let r =
        s.t.post(
            "/api/v1/flows",
            &s.admin,
            &json!({ "xml": chain("sql-like", &[step(0, "sql", &[("dataSource", "pg"), ("sql", like)])]) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body
            .to_string()
            .contains("${who} is inside the string literal '%${who}%'"),
        "{}",
        r.body
    );
    let r =
        s.t.post(
            "/api/v1/scripts",
            &s.admin,
            &json!({ "name": "like", "kind": "sql", "body": format!("SELECT 1;\n{like}") }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.to_string().contains("line 2: ${who} is inside"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn http_steps_send_headers_and_bodies_and_an_error_status_reaches_a_boundary() {
    let s = served().await;
    let port = http_peer().await;
    let base = format!("http://127.0.0.1:{port}");
    let xml = chain(
        "http-flow",
        &[
            step(
                0,
                "http",
                &[
                    ("url", &format!("{base}/hello")),
                    ("method", "GET"),
                    ("resultVariable", "hello"),
                ],
            ),
            step(
                1,
                "http",
                &[
                    ("url", &format!("{base}/echo")),
                    ("method", "POST"),
                    (
                        "headers",
                        "Authorization: Bearer ${token}\nContent-Type: application/json",
                    ),
                    (
                        "body",
                        r#"{"greeting": "${hello.greeting}", "n": ${n0.result.json.n}}"#,
                    ),
                    ("resultVariable", "echo"),
                ],
            ),
            step(2, "localCommand", &[("command", "echo ${echo.body}")]),
            // Values are encoded for where they stand: the path segment and the query
            // percent-encoded, a JSON body's string JSON-escaped.
            step(
                3,
                "http",
                &[
                    ("url", &format!("{base}/seen/${{who}}?q=${{who}}&n=1")),
                    ("method", "GET"),
                ],
            ),
            step(
                4,
                "http",
                &[
                    ("url", &format!("{base}/echo")),
                    ("method", "POST"),
                    ("body", r#"{"user": "${evil}"}"#),
                ],
            ),
        ],
    );
    let evil = "\", \"admin\": true, \"x\": \"";
    let id = s
        .deploy_and_start_with(
            &xml,
            "http-flow",
            json!({ "token": "tok-123", "who": "a/../b?c&d=e f#g", "evil": evil }),
        )
        .await;
    let d = finished(&s, id).await;
    assert_eq!(d.instance.status, "completed", "{d:#?}");
    let hello = output(&d, "n0");
    assert_eq!(hello["status"], 200);
    assert_eq!(hello["json"]["greeting"], "hello");
    assert!(hello["headers"]["content-type"]
        .as_str()
        .unwrap()
        .starts_with("application/json"));
    let echo = output(&d, "n1");
    // The peer got the header (it echoes a non-empty value); what is stored of the answer
    // masks it (`shared::redact`: a field named like a secret header).
    assert_eq!(echo["json"]["authorization"], shared::redact::MASK);
    assert_eq!(echo["json"]["contentType"], "application/json");
    assert_eq!(echo["json"]["body"], r#"{"greeting": "hello", "n": 3}"#);
    assert_eq!(
        output(&d, "n2")["stdout"],
        "{\"greeting\": \"hello\", \"n\": 3}\n"
    );
    let seen = "a%2F..%2Fb%3Fc%26d%3De%20f%23g";
    assert_eq!(
        output(&d, "n3")["json"]["uri"],
        format!("/seen/{seen}?q={seen}&n=1")
    );
    let sent: Value =
        serde_json::from_str(output(&d, "n4")["json"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent,
        json!({ "user": evil }),
        "one key: the value stayed a string"
    );

    // 503 fails the step with code http:503, which an error boundary catches.
    let body = format!(
        r#"<bpmn:startEvent id="start"/>
        {}
        <bpmn:boundaryEvent id="caught" attachedToRef="n0"><bpmn:errorEventDefinition errorRef="unavailable"/></bpmn:boundaryEvent>
        {}
        <bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>
        <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="n0"/>
        <bpmn:sequenceFlow id="b" sourceRef="n0" targetRef="end"/>
        <bpmn:sequenceFlow id="c" sourceRef="caught" targetRef="n1"/>
        <bpmn:sequenceFlow id="d" sourceRef="n1" targetRef="end2"/>"#,
        step(
            0,
            "http",
            &[("url", &format!("{base}/fail")), ("method", "GET")]
        ),
        step(1, "localCommand", &[("command", "echo caught")]),
    );
    // The error is a root element, beside the process.
    let xml = bpmn("http-fail", &body).replace(
        "<bpmn:process ",
        r#"<bpmn:error id="unavailable" errorCode="http:503"/><bpmn:process "#,
    );
    let id = s.deploy_and_start(&xml, "http-fail").await;
    let d = finished(&s, id).await;
    assert_eq!(d.instance.status, "completed", "{d:#?}");
    let failed = run(&d, "n0");
    assert!(
        failed.error.as_deref().unwrap_or("").contains("HTTP 503"),
        "{failed:?}"
    );
    assert_eq!(output(&d, "n1")["stdout"], "caught\n");

    // A timeout and an unreachable address fail the step, saying so.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    for (key, url, expect) in [
        ("http-slow", format!("{base}/slow"), "did not answer"),
        (
            "http-dead",
            format!("http://127.0.0.1:{dead_port}/"),
            "cannot reach",
        ),
    ] {
        let xml = chain(
            key,
            &[step(
                0,
                "http",
                &[("url", &url), ("method", "GET"), ("timeout", "1")],
            )],
        );
        let id = s.deploy_and_start(&xml, key).await;
        let d = finished(&s, id).await;
        let n0 = node(&d, "n0");
        assert_eq!(n0.state, "failed", "{key}");
        assert!(
            n0.error.as_deref().unwrap_or("").contains(expect),
            "{key}: {n0:?}"
        );
    }
}

/// write → read → rename → delete a file in `dir`, in cloud or on `host`'s agent.
async fn file_round_trip(s: &Served, dir: &std::path::Path, host: Option<&str>) {
    // On the server, paths are relative to the instance's directory.
    let in_dir = |name: &str| match host {
        Some(_) => dir.join(name).display().to_string(),
        None => name.to_string(),
    };
    let (a, b) = (in_dir("note.txt"), in_dir("moved.txt"));
    let on = |mut attrs: Vec<(&'static str, String)>| {
        if let Some(h) = host {
            attrs.push(("host", h.to_string()));
        }
        attrs
    };
    let op = |i: usize, attrs: Vec<(&'static str, String)>| {
        let attrs = on(attrs);
        let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        step(i, "fileOperation", &attrs)
    };
    let xml = chain(
        "file-flow",
        &[
            op(
                0,
                vec![
                    ("tool", "write".into()),
                    ("filename", a.clone()),
                    ("body", "hello ${who}".into()),
                ],
            ),
            op(
                1,
                vec![
                    ("tool", "read".into()),
                    ("filename", a.clone()),
                    ("resultVariable", "content".into()),
                ],
            ),
            op(
                2,
                vec![
                    ("tool", "rename".into()),
                    ("filename", a.clone()),
                    ("newFilename", b.clone()),
                ],
            ),
            {
                // Where the file is: on the host's machine, or the server.
                let attrs = on(vec![(
                    "command",
                    format!("cat {b}; echo; echo ${{content}}"),
                )]);
                let attrs: Vec<(&str, &str)> =
                    attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                step(3, "localCommand", &attrs)
            },
            op(4, vec![("tool", "delete".into()), ("filename", b.clone())]),
        ],
    );
    let id = s
        .deploy_and_start_with(&xml, "file-flow", json!({ "who": "O'Brien" }))
        .await;
    let d = finished(s, id).await;
    assert_eq!(d.instance.status, "completed", "{host:?}: {d:#?}");
    assert_eq!(output(&d, "n1")["stdout"], "hello O'Brien");
    assert_eq!(output(&d, "n3")["stdout"], "hello O'Brien\nhello O'Brien\n");
    let base = match host {
        Some(_) => std::path::PathBuf::new(),
        None => s.t.state.config.data_dir.join(format!("steps/1/{id}")),
    };
    assert!(!base.join(&a).exists() && !base.join(&b).exists());
    // Reading a missing file fails the step, naming the file.
    let xml = chain(
        "file-missing",
        &[op(
            0,
            vec![("tool", "read".into()), ("filename", a.clone())],
        )],
    );
    let id = s.deploy_and_start(&xml, "file-missing").await;
    let d = finished(s, id).await;
    let n0 = node(&d, "n0");
    assert_eq!(n0.state, "failed");
    assert!(n0.error.as_deref().unwrap_or("").contains(&a), "{n0:?}");
}

/// The library scripts [`script_round_trip`] runs (created once per server).
async fn create_scripts(s: &Served) {
    let scripts = [
        (
            "greet sh",
            "sh",
            "printf '%s\\n' \"${who}\"\necho \"dir=$(pwd)\"\nfor w in one two; do echo \"$${w}\"; done",
        ),
        (
            "greet-py",
            "python",
            "import sys\nprint(${who})\nsys.exit(int(${code}))",
        ),
        (
            "Greet",
            "java",
            "class Greet {\n    public static void main(String[] a) {\n        String s = ${who};\n        System.out.println(s.length() + \":\" + s.substring(0, s.length() - 2));\n    }\n}",
        ),
        ("who-rows", "sql", "SELECT ${who} AS who, ${raw:code} AS code"),
    ];
    for (name, kind, body) in scripts {
        let r =
            s.t.post(
                "/api/v1/scripts",
                &s.admin,
                &json!({ "name": name, "kind": kind, "body": body }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
}

/// Command and SQL steps run library scripts by name: sh, python and java files and a
/// SQL script, a hostile value arriving intact in each (a variable of its language, a
/// bind parameter in SQL).
async fn script_round_trip(s: &Served, work_dir: &std::path::Path, host: Option<&str>) {
    // On the server, a work dir is relative to the instance's directory.
    let dir = match host {
        Some(_) => work_dir.to_string_lossy().into_owned(),
        None => "sub".to_string(),
    };
    let with_host = |mut a: Vec<(&'static str, String)>| {
        if let Some(h) = host {
            a.push(("host", h.to_string()));
        }
        a
    };
    let steps: Vec<Vec<(&str, String)>> = vec![
        with_host(vec![
            ("script", "greet sh".into()),
            ("workDir", dir.clone()),
        ]),
        with_host(vec![
            ("script", "greet-py".into()),
            ("resultVariable", "py".into()),
        ]),
        with_host(vec![("script", "Greet".into())]),
        with_host(vec![
            ("dataSource", "pg".into()),
            ("script", "who-rows".into()),
            ("resultVariable", "rows".into()),
        ]),
    ];
    let kinds = ["localCommand", "localCommand", "localCommand", "sql"];
    let mut nodes: Vec<String> = steps
        .iter()
        .zip(kinds)
        .enumerate()
        .map(|(i, (attrs, kind))| {
            let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            step(i, kind, &attrs)
        })
        .collect();
    // The node's parameters name the script and show what ran.
    nodes.push(step(
        4,
        "localCommand",
        &[(
            "command",
            "printf '%s|%s|%s|%s' ${n0.script.name} ${n0.script.kind} ${n3.script.name} ${n2.command}",
        )],
    ));
    let who = "it's \"x\"; rm -rf / $(id) `id` \\ %PATH% 中文";
    let key = format!("scripts-{}", host.unwrap_or("cloud"));
    let id = s
        .deploy_and_start_with(
            &chain(&key, &nodes),
            &key,
            json!({ "who": who, "code": "0" }),
        )
        .await;
    let d = finished(s, id).await;
    assert_eq!(d.instance.status, "completed", "{host:?}: {d:#?}");
    let sh = output(&d, "n0");
    let ran_in = match host {
        Some(_) => dir.clone(),
        None => {
            s.t.state
                .config
                .data_dir
                .join(format!("steps/1/{id}/sub"))
                .display()
                .to_string()
        }
    };
    assert_eq!(
        sh["stdout"].as_str().unwrap().trim_end(),
        format!("{who}\ndir={ran_in}\none\ntwo"),
        "{host:?}: {sh}"
    );
    assert_eq!(output(&d, "n1")["stdout"].as_str().unwrap().trim_end(), who);
    // Java prints in the platform's encoding: its ASCII part and its length.
    let ascii = who.trim_end_matches("中文");
    assert_eq!(
        output(&d, "n2")["stdout"].as_str().unwrap().trim_end(),
        format!("{}:{ascii}", who.encode_utf16().count()).trim_end()
    );
    let rows = output(&d, "n3");
    assert_eq!(rows["rows"][0]["who"], who, "{host:?}: {rows}");
    assert_eq!(rows["rows"][0]["code"], 0, "{host:?}: {rows}");
    let params = output(&d, "n4");
    let params = params["stdout"].as_str().unwrap();
    assert!(
        params.starts_with("greet sh|sh|who-rows|class Greet"),
        "{params}"
    );
    // `${node.command}` is the code as written, its values beside it.
    assert!(params.contains("String s = ${who};"), "{params}");

    // A script's exit code fails the step like a command's.
    let id = s
        .deploy_and_start_with(
            &chain(&key, &nodes),
            &key,
            json!({ "who": who, "code": "3" }),
        )
        .await;
    let d = finished(s, id).await;
    let n1 = node(&d, "n1");
    assert_eq!(n1.state, "failed", "{host:?}: {n1:?}");
    assert!(
        n1.error
            .as_deref()
            .unwrap_or("")
            .contains("exit code Some(3)"),
        "{n1:?}"
    );
}

#[tokio::test]
async fn library_scripts_run_by_name_with_values_as_data_of_their_language() {
    let s = served().await;
    create_source(
        &s,
        json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test", "username": "postgres" }),
    )
    .await;
    create_scripts(&s).await;
    let dir = tempfile::tempdir().unwrap();
    script_round_trip(&s, dir.path(), None).await;

    // A malformed placeholder is refused with its line; nothing is saved.
    let r =
        s.t.post(
            "/api/v1/scripts",
            &s.admin,
            &json!({ "name": "bad", "kind": "sh", "body": "ls\necho ${dir" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("line 2"), "{}", r.body);
    let r =
        s.t.post(
            "/api/v1/scripts",
            &s.admin,
            &json!({ "name": "greet sh", "kind": "sh", "body": "ls" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let list: Vec<shared::dto::script::Script> =
        s.t.get("/api/v1/scripts?q=greet", &s.admin).await.json();
    assert_eq!(list.len(), 3, "{list:?}");
    assert!(list
        .iter()
        .all(|x| x.updated_by == "Administrator" || !x.updated_by.is_empty()));

    // Wrong or missing scripts fail the step and say why.
    let cases = [
        ("localCommand", vec![("script", "nosuch")], "nosuch"),
        ("localCommand", vec![("script", "who-rows")], "SQL steps"),
        (
            "sql",
            vec![("dataSource", "pg"), ("script", "greet-py")],
            "SQL scripts",
        ),
    ];
    for (i, (kind, attrs, says)) in cases.into_iter().enumerate() {
        let key = format!("script-bad-{i}");
        let id = s
            .deploy_and_start(&chain(&key, &[step(0, kind, &attrs)]), &key)
            .await;
        let d = finished(&s, id).await;
        let n0 = node(&d, "n0");
        assert_eq!(n0.state, "failed", "{n0:?}");
        assert!(
            n0.error.as_deref().unwrap_or("").contains(says),
            "{says}: {n0:?}"
        );
    }
}

#[tokio::test]
async fn file_operation_steps_write_read_rename_and_delete_in_cloud() {
    let s = served().await;
    let dir = tempfile::tempdir().unwrap();
    file_round_trip(&s, dir.path(), None).await;
}

#[tokio::test]
async fn a_real_sub_manager_runs_http_and_sql_steps_and_tests_data_sources() {
    let s = served().await;
    let port = http_peer().await;
    let host: Host =
        s.t.post("/api/v1/hosts", &s.admin, &json!({ "name": "edge-db" }))
            .await
            .json();
    let work = tempfile::tempdir().unwrap();
    let root = s.unpack_package(host.id, work.path()).await;
    let mut agent = start_agent(&root, &work.path().join("agent.log"));
    s.wait_state(host.id, HostState::Connected).await;

    // A SQLite file that only the agent's machine has (here: the same machine).
    let file = work.path().join("agent-side.db");
    std::fs::File::create(&file).unwrap();
    let lite = create_source(
        &s,
        json!({ "name": "agent-file", "kind": "sqlite", "url": format!("sqlite://{}", file.display()) }),
    )
    .await;
    let pg = create_source(
        &s,
        json!({ "name": "pg", "kind": "postgres", "url": "postgres://127.0.0.1:5432/test", "username": "postgres" }),
    )
    .await;
    let t = test_source(&s, pg.id, Some(host.id)).await;
    assert!(t.ok, "{t:?}");
    let t = test_source(&s, lite.id, Some(host.id)).await;
    assert!(t.ok, "{t:?}");
    // Through the agent the step runs there: its host's facts are the node's.
    sql_round_trip(&s, "agent-file", Some("edge-db")).await;
    sql_round_trip(&s, "pg", Some("edge-db")).await;

    file_round_trip(&s, work.path(), Some("edge-db")).await;
    create_scripts(&s).await;
    script_round_trip(&s, work.path(), Some("edge-db")).await;

    // RPA: a robot script on the agent's machine; the files it leaves come back and
    // download from the monitor, company-scoped.
    let robot = "import os\nos.makedirs('shots', exist_ok=True)\nopen('report.txt', 'w').write('checked ' + ${who})\nopen('shots/page.png', 'wb').write(bytes(range(256)))\nprint('robot done')";
    let r =
        s.t.post(
            "/api/v1/scripts",
            &s.admin,
            &json!({ "name": "robot", "kind": "python", "body": robot }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let xml = chain(
        "rpa",
        &[step(0, "rpa", &[("host", "edge-db"), ("script", "robot")])],
    );
    let id = s.deploy_and_start(&xml, "rpa").await;
    let d = finished(&s, id).await;
    assert_eq!(d.instance.status, "completed", "{d:#?}");
    let out = output(&d, "n0");
    assert_eq!(out["stdout"], "robot done\n", "{out}");
    assert_eq!(out["artifacts"][1]["name"], "shots/page.png", "{out}");
    let list: Vec<ArtifactInfo> =
        s.t.get(&format!("/api/v1/instances/{id}/artifacts"), &s.admin)
            .await
            .json();
    let names: Vec<&str> = list.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["report.txt", "shots/page.png"], "{list:?}");
    assert_eq!(list[1].size, 256);
    assert!(list.iter().all(|a| a.stored && a.node_id == "n0"));
    let (status, headers, body) =
        s.t.request_raw(
            axum::http::Method::GET,
            &format!("/api/v1/instances/{id}/artifacts/{}", list[0].id),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], "checked ; rm -rf /".as_bytes());
    assert!(headers[axum::http::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("report.txt"));
    let (_, _, png) =
        s.t.request_raw(
            axum::http::Method::GET,
            &format!("/api/v1/instances/{id}/artifacts/{}", list[1].id),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(png.to_vec(), (0..=255u8).collect::<Vec<u8>>());
    let other = support::other_company_admin(&s.t).await;
    for path in [
        format!("/api/v1/instances/{id}/artifacts"),
        format!("/api/v1/instances/{id}/artifacts/{}", list[0].id),
    ] {
        let r = s.t.get(&path, &other).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }

    // A robot leaving a 10 MB file and printing 1 MB: its outcome is larger than a
    // frame of the line and comes in parts; the line stays up for the next step.
    let big = "import os\nopen('big.bin', 'wb').write(bytes(i % 251 for i in range(10 * 1024 * 1024)))\nprint('y' * (1024 * 1024 - 1))";
    let r =
        s.t.post(
            "/api/v1/scripts",
            &s.admin,
            &json!({ "name": "big-robot", "kind": "python", "body": big }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let xml = chain(
        "rpa-big",
        &[step(
            0,
            "rpa",
            &[("host", "edge-db"), ("script", "big-robot")],
        )],
    );
    let id = s.deploy_and_start(&xml, "rpa-big").await;
    let d = finished(&s, id).await;
    assert_eq!(d.instance.status, "completed", "{:?}", d.nodes);
    assert_eq!(
        output(&d, "n0")["stdout"].as_str().unwrap().len(),
        1024 * 1024
    );
    let list: Vec<ArtifactInfo> =
        s.t.get(&format!("/api/v1/instances/{id}/artifacts"), &s.admin)
            .await
            .json();
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(
        list[0].stored && list[0].size == 10 * 1024 * 1024,
        "{list:?}"
    );
    let (_, _, got) =
        s.t.request_raw(
            axum::http::Method::GET,
            &format!("/api/v1/instances/{id}/artifacts/{}", list[0].id),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(got.len(), 10 * 1024 * 1024);
    assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    assert!(
        !s.host(host.id)
            .await
            .log
            .iter()
            .any(|l| l.message.contains("disconnected")),
        "the line never dropped"
    );

    let xml = chain(
        "http-agent",
        &[step(
            0,
            "http",
            &[
                ("url", &format!("http://127.0.0.1:{port}/hello")),
                ("method", "GET"),
                ("host", "edge-db"),
            ],
        )],
    );
    let id = s.deploy_and_start(&xml, "http-agent").await;
    let d = finished(&s, id).await;
    assert_eq!(d.instance.status, "completed", "{d:#?}");
    assert_eq!(output(&d, "n0")["json"]["n"], 3);
    let detail = s.host(host.id).await;
    assert!(
        detail
            .recent_tasks
            .iter()
            .any(|r| r.what.starts_with("GET http://127.0.0.1") && r.ok),
        "{:?}",
        detail.recent_tasks
    );
    // A test from a host of another company (or none) is 404.
    let r =
        s.t.post(
            &format!("/api/v1/data-sources/{}/test?host_id=99999", pg.id),
            &s.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let _ = agent.kill();
    let _ = agent.wait();
}
