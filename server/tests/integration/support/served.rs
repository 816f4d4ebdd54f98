//! The app served on a real loopback listener with its engine working, for tests that
//! need real peers (a Sub Manager process, HTTP servers, databases), and helpers to
//! run flows there and wait for them.

use super::{Client, Resp, TestApp};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use shared::dto::flow::InstanceDetail;
use shared::dto::host::{ConnectionTest, HostDetail, HostState, Terminal};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Served {
    pub t: TestApp,
    pub admin: Client,
    pub port: u16,
    _stop: tokio::sync::watch::Sender<bool>,
}

/// The app on a real listener (for the agent) with its engine working, on SQLite.
pub async fn served() -> Served {
    served_with(|_| {}).await
}

/// [`served`] with the configuration changed by `tweak`.
pub async fn served_with(tweak: impl FnOnce(&mut lwams_server::config::Config)) -> Served {
    served_on(super::sqlite_db().await, tweak).await
}

/// The app over `db` on a real listener with its engine working: the one way a test
/// gets a working server in this process.
pub async fn served_on(
    db: super::TestDb,
    tweak: impl FnOnce(&mut lwams_server::config::Config),
) -> Served {
    serve(super::app_with(db, tweak).await).await
}

/// `t` on a real loopback listener with its engine working, the administrator signed in.
pub async fn serve(t: TestApp) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = lwams_server::web::app(t.state.clone());
    // As `lwams serve`: handlers see the peer's address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (stop, rx) = tokio::sync::watch::channel(false);
    let rt = t.state.runtime.clone();
    tokio::spawn(async move { rt.work(None, rx).await });
    let admin = t.admin().await;
    Served {
        t,
        admin,
        port,
        _stop: stop,
    }
}

/// The upgrade request a Sub Manager sends to `/agent` with `credential`.
pub fn agent_request(
    port: u16,
    credential: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!("ws://127.0.0.1:{port}/agent");
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        url.as_str(),
    )
    .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {credential}").parse().unwrap(),
    );
    req.headers_mut()
        .insert("x-lwams-company", "default".parse().unwrap());
    req
}

pub use super::wait_for;

impl Served {
    pub async fn host(&self, id: i64) -> HostDetail {
        let r = self
            .t
            .get(&format!("/api/v1/hosts/{id}"), &self.admin)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    }

    pub async fn wait_state(&self, id: i64, state: HostState) -> HostDetail {
        wait_for(&format!("host {id} {state:?}"), 20, async || {
            let h = self.host(id).await;
            (h.host.state == state).then_some(h)
        })
        .await
    }

    /// Downloads the host's package and unpacks it into `dir`.
    pub async fn unpack_package(&self, id: i64, dir: &Path) -> PathBuf {
        let (status, headers, bytes) = self
            .t
            .request_raw(
                Method::GET,
                &format!("/api/v1/hosts/{id}/package"),
                Some(&self.admin),
                None,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(headers["content-type"], "application/gzip");
        let archive = dir.join("package.tar.gz");
        std::fs::write(&archive, &bytes).unwrap();
        let out = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let root = dir.join("sub-manager");
        for f in [
            "sub-manager",
            "sub-manager.json",
            "start.sh",
            "stop.sh",
            "start.bat",
            "stop.bat",
            "sub-manager.service",
            "README.txt",
        ] {
            assert!(root.join(f).exists(), "{f} is in the package");
        }
        // The package names this server as the request reached it; the test's
        // requests carry no Host header, so point it at the test listener.
        let path = root.join("sub-manager.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(config["companyCode"], "default");
        assert!(config["credential"]
            .as_str()
            .unwrap()
            .starts_with(&format!("h{id}.")));
        config["serverHost"] = json!("127.0.0.1");
        config["serverPort"] = json!(self.port);
        std::fs::write(&path, config.to_string()).unwrap();
        root
    }

    /// Deploys `xml` as the administrator.
    pub async fn deploy(&self, xml: &str) {
        let r = self
            .t
            .post("/api/v1/flows", &self.admin, &json!({ "xml": xml }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    /// Starts the latest version of `key` with `variables`: the instance's id.
    pub async fn start(&self, key: &str, variables: Value) -> i64 {
        let r = self
            .t
            .post(
                "/api/v1/instances",
                &self.admin,
                &json!({ "key": key, "variables": variables }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_i64().expect("instance id")
    }

    pub async fn deploy_and_start(&self, xml: &str, key: &str) -> i64 {
        self.deploy_and_start_with(xml, key, json!({ "who": "; rm -rf /" }))
            .await
    }

    pub async fn deploy_and_start_with(&self, xml: &str, key: &str, variables: Value) -> i64 {
        self.deploy(xml).await;
        self.start(key, variables).await
    }

    pub async fn instance(&self, id: i64) -> InstanceDetail {
        self.t.instance(&self.admin, id).await
    }

    /// [`TestApp::wait_instance`] as the administrator.
    pub async fn wait_instance(
        &self,
        id: i64,
        what: &str,
        secs: u64,
        done: impl Fn(&InstanceDetail) -> bool,
    ) -> InstanceDetail {
        self.t
            .wait_instance(&self.admin, id, what, secs, done)
            .await
    }

    /// Waits (at most `secs`) until the instance is no longer running.
    pub async fn ended(&self, id: i64, secs: u64) -> InstanceDetail {
        self.wait_instance(id, "the instance to end", secs, |d| {
            d.instance.status != "running"
        })
        .await
    }

    /// Waits (at most 10 s) until the instance's status is `status`.
    pub async fn wait_status(&self, id: i64, status: &str) -> InstanceDetail {
        self.wait_instance(id, status, 10, |d| d.instance.status == status)
            .await
    }

    /// An operator's control (`retry`, `skip`, `pause`, `terminate`, …) on the instance
    /// or one node instance of it.
    pub async fn control(&self, id: i64, action: &str, node_instance: Option<u64>) -> Resp {
        self.t
            .post(
                &format!("/api/v1/instances/{id}/control"),
                &self.admin,
                &json!({ "action": action, "node_instance": node_instance }),
            )
            .await
    }

    /// Where the instance's steps on the server work.
    pub async fn work_dir(&self, instance: i64) -> PathBuf {
        let mut c = self.t.state.store.conn().await.unwrap();
        let company = lwams_server::store::companies::first_id(&mut c)
            .await
            .unwrap()
            .expect("the first company");
        self.t
            .state
            .confinement
            .work_dir(company, instance)
            .unwrap()
    }

    pub async fn test_connection(&self, terminal: &Terminal, username: &str) -> ConnectionTest {
        let user = terminal
            .users
            .iter()
            .find(|u| u.username == username)
            .unwrap();
        let r = self
            .t
            .post(
                &format!("/api/v1/terminals/{}/users/{}/test", terminal.id, user.id),
                &self.admin,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    }
}

pub fn start_agent(root: &Path, log: &Path) -> Child {
    Command::new(root.join("sub-manager"))
        .arg("--config")
        .arg(root.join("sub-manager.json"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}
