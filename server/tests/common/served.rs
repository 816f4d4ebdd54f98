//! The app served on a real loopback listener with its engine working, for tests that
//! need real peers (a Sub Manager process, HTTP servers, databases), and helpers to
//! run flows there and wait for them.

use super::{Client, TestApp};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use shared::dto::flow::InstanceDetail;
use shared::dto::host::{ConnectionTest, HostDetail, HostState, Terminal};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Served {
    pub t: TestApp,
    pub admin: Client,
    pub port: u16,
    _stop: tokio::sync::watch::Sender<bool>,
}

/// The app on a real listener (for the agent) with its engine working.
pub async fn served() -> Served {
    served_with(|_| {}).await
}

/// [`served`] with the configuration changed by `tweak`.
pub async fn served_with(tweak: impl FnOnce(&mut lwams_server::config::Config)) -> Served {
    // Host packages carry the Sub Manager built beside the tests.
    std::env::set_var("LWAMS_AGENT_BIN", env!("CARGO_BIN_EXE_sub-manager"));
    let t = super::app_with(super::sqlite_db().await, tweak).await;
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

pub async fn wait_for<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "waited {secs} s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

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

    pub async fn deploy_and_start(&self, xml: &str, key: &str) -> i64 {
        self.deploy_and_start_with(xml, key, json!({ "who": "; rm -rf /" }))
            .await
    }

    pub async fn deploy_and_start_with(&self, xml: &str, key: &str, variables: Value) -> i64 {
        let r = self
            .t
            .post("/api/v1/flows", &self.admin, &json!({ "xml": xml }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = self
            .t
            .post(
                "/api/v1/instances",
                &self.admin,
                &json!({ "key": key, "variables": variables }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    pub async fn instance(&self, id: i64) -> InstanceDetail {
        self.t
            .get(&format!("/api/v1/instances/{id}"), &self.admin)
            .await
            .json()
    }

    pub async fn wait_instance(
        &self,
        id: i64,
        what: &str,
        secs: u64,
        done: impl Fn(&InstanceDetail) -> bool,
    ) -> InstanceDetail {
        wait_for(what, secs, async || {
            let d = self.instance(id).await;
            done(&d).then_some(d)
        })
        .await
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
