//! The wire protocol between the server and a Sub Manager over `/agent` (a WebSocket
//! the agent dials out to; one JSON message per text frame). The agent authenticates
//! the upgrade request with its host credential (`Authorization: Bearer …`) and
//! company code (`X-LWAMS-Company`), then says `Hello`; the server answers `Welcome`
//! and pushes tasks; the agent streams log lines and one `Done` per task.

use crate::dto::host::HostFacts;
use serde::{Deserialize, Serialize};

/// The request header carrying the company code on the upgrade.
pub const COMPANY_HEADER: &str = "x-lwams-company";
/// Seconds between the agent's heartbeats; the server counts an agent silent for three
/// of them as gone.
pub const HEARTBEAT_SECS: u64 = 10;

/// Server → agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToAgent {
    Welcome {
        host_id: i64,
        host_name: String,
    },
    /// Run a task; its outcome comes back as `FromAgent::Done` with the same `task`.
    Run {
        task: u64,
        spec: TaskSpec,
    },
    /// Stop a running task (terminate, skip): its process is killed.
    Cancel {
        task: u64,
    },
    /// The answer to a heartbeat: the agent knows the server is there.
    Beat,
}

/// Agent → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromAgent {
    Hello {
        version: String,
        facts: HostFacts,
    },
    Heartbeat {
        facts: Option<HostFacts>,
    },
    /// Output of a running task, as it comes.
    Output {
        task: u64,
        stream: Stream,
        text: String,
    },
    Done {
        task: u64,
        outcome: TaskOutcome,
    },
    /// A line of the agent's own log (connection, errors) for the host detail.
    Log {
        level: String,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What to do. Secrets travel only inside a task, to the agent that needs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskSpec {
    /// A command on the terminal (SSH), or on the agent's own machine (`Local`).
    Command {
        target: Target,
        command: String,
        work_dir: Option<String>,
        timeout_secs: u64,
    },
    /// Reach the terminal and sign in; runs `uname -a` to show something.
    TestConnection { target: Target, timeout_secs: u64 },
    /// File distribution over SFTP between the agent's machine and the terminal.
    Transfer {
        target: Target,
        direction: Direction,
        local_file: String,
        remote_file: String,
        timeout_secs: u64,
    },
}

/// GET: terminal → agent; PUT: agent → terminal (SPEC §5.1 file distribution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Direction {
    Get,
    Put,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Direction> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GET" => Some(Direction::Get),
            "PUT" => Some(Direction::Put),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Get => "GET",
            Direction::Put => "PUT",
        }
    }
}

impl TaskSpec {
    /// One line saying what the task does and where, without secrets.
    pub fn describe(&self) -> String {
        let at = |t: &Target| match t {
            Target::Local => "the agent's machine".to_string(),
            Target::Ssh {
                address,
                port,
                username,
                ..
            } => format!("{username}@{address}:{port}"),
        };
        match self {
            TaskSpec::Command {
                target, command, ..
            } => format!("{command} — {}", at(target)),
            TaskSpec::TestConnection { target, .. } => format!("connection test — {}", at(target)),
            TaskSpec::Transfer {
                target,
                direction,
                local_file,
                remote_file,
                ..
            } => format!(
                "{} {local_file} ⇄ {remote_file} — {}",
                direction.as_str(),
                at(target)
            ),
        }
    }

    /// The spec as it may be shown or recorded: secrets replaced.
    pub fn redacted(&self) -> TaskSpec {
        let mut s = self.clone();
        match &mut s {
            TaskSpec::Command { target, .. }
            | TaskSpec::TestConnection { target, .. }
            | TaskSpec::Transfer { target, .. } => target.redact(),
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Target {
    /// The agent's own machine.
    Local,
    Ssh {
        address: String,
        port: u16,
        username: String,
        auth: SshAuth,
    },
}

impl Target {
    fn redact(&mut self) {
        if let Target::Ssh { auth, .. } = self {
            *auth = match auth {
                SshAuth::Password { .. } => SshAuth::Password {
                    password: "***".into(),
                },
                SshAuth::Key { .. } => SshAuth::Key {
                    private_key: "***".into(),
                    passphrase: None,
                },
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SshAuth {
    Password {
        password: String,
    },
    Key {
        private_key: String,
        passphrase: Option<String>,
    },
}

/// What a command produced (local, SSH, on the agent or on the server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandResult {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Output beyond [`OUTPUT_CAP`] per stream was dropped.
    pub truncated: bool,
    pub duration_ms: u64,
}

/// At most this much of stdout and of stderr is kept (the rest is counted, not stored).
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// How a task ended: the command ran (`Ran`, whatever its exit code) or could not
/// (`Failed`: unreachable, refused sign-in, timeout, cancelled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaskOutcome {
    Ran { result: CommandResult },
    Failed { error: String, code: FailureCode },
}

/// Why a task could not run, for error boundaries and for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    Unreachable,
    AuthFailed,
    Timeout,
    Cancelled,
    /// The agent went away before the task ended: its outcome is unknown.
    Interrupted,
    Other,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::Unreachable => "unreachable",
            FailureCode::AuthFailed => "auth_failed",
            FailureCode::Timeout => "timeout",
            FailureCode::Cancelled => "cancelled",
            FailureCode::Interrupted => "interrupted",
            FailureCode::Other => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_redaction_hides_secrets() {
        let spec = TaskSpec::Command {
            target: Target::Ssh {
                address: "10.0.0.5".into(),
                port: 22,
                username: "ops".into(),
                auth: SshAuth::Password {
                    password: "hunter2".into(),
                },
            },
            command: "uname -a".into(),
            work_dir: None,
            timeout_secs: 30,
        };
        let m = ToAgent::Run {
            task: 7,
            spec: spec.clone(),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<ToAgent>(&text).unwrap(), m);
        let shown = serde_json::to_string(&spec.redacted()).unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("uname -a"));
    }
}
