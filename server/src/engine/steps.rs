//! Carrying out one step: the node's parameters are resolved against the instance's
//! variables (`${…}`; commands and scripts get values as data, never spliced into their
//! code — `shared::vars::data`), the executor runs it, and the result becomes the
//! node's variables (SPEC §8.2) and the event for the engine core.
//! `localCommand` runs here on the server; with `lwams:host` it runs on that host's
//! Sub Manager, and `remoteCommand` runs on a terminal through its host's agent.

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
fn shown_values(template: &str, root: &Value) -> Map<String, Value> {
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
        let root = Value::Object(vars.clone());
        let bound = data::bind(&self.template, lang, |p| lookup_json(&root, p))
            .map_err(|e| format!("step {}: command: {e}", node_label(n)))?;
        Ok(LocalCommand {
            env: bound.env(),
            command: bound.text,
            work_dir: self.work_dir.clone(),
            timeout: self.timeout,
        })
    }
}

/// Whether a host's agent runs on Windows (its facts say so): its commands are `cmd`.
fn runs_windows(facts: &shared::dto::host::HostFacts) -> bool {
    facts
        .get("osName")
        .is_some_and(|os| os.to_ascii_lowercase().contains("windows"))
}

/// Loads a library script and makes each placeholder a reference to a variable of the
/// script's language carrying the value (never the value itself in the code).
async fn load_script(
    reach: &Reach,
    company_id: Id,
    r: &ScriptRef,
    vars: &Map<String, Value>,
) -> Result<LoadedScript, String> {
    let script = reach
        .script(company_id, &r.name)
        .await
        .map_err(|e| e.to_string())?;
    if !script.kind.runs_as_command() {
        return Err(format!(
            "script {}: a SQL script runs in SQL steps, not as a command",
            script.name
        ));
    }
    let Some(lang) = Lang::of_script(script.kind) else {
        return Err(format!(
            "script {}: a SQL script runs in SQL steps, not as a command",
            script.name
        ));
    };
    let root = Value::Object(vars.clone());
    let bound = data::bind(&script.body, lang, |p| lookup_json(&root, p))
        .map_err(|e| format!("script {}: {e}", script.name))?;
    Ok(LoadedScript {
        shown: shown_values(&script.body, &root),
        body: bound.text,
        values: bound.values,
        script,
        work_dir: r.work_dir.clone(),
        timeout: r.timeout,
    })
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

/// What a finished step changes.
#[derive(Debug, Clone)]
pub struct Finished {
    pub ok: bool,
    /// The error, for a failed step.
    pub message: String,
    /// `exit:N` for a command that exited non-zero (matched by error boundaries).
    pub code: Option<String>,
    /// The executor's result, stored with the node run.
    pub output: Option<Value>,
    /// Variables to set on the instance (the node's entry, the result variable).
    pub vars: Map<String, Value>,
    /// The outcome is unknown (the agent went away mid-step): no boundary, no retry.
    pub interrupted: bool,
    /// Files an RPA step brought back (stored with the node run).
    pub artifacts: Vec<Artifact>,
    /// The input to record again, masked with the secrets the step came to know (a
    /// terminal account's, a data source's); `None`: the one recorded when it began.
    pub input: Option<Value>,
}

impl Finished {
    pub fn event(&self, ni: u64) -> Event {
        if self.ok {
            Event::JobCompleted { ni }
        } else if self.interrupted {
            Event::JobInterrupted {
                ni,
                message: self.message.clone(),
            }
        } else {
            Event::JobFailed {
                ni,
                message: self.message.clone(),
                code: self.code.clone(),
            }
        }
    }

    fn failed(message: String) -> Finished {
        Finished {
            ok: false,
            message,
            code: None,
            output: None,
            vars: Map::new(),
            interrupted: false,
            artifacts: Vec::new(),
            input: None,
        }
    }

    /// What is shown and recorded of the step, secrets masked: its output, its error and
    /// — when the step knew secret values — its input again.
    fn masked(mut self, m: &Masker, prepared: &Prepared) -> Finished {
        self.output = self.output.map(|o| m.json(&o));
        self.message = m.text(&self.message);
        if m.knows_values() {
            self.input = Some(m.json(&prepared.raw_input()));
        }
        self
    }
}

/// The secret values a step knows before it resolves its terminal or data source: the
/// values masked in everything shown of it. Empty today; global variables marked
/// secret (a later issue) join here.
pub fn known_secrets(_vars: &Map<String, Value>) -> Masker {
    Masker::new()
}

/// An output sink masking what it passes on.
fn masking_sink(sink: OutputSink, m: Masker) -> OutputSink {
    if !m.knows_values() {
        return sink;
    }
    std::sync::Arc::new(move |stream, text: &str| sink(stream, &m.text(text)))
}

fn kind(n: &ExecNode) -> Option<StepKind> {
    match &n.behaviour {
        Behaviour::Job { kind } => Some(*kind),
        _ => None,
    }
}

/// Whether the step may run again when its outcome is unknown (`lwams:idempotent`).
pub fn idempotent(n: &ExecNode) -> bool {
    n.lwams
        .get("idempotent")
        .is_some_and(|v| v == "true" || v == "1")
}

/// Automatic retries of a failed step (`lwams:retries`) and the first back-off
/// (`lwams:retryDelay` seconds, doubling per attempt, default 10 s).
pub fn retry_after(n: &ExecNode, failed_attempts: i64) -> Option<Duration> {
    let retries: i64 = n.lwams.get("retries").and_then(|r| r.parse().ok())?;
    if failed_attempts > retries {
        return None;
    }
    let base: f64 = n
        .lwams
        .get("retryDelay")
        .and_then(|r| r.parse().ok())
        .unwrap_or(10.0);
    let factor = 2f64.powi((failed_attempts - 1).clamp(0, 16) as i32);
    Some(Duration::from_secs_f64(
        (base * factor).clamp(0.0, 86_400.0),
    ))
}

/// A `lwams:` parameter with `${…}` resolved (values as plain text, not quoted);
/// empty or absent: `None`.
fn param(n: &ExecNode, root: &Value, name: &str) -> Result<Option<String>, String> {
    match n.lwams.get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) => resolve(v, |p| lookup_json(root, p), |s| s.to_string())
            .map(Some)
            .map_err(|e| format!("{name}: {e}")),
    }
}

/// A file path built from values (file distribution, file operations on an agent): a
/// value may hold no NUL and may not climb out of the directory the path names (`..`)
/// unless the node allows any path (`lwams:anyPath`, as steps on the server).
fn path_param(n: &ExecNode, root: &Value, name: &str) -> Result<Option<String>, String> {
    let Some(path) = param(n, root, name)? else {
        return Ok(None);
    };
    let template = n.lwams.get(name).map(String::as_str).unwrap_or("");
    if path.contains('\0') {
        return Err(format!("{name}: a path cannot hold a NUL character"));
    }
    let written: String = shared::vars::pieces(template)
        .map(|p| match p {
            Ok(shared::vars::Piece::Text(t)) => t,
            _ => "x",
        })
        .collect();
    if server_steps::climbs(&path) > server_steps::climbs(&written) && !server_steps::any_path(n) {
        return Err(format!(
            "{name}: {path:?} climbs out of its directory (`..` from a value); set anyPath on \
             the node to allow it"
        ));
    }
    Ok(Some(path))
}

/// `lwams:command` (its placeholders kept: the values reach it as data once the shell
/// that runs it is known), else `lwams:script` (a library script's name).
fn command_of(n: &ExecNode, root: &Value) -> Result<CommandWork, String> {
    let work_dir = param(n, root, "workDir")?;
    if let Some(command) = n.lwams.get("command").filter(|c| !c.trim().is_empty()) {
        // Every placeholder must resolve now (and hold no NUL); where it may stand is
        // known once the shell that runs the command is.
        if let Err(e) = data::bind(command, Lang::Sh, |p| lookup_json(root, p)) {
            if !matches!(
                e,
                data::BindError::Refused { .. } | data::BindError::Text { .. }
            ) {
                return Err(format!("step {}: command: {e}", node_label(n)));
            }
        }
        return Ok(CommandWork::Inline(CommandStep {
            template: command.clone(),
            values: shown_values(command, root),
            work_dir,
            timeout: timeout_of(n),
        }));
    }
    match param(n, root, "script")? {
        Some(name) => Ok(CommandWork::Library(ScriptRef {
            name,
            work_dir,
            timeout: timeout_of(n),
        })),
        None => Err("command: what to run (or script: a script of the library)".into()),
    }
}

/// Resolves a step's parameters against the variables.
pub fn prepare(company_id: Id, n: &ExecNode, vars: &Map<String, Value>) -> Prepared {
    let root = Value::Object(vars.clone());
    let at = |terminal: bool| -> Result<RemoteRef, String> {
        let host =
            param(n, &root, "host")?.ok_or("host: which host's Sub Manager runs the step")?;
        let at = RemoteRef {
            host,
            terminal: if terminal {
                param(n, &root, "terminal")?
            } else {
                None
            },
            user: param(n, &root, "terminalUser")?,
        };
        Ok(at)
    };
    let remote = |terminal: bool| -> Result<Prepared, String> {
        Ok(Prepared::Remote(RemoteStep {
            company_id,
            at: at(terminal)?,
            work: match command_of(n, &root)? {
                CommandWork::Inline(c) => RemoteWork::Command(c),
                CommandWork::Library(r) => RemoteWork::Script(r),
            },
        }))
    };
    let transfer = || -> Result<Prepared, String> {
        let kind = param(n, &root, "connectionType")?.unwrap_or_else(|| "SFTP".into());
        let protocol = TransferProtocol::parse(&kind)
            .ok_or_else(|| format!("connectionType: SFTP or SCP, not {kind:?}"))?;
        let direction = param(n, &root, "direction")?.unwrap_or_default();
        let direction = Direction::parse(&direction)
            .ok_or_else(|| format!("direction: GET or PUT, not {direction:?}"))?;
        let file =
            |name: &str| path_param(n, &root, name)?.ok_or_else(|| format!("{name}: which file"));
        Ok(Prepared::Remote(RemoteStep {
            company_id,
            at: at(true)?,
            work: RemoteWork::Transfer {
                protocol,
                direction,
                local_file: file("localFile")?,
                remote_file: file("remoteFile")?,
                timeout: timeout_of(n),
            },
        }))
    };
    let Some(kind) = kind(n) else {
        return Prepared::Refused(format!("step {}: not a step", node_label(n)));
    };
    let prepared = match kind {
        StepKind::LocalCommand if n.lwams.get("host").is_some_and(|h| !h.trim().is_empty()) => {
            remote(false)
        }
        StepKind::LocalCommand => command_of(n, &root).map(|w| match w {
            CommandWork::Inline(c) => Prepared::Local(c),
            CommandWork::Library(script) => Prepared::LocalScript { company_id, script },
        }),
        StepKind::RemoteCommand => remote(true),
        StepKind::FileDistribution => transfer(),
        StepKind::Rpa => param(n, &root, "script").and_then(|script| {
            let name = script.ok_or("script: which robot script of the library to run")?;
            Ok(Prepared::Remote(RemoteStep {
                company_id,
                at: at(false)?,
                work: RemoteWork::Rpa(ScriptRef {
                    name,
                    work_dir: None,
                    timeout: timeout_of(n),
                }),
            }))
        }),
        StepKind::Http => service(company_id, n, &root, http_work(n, &root)),
        StepKind::Sql => service(company_id, n, &root, sql_work(n, &root)),
        StepKind::FileOperation => service(company_id, n, &root, file_work(n, &root)),
        StepKind::Noop => Ok(Prepared::Noop),
        // Deploy refuses these now; a version deployed before still says why here.
        StepKind::Report | StepKind::Email | StepKind::UserTask | StepKind::CallActivity => {
            Err(format!(
                "no executor for {:?} steps on this server yet",
                kind.as_str()
            ))
        }
    };
    prepared.unwrap_or_else(Prepared::Refused)
}

fn timeout_of(n: &ExecNode) -> Duration {
    n.lwams
        .get("timeout")
        .and_then(|t| t.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Where an `http` / `sql` step runs: on `lwams:host`'s agent unless
/// `lwams:inCloud="true"` or no host is named.
fn service(
    company_id: Id,
    n: &ExecNode,
    root: &Value,
    work: Result<ServiceWork, String>,
) -> Result<Prepared, String> {
    let in_cloud = n
        .lwams
        .get("inCloud")
        .is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes"));
    let host = if in_cloud {
        None
    } else {
        param(n, root, "host")?
    };
    Ok(Prepared::Service(ServiceStep {
        company_id,
        host,
        work: work?,
        timeout: timeout_of(n),
    }))
}

/// `lwams:headers`: one `Name: value` per line, or a JSON object; a value holding a
/// line break is refused, naming its header (`shared::vars::http`).
fn parse_headers(text: &str, root: &Value) -> Result<Vec<(String, String)>, String> {
    shared::vars::http::headers(text.trim(), root).map_err(|e| format!("headers: {e}"))
}

/// An HTTP step: values percent-encoded in the URL's path and query (not a value that
/// is the base address at its start), checked in headers, JSON-encoded in a JSON body.
fn http_work(n: &ExecNode, root: &Value) -> Result<ServiceWork, String> {
    let given = |name: &str| n.lwams.get(name).filter(|v| !v.trim().is_empty());
    let url = given("url").ok_or("url: which address to call")?;
    let url = shared::vars::http::url(url.trim(), |p| lookup_json(root, p))
        .map_err(|e| format!("url: {e}"))?;
    let method = param(n, root, "method")?
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    let headers = match given("headers") {
        Some(h) => parse_headers(h, root)?,
        None => vec![],
    };
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str());
    let body = match given("body") {
        Some(b) => Some(
            shared::vars::http::body(b, content_type, root).map_err(|e| format!("body: {e}"))?,
        ),
        None => None,
    };
    let verify_tls = !param(n, root, "tls")?.is_some_and(|t| {
        matches!(
            t.trim().to_ascii_lowercase().as_str(),
            "false" | "no" | "0" | "insecure" | "skip"
        )
    });
    Ok(ServiceWork::Http(HttpRequest {
        method,
        url,
        headers,
        body,
        verify_tls,
    }))
}

fn file_work(n: &ExecNode, root: &Value) -> Result<ServiceWork, String> {
    let tool = param(n, root, "tool")?.unwrap_or_default();
    let tool = FileTool::parse(&tool)
        .ok_or_else(|| format!("tool: read, write, rename or delete, not {tool:?}"))?;
    let filename = path_param(n, root, "filename")?.ok_or("filename: which file")?;
    let new_filename = path_param(n, root, "newFilename")?;
    if tool == FileTool::Rename && new_filename.is_none() {
        return Err("newFilename: where to rename the file to".into());
    }
    Ok(ServiceWork::FileOp {
        tool,
        filename,
        new_filename,
        content: param(n, root, "body")?,
    })
}

/// What a SQL step's input shows: the statements' text with their placeholders (one
/// per line, `;` between) and their values, in order.
fn shown_statements(statements: &[shared::sql::SqlStatement]) -> (String, Vec<Value>) {
    let sql = statements
        .iter()
        .map(|s| s.sql.as_str())
        .collect::<Vec<_>>()
        .join(";\n");
    let values = statements
        .iter()
        .flat_map(|s| s.params.iter().cloned())
        .collect();
    (sql, values)
}

/// Whether a statement reads rows (its first word), when `lwams:query` does not say.
fn reads_rows(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT"
            | "WITH"
            | "SHOW"
            | "EXPLAIN"
            | "VALUES"
            | "DESCRIBE"
            | "DESC"
            | "PRAGMA"
            | "TABLE"
    )
}

fn sql_work(n: &ExecNode, root: &Value) -> Result<ServiceWork, String> {
    let data_source =
        param(n, root, "dataSource")?.ok_or("dataSource: which data source to use")?;
    let statement = match n.lwams.get("sql").filter(|t| !t.trim().is_empty()) {
        Some(template) => {
            // Every placeholder must resolve now; where each value may go is known once
            // the data source's kind is (`run_service`).
            resolve(template, |p| lookup_json(root, p), |v| v.to_string())
                .map_err(|e| format!("sql: {e}"))?;
            SqlStatement::Inline {
                template: template.clone(),
            }
        }
        None => SqlStatement::Library(
            param(n, root, "script")?
                .ok_or("sql: which statement to run (or script: a SQL script of the library)")?,
        ),
    };
    let query = match n.lwams.get("query").map(|q| q.trim().to_ascii_lowercase()) {
        Some(q) if matches!(q.as_str(), "true" | "1" | "yes" | "query") => Some(true),
        Some(q) if matches!(q.as_str(), "false" | "0" | "no" | "update") => Some(false),
        _ => None,
    };
    Ok(ServiceWork::Sql {
        data_source,
        statement,
        query,
    })
}

/// Runs a prepared step until it ends or `cancel` completes (`None`: cancelled). What
/// is recorded of it (input, output, error) and its live output are masked with the
/// secrets it knows ([`known_secrets`], its terminal account's or data source's).
pub async fn execute(
    n: &ExecNode,
    prepared: &Prepared,
    vars: &Map<String, Value>,
    at: &StepAt,
    reach: Option<&Reach>,
    output: OutputSink,
    cancel: impl std::future::Future<Output = ()>,
) -> Option<Finished> {
    let mut secrets = known_secrets(vars);
    let output = masking_sink(output, secrets.clone());
    let f = execute_step(n, prepared, vars, at, reach, output, &mut secrets, cancel).await?;
    Some(f.masked(&secrets, prepared))
}

#[allow(clippy::too_many_arguments)]
async fn execute_step(
    n: &ExecNode,
    prepared: &Prepared,
    vars: &Map<String, Value>,
    at: &StepAt,
    reach: Option<&Reach>,
    output: OutputSink,
    secrets: &mut Masker,
    cancel: impl std::future::Future<Output = ()>,
) -> Option<Finished> {
    let now = at.now;
    match prepared {
        Prepared::Remote(step) => {
            let Some(reach) = reach else {
                return Some(Finished::failed(
                    "steps on hosts run only in `lwams serve` (no agent gateway here)".into(),
                ));
            };
            run_remote(n, step, reach, vars, now, output, secrets, cancel).await
        }
        Prepared::Service(step) => {
            let Some(reach) = reach else {
                return Some(Finished::failed(
                    "HTTP and SQL steps run only in `lwams serve`".into(),
                ));
            };
            run_service(n, step, reach, vars, at, secrets, cancel).await
        }
        Prepared::Refused(why) => Some(Finished::failed(why.clone())),
        Prepared::Noop => {
            let mut vars = Map::new();
            vars.insert(n.id.clone(), Value::Object(node_entry(n, now)));
            Some(Finished {
                ok: true,
                message: String::new(),
                code: None,
                output: None,
                vars,
                interrupted: false,
                artifacts: Vec::new(),
                input: None,
            })
        }
        Prepared::LocalScript { company_id, script } => {
            let Some(reach) = reach else {
                return Some(Finished::failed(
                    "library scripts run only in `lwams serve`".into(),
                ));
            };
            let loaded = match load_script(reach, *company_id, script, vars).await {
                Ok(l) => l,
                Err(why) => return Some(Finished::failed(why)),
            };
            let ran = server_steps::script(
                reach,
                at,
                n,
                loaded.script.kind,
                &loaded.script.name,
                &loaded.body,
                &loaded.env(),
                loaded.work_dir.as_deref(),
                loaded.timeout,
                cancel,
                &*output,
            )
            .await;
            let mut params = loaded.params();
            params.insert("connectionType".into(), json!("local"));
            on_server_finished(n, params, ran, vars, now)
        }
        Prepared::Local(step) => {
            let mut params = step.params();
            params.insert("connectionType".into(), json!("local"));
            // Run by this machine's shell (sh; cmd were the server on Windows).
            let req = match step.bind(n, Lang::command_on(cfg!(windows)), vars) {
                Ok(r) => r,
                Err(why) => return Some(Finished::failed(why)),
            };
            let ran = match reach {
                Some(reach) => server_steps::command(reach, at, n, &req, cancel, &*output).await,
                // `lwams flow run` (no server): the operator's own machine and flow.
                None => local_command::run_until(&req, cancel, &*output)
                    .await
                    .map_err(|e| match e {
                        LocalCommandError::Cancelled => ServerStepError::Cancelled,
                        other => ServerStepError::Failed(other.to_string()),
                    }),
            };
            on_server_finished(n, params, ran, vars, now)
        }
    }
}

/// The end of a step on the server (`None`: cancelled).
fn on_server_finished(
    n: &ExecNode,
    params: Map<String, Value>,
    ran: Result<CommandResult, ServerStepError>,
    vars: &Map<String, Value>,
    now: i64,
) -> Option<Finished> {
    match ran {
        Ok(r) => Some(command_finished(n, params, r, vars, now)),
        Err(ServerStepError::Cancelled) => None,
        Err(e) => Some(Finished::failed(e.to_string())),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_remote(
    n: &ExecNode,
    step: &RemoteStep,
    reach: &Reach,
    vars: &Map<String, Value>,
    now: i64,
    output: OutputSink,
    secrets: &mut Masker,
    cancel: impl std::future::Future<Output = ()>,
) -> Option<Finished> {
    let resolved = match reach.resolve(step.company_id, &step.at).await {
        Ok(r) => r,
        Err(e) => return Some(Finished::failed(e.to_string())),
    };
    // A command gets its values as data, written for the shell that runs it: cmd on a
    // Windows terminal (WinRM) or a Windows agent's own machine, else sh.
    let work = &step.work;
    let command = match work {
        RemoteWork::Command(c) => {
            let windows = match &resolved.target {
                Target::Winrm { .. } => true,
                Target::Ssh { .. } => false,
                Target::Local => runs_windows(&resolved.host.facts),
            };
            match c.bind(n, Lang::command_on(windows), vars) {
                Ok(c) => Some(c),
                Err(why) => return Some(Finished::failed(why)),
            }
        }
        _ => None,
    };
    let loaded = match work {
        RemoteWork::Script(r) | RemoteWork::Rpa(r) => {
            match load_script(reach, step.company_id, r, vars).await {
                Ok(l) => Some(l),
                Err(why) => return Some(Finished::failed(why)),
            }
        }
        _ => None,
    };
    let Some(spec) = work.spec(resolved.target.clone(), loaded.as_ref(), command.as_ref()) else {
        return Some(Finished::failed("the library script was not loaded".into()));
    };
    // The account's secrets are masked in everything shown of the step from here on.
    let caller_secrets = secrets.clone();
    *secrets = spec.masker(secrets);
    let output = masking_sink(output, secrets.clone());
    match reach
        .run_on(
            step.company_id,
            resolved.host.id,
            resolved.terminal.as_ref().map(|(t, _)| t),
            spec,
            &caller_secrets,
            Some(output),
            cancel,
        )
        .await
    {
        TaskOutcome::Ran { result } => {
            let mut params = resolved.node_params();
            params.extend(work.params());
            if let Some(l) = &loaded {
                params.extend(l.params());
            }
            Some(command_finished(n, params, result, vars, now))
        }
        TaskOutcome::Rpa { result, artifacts } => {
            let mut params = resolved.node_params();
            params.extend(work.params());
            if let Some(l) = &loaded {
                params.extend(l.params());
            }
            let listed: Vec<Value> = artifacts
                .iter()
                .map(|a| json!({ "name": a.name, "size": a.size, "stored": a.content.is_some() }))
                .collect();
            params.insert("artifacts".into(), json!(listed));
            let mut f = command_finished(n, params, result, vars, now);
            if let Some(Value::Object(out)) = f.output.as_mut() {
                out.insert("artifacts".into(), json!(listed));
            }
            if let Some(Value::Object(result)) = f
                .vars
                .get_mut(&n.id)
                .and_then(|entry| entry.get_mut("result"))
            {
                result.insert("artifacts".into(), json!(listed));
            }
            f.artifacts = artifacts;
            Some(f)
        }
        TaskOutcome::Failed {
            code: FailureCode::Cancelled,
            ..
        } => None,
        TaskOutcome::Failed { error, code } => Some(Finished {
            code: Some(code.as_str().to_string()),
            interrupted: code == FailureCode::Interrupted,
            ..Finished::failed(format!("host {}: {error}", resolved.host.name))
        }),
        other => Some(Finished::failed(format!(
            "host {}: unexpected answer: {}",
            resolved.host.name,
            other.summary().1
        ))),
    }
}

async fn run_service(
    n: &ExecNode,
    step: &ServiceStep,
    reach: &Reach,
    vars: &Map<String, Value>,
    at: &StepAt,
    secrets: &mut Masker,
    cancel: impl std::future::Future<Output = ()>,
) -> Option<Finished> {
    let now = at.now;
    // A file operation in cloud runs on the server, confined (SQL and HTTP in cloud
    // run in-process under the address policy).
    if let (
        None,
        ServiceWork::FileOp {
            tool,
            filename,
            new_filename,
            content,
        },
    ) = (&step.host, &step.work)
    {
        let ran = server_steps::file_op(
            reach,
            at,
            n,
            *tool,
            filename,
            new_filename.as_deref(),
            content.as_deref(),
            step.timeout,
            cancel,
        )
        .await;
        return on_server_finished(n, step.params(), ran, vars, now);
    }
    let mut params = step.params();
    // Whether the SQL reads rows (known once the statement is resolved).
    let mut reads = false;
    let spec = match &step.work {
        ServiceWork::Http(request) => TaskSpec::Http {
            request: request.clone(),
            timeout_secs: step.timeout.as_secs(),
        },
        ServiceWork::FileOp {
            tool,
            filename,
            new_filename,
            content,
        } => TaskSpec::FileOp {
            tool: *tool,
            filename: filename.clone(),
            new_filename: new_filename.clone(),
            content: content.clone(),
            timeout_secs: step.timeout.as_secs(),
        },
        ServiceWork::Sql {
            data_source,
            statement,
            query,
        } => {
            let (row, database) = match reach
                .database(step.company_id, data_source, step.host.as_deref())
                .await
            {
                Ok(d) => d,
                Err(e) => return Some(Finished::failed(e.to_string())),
            };
            let ds = &row.source;
            params.insert(
                "dataSource".into(),
                json!({ "id": ds.id, "name": ds.name, "url": ds.url, "comments": ds.comments }),
            );
            let template = match statement {
                SqlStatement::Inline { template, .. } => template.clone(),
                SqlStatement::Library(name) => match reach.script(step.company_id, name).await {
                    Ok(script) if script.kind == ScriptKind::Sql => {
                        params.insert(
                            "script".into(),
                            json!({ "id": script.id, "name": script.name, "kind": "sql" }),
                        );
                        script.body
                    }
                    Ok(script) => {
                        return Some(Finished::failed(format!(
                            "script {}: a {} script; SQL steps run SQL scripts",
                            script.name,
                            script.kind.label()
                        )))
                    }
                    Err(e) => return Some(Finished::failed(e.to_string())),
                },
            };
            // Values become bind parameters of this database's driver, never SQL text.
            let root = Value::Object(vars.clone());
            let statements = match shared::sql::parameterize(&template, database.kind, |p| {
                shared::vars::lookup_value(&root, p).cloned()
            }) {
                Ok(s) => s,
                Err(e) => return Some(Finished::failed(format!("sql: {e}"))),
            };
            let (sql, values) = shown_statements(&statements);
            let query = query.unwrap_or_else(|| reads_rows(&sql));
            params.insert("sql".into(), json!(sql));
            params.insert("values".into(), Value::Array(values));
            params.insert("query".into(), json!(query));
            reads = query;
            TaskSpec::Sql {
                database,
                statements,
                timeout_secs: step.timeout.as_secs(),
            }
        }
    };
    let host = match &step.host {
        Some(h) => match reach.host(step.company_id, h).await {
            Ok(h) => Some(h),
            Err(e) => return Some(Finished::failed(e.to_string())),
        },
        None => None,
    };
    // The data source's password is masked in everything shown of the step.
    let caller_secrets = secrets.clone();
    *secrets = spec.masker(secrets);
    let outcome = reach
        .run_service_masked(
            step.company_id,
            host.as_ref(),
            spec,
            &caller_secrets,
            cancel,
        )
        .await;
    if let Some(h) = &host {
        params.insert("host".into(), host_params(h));
    }
    let where_ = host
        .map(|h| format!("host {}: ", h.name))
        .unwrap_or_default();
    match (outcome, &step.work) {
        (TaskOutcome::Http { result }, _) => Some(http_finished(n, params, result, vars, now)),
        (TaskOutcome::Ran { result }, ServiceWork::FileOp { .. }) => {
            Some(command_finished(n, params, result, vars, now))
        }
        (TaskOutcome::Sql { result }, ServiceWork::Sql { .. }) => {
            Some(sql_finished(n, params, result, reads, vars, now))
        }
        (
            TaskOutcome::Failed {
                code: FailureCode::Cancelled,
                ..
            },
            _,
        ) => None,
        (TaskOutcome::Failed { error, code }, _) => Some(Finished {
            code: Some(code.as_str().to_string()),
            interrupted: code == FailureCode::Interrupted,
            ..Finished::failed(format!("{where_}{error}"))
        }),
        (other, _) => Some(Finished::failed(format!(
            "{where_}unexpected answer: {}",
            other.summary().1
        ))),
    }
}

/// An HTTP answer: a status of 400 or more fails the step with code `http:STATUS`; the
/// result variable gets the body (parsed when JSON).
fn http_finished(
    n: &ExecNode,
    params: Map<String, Value>,
    r: HttpResult,
    vars: &Map<String, Value>,
    now: i64,
) -> Finished {
    let ok = r.status < 400;
    let value = r.json.clone().unwrap_or_else(|| json!(r.body));
    let message = if ok {
        String::new()
    } else {
        let first: String = r
            .body
            .trim()
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        format!("HTTP {} {}: {first}", r.status, r.reason)
    };
    let code = (!ok).then(|| format!("http:{}", r.status));
    let out = serde_json::to_value(&r).unwrap_or(Value::Null);
    step_finished(n, params, out, value, ok, message, code, vars, now)
}

/// SQL that ran: the result variable gets the rows of a query, else the count of
/// changed rows.
fn sql_finished(
    n: &ExecNode,
    params: Map<String, Value>,
    r: SqlResult,
    query: bool,
    vars: &Map<String, Value>,
    now: i64,
) -> Finished {
    let value = if query {
        json!(r.rows)
    } else {
        json!(r.rows_affected)
    };
    let out = serde_json::to_value(&r).unwrap_or(Value::Null);
    step_finished(n, params, out, value, true, String::new(), None, vars, now)
}

/// A finished command or transfer: `params` are the node's parameters (SPEC §8.2).
fn command_finished(
    n: &ExecNode,
    params: Map<String, Value>,
    r: CommandResult,
    vars: &Map<String, Value>,
    now: i64,
) -> Finished {
    let ok = r.exit_code == Some(0);
    let message = if ok {
        String::new()
    } else {
        format!(
            "exit code {:?}: {}",
            r.exit_code,
            r.stderr.trim_end().lines().last().unwrap_or("")
        )
    };
    let code = r.exit_code.filter(|_| !ok).map(|c| format!("exit:{c}"));
    let value = json!(r.stdout.trim_end());
    let out = serde_json::to_value(&r).unwrap_or(Value::Null);
    step_finished(n, params, out, value, ok, message, code, vars, now)
}

/// The node's entry (`${id.…}`: its parameters and `result`, every run's result for a
/// multi-instance activity) and the result variable, for any executor.
#[allow(clippy::too_many_arguments)]
fn step_finished(
    n: &ExecNode,
    params: Map<String, Value>,
    out: Value,
    value: Value,
    ok: bool,
    message: String,
    code: Option<String>,
    vars: &Map<String, Value>,
    now: i64,
) -> Finished {
    let mut entry = node_entry(n, now);
    entry.extend(params);
    entry.insert("result".into(), out.clone());
    if let Some(index) = vars
        .get("loopCounter")
        .and_then(Value::as_u64)
        .filter(|_| n.multi.is_some())
    {
        // Multi-instance: every run's result, by index, beside the last one — bounded:
        // a large result summarised, the first RESULTS_KEEP_RUNS runs only (each run's
        // whole output stays in its node run).
        let mut results = vars
            .get(&n.id)
            .and_then(|v| v.get("results"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let index = index as usize;
        if index < RESULTS_KEEP_RUNS {
            if results.len() <= index {
                results.resize(index + 1, Value::Null);
            }
            results[index] = kept_result(&out);
        }
        entry.insert("results".into(), Value::Array(results));
    }
    let mut patch = Map::new();
    patch.insert(n.id.clone(), Value::Object(entry));
    if let Some(rv) = n.lwams.get("resultVariable").filter(|v| !v.is_empty()) {
        patch.insert(rv.clone(), value);
    }
    Finished {
        ok,
        message,
        code,
        output: Some(out),
        vars: patch,
        interrupted: false,
        artifacts: Vec::new(),
        input: None,
    }
}

/// What `${node.results.N}` keeps of one run of a multi-instance activity: its result
/// when its JSON is at most this many bytes, else a summary ([`kept_result`]).
pub const RESULT_KEEP_BYTES: usize = 2 * 1024;
/// `${node.results.N}` keeps the results of runs 0 to this − 1; later runs' results are
/// only in their node runs. So a multi-instance activity adds at most about
/// `RESULT_KEEP_BYTES × RESULTS_KEEP_RUNS` (2 MB) to the instance's variables.
pub const RESULTS_KEEP_RUNS: usize = 1_000;
/// Characters of each text a summarised result keeps.
const RESULT_TEXT_KEEP: usize = 512;
/// Fields a summarised result keeps.
const RESULT_FIELDS_KEEP: usize = 12;

/// A run's result as `${node.results.N}` keeps it: as it is when small, else its
/// scalar fields (texts cut to [`RESULT_TEXT_KEEP`] characters) with `truncated: true`
/// and `size` (the whole result's bytes; it is in the node run).
fn kept_result(out: &Value) -> Value {
    let size = out.to_string().len();
    if size <= RESULT_KEEP_BYTES {
        return out.clone();
    }
    let cut = |t: &str| -> Value {
        match t.char_indices().nth(RESULT_TEXT_KEEP) {
            Some((at, _)) => json!(format!("{}…", &t[..at])),
            None => json!(t),
        }
    };
    let mut m = Map::new();
    match out {
        Value::Object(o) => {
            for (k, v) in o.iter().take(RESULT_FIELDS_KEEP) {
                match v {
                    Value::String(t) => {
                        m.insert(k.clone(), cut(t));
                    }
                    Value::Number(_) | Value::Bool(_) | Value::Null => {
                        m.insert(k.clone(), v.clone());
                    }
                    _ => {}
                }
            }
        }
        Value::String(t) => {
            m.insert("text".into(), cut(t));
        }
        _ => {}
    }
    m.insert("truncated".into(), json!(true));
    m.insert("size".into(), json!(size));
    Value::Object(m)
}

/// The parameters every node has (SPEC §8.2): name, createDate, createDatetime.
pub fn node_entry(n: &ExecNode, now: i64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(n.name.clone().unwrap_or_default()));
    m.insert("createDate".into(), json!(super::builtins::date(now)));
    m.insert(
        "createDatetime".into(),
        json!(super::builtins::datetime(now)),
    );
    m
}

/// Before a run of a multi-instance activity: its element (`item`, or the name in
/// `lwams:elementVariable`) and `loopCounter`.
pub fn set_element(ex: &Executable, node: usize, index: usize, vars: &mut Map<String, Value>) {
    let Some(multi) = &ex.nodes[node].multi else {
        return;
    };
    let root = Value::Object(vars.clone());
    let element = match shared::vars::lookup_value(&root, &multi.over) {
        Some(Value::Array(items)) => items.get(index).cloned().unwrap_or(Value::Null),
        _ => json!(index),
    };
    vars.insert(multi.element.clone(), element);
    vars.insert("loopCounter".into(), json!(index));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(attrs: &[(&str, &str)]) -> ExecNode {
        ExecNode {
            name: Some("N".into()),
            ..ExecNode::job("n", StepKind::LocalCommand, attrs)
        }
    }

    #[test]
    fn commands_get_values_as_data_for_the_shell_that_runs_them_and_missing_ones_refuse() {
        let n = node(&[("command", "echo ${who} \"${who}\" | tr a-z A-Z")]);
        let mut vars = Map::new();
        vars.insert("who".into(), json!("; rm -rf / $(id)"));
        let Prepared::Local(c) = prepare(1, &n, &vars) else {
            panic!("a local command");
        };
        // Recorded: the command with its placeholders, the values beside it.
        let input = Prepared::Local(c.clone()).input();
        assert_eq!(input["command"], "echo ${who} \"${who}\" | tr a-z A-Z");
        assert_eq!(input["values"], json!({ "who": "; rm -rf / $(id)" }));
        // sh: a reference to an environment variable, quoted by where it stands.
        let sh = c.bind(&n, Lang::Sh, &vars).unwrap();
        assert_eq!(
            sh.command,
            "echo \"$LWAMS_V_1\" \"${LWAMS_V_1}\" | tr a-z A-Z"
        );
        assert_eq!(
            sh.env,
            vec![("LWAMS_V_1".to_string(), "; rm -rf / $(id)".to_string())]
        );
        // cmd: delayed expansion, refused beside a pipe (naming the node).
        let why = c.bind(&n, Lang::Cmd, &vars).unwrap_err();
        assert!(
            why.starts_with("step n (N): command: cmd: ${who} on line 1"),
            "{why}"
        );
        assert!(why.contains("pipe"), "{why}");
        let plain = node(&[("command", "echo ${who}")]);
        let Prepared::Local(c) = prepare(1, &plain, &vars) else {
            panic!("a local command");
        };
        assert_eq!(
            c.bind(&plain, Lang::Cmd, &vars).unwrap().command,
            "echo !LWAMS_V_1!"
        );
        match prepare(1, &n, &Map::new()) {
            Prepared::Refused(why) => assert!(why.contains("who"), "{why}"),
            other => panic!("{other:?}"),
        }
        vars.insert("who".into(), json!("a\u{0}b"));
        match prepare(1, &n, &vars) {
            Prepared::Refused(why) => {
                assert!(
                    why.starts_with("step n (N): command: ${who} holds a NUL"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_steps_read_headers_as_lines_or_json_and_run_on_the_host_unless_in_cloud() {
        let none = json!({});
        assert_eq!(
            parse_headers("Accept: application/json\n\nX-Trace: a:b", &none).unwrap(),
            vec![
                ("Accept".to_string(), "application/json".to_string()),
                ("X-Trace".to_string(), "a:b".to_string())
            ]
        );
        assert_eq!(
            parse_headers(r#"{"X-N": 1, "X-S": "s"}"#, &none).unwrap(),
            vec![
                ("X-N".to_string(), "1".to_string()),
                ("X-S".to_string(), "s".to_string())
            ]
        );
        let e = parse_headers("Accept application/json", &none).unwrap_err();
        assert!(e.contains("line 1"), "{e}");

        let mut n = node(&[
            ("url", "http://api/${id}"),
            ("host", "agent-1"),
            ("tls", "false"),
        ]);
        n.behaviour = Behaviour::Job {
            kind: StepKind::Http,
        };
        let mut vars = Map::new();
        vars.insert("id".into(), json!("7"));
        match prepare(1, &n, &vars) {
            Prepared::Service(s) => {
                assert_eq!(s.host.as_deref(), Some("agent-1"));
                match s.work {
                    ServiceWork::Http(r) => {
                        assert_eq!(r.url, "http://api/7");
                        assert_eq!(r.method, "GET");
                        assert!(!r.verify_tls);
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
        n.lwams.insert("inCloud".into(), "true".into());
        match prepare(1, &n, &vars) {
            Prepared::Service(s) => assert_eq!(s.host, None),
            other => panic!("{other:?}"),
        }
        // Values are encoded for where they stand: the URL's path and query, a header,
        // a JSON body; the base address at the start is kept.
        n.lwams
            .insert("url".into(), "${base}/items/${id}?q=${q}".into());
        n.lwams.insert(
            "headers".into(),
            "Content-Type: application/json\nX-User: ${q}".into(),
        );
        n.lwams
            .insert("body".into(), r#"{"q": "${q}", "id": ${id}}"#.into());
        vars.insert("base".into(), json!("https://api.example/v1"));
        vars.insert("id".into(), json!("7/../admin"));
        vars.insert("q".into(), json!("a\"b&c"));
        match prepare(1, &n, &vars) {
            Prepared::Service(ServiceStep {
                work: ServiceWork::Http(r),
                ..
            }) => {
                assert_eq!(
                    r.url,
                    "https://api.example/v1/items/7%2F..%2Fadmin?q=a%22b%26c"
                );
                assert_eq!(r.headers[1], ("X-User".to_string(), "a\"b&c".to_string()));
                let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
                assert_eq!(body, json!({ "q": "a\"b&c", "id": "7/../admin" }));
            }
            other => panic!("{other:?}"),
        }
        vars.insert("q".into(), json!("x\r\nX-Admin: 1"));
        match prepare(1, &n, &vars) {
            Prepared::Refused(why) => assert!(
                why.starts_with("headers: the value of header X-User holds a line break"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sql_steps_keep_their_placeholders_for_parameters_and_queries_are_told_from_updates() {
        let template = "SELECT * FROM t WHERE name = ${who} AND id IN (${raw:ids})";
        let mut n = node(&[("dataSource", "inventory"), ("sql", template)]);
        n.behaviour = Behaviour::Job {
            kind: StepKind::Sql,
        };
        let mut vars = Map::new();
        vars.insert("who".into(), json!("x'; DROP TABLE t; --"));
        vars.insert("ids".into(), json!("1,2"));
        match prepare(1, &n, &vars) {
            Prepared::Service(step) => {
                match &step.work {
                    ServiceWork::Sql {
                        statement: SqlStatement::Inline { template: t },
                        query,
                        ..
                    } => {
                        assert_eq!(t, template, "made into parameters once the kind is known");
                        assert_eq!(*query, None, "told from the statement when it runs");
                    }
                    other => panic!("{other:?}"),
                }
                assert_eq!(step.host, None);
                let input = Prepared::Service(step).input();
                assert_eq!(input["sql"], template);
                assert_eq!(input["query"], true);
            }
            other => panic!("{other:?}"),
        }
        // What ran is shown with its placeholders, the values beside it.
        let statements = shared::sql::parameterize(
            &format!("{template}; DELETE FROM t WHERE id = ${{who}}"),
            shared::dto::data_source::DataSourceKind::Postgres,
            |p| vars.get(p).cloned(),
        )
        .unwrap();
        assert_eq!(
            shown_statements(&statements),
            (
                "SELECT * FROM t WHERE name = $1 AND id IN (1,2);\nDELETE FROM t WHERE id = $1"
                    .to_string(),
                vec![json!("x'; DROP TABLE t; --"), json!("x'; DROP TABLE t; --")]
            )
        );
        assert!(reads_rows("  with x as (select 1) select * from x"));
        assert!(!reads_rows("UPDATE t SET a = 1"));
        let mut unknown = n.clone();
        unknown.lwams.insert("sql".into(), "SELECT ${nope}".into());
        match prepare(1, &unknown, &vars) {
            Prepared::Refused(why) => assert!(why.contains("${nope}"), "{why}"),
            other => panic!("{other:?}"),
        }
        n.lwams.remove("dataSource");
        match prepare(1, &n, &vars) {
            Prepared::Refused(why) => assert!(why.starts_with("dataSource"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_script_parameter_names_a_library_script_for_command_and_sql_steps() {
        let mut vars = Map::new();
        vars.insert("which".into(), json!("list home"));
        let n = node(&[("script", "${which}"), ("workDir", "/srv")]);
        match prepare(1, &n, &vars) {
            Prepared::LocalScript { company_id, script } => {
                assert_eq!(company_id, 1);
                assert_eq!(script.name, "list home");
                assert_eq!(script.work_dir.as_deref(), Some("/srv"));
            }
            other => panic!("{other:?}"),
        }
        let mut remote = node(&[("script", "sysinfo"), ("host", "h"), ("terminal", "t")]);
        remote.behaviour = Behaviour::Job {
            kind: StepKind::RemoteCommand,
        };
        match prepare(1, &remote, &vars) {
            Prepared::Remote(RemoteStep {
                work: RemoteWork::Script(r),
                ..
            }) => assert_eq!(r.name, "sysinfo"),
            other => panic!("{other:?}"),
        }
        // A command written in the step wins over a script.
        remote.lwams.insert("command".into(), "uname".into());
        assert!(matches!(
            prepare(1, &remote, &vars),
            Prepared::Remote(RemoteStep {
                work: RemoteWork::Command(_),
                ..
            })
        ));
        let mut sql = node(&[
            ("dataSource", "db"),
            ("script", "report rows"),
            ("query", "update"),
        ]);
        sql.behaviour = Behaviour::Job {
            kind: StepKind::Sql,
        };
        match prepare(1, &sql, &vars) {
            Prepared::Service(ServiceStep {
                work:
                    ServiceWork::Sql {
                        statement: SqlStatement::Library(name),
                        query,
                        ..
                    },
                ..
            }) => {
                assert_eq!(name, "report rows");
                assert_eq!(query, Some(false));
            }
            other => panic!("{other:?}"),
        }
        match prepare(1, &node(&[("workDir", "/srv")]), &vars) {
            Prepared::Refused(why) => assert!(why.starts_with("command"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_huge_multi_instance_does_not_copy_every_runs_full_output_into_the_variables() {
        let mut n = node(&[]);
        n.multi = Some(crate::engine::compile::Multi {
            sequential: false,
            over: "hosts".into(),
            element: "item".into(),
        });
        let big = CommandResult {
            exit_code: Some(0),
            stdout: "x".repeat(1024 * 1024),
            stderr: String::new(),
            truncated: false,
            duration_ms: 5,
        };
        let mut vars = Map::new();
        for index in [0u64, 1, 5_000] {
            vars.insert("loopCounter".into(), json!(index));
            let f = command_finished(&n, Map::new(), big.clone(), &vars, 0);
            // The run's whole output is still the node run's output.
            assert_eq!(
                f.output.as_ref().unwrap()["stdout"].as_str().unwrap().len(),
                1024 * 1024
            );
            vars.insert(n.id.clone(), f.vars[&n.id].clone());
        }
        let results = vars[&n.id]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2, "runs past RESULTS_KEEP_RUNS are not kept");
        let kept = &results[1];
        assert_eq!(kept["truncated"], true);
        assert_eq!(kept["exitCode"], 0);
        assert!(kept["stdout"].as_str().unwrap().chars().count() <= RESULT_TEXT_KEEP + 1);
        assert!(kept.to_string().len() <= RESULT_KEEP_BYTES);
        assert!(
            serde_json::to_string(&vars).unwrap().len()
                < 4 * RESULT_KEEP_BYTES + 1024 * 1024 + 10_000,
            "the variables hold the last result and small summaries only"
        );
        // A small result is kept as it is.
        let small = CommandResult {
            stdout: "ok".into(),
            ..big.clone()
        };
        vars.insert("loopCounter".into(), json!(2));
        let f = command_finished(&n, Map::new(), small, &vars, 0);
        assert_eq!(f.vars[&n.id]["results"][2]["stdout"], "ok");
    }

    #[test]
    fn a_steps_recorded_input_output_and_error_hide_credentials_and_known_secrets() {
        let mut n = node(&[
            ("url", "https://ops:Url-pw-1@api.example/v1?token=${tok}"),
            ("headers", "Authorization: Bearer ${tok}\nAccept: */*"),
            ("body", "{\"password\": \"Body-pw-1\"}"),
        ]);
        n.behaviour = Behaviour::Job {
            kind: StepKind::Http,
        };
        let mut vars = Map::new();
        vars.insert("tok".into(), json!("Tok-123"));
        let prepared = prepare(1, &n, &vars);
        let input = prepared.input().to_string();
        for secret in ["Url-pw-1", "Tok-123", "Body-pw-1"] {
            assert!(!input.contains(secret), "{input}");
        }
        assert!(
            input.contains("api.example") && input.contains("*/*"),
            "{input}"
        );
        // What a step knows (its account's password) is masked in output and error too,
        // and the input is recorded again masked.
        let f = Finished {
            output: Some(json!({ "stdout": "pw is Acc-pw-77\n", "exitCode": 1 })),
            ..Finished::failed("exit 1: Acc-pw-77 refused".into())
        };
        let f = f.masked(&Masker::with_secrets(["Acc-pw-77"]), &prepared);
        assert_eq!(f.output.unwrap()["stdout"], "pw is •••\n");
        assert_eq!(f.message, "exit 1: ••• refused");
        assert!(f.input.is_some(), "recorded again");
        // A step knowing no values keeps the input recorded when it began.
        let f = Finished::failed("x".into()).masked(&Masker::new(), &prepared);
        assert!(f.input.is_none());
    }

    #[test]
    fn file_paths_built_from_values_cannot_climb_out_unless_the_node_allows_any() {
        let mut n = node(&[
            ("host", "h"),
            ("terminal", "t"),
            ("direction", "PUT"),
            ("localFile", "/srv/out/${name}.csv"),
            ("remoteFile", "../shared/${name}.csv"),
        ]);
        n.behaviour = Behaviour::Job {
            kind: StepKind::FileDistribution,
        };
        let mut vars = Map::new();
        vars.insert("name".into(), json!("report-7"));
        let files = |p: Prepared| match p {
            Prepared::Remote(RemoteStep {
                work:
                    RemoteWork::Transfer {
                        local_file,
                        remote_file,
                        ..
                    },
                ..
            }) => Ok((local_file, remote_file)),
            Prepared::Refused(why) => Err(why),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            files(prepare(1, &n, &vars)),
            Ok((
                "/srv/out/report-7.csv".to_string(),
                "../shared/report-7.csv".to_string()
            )),
            "a `..` written in the step is the author's"
        );
        vars.insert("name".into(), json!("../../etc/cron.d/x"));
        let why = files(prepare(1, &n, &vars)).unwrap_err();
        assert!(
            why.starts_with("localFile: ") && why.contains("anyPath"),
            "{why}"
        );
        vars.insert("name".into(), json!("a\u{0}b"));
        let why = files(prepare(1, &n, &vars)).unwrap_err();
        assert!(why.contains("NUL"), "{why}");
        n.lwams.insert("anyPath".into(), "true".into());
        vars.insert("name".into(), json!("..\\..\\x"));
        assert!(
            files(prepare(1, &n, &vars)).is_ok(),
            "the node allows any path"
        );
        // File operations on a host too.
        let mut op = node(&[
            ("host", "h"),
            ("tool", "read"),
            ("filename", "/data/${name}"),
        ]);
        op.behaviour = Behaviour::Job {
            kind: StepKind::FileOperation,
        };
        match prepare(1, &op, &vars) {
            Prepared::Refused(why) => assert!(why.starts_with("filename: "), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retries_back_off_doubling_until_they_run_out() {
        let n = node(&[("retries", "2"), ("retryDelay", "1")]);
        assert_eq!(retry_after(&n, 1), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(&n, 2), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&n, 3), None);
        assert_eq!(retry_after(&node(&[]), 1), None);
        assert!(idempotent(&node(&[("idempotent", "true")])));
        assert!(!idempotent(&node(&[])));
    }
}
