//! The agent's line to the server: dials `/agent`, says hello with its facts, sends
//! heartbeats, runs the tasks it is given and streams their output back. Reconnects
//! with back-off (1 s doubling to 60 s, with jitter) whenever the line drops; a
//! refused credential is retried slowly, as the operator may rotate it back.

use crate::config::AgentConfig;
use crate::executors::{ssh::SshPool, task};
use crate::facts;
use crate::journal::Journal;
use futures_util::{SinkExt, StreamExt};
use shared::agent::{
    wire, FromAgent, LoginOutcome, ToAgent, COMPANY_HEADER, HEARTBEAT_SECS, PROTOCOL_VERSION,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the server refused this host's credential (HTTP {0}); rotate it or download the package again")]
    Refused(u16),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("the connection dropped: {0}")]
    Dropped(String),
    #[error("bad configuration: {0}")]
    Config(String),
    /// The server speaks another protocol version: this agent must be replaced.
    #[error("{0}")]
    Incompatible(String),
}

/// This process's id on the line: random per start, so the server tells a reconnect
/// from a second process using the same credential.
fn process_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("{}-{:016x}", std::process::id(), rand::random::<u64>()))
}

/// Shared by the line and the local page: what the agent is doing.
pub struct Agent {
    pub config: AgentConfig,
    pub journal: Journal,
    pool: SshPool,
    running: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    line: Mutex<Line>,
    logins: Mutex<HashMap<u64, oneshot::Sender<LoginOutcome>>>,
    next_login: AtomicU64,
}

/// The line as it stands, for the local page and for sign-in checks.
#[derive(Default)]
struct Line {
    out: Option<mpsc::UnboundedSender<FromAgent>>,
    host_name: Option<String>,
    since: Option<SystemTime>,
}

/// What the local page shows about the line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineStatus {
    pub connected: bool,
    /// The host name the server knows this agent by (after `Welcome`).
    pub host_name: Option<String>,
    pub since: Option<SystemTime>,
    pub server: String,
    pub running_tasks: usize,
}

impl Agent {
    pub fn new(config: AgentConfig, known_hosts: std::path::PathBuf) -> Arc<Agent> {
        Arc::new(Agent {
            config,
            journal: Journal::default(),
            pool: SshPool::new(known_hosts),
            running: Mutex::new(HashMap::new()),
            line: Mutex::new(Line::default()),
            logins: Mutex::new(HashMap::new()),
            next_login: AtomicU64::new(1),
        })
    }

    fn line(&self) -> std::sync::MutexGuard<'_, Line> {
        self.line.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn logins(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<LoginOutcome>>> {
        self.logins.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn status(&self) -> LineStatus {
        let line = self.line();
        LineStatus {
            connected: line.out.is_some(),
            host_name: line.host_name.clone(),
            since: line.since,
            server: self.config.gateway_url(),
            running_tasks: self.running().len(),
        }
    }

    /// Asks the server whether `login` may sign in to the local page (an account of
    /// this host's company allowed to log in to Sub Manager). Needs the line up.
    pub async fn check_login(&self, login: &str, password: &str) -> LoginOutcome {
        let refused = |reason: &str| LoginOutcome::Refused {
            reason: reason.to_string(),
        };
        let Some(out) = self.line().out.clone() else {
            return refused("the LWAMS server is not connected; signing in needs it");
        };
        let request = self.next_login.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.logins().insert(request, tx);
        let sent = out.send(FromAgent::CheckLogin {
            request,
            login: login.to_string(),
            password: password.to_string(),
        });
        if sent.is_err() {
            self.logins().remove(&request);
            return refused("the connection to the LWAMS server dropped");
        }
        match tokio::time::timeout(Duration::from_secs(15), rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => refused("the connection to the LWAMS server dropped"),
            Err(_) => {
                self.logins().remove(&request);
                refused("the LWAMS server did not answer")
            }
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<()>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the line up for ever.
    pub async fn run_forever(self: Arc<Self>) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let started = std::time::Instant::now();
            let wait = match self.clone().session().await {
                Ok(()) => {
                    self.journal.warn("the server closed the connection");
                    Duration::from_secs(1)
                }
                Err(e @ LinkError::Refused(_)) => {
                    self.journal.error(&e.to_string());
                    Duration::from_secs(30)
                }
                // Retrying will not help until the agent is replaced; try now and then
                // in case the server is downgraded back.
                Err(e @ LinkError::Incompatible(_)) => {
                    self.journal.error(&e.to_string());
                    Duration::from_secs(600)
                }
                Err(e) => {
                    self.journal.warn(&e.to_string());
                    backoff
                }
            };
            // A line that stayed up a while starts the back-off again.
            backoff = if started.elapsed() > Duration::from_secs(60) {
                Duration::from_secs(1)
            } else {
                (backoff * 2).min(Duration::from_secs(60))
            };
            let jitter = Duration::from_millis(u64::from(std::process::id() % 500));
            tokio::time::sleep(wait + jitter).await;
        }
    }

    /// One connection, until it drops.
    async fn session(self: Arc<Self>) -> Result<(), LinkError> {
        let url = self.config.gateway_url();
        let mut req = url
            .as_str()
            .into_client_request()
            .map_err(|e| LinkError::Config(e.to_string()))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.config.credential.trim()))
            .map_err(|_| {
                LinkError::Config("credential has characters a header cannot carry".into())
            })?;
        let company = HeaderValue::from_str(self.config.company_code.trim()).map_err(|_| {
            LinkError::Config("companyCode has characters a header cannot carry".into())
        })?;
        req.headers_mut().insert("authorization", bearer);
        req.headers_mut().insert(COMPANY_HEADER, company);
        let (ws, _) = match tokio_tungstenite::connect_async_with_config(req, None, true).await {
            Ok(ok) => ok,
            Err(tungstenite::Error::Http(resp)) => {
                return Err(LinkError::Refused(resp.status().as_u16()))
            }
            Err(e) => return Err(LinkError::Connect(url, e.to_string())),
        };
        let (mut sink, mut stream) = ws.split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<FromAgent>();
        let _ = out_tx.send(FromAgent::Hello {
            protocol: PROTOCOL_VERSION,
            process: process_id().to_string(),
            version: VERSION.into(),
            facts: facts::collect(),
        });
        let writer = tokio::spawn(async move {
            // Messages larger than a frame go in parts (`shared::agent::wire`).
            let mut number = 0u64;
            'out: while let Some(m) = out_rx.recv().await {
                number += 1;
                let Ok(frames) = wire::frames(&m, number, |message, last, text| FromAgent::Part {
                    message,
                    last,
                    text,
                }) else {
                    continue;
                };
                for f in frames {
                    if sink.send(Message::text(f)).await.is_err() {
                        break 'out;
                    }
                }
            }
        });
        let mut parts = wire::Reassembly::default();
        let heartbeat = {
            let out = out_tx.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                loop {
                    tokio::time::sleep(Duration::from_secs(HEARTBEAT_SECS)).await;
                    n += 1;
                    // Facts (free memory…) every minute, a bare beat otherwise.
                    let facts = n.is_multiple_of(6).then(facts::collect);
                    if out.send(FromAgent::Heartbeat { facts }).is_err() {
                        break;
                    }
                }
            })
        };
        self.journal.info(&format!("connected to {url}"));
        if self.config.line_is_plaintext_off_machine() {
            self.journal.warn(&format!(
                "the line to the LWAMS server is NOT encrypted ({url}): tasks and the secrets \
                 in them cross the network readable — reach the server over HTTPS and set \
                 \"tls\": true (download the package again from an https:// address)"
            ));
        }
        {
            let mut line = self.line();
            line.out = Some(out_tx.clone());
            line.since = Some(SystemTime::now());
        }
        let result = loop {
            let msg =
                match tokio::time::timeout(Duration::from_secs(HEARTBEAT_SECS * 3), stream.next())
                    .await
                {
                    Err(_) => break Err(LinkError::Dropped("the server went silent".into())),
                    Ok(None) => break Ok(()),
                    Ok(Some(Err(e))) => break Err(LinkError::Dropped(e.to_string())),
                    Ok(Some(Ok(m))) => m,
                };
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(_) => break Ok(()),
                _ => continue,
            };
            let message = match serde_json::from_str::<ToAgent>(&text) {
                Ok(ToAgent::Part {
                    message,
                    last,
                    text,
                }) => match parts.add(message, last, &text) {
                    Ok(None) => continue,
                    Ok(Some(whole)) => serde_json::from_str::<ToAgent>(&whole),
                    Err(e) => break Err(LinkError::Dropped(e.to_string())),
                },
                other => other,
            };
            match message {
                Ok(ToAgent::Welcome { host_name, .. }) => {
                    self.journal.info(&format!("signed in as host {host_name}"));
                    self.line().host_name = Some(host_name);
                }
                Ok(ToAgent::LoginChecked { request, outcome }) => {
                    if let Some(waiting) = self.logins().remove(&request) {
                        let _ = waiting.send(outcome);
                    }
                }
                Ok(ToAgent::Run { task, spec }) => self.clone().start(task, spec, out_tx.clone()),
                Ok(ToAgent::Beat | ToAgent::Part { .. }) => {}
                Ok(ToAgent::Incompatible { message, .. }) => {
                    break Err(LinkError::Incompatible(message))
                }
                Ok(ToAgent::Cancel { task }) => {
                    if let Some(stop) = self.running().remove(&task) {
                        let _ = stop.send(());
                    }
                }
                Err(e) => self
                    .journal
                    .warn(&format!("unreadable message from the server: {e}")),
            }
        };
        heartbeat.abort();
        {
            let mut line = self.line();
            line.out = None;
            line.since = None;
        }
        // Sign-ins waiting for the server get "dropped".
        self.logins().clear();
        // Nobody will receive the outcome of what is still running: stop it (the
        // server marks those steps interrupted).
        for (_, stop) in self.running().drain() {
            let _ = stop.send(());
        }
        drop(out_tx);
        writer.abort();
        result
    }

    fn start(
        self: Arc<Self>,
        task: u64,
        spec: shared::agent::TaskSpec,
        out: mpsc::UnboundedSender<FromAgent>,
    ) {
        let (stop_tx, stop_rx) = oneshot::channel();
        self.running().insert(task, stop_tx);
        self.journal.task_started(task, &spec);
        tokio::spawn(async move {
            let stream_out = out.clone();
            let on_output = move |stream, text: &str| {
                let _ = stream_out.send(FromAgent::Output {
                    task,
                    stream,
                    text: text.to_string(),
                });
            };
            let (outcome, host_key) = task::run_reporting(
                &self.pool,
                &spec,
                async {
                    let _ = stop_rx.await;
                },
                &on_output,
            )
            .await;
            self.running().remove(&task);
            self.journal.task_ended(task, &spec, &outcome);
            let _ = out.send(FromAgent::Done {
                task,
                outcome,
                host_key,
            });
        });
    }
}
