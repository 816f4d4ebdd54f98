//! The agent's own log: printed to stderr (tracing) and kept in memory, the last lines
//! and the recent tasks, for the local page.

use shared::agent::{TaskOutcome, TaskSpec};
use std::collections::VecDeque;
use std::sync::Mutex;

const KEEP: usize = 200;
/// How many finished tasks the local page lists.
const KEEP_TASKS: usize = 50;

/// A finished task, as the local page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEntry {
    pub at: std::time::SystemTime,
    pub task: u64,
    /// The redacted description (no secrets).
    pub what: String,
    pub ok: bool,
    pub how: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: std::time::SystemTime,
    pub level: &'static str,
    pub message: String,
}

#[derive(Default)]
pub struct Journal {
    lines: Mutex<VecDeque<Entry>>,
    tasks: Mutex<VecDeque<TaskEntry>>,
}

impl Journal {
    fn push(&self, level: &'static str, message: &str) {
        match level {
            "error" => tracing::error!("{message}"),
            "warn" => tracing::warn!("{message}"),
            _ => tracing::info!("{message}"),
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == KEEP {
            lines.pop_front();
        }
        lines.push_back(Entry {
            at: std::time::SystemTime::now(),
            level,
            message: message.to_string(),
        });
    }

    pub fn info(&self, m: &str) {
        self.push("info", m)
    }

    pub fn warn(&self, m: &str) {
        self.push("warn", m)
    }

    pub fn error(&self, m: &str) {
        self.push("error", m)
    }

    pub fn task_started(&self, task: u64, spec: &TaskSpec) {
        // Only the masked description is ever written down (`shared::redact`).
        self.info(&format!("task {task}: {}", spec.describe()));
    }

    pub fn task_ended(&self, task: u64, spec: &TaskSpec, outcome: &TaskOutcome) {
        let (ok, how) = outcome.summary();
        let how = spec.masker(&shared::redact::Masker::new()).text(&how);
        if ok {
            self.info(&format!("task {task}: {how}"));
        } else {
            self.warn(&format!("task {task}: {how}"));
        }
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if tasks.len() == KEEP_TASKS {
            tasks.pop_front();
        }
        tasks.push_back(TaskEntry {
            at: std::time::SystemTime::now(),
            task,
            what: spec.describe(),
            ok,
            how,
        });
    }

    /// The recent finished tasks, oldest first.
    pub fn tasks(&self) -> Vec<TaskEntry> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> Vec<Entry> {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::agent::{FailureCode, SshAuth, Target};

    #[test]
    fn the_journal_never_writes_a_tasks_password_url_credentials_or_secret_parameters() {
        let j = Journal::default();
        let spec = TaskSpec::Command {
            target: Target::Ssh {
                address: "10.0.0.9".into(),
                port: 22,
                username: "ops".into(),
                host_key: None,
                auth: SshAuth::Password {
                    password: "Acc0unt-pw".into(),
                },
            },
            command: "echo Acc0unt-pw | sudo -S x; psql postgres://u:Url-pw@db/x?password=q-pw"
                .into(),
            work_dir: None,
            timeout_secs: 5,
            values: vec![],
        };
        j.task_started(1, &spec);
        j.task_ended(
            1,
            &spec,
            &TaskOutcome::Failed {
                error: "psql: password Acc0unt-pw refused".into(),
                code: FailureCode::AuthFailed,
            },
        );
        let written = format!("{:?}{:?}", j.lines(), j.tasks());
        for secret in ["Acc0unt-pw", "Url-pw", "q-pw"] {
            assert!(!written.contains(secret), "{written}");
        }
        assert!(written.contains("echo •••"), "{written}");
    }
}
