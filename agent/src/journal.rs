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
        // Only the redacted spec is ever written down.
        self.info(&format!("task {task}: {}", spec.describe()));
    }

    pub fn task_ended(&self, task: u64, spec: &TaskSpec, outcome: &TaskOutcome) {
        let (ok, how) = outcome.summary();
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
            what: spec.redacted().describe(),
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
