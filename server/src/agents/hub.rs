//! The connected agents of this process and the tasks they are running. A task is
//! sent, its output forwarded as it comes, and its outcome returned to whoever waits;
//! when the agent goes away every task it had ends as `interrupted`, never left
//! running.

use shared::agent::{FailureCode, HostKeySeen, Stream, TaskOutcome, TaskSpec, ToAgent};
use shared::dto::host::{AgentLogLine, AgentTaskRecord};
use shared::dto::Id;
use shared::redact::Masker;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Lines of each agent's log kept for the host detail.
const LOG_KEEP: usize = 200;
/// Recent tasks kept per host.
const TASKS_KEEP: usize = 50;

/// Receives a running task's output.
pub type OutputSink = Arc<dyn Fn(Stream, &str) + Send + Sync>;

/// A task's outcome, and the SSH host key the terminal showed for it.
type Ended = (TaskOutcome, Option<HostKeySeen>);

struct Pending {
    done: oneshot::Sender<Ended>,
    output: Option<OutputSink>,
}

/// One agent's live connection.
struct Connection {
    session: u64,
    /// The agent process's id from its `Hello`.
    process: String,
    company_id: Id,
    send: mpsc::UnboundedSender<ToAgent>,
    pending: HashMap<u64, Pending>,
}

#[derive(Default)]
struct Inner {
    agents: HashMap<Id, Connection>,
    logs: HashMap<Id, VecDeque<AgentLogLine>>,
    tasks: HashMap<Id, VecDeque<AgentTaskRecord>>,
    /// Agent processes seen per host (process id → first and last seen, version).
    seen: HashMap<Id, HashMap<String, (i64, i64, String)>>,
}

/// How long a process that stopped dialling stays listed on the host page.
pub const PROCESS_SEEN_MILLIS: i64 = 10 * 60 * 1000;

fn keep<T>(q: &mut VecDeque<T>, item: T, at_most: usize) {
    if q.len() >= at_most {
        q.pop_front();
    }
    q.push_back(item);
}

#[derive(Clone, Default)]
pub struct AgentHub {
    inner: Arc<Mutex<Inner>>,
    next: Arc<AtomicU64>,
}

fn interrupted(why: &str) -> TaskOutcome {
    TaskOutcome::Failed {
        error: why.to_string(),
        code: FailureCode::Interrupted,
    }
}

impl AgentHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a host's new connection; an older one of the same host is dropped
    /// (its tasks end as interrupted). Returns the session number, and the process id
    /// of the connection it replaced when that was *another* agent process (a second
    /// Sub Manager using the same credential, not a reconnect).
    pub fn connect(
        &self,
        company_id: Id,
        host_id: Id,
        process: &str,
        send: mpsc::UnboundedSender<ToAgent>,
    ) -> (u64, Option<String>) {
        let session = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let old = self.lock().agents.insert(
            host_id,
            Connection {
                session,
                process: process.to_string(),
                company_id,
                send,
                pending: HashMap::new(),
            },
        );
        let mut other = None;
        if let Some(old) = old {
            if old.process != process && !old.send.is_closed() {
                other = Some(old.process.clone());
            }
            // The replaced line's loop wakes and closes it.
            let _ = old.send.send(ToAgent::Beat);
            for (_, p) in old.pending {
                let _ = p.done.send((
                    interrupted("the agent reconnected while the task ran"),
                    None,
                ));
            }
        }
        (session, other)
    }

    /// Forgets the connection (if it is still the host's current one); its tasks end
    /// as interrupted. True when it was current.
    pub fn disconnect(&self, host_id: Id, session: u64) -> bool {
        let gone = {
            let mut inner = self.lock();
            match inner.agents.get(&host_id) {
                Some(c) if c.session == session => inner.agents.remove(&host_id),
                _ => None,
            }
        };
        match gone {
            Some(c) => {
                // Wakes the connection's loop, which then finds it is no longer current
                // and closes the line at once (not at the agent's next heartbeat).
                let _ = c.send.send(ToAgent::Beat);
                for (_, p) in c.pending {
                    let _ = p.done.send((
                        interrupted("the agent disconnected while the task ran"),
                        None,
                    ));
                }
                true
            }
            None => false,
        }
    }

    /// Closes a host's connection (credential rotated, host deleted).
    pub fn kick(&self, host_id: Id) {
        let session = self.lock().agents.get(&host_id).map(|c| c.session);
        if let Some(s) = session {
            self.disconnect(host_id, s);
        }
    }

    /// The session is still the host's current connection.
    pub fn is_current(&self, host_id: Id, session: u64) -> bool {
        self.lock()
            .agents
            .get(&host_id)
            .is_some_and(|c| c.session == session)
    }

    pub fn is_connected(&self, company_id: Id, host_id: Id) -> bool {
        self.lock()
            .agents
            .get(&host_id)
            .is_some_and(|c| c.company_id == company_id)
    }

    /// Output of a running task, from the agent.
    pub fn output(&self, host_id: Id, task: u64, stream: Stream, text: &str) {
        let sink = self
            .lock()
            .agents
            .get(&host_id)
            .and_then(|c| c.pending.get(&task))
            .and_then(|p| p.output.clone());
        if let Some(sink) = sink {
            sink(stream, text);
        }
    }

    /// The outcome of a task, from the agent, with the host key an SSH terminal showed.
    pub fn done(
        &self,
        host_id: Id,
        task: u64,
        outcome: TaskOutcome,
        host_key: Option<HostKeySeen>,
    ) {
        let pending = self
            .lock()
            .agents
            .get_mut(&host_id)
            .and_then(|c| c.pending.remove(&task));
        if let Some(p) = pending {
            let _ = p.done.send((outcome, host_key));
        }
    }

    pub fn log(&self, host_id: Id, level: &str, message: &str) {
        let line = AgentLogLine {
            at: crate::store::now_millis(),
            level: level.to_string(),
            message: message.to_string(),
        };
        keep(self.lock().logs.entry(host_id).or_default(), line, LOG_KEEP);
    }

    /// Notes that agent `process` (version `version`) is on the host's line now.
    pub fn seen(&self, host_id: Id, process: &str, version: &str) {
        let now = crate::store::now_millis();
        let mut inner = self.lock();
        let seen = inner.seen.entry(host_id).or_default();
        seen.retain(|_, (_, last, _)| now - *last < PROCESS_SEEN_MILLIS);
        let e = seen
            .entry(process.to_string())
            .or_insert((now, now, version.to_string()));
        e.1 = now;
        e.2 = version.to_string();
    }

    /// The agent processes seen on the host's credential in the last
    /// [`PROCESS_SEEN_MILLIS`], the one holding the line first.
    pub fn processes(&self, host_id: Id) -> Vec<shared::dto::host::AgentProcess> {
        let now = crate::store::now_millis();
        let inner = self.lock();
        let current = inner.agents.get(&host_id).map(|c| c.process.as_str());
        let mut out: Vec<_> = inner
            .seen
            .get(&host_id)
            .map(|m| {
                m.iter()
                    .filter(|(p, (_, last, _))| {
                        now - *last < PROCESS_SEEN_MILLIS || current == Some(p.as_str())
                    })
                    .map(
                        |(p, (first, last, version))| shared::dto::host::AgentProcess {
                            process: p.clone(),
                            version: version.clone(),
                            first_seen: *first,
                            last_seen: *last,
                            current: current == Some(p.as_str()),
                        },
                    )
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| {
            b.current
                .cmp(&a.current)
                .then(b.last_seen.cmp(&a.last_seen))
        });
        out
    }

    /// The tasks this process sent the host's agent lately, newest first.
    pub fn recent_tasks(&self, host_id: Id) -> Vec<AgentTaskRecord> {
        self.lock()
            .tasks
            .get(&host_id)
            .map(|l| l.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    fn record_task(
        &self,
        host_id: Id,
        what: String,
        masker: &Masker,
        started: std::time::Instant,
        outcome: &TaskOutcome,
    ) {
        let (ok, detail) = outcome.summary();
        let detail = masker.text(&detail);
        let record = AgentTaskRecord {
            at: crate::store::now_millis(),
            what,
            ok,
            detail,
            millis: started.elapsed().as_millis() as u64,
        };
        keep(
            self.lock().tasks.entry(host_id).or_default(),
            record,
            TASKS_KEEP,
        );
    }

    pub fn log_tail(&self, host_id: Id) -> Vec<AgentLogLine> {
        self.lock()
            .logs
            .get(&host_id)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Runs a task on the host's agent and waits for its outcome; `cancel` stops it.
    /// The outcome is remembered among the host's recent tasks, secrets masked (those
    /// the task carries and what `shared::redact` recognises).
    pub async fn run(
        &self,
        company_id: Id,
        host_id: Id,
        spec: TaskSpec,
        output: Option<OutputSink>,
        cancel: impl std::future::Future<Output = ()>,
    ) -> TaskOutcome {
        self.run_masked(company_id, host_id, spec, &Masker::new(), output, cancel)
            .await
    }

    /// [`AgentHub::run`], the recent task also masking the values `secrets` knows.
    pub async fn run_masked(
        &self,
        company_id: Id,
        host_id: Id,
        spec: TaskSpec,
        secrets: &Masker,
        output: Option<OutputSink>,
        cancel: impl std::future::Future<Output = ()>,
    ) -> TaskOutcome {
        self.run_reporting(company_id, host_id, spec, secrets, output, cancel)
            .await
            .0
    }

    /// [`AgentHub::run_masked`], and the SSH host key the terminal showed for the task
    /// (for the caller to record on the terminal).
    pub async fn run_reporting(
        &self,
        company_id: Id,
        host_id: Id,
        spec: TaskSpec,
        secrets: &Masker,
        output: Option<OutputSink>,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Ended {
        let masker = spec.masker(secrets);
        let what = spec.describe_masked(secrets);
        let started = std::time::Instant::now();
        let (outcome, host_key) = self
            .send_and_wait(company_id, host_id, spec, output, cancel)
            .await;
        self.record_task(host_id, what, &masker, started, &outcome);
        (outcome, host_key)
    }

    async fn send_and_wait(
        &self,
        company_id: Id,
        host_id: Id,
        spec: TaskSpec,
        output: Option<OutputSink>,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Ended {
        let task = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (done_tx, done_rx) = oneshot::channel();
        {
            let mut inner = self.lock();
            let Some(conn) = inner
                .agents
                .get_mut(&host_id)
                .filter(|c| c.company_id == company_id)
            else {
                let not_connected = TaskOutcome::Failed {
                    error: "the host's Sub Manager is not connected".into(),
                    code: FailureCode::Unreachable,
                };
                return (not_connected, None);
            };
            if conn.send.send(ToAgent::Run { task, spec }).is_err() {
                return (interrupted("the agent's connection is closing"), None);
            }
            conn.pending.insert(
                task,
                Pending {
                    done: done_tx,
                    output,
                },
            );
        }
        let mut done_rx = done_rx;
        tokio::select! {
            got = &mut done_rx => got.unwrap_or_else(|_| (interrupted("the agent went away while the task ran"), None)),
            _ = cancel => {
                let send = self.lock().agents.get(&host_id).map(|c| c.send.clone());
                if let Some(send) = send {
                    let _ = send.send(ToAgent::Cancel { task });
                }
                // Give the agent a moment to confirm it stopped the task.
                let _ = tokio::time::timeout(Duration::from_secs(5), done_rx).await;
                if let Some(c) = self.lock().agents.get_mut(&host_id) {
                    c.pending.remove(&task);
                }
                (TaskOutcome::Failed { error: "cancelled".into(), code: FailureCode::Cancelled }, None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TaskSpec {
        TaskSpec::Command {
            target: shared::agent::Target::Local,
            command: "true".into(),
            work_dir: None,
            timeout_secs: 5,
            values: vec![],
        }
    }

    #[tokio::test]
    async fn a_task_ends_with_the_agents_outcome_or_as_interrupted_when_it_leaves() {
        let hub = AgentHub::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (session, _) = hub.connect(1, 10, "p1", tx);
        let h = hub.clone();
        let waiting =
            tokio::spawn(async move { h.run(1, 10, spec(), None, std::future::pending()).await });
        let Some(ToAgent::Run { task, .. }) = rx.recv().await else {
            panic!("no task sent")
        };
        hub.done(
            10,
            task,
            TaskOutcome::Ran {
                result: Default::default(),
            },
            None,
        );
        assert!(matches!(waiting.await.unwrap(), TaskOutcome::Ran { .. }));
        let recent = hub.recent_tasks(10);
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].what, "true — the agent's machine");

        let h = hub.clone();
        let waiting =
            tokio::spawn(async move { h.run(1, 10, spec(), None, std::future::pending()).await });
        let _ = rx.recv().await;
        assert!(hub.disconnect(10, session));
        match waiting.await.unwrap() {
            TaskOutcome::Failed { code, .. } => assert_eq!(code, FailureCode::Interrupted),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_hosts_recent_tasks_never_show_a_password_the_command_or_its_error_carries() {
        let hub = AgentHub::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.connect(1, 10, "p1", tx);
        let spec = TaskSpec::Command {
            target: shared::agent::Target::Ssh {
                address: "10.0.0.9".into(),
                port: 22,
                username: "ops".into(),
                host_key: None,
                auth: shared::agent::SshAuth::Password {
                    password: "Sup3r-secret".into(),
                },
            },
            command: "echo Sup3r-secret | sudo -S ls; mysql --password=db-pw-7; echo ${GLOBAL}"
                .replace("${GLOBAL}", "gl0bal-value"),
            work_dir: None,
            timeout_secs: 5,
            values: vec![],
        };
        let h = hub.clone();
        let waiting = tokio::spawn(async move {
            h.run_masked(
                1,
                10,
                spec,
                &Masker::with_secrets(["gl0bal-value"]),
                None,
                std::future::pending(),
            )
            .await
        });
        let Some(ToAgent::Run { task, .. }) = rx.recv().await else {
            panic!("no task sent")
        };
        hub.done(
            10,
            task,
            TaskOutcome::Failed {
                error: "sudo: wrong password Sup3r-secret".into(),
                code: FailureCode::Other,
            },
            None,
        );
        waiting.await.unwrap();
        let recent = hub.recent_tasks(10);
        let shown = format!("{recent:?}");
        for secret in ["Sup3r-secret", "db-pw-7", "gl0bal-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            recent[0].what.starts_with("echo ••• | sudo -S ls"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn output_reaches_the_waiting_task_as_it_comes() {
        let hub = AgentHub::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.connect(1, 10, "p1", tx);
        let seen = Arc::new(Mutex::new(String::new()));
        let sink: OutputSink = {
            let seen = seen.clone();
            Arc::new(move |_, text: &str| seen.lock().unwrap().push_str(text))
        };
        let h = hub.clone();
        let waiting = tokio::spawn(async move {
            h.run(1, 10, spec(), Some(sink), std::future::pending())
                .await
        });
        let Some(ToAgent::Run { task, .. }) = rx.recv().await else {
            panic!("no task sent")
        };
        hub.output(10, task, Stream::Stdout, "line 1\n");
        assert_eq!(*seen.lock().unwrap(), "line 1\n");
        hub.done(
            10,
            task,
            TaskOutcome::Ran {
                result: Default::default(),
            },
            None,
        );
        waiting.await.unwrap();
    }

    #[tokio::test]
    async fn another_companys_host_or_a_missing_agent_is_unreachable() {
        let hub = AgentHub::default();
        let (tx, _rx) = mpsc::unbounded_channel();
        hub.connect(1, 10, "p1", tx);
        for (company, host) in [(2, 10), (1, 11)] {
            match hub
                .run(company, host, spec(), None, std::future::pending())
                .await
            {
                TaskOutcome::Failed { code, .. } => assert_eq!(code, FailureCode::Unreachable),
                other => panic!("{other:?}"),
            }
        }
    }
}
