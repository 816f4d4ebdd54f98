//! Test helpers: fresh databases on SQLite and PostgreSQL, an app with a signed-in
//! client, JSON requests through `tower::ServiceExt::oneshot`.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use lwams_server::config::Config;
use lwams_server::state::AppState;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use shared::dto::flow::{InstanceDetail, NodeRun, NodeStatus};
use shared::dto::group::Group;
use shared::dto::user::User;
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[path = "../../../../agent/tests/support/fake_winrm.rs"]
pub mod fake_winrm;
pub mod served;
pub mod sshd;
pub mod ws;

pub use sshd::free_port;

pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A database for one test; dropped (PostgreSQL) or deleted (SQLite) afterwards.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let _ = std::process::Command::new("psql")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-q",
                    "-c",
                ])
                .arg(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .output();
        }
    }
}

impl TestDb {
    /// The same database for a second server (another process's view of it); the
    /// first keeps owning it and drops it.
    pub fn shared(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            _dir: None,
            pg_name: None,
        }
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("LWAMS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub async fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("test.db").display());
    TestDb {
        url,
        _dir: Some(dir),
        pg_name: None,
    }
}

/// A fresh PostgreSQL database on 127.0.0.1:5432 (trust auth).
pub async fn pg_db() -> TestDb {
    use sqlx::Connection;
    let name = format!("lwams_t_{}_{}", std::process::id(), rand_suffix());
    let mut c = sqlx::PgConnection::connect(&pg_admin_url())
        .await
        .expect("PostgreSQL must run on 127.0.0.1:5432 for the store tests (see README)");
    sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let base = pg_admin_url();
    let url = match base.rfind('/') {
        Some(i) => format!("{}/{}", &base[..i], name),
        None => base,
    };
    TestDb {
        url,
        _dir: None,
        pg_name: Some(name),
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}_{}", t, N.fetch_add(1, Ordering::SeqCst))
}

/// Which back-ends to run a store test on: both.
pub async fn both_backends() -> Vec<TestDb> {
    vec![sqlite_db().await, pg_db().await]
}

pub struct TestApp {
    pub app: Router,
    pub state: AppState,
    pub db: TestDb,
    /// The data directory (steps on the server work under it).
    pub data: tempfile::TempDir,
}

/// An app over `db` with the first company and admin created.
pub async fn app_on(db: TestDb) -> TestApp {
    app_with(db, |_| {}).await
}

/// [`app_on`] with the configuration changed by `tweak`.
pub async fn app_with(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        database_url: Some(db.url.clone()),
        data_dir: dir.path().into(),
        secret_key: Some(lwams_server::crypto::SecretBox::generate_key()),
        // Host packages carry the Sub Manager built beside the tests.
        agent_bin: Some(env!("CARGO_BIN_EXE_sub-manager").into()),
        ..Config::default()
    };
    tweak(&mut config);
    let state = lwams_server::build_state(config).await.expect("state");
    lwams_server::bootstrap::ensure_first_admin(&state.store, "admin", Some(ADMIN_PASSWORD))
        .await
        .expect("first admin");
    let app = lwams_server::web::app(state.clone());
    TestApp {
        app,
        state,
        db,
        data: dir,
    }
}

pub async fn sqlite_app() -> TestApp {
    app_on(sqlite_db().await).await
}

/// A signed-in client: its cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Client {
    pub cookie: String,
    pub csrf: String,
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub set_cookie: Option<String>,
}

impl Resp {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone()).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl TestApp {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        client: Option<&Client>,
        body: Option<Value>,
    ) -> Resp {
        let (status, headers, bytes) = self.request_raw(method, path, client, body).await;
        let set_cookie = headers
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Resp {
            status,
            body,
            set_cookie,
        }
    }

    /// A request whose response body is kept as bytes (downloads).
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        client: Option<&Client>,
        body: Option<Value>,
    ) -> (StatusCode, axum::http::HeaderMap, axum::body::Bytes) {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(c) = client {
            b = b
                .header(header::COOKIE, &c.cookie)
                .header("x-csrf-token", &c.csrf);
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes)
    }

    pub async fn get(&self, path: &str, c: &Client) -> Resp {
        self.request(Method::GET, path, Some(c), None).await
    }

    pub async fn post<B: Serialize>(&self, path: &str, c: &Client, body: &B) -> Resp {
        self.request(
            Method::POST,
            path,
            Some(c),
            Some(serde_json::to_value(body).unwrap()),
        )
        .await
    }

    pub async fn put<B: Serialize>(&self, path: &str, c: &Client, body: &B) -> Resp {
        self.request(
            Method::PUT,
            path,
            Some(c),
            Some(serde_json::to_value(body).unwrap()),
        )
        .await
    }

    pub async fn delete(&self, path: &str, c: &Client) -> Resp {
        self.request(Method::DELETE, path, Some(c), None).await
    }

    /// Signs in; panics unless it works.
    pub async fn login(&self, company: Option<&str>, login: &str, password: &str) -> Client {
        let r = self.try_login(company, login, password).await;
        assert_eq!(r.status, StatusCode::OK, "login {login}: {}", r.body);
        let cookie = r.set_cookie.expect("session cookie");
        let cookie = cookie.split(';').next().unwrap().to_string();
        Client {
            cookie,
            csrf: r.body["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    pub async fn try_login(&self, company: Option<&str>, login: &str, password: &str) -> Resp {
        let body =
            serde_json::json!({ "company_code": company, "login": login, "password": password });
        self.request(Method::POST, "/api/v1/auth/login", None, Some(body))
            .await
    }

    /// The first company's administrator (company `default`, named so that signing in
    /// works also once a test has created more companies).
    pub async fn admin(&self) -> Client {
        self.login(Some("default"), "admin", ADMIN_PASSWORD).await
    }

    /// A group `name` with `perms`, made by `admin` through the API.
    pub async fn group(
        &self,
        admin: &Client,
        name: &str,
        perms: &[(shared::Function, shared::Level)],
    ) -> Group {
        let mut m = shared::PermissionMatrix::default();
        for (f, l) in perms {
            m.set(*f, *l);
        }
        let r = self
            .post(
                "/api/v1/groups",
                admin,
                &json!({ "name": name, "permissions": m }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()
    }

    /// A user `login` (password [`USER_PASSWORD`]) in `groups`, made by `admin`.
    pub async fn user(&self, admin: &Client, login: &str, groups: &[i64]) -> User {
        let r = self
            .post(
                "/api/v1/users",
                admin,
                &json!({ "login": login, "display_name": login, "password": USER_PASSWORD, "group_ids": groups }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()
    }

    /// A group `login` with `perms` and a user `login` in it, signed in: the user's
    /// id and client.
    pub async fn user_with(
        &self,
        admin: &Client,
        login: &str,
        perms: &[(shared::Function, shared::Level)],
    ) -> (i64, Client) {
        let g = self.group(admin, login, perms).await;
        let u = self.user(admin, login, &[g.id]).await;
        (u.id, self.login(None, login, USER_PASSWORD).await)
    }

    /// The instance as `who` sees it.
    pub async fn instance(&self, who: &Client, id: i64) -> InstanceDetail {
        let r = self.get(&format!("/api/v1/instances/{id}"), who).await;
        assert_eq!(r.status, StatusCode::OK, "instance {id}: {}", r.body);
        r.json()
    }

    /// Waits (at most `secs`) until `done` holds for the instance as `who` sees it;
    /// panics naming `what` with the instance as it was last seen.
    pub async fn wait_instance(
        &self,
        who: &Client,
        id: i64,
        what: &str,
        secs: u64,
        done: impl Fn(&InstanceDetail) -> bool,
    ) -> InstanceDetail {
        let found = try_wait_for(secs, async || {
            let d = self.instance(who, id).await;
            done(&d).then_some(d)
        })
        .await;
        match found {
            Some(d) => d,
            None => {
                let d = self.instance(who, id).await;
                panic!("instance {id}: waited {secs} s for {what}: {d:#?}")
            }
        }
    }
}

/// The `lwams` binary built beside the tests.
pub fn lwams() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_lwams"))
}

/// The password [`TestApp::user_with`] gives its users.
pub const USER_PASSWORD: &str = "user-password-1";

/// Polls `f` every 50 ms until it gives a value; `None` once `secs` seconds passed.
pub async fn try_wait_for<T>(secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let t = Instant::now();
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if t.elapsed() >= Duration::from_secs(secs) {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `f` every 50 ms until it gives a value; panics naming `what` after `secs`.
pub async fn wait_for<T>(what: &str, secs: u64, f: impl AsyncFnMut() -> Option<T>) -> T {
    match try_wait_for(secs, f).await {
        Some(v) => v,
        None => panic!("waited {secs} s for {what}"),
    }
}

/// The latest instance of node `id` (a loop or retry makes several).
pub fn node<'a>(d: &'a InstanceDetail, id: &str) -> &'a NodeStatus {
    d.nodes
        .iter()
        .rev()
        .find(|n| n.node_id == id)
        .unwrap_or_else(|| panic!("no node {id} in {d:#?}"))
}

/// The latest run of node `id`.
pub fn run<'a>(d: &'a InstanceDetail, id: &str) -> &'a NodeRun {
    d.runs
        .iter()
        .rev()
        .find(|r| r.node_id == id)
        .unwrap_or_else(|| panic!("no run of {id} in {d:#?}"))
}

/// The recorded output of node `id`'s latest run, as text.
pub fn output(d: &InstanceDetail, id: &str) -> String {
    run(d, id)
        .output
        .clone()
        .unwrap_or_else(|| panic!("the run of {id} recorded no output: {d:#?}"))
}

/// The recorded output of node `id`'s latest run, as JSON (`null` when none).
pub fn output_json(d: &InstanceDetail, id: &str) -> Value {
    let text = run(d, id).output.clone().unwrap_or_else(|| "null".into());
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("output of {id} is not JSON ({e}): {text}"))
}

/// A BPMN document with one executable process `key` holding `body`.
pub fn bpmn(key: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:lwams="http://lwams.io/schema/bpmn/1.0" id="d" targetNamespace="t">
  <bpmn:process id="{key}" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"#
    )
}

/// A value as the text of an XML attribute in double quotes, read back byte for byte:
/// markup escaped, and line breaks and tabs as character references (a parser would
/// turn them into spaces otherwise).
pub fn attr(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

/// A step `n{i}` of `kind` with `lwams:` attributes.
pub fn step(i: usize, kind: &str, attrs: &[(&str, &str)]) -> String {
    let attrs: String = attrs
        .iter()
        .map(|(k, v)| format!(r#" lwams:{k}="{}""#, attr(v)))
        .collect();
    format!(r#"<bpmn:serviceTask id="n{i}" lwams:kind="{kind}"{attrs}/>"#)
}

/// start → nodes in order → end, the nodes given as XML elements with ids n0, n1 ….
pub fn chain(key: &str, nodes: &[String]) -> String {
    let mut body = String::from(r#"<bpmn:startEvent id="start"/>"#);
    let mut prev = "start".to_string();
    for (i, n) in nodes.iter().enumerate() {
        body.push_str(n);
        body.push_str(&format!(
            r#"<bpmn:sequenceFlow id="f{i}" sourceRef="{prev}" targetRef="n{i}"/>"#
        ));
        prev = format!("n{i}");
    }
    body.push_str(&format!(
        r#"<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="fe" sourceRef="{prev}" targetRef="end"/>"#
    ));
    bpmn(key, &body)
}

/// A second company ("other") with its own administrator, signed in.
pub async fn other_company_admin(t: &TestApp) -> Client {
    use lwams_server::store::{companies, groups, users};
    use shared::PermissionMatrix;
    let mut tx = t.state.store.begin().await.unwrap();
    let co = companies::insert(&mut tx, "other", "Other Co")
        .await
        .unwrap();
    let g = groups::insert(&mut tx, co, "Administrators", "")
        .await
        .unwrap();
    groups::set_permissions(&mut tx, g, &PermissionMatrix::full())
        .await
        .unwrap();
    let hash = lwams_server::auth::password::hash("other-password-1")
        .await
        .unwrap();
    let f = users::UserFields {
        display_name: "O",
        email: "",
        phone: "",
        mobile: "",
        enabled: true,
        may_login_agent: false,
    };
    let u = users::insert(&mut tx, co, "admin", &hash, shared::Locale::En, &f)
        .await
        .unwrap();
    groups::add_members(&mut tx, g, &[u]).await.unwrap();
    tx.commit().await.unwrap();
    t.login(Some("other"), "admin", "other-password-1").await
}

/// A fresh SQLite store with one company (`c`); the database lives as long as the guard.
pub async fn sqlite_store_with_company() -> (TestDb, lwams_server::store::Store, i64) {
    let db = sqlite_db().await;
    let store = lwams_server::store::Store::open(&db.url).await.unwrap();
    let mut c = store.conn().await.unwrap();
    let co = lwams_server::store::companies::insert(&mut c, "c", "C")
        .await
        .unwrap();
    drop(c);
    (db, store, co)
}

/// Runs a flow headless (`lwams flow run`'s engine) without variables or output; panics
/// unless it could start.
pub async fn run_quiet(
    store: &lwams_server::store::Store,
    co: i64,
    xml: &str,
) -> lwams_server::engine::runner::Outcome {
    lwams_server::engine::runner::run_file(
        store,
        co,
        xml,
        serde_json::Map::new(),
        &lwams_server::engine::builtins::Initiator::default(),
        &mut |_| {},
    )
    .await
    .unwrap()
}
