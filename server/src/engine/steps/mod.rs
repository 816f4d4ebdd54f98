//! Carrying out one step: the node's parameters are resolved against the instance's
//! variables (`${…}`; commands and scripts get values as data, never spliced into their
//! code — `shared::vars::data`), the executor runs it, and the result becomes the
//! node's variables (SPEC §8.2) and the event for the engine core.
//! `localCommand` runs here on the server; with `lwams:host` it runs on that host's
//! Sub Manager, and `remoteCommand` runs on a terminal through its host's agent.
//!
//! This module holds what a step is once prepared; [`prepare`](prepare()) resolves it,
//! `run` carries it out and `outcome` turns the result into variables and an event.
//! The instance's variables are read by reference throughout, never copied.

use super::compile::{Behaviour, ExecNode, Executable};
use super::core::Event;
use super::server_steps::{self, ServerStepError, StepAt};
use crate::agents::hub::OutputSink;
use crate::agents::reach::{host_params, Reach, RemoteRef};
use crate::executors::local_command::{self, CommandResult, LocalCommand, LocalCommandError};
use serde_json::{json, Map, Value};
use shared::agent::Target;
use shared::agent::{
    Artifact, Direction, FailureCode, FileTool, HttpRequest, HttpResult, SqlResult, TaskOutcome,
    TaskSpec, TransferProtocol,
};
use shared::bpmn::lwams::StepKind;
use shared::dto::script::{Script, ScriptKind};
use shared::dto::Id;
use shared::redact::Masker;
use shared::vars::data::{self, Lang};
use shared::vars::{lookup_json, lookup_value, placeholders, resolve};
use std::time::Duration;

mod outcome;
mod prepare;
mod run;
#[cfg(test)]
mod tests;

use outcome::*;
pub use outcome::{node_entry, set_element, Finished, RESULTS_KEEP_RUNS, RESULT_KEEP_BYTES};
use prepare::*;
pub use prepare::{idempotent, known_secrets, prepare, retry_after};
pub use run::execute;

/// Default step timeout when `lwams:timeout` (seconds) is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// A step ready to run: what the executor gets, and the input recorded for the monitor.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// A command run here on the server.
    Local(CommandStep),
    /// A script of the library run here on the server.
    LocalScript { company_id: Id, script: ScriptRef },
    /// A command on a host's agent (its own machine, or a terminal through it).
    Remote(RemoteStep),
    /// An HTTP request or SQL, here on the server ("in cloud") or on a host's agent.
    Service(ServiceStep),
    /// `lwams:kind="noop"`: a placeholder step that does nothing and succeeds (drafts,
    /// and measuring the engine's own cost per step).
    Noop,
    /// The step cannot run (unknown executor, a placeholder that does not resolve).
    Refused(String),
}

impl Prepared {
    /// The input recorded with the node run, secrets masked by what
    /// `shared::redact` recognises (URL credentials, secret parameters and headers); a
    /// step that knows more secrets re-records it when it ends ([`Finished::input`]).
    pub fn input(&self) -> Value {
        Masker::new().json(&self.raw_input())
    }

    fn raw_input(&self) -> Value {
        match self {
            Prepared::Local(c) => Value::Object(c.params()),
            Prepared::LocalScript { script, .. } => Value::Object(script.params()),
            Prepared::Remote(r) => {
                let mut m = r.work.params();
                m.insert("host".into(), json!(r.at.host));
                m.insert("terminal".into(), json!(r.at.terminal));
                m.insert("terminalUser".into(), json!(r.at.user));
                Value::Object(m)
            }
            Prepared::Service(step) => Value::Object(step.params()),
            Prepared::Refused(why) => json!({ "refused": why }),
            Prepared::Noop => json!({}),
        }
    }
}

/// Work for a host's agent, as the step names it.
#[derive(Debug, Clone)]
pub struct RemoteStep {
    pub company_id: Id,
    pub at: RemoteRef,
    pub work: RemoteWork,
}

/// `lwams:script`: a script of the library, by name; loaded and its values substituted
/// when the step runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptRef {
    pub name: String,
    pub work_dir: Option<String>,
    pub timeout: Duration,
}

impl ScriptRef {
    fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("script".into(), json!({ "name": self.name }));
        m.insert(
            "workDir".into(),
            json!(self.work_dir.clone().unwrap_or_default()),
        );
        m
    }
}

/// A library script loaded for a step, its placeholders made references to variables
/// of its language that carry the values.
#[derive(Debug, Clone)]
pub struct LoadedScript {
    pub script: Script,
    /// The body as it runs: each placeholder a reference to `LWAMS_V_<n>`.
    pub body: String,
    /// The values it reads, in order (`LWAMS_V_1`, …).
    pub values: Vec<String>,
    /// Each placeholder's value, as shown beside the body.
    pub shown: Map<String, Value>,
    pub work_dir: Option<String>,
    pub timeout: Duration,
}

impl LoadedScript {
    fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "script".into(),
            json!({ "id": self.script.id, "name": self.script.name, "kind": self.script.kind.as_str() }),
        );
        // The code as written (its placeholders), the values beside it.
        m.insert("command".into(), json!(self.script.body));
        m.insert("values".into(), Value::Object(self.shown.clone()));
        m.insert(
            "workDir".into(),
            json!(self.work_dir.clone().unwrap_or_default()),
        );
        m
    }

    fn spec(&self, target: Target, collect_artifacts: bool) -> TaskSpec {
        TaskSpec::Script {
            target,
            language: self.script.kind,
            name: self.script.name.clone(),
            body: self.body.clone(),
            work_dir: self.work_dir.clone(),
            timeout_secs: self.timeout.as_secs(),
            collect_artifacts,
            values: self.values.clone(),
        }
    }

    /// The values as environment variables (`LWAMS_V_1=…`).
    fn env(&self) -> Vec<(String, String)> {
        data::env_of(&self.values)
    }
}

/// What each placeholder of `template` holds, by its path (shown beside the code).
fn shown_values(template: &str, root: &Map<String, Value>) -> Map<String, Value> {
    placeholders(template)
        .into_iter()
        .filter_map(|p| {
            let v = lookup_value(root, &p)?.clone();
            Some((p, v))
        })
        .collect()
}

/// The node, as refusals name it: its id and name.
fn node_label(n: &ExecNode) -> String {
    match n.name.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(name) => format!("{} ({name})", n.id),
        None => n.id.clone(),
    }
}

/// `lwams:command`: the command as written and what its placeholders held when the step
/// was prepared. The values reach it as data once the shell that runs it is known: sh
/// on the server and on POSIX machines and terminals, cmd on Windows
/// (`shared::vars::data`).
#[derive(Debug, Clone)]
pub struct CommandStep {
    /// The command as written, with its `${…}` placeholders.
    pub template: String,
    /// Each placeholder's value, by its path (shown beside the command).
    pub values: Map<String, Value>,
    pub work_dir: Option<String>,
    pub timeout: Duration,
}

impl CommandStep {
    /// The node's parameters: the command with its placeholders, the values beside it.
    fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("command".into(), json!(self.template));
        m.insert("values".into(), Value::Object(self.values.clone()));
        m.insert(
            "workDir".into(),
            json!(self.work_dir.clone().unwrap_or_default()),
        );
        m
    }

    /// The command for the shell `lang`, its values as environment variables; refused
    /// (naming the node) where that shell cannot take a value as data.
    fn bind(
        &self,
        n: &ExecNode,
        lang: Lang,
        vars: &Map<String, Value>,
    ) -> Result<LocalCommand, String> {
        let bound = data::bind(&self.template, lang, |p| lookup_json(vars, p))
            .map_err(|e| format!("step {}: command: {e}", node_label(n)))?;
        Ok(LocalCommand {
            env: bound.env(),
            command: bound.text,
            work_dir: self.work_dir.clone(),
            timeout: self.timeout,
        })
    }
}

/// What a command step runs: a command written in the step, or a library script.
#[derive(Debug, Clone)]
enum CommandWork {
    Inline(CommandStep),
    Library(ScriptRef),
}

#[derive(Debug, Clone)]
pub enum RemoteWork {
    Command(CommandStep),
    Script(ScriptRef),
    /// `rpa`: a robot script of the library on the agent's machine; the files it leaves
    /// in its directory come back as artefacts.
    Rpa(ScriptRef),
    /// File distribution over SFTP.
    Transfer {
        protocol: TransferProtocol,
        direction: Direction,
        local_file: String,
        remote_file: String,
        timeout: Duration,
    },
}

impl RemoteWork {
    /// The node's parameters of SPEC §8.2 for this work.
    fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match self {
            RemoteWork::Command(c) => m.extend(c.params()),
            RemoteWork::Script(r) | RemoteWork::Rpa(r) => m.extend(r.params()),
            RemoteWork::Transfer {
                protocol,
                direction,
                local_file,
                remote_file,
                ..
            } => {
                m.insert("command".into(), json!(direction.as_str()));
                m.insert("connectionType".into(), json!(protocol.as_str()));
                m.insert("localFile".into(), json!(local_file));
                m.insert("remoteFile".into(), json!(remote_file));
            }
        }
        m
    }

    /// The task for the agent; a library script must be loaded first (`loaded`), a
    /// command bound for the shell that runs it (`command`).
    fn spec(
        &self,
        target: Target,
        loaded: Option<&LoadedScript>,
        command: Option<&LocalCommand>,
    ) -> Option<TaskSpec> {
        Some(match self {
            RemoteWork::Command(_) => {
                let c = command?;
                TaskSpec::Command {
                    target,
                    command: c.command.clone(),
                    work_dir: c.work_dir.clone(),
                    timeout_secs: c.timeout.as_secs(),
                    values: c.env.iter().map(|(_, v)| v.clone()).collect(),
                }
            }
            RemoteWork::Script(_) => loaded?.spec(target, false),
            RemoteWork::Rpa(_) => loaded?.spec(target, true),
            RemoteWork::Transfer {
                protocol,
                direction,
                local_file,
                remote_file,
                timeout,
            } => TaskSpec::Transfer {
                target,
                protocol: *protocol,
                direction: *direction,
                local_file: local_file.clone(),
                remote_file: remote_file.clone(),
                timeout_secs: timeout.as_secs(),
            },
        })
    }
}

/// What a SQL step runs.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlStatement {
    /// `lwams:sql`: the statement (or script) with its `${…}` placeholders, made into
    /// statements with bind parameters once the data source's kind is known.
    Inline { template: String },
    /// `lwams:script`: a SQL script of the library, by name.
    Library(String),
}

/// An `http` or `sql` step: where it runs and what it does.
#[derive(Debug, Clone)]
pub struct ServiceStep {
    pub company_id: Id,
    /// The host whose agent runs it; `None`: the server ("in cloud").
    pub host: Option<String>,
    pub work: ServiceWork,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum ServiceWork {
    Http(HttpRequest),
    Sql {
        /// `lwams:dataSource`: a data source's name or id.
        data_source: String,
        statement: SqlStatement,
        /// `lwams:query`: the result variable gets the rows (a query) or the count of
        /// changed rows; `None`: told from the statement's first word.
        query: Option<bool>,
    },
    FileOp {
        tool: FileTool,
        filename: String,
        new_filename: Option<String>,
        content: Option<String>,
    },
}

impl ServiceStep {
    /// The node's parameters of SPEC §8.2 known before it runs.
    fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("inCloud".into(), json!(self.host.is_none()));
        if let Some(h) = &self.host {
            m.insert("host".into(), json!(h));
        }
        match &self.work {
            ServiceWork::Http(r) => {
                m.insert("url".into(), json!(r.url));
                m.insert("method".into(), json!(r.method));
                let headers: Map<String, Value> = r
                    .shown_headers()
                    .into_iter()
                    .map(|(k, v)| (k, json!(v)))
                    .collect();
                m.insert("headers".into(), Value::Object(headers));
            }
            ServiceWork::Sql {
                data_source,
                statement,
                query,
            } => {
                match statement {
                    SqlStatement::Inline { template } => {
                        m.insert("sql".into(), json!(template));
                        m.insert("query".into(), json!(query.unwrap_or(reads_rows(template))));
                    }
                    SqlStatement::Library(name) => {
                        m.insert("script".into(), json!({ "name": name }));
                    }
                }
                m.insert("dataSource".into(), json!({ "name": data_source }));
            }
            ServiceWork::FileOp {
                tool,
                filename,
                new_filename,
                ..
            } => {
                m.insert("tool".into(), json!(tool.as_str()));
                m.insert("filename".into(), json!(filename));
                m.insert(
                    "newFilename".into(),
                    json!(new_filename.clone().unwrap_or_default()),
                );
            }
        }
        m
    }
}
