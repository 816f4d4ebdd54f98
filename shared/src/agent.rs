//! The wire protocol between the server and a Sub Manager over `/agent` (a WebSocket
//! the agent dials out to; one JSON message per text frame). The agent authenticates
//! the upgrade request with its host credential (`Authorization: Bearer …`) and
//! company code (`X-LWAMS-Company`), then says `Hello`; the server answers `Welcome`
//! and pushes tasks; the agent streams log lines and one `Done` per task.

pub mod wire;

use crate::dto::data_source::DataSourceKind;
use crate::dto::host::HostFacts;
use crate::dto::script::ScriptKind;
use crate::redact::{Masker, MASK};
use crate::sql::SqlStatement;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The request header carrying the company code on the upgrade.
pub const COMPANY_HEADER: &str = "x-lwams-company";
/// The wire protocol's version, said in `Hello`. Bumped whenever a message changes so
/// that the other side would misread it; the server refuses an agent speaking another
/// version (`ToAgent::Incompatible`) rather than sending it tasks it cannot run right.
/// 1: the protocol before it was versioned (a `Hello` without `protocol`).
/// 3: `Target::Ssh.host_key` (the agent must check the key the server trusts; an older
/// agent would ignore it and trust any key) and `Target::Winrm.allow_basic_http`.
/// 4: `values` of `TaskSpec::Command` and `TaskSpec::Script` (an older agent would run
/// the code without the values it reads).
pub const PROTOCOL_VERSION: u32 = 4;

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
    /// The answer to `CheckLogin`.
    LoginChecked {
        request: u64,
        outcome: LoginOutcome,
    },
    /// A slice of a message too large for one frame ([`wire`]).
    Part {
        message: u64,
        last: bool,
        text: String,
    },
    /// The agent speaks another protocol version than the server: the server closes
    /// the line after this; `message` says which Sub Manager version to download.
    Incompatible {
        /// The server's protocol version.
        protocol: u32,
        /// The server's (and so the Sub Manager package's) version.
        server_version: String,
        message: String,
    },
}

/// Whether an LWAMS account may sign in to the Sub Manager's local page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum LoginOutcome {
    Allowed { display_name: String },
    Refused { reason: String },
}

/// Agent → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromAgent {
    Hello {
        /// [`PROTOCOL_VERSION`] of the agent; absent (1) from agents before versioning.
        #[serde(default = "unversioned")]
        protocol: u32,
        /// Random per agent process, so a reconnect of the same process is told apart
        /// from a second process using the same credential (a copied package).
        #[serde(default)]
        process: String,
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
        /// The host key an SSH terminal showed for this task (learnt, matched or
        /// refused as changed), for the server to record on the terminal.
        #[serde(default)]
        host_key: Option<HostKeySeen>,
    },
    /// A line of the agent's own log (connection, errors) for the host detail.
    Log {
        level: String,
        message: String,
    },
    /// A slice of a message too large for one frame ([`wire`]).
    Part {
        message: u64,
        last: bool,
        text: String,
    },
    /// Someone signs in to the agent's local page: is this an account of the host's
    /// company that may log in to Sub Manager? (The password is never logged.)
    CheckLogin {
        request: u64,
        login: String,
        password: String,
    },
}

fn unversioned() -> u32 {
    1
}

/// Why the server refuses an agent of another protocol version (agent log and host page).
pub fn incompatible_message(
    agent_version: &str,
    agent_protocol: u32,
    server_version: &str,
) -> String {
    format!(
        "Sub Manager {agent_version} speaks agent protocol {agent_protocol}, this LWAMS server \
         {server_version} speaks protocol {PROTOCOL_VERSION}: download the Sub Manager \
         {server_version} package from System › Hosts (the host's \"Download package\") and \
         replace this one"
    )
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
        /// The values the command reads as `LWAMS_V_1`, `LWAMS_V_2`, … (its placeholders
        /// made references to them, [`crate::vars::data`]): given to it outside its
        /// text — its environment, or the launcher's standard input on a terminal.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        values: Vec<String>,
    },
    /// Reach the terminal and sign in; runs `uname -a` to show something.
    TestConnection { target: Target, timeout_secs: u64 },
    /// File distribution over SFTP or SCP between the agent's machine and the terminal.
    Transfer {
        target: Target,
        #[serde(default)]
        protocol: TransferProtocol,
        direction: Direction,
        local_file: String,
        remote_file: String,
        timeout_secs: u64,
    },
    /// An HTTP request from the agent's network.
    Http {
        request: HttpRequest,
        timeout_secs: u64,
    },
    /// Read, write, rename or delete a file on the agent's machine.
    FileOp {
        tool: FileTool,
        filename: String,
        new_filename: Option<String>,
        /// What `write` writes.
        content: Option<String>,
        timeout_secs: u64,
    },
    /// SQL against a database the agent can reach: the statements run in order, each
    /// with its values bound as parameters ([`crate::sql`]); on PostgreSQL several run
    /// in one transaction.
    Sql {
        database: SqlConnect,
        /// Also read from `sql`, the one text of a server before bind parameters
        /// (values already quoted in), which runs as it is.
        #[serde(alias = "sql", deserialize_with = "statements_or_text")]
        statements: Vec<SqlStatement>,
        timeout_secs: u64,
    },
    /// A script of the library, its placeholders made references to `values`: saved as a
    /// file and run by its language's interpreter on the terminal or the agent's
    /// machine with the values in its environment, then removed.
    Script {
        target: Target,
        /// The script's language (`kind` names the task itself).
        language: ScriptKind,
        /// The library name (shown in logs; the file is named after it).
        name: String,
        body: String,
        work_dir: Option<String>,
        timeout_secs: u64,
        /// RPA: run on the agent's machine in a fresh directory and bring back the files
        /// the script leaves there ([`TaskOutcome::Rpa`]).
        #[serde(default)]
        collect_artifacts: bool,
        /// The values the script reads as `LWAMS_V_1`, … (as for `Command`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        values: Vec<String>,
    },
}

/// What a `fileOperation` step does (`lwams:tool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileTool {
    Read,
    Write,
    Rename,
    Delete,
}

impl FileTool {
    pub fn parse(s: &str) -> Option<FileTool> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Some(FileTool::Read),
            "write" => Some(FileTool::Write),
            "rename" | "move" => Some(FileTool::Rename),
            "delete" | "remove" => Some(FileTool::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileTool::Read => "read",
            FileTool::Write => "write",
            FileTool::Rename => "rename",
            FileTool::Delete => "delete",
        }
    }
}

/// An HTTP request of an `http` step (SPEC §5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// GET, POST, PUT, DELETE, PATCH or HEAD.
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// `false`: accept any TLS certificate (self-signed test systems).
    pub verify_tls: bool,
}

impl HttpRequest {
    /// Header names whose values are secrets (never shown or recorded).
    pub fn is_secret_header(name: &str) -> bool {
        crate::redact::is_secret_header(name)
    }

    /// The headers with secret values replaced ([`crate::redact`]).
    pub fn shown_headers(&self) -> Vec<(String, String)> {
        crate::redact::headers(&self.headers)
    }
}

/// `TaskSpec::Sql`'s statements, or the single text of an older server.
fn statements_or_text<'de, D>(d: D) -> Result<Vec<SqlStatement>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Statements(Vec<SqlStatement>),
    }
    Ok(match Given::deserialize(d)? {
        Given::Text(sql) => vec![SqlStatement::text(sql)],
        Given::Statements(s) => s,
    })
}

/// A database to connect to: a data source with its password, only inside a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlConnect {
    pub kind: DataSourceKind,
    pub url: String,
    pub username: String,
    pub password: String,
}

/// How files are distributed (`lwams:connectionType` of a file distribution step).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferProtocol {
    #[default]
    Sftp,
    Scp,
}

impl TransferProtocol {
    pub fn parse(s: &str) -> Option<TransferProtocol> {
        match s.trim().to_ascii_uppercase().as_str() {
            "SFTP" => Some(TransferProtocol::Sftp),
            "SCP" => Some(TransferProtocol::Scp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TransferProtocol::Sftp => "SFTP",
            TransferProtocol::Scp => "SCP",
        }
    }
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
    /// The secret values this task carries (an account's password, private key and
    /// passphrase, a database password), for masking what is shown of it.
    pub fn secrets(&self) -> Vec<&str> {
        let target = match self {
            TaskSpec::Command { target, .. }
            | TaskSpec::TestConnection { target, .. }
            | TaskSpec::Transfer { target, .. }
            | TaskSpec::Script { target, .. } => Some(target),
            TaskSpec::Sql { database, .. } => return vec![database.password.as_str()],
            TaskSpec::Http { .. } | TaskSpec::FileOp { .. } => None,
        };
        match target {
            Some(Target::Ssh {
                auth: SshAuth::Password { password },
                ..
            })
            | Some(Target::Winrm { password, .. }) => vec![password.as_str()],
            Some(Target::Ssh {
                auth:
                    SshAuth::Key {
                        private_key,
                        passphrase,
                    },
                ..
            }) => {
                let mut v = vec![private_key.as_str()];
                v.extend(passphrase.as_deref());
                v
            }
            _ => vec![],
        }
    }

    /// The masker for what is shown of this task: `extra` (values known secret by the
    /// caller, e.g. global variables marked secret) plus the task's own secrets.
    pub fn masker(&self, extra: &Masker) -> Masker {
        let mut m = extra.clone();
        for s in self.secrets() {
            m.add(s);
        }
        m
    }

    /// One line saying what the task does and where, secrets masked: the ones it
    /// carries, and whatever [`crate::redact`] recognises (URL credentials, secret
    /// parameters and headers).
    pub fn describe(&self) -> String {
        self.describe_masked(&Masker::new())
    }

    /// [`TaskSpec::describe`], also masking the values `extra` knows.
    pub fn describe_masked(&self, extra: &Masker) -> String {
        self.masker(extra).text(&self.describe_plain())
    }

    /// One line saying what the task does and where, as it is.
    fn describe_plain(&self) -> String {
        let at = |t: &Target| match t {
            Target::Local => "the agent's machine".to_string(),
            Target::Ssh {
                address,
                port,
                username,
                ..
            } => format!("{username}@{address}:{port}"),
            Target::Winrm {
                endpoint, username, ..
            } => format!("{username} @ {endpoint}"),
        };
        match self {
            TaskSpec::Command {
                target, command, ..
            } => format!("{command} — {}", at(target)),
            TaskSpec::Script {
                target,
                language,
                name,
                ..
            } => format!("{} script {name} — {}", language.label(), at(target)),
            TaskSpec::TestConnection { target, .. } => format!("connection test — {}", at(target)),
            TaskSpec::Transfer {
                target,
                protocol,
                direction,
                local_file,
                remote_file,
                ..
            } => format!(
                "{} {} {local_file} ⇄ {remote_file} — {}",
                protocol.as_str(),
                direction.as_str(),
                at(target)
            ),
            TaskSpec::Http { request, .. } => format!("{} {}", request.method, request.url),
            TaskSpec::FileOp {
                tool,
                filename,
                new_filename,
                ..
            } => match new_filename {
                Some(to) => format!("{} {filename} → {to}", tool.as_str()),
                None => format!("{} {filename}", tool.as_str()),
            },
            TaskSpec::Sql {
                database,
                statements,
                ..
            } => {
                let first = statements
                    .first()
                    .and_then(|s| s.sql.lines().next())
                    .unwrap_or("");
                match statements.len() {
                    0 | 1 => format!("{first} — {}", database.url),
                    n => format!("{first} (+{} statements) — {}", n - 1, database.url),
                }
            }
        }
    }

    /// The spec as it may be shown or recorded: the secrets it carries replaced by
    /// [`MASK`], and its texts (command, script, URL, body, SQL) masked.
    pub fn redacted(&self) -> TaskSpec {
        let m = self.masker(&Masker::new());
        let mut s = self.clone();
        match &mut s {
            TaskSpec::Command {
                target,
                command,
                values,
                ..
            } => {
                target.redact();
                *command = m.text(command);
                values.iter_mut().for_each(|v| *v = m.text(v));
            }
            TaskSpec::Script {
                target,
                body,
                values,
                ..
            } => {
                target.redact();
                *body = m.text(body);
                values.iter_mut().for_each(|v| *v = m.text(v));
            }
            TaskSpec::TestConnection { target, .. } | TaskSpec::Transfer { target, .. } => {
                target.redact()
            }
            TaskSpec::Http { request, .. } => {
                request.headers = m.headers(&request.headers);
                request.url = m.text(&request.url);
                request.body = request.body.as_deref().map(|b| m.text(b));
            }
            TaskSpec::Sql {
                database,
                statements,
                ..
            } => {
                database.password = MASK.into();
                database.url = m.text(&database.url);
                for st in statements {
                    st.sql = m.text(&st.sql);
                    for p in &mut st.params {
                        *p = m.json(p);
                    }
                }
            }
            TaskSpec::FileOp { content, .. } => {
                *content = content.as_deref().map(|c| m.text(c));
            }
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
        /// The fingerprint (`SHA256:…`, as OpenSSH prints it) of the host key the server
        /// trusts for this terminal: the agent connects only to a terminal showing that
        /// key. `None`: none recorded yet — the agent trusts the key its `known_hosts`
        /// knows, or the first one it sees, and reports it ([`HostKeySeen`]).
        #[serde(default)]
        host_key: Option<String>,
    },
    /// A Windows terminal over WinRM (WS-Management): Negotiate (NTLM), or Basic when
    /// that is all the terminal offers.
    Winrm {
        /// `http(s)://address:port/wsman`.
        endpoint: String,
        username: String,
        password: String,
        /// Check the server's certificate (HTTPS).
        verify_tls: bool,
        /// Basic authentication over plain `http://` (the password readable by anyone
        /// on the way) only when the terminal explicitly allows it; else refused.
        #[serde(default)]
        allow_basic_http: bool,
    },
}

impl Target {
    fn redact(&mut self) {
        match self {
            Target::Ssh { auth, .. } => {
                *auth = match auth {
                    SshAuth::Password { .. } => SshAuth::Password {
                        password: MASK.into(),
                    },
                    SshAuth::Key { .. } => SshAuth::Key {
                        private_key: MASK.into(),
                        passphrase: None,
                    },
                }
            }
            Target::Winrm { password, .. } => *password = MASK.into(),
            Target::Local => {}
        }
    }
}

/// The host key an SSH terminal presented during a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostKeySeen {
    pub address: String,
    pub port: u16,
    /// `SHA256:…` of the key presented (OpenSSH's form).
    pub fingerprint: String,
    /// The key's type (`ssh-ed25519`, `rsa-sha2-512`…).
    pub algorithm: String,
    /// When the key was refused: the fingerprint expected instead (the server's, or
    /// the agent's `known_hosts` one when the server had none). `None`: the key
    /// matched, or was seen for the first time and learnt.
    #[serde(default)]
    pub expected: Option<String>,
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

/// A file an RPA script left behind, by its path inside the script's directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub name: String,
    pub size: u64,
    /// The content, base64; `None` when it was over [`ARTIFACT_LIMITS`] (listed only).
    pub content: Option<String>,
}

/// What an RPA step brings back: at most this many files, this many bytes each and in
/// all (the rest is listed without content).
pub const ARTIFACT_LIMITS: (usize, u64, u64) = (50, 16 * 1024 * 1024, 32 * 1024 * 1024);

/// At most this much of stdout and of stderr is kept (the rest is counted, not stored).
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// What an HTTP request answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResult {
    pub status: u16,
    /// The status's reason phrase ("Not Found").
    pub reason: String,
    /// Response headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body as text (at most [`OUTPUT_CAP`]; bytes that are not UTF-8 replaced).
    pub body: String,
    /// The body parsed, when it is JSON (`${step.result.json.field}`).
    pub json: Option<serde_json::Value>,
    pub truncated: bool,
    pub duration_ms: u64,
}

/// What a SQL statement (or script of statements) returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlResult {
    /// The columns of the rows, in order.
    pub columns: Vec<String>,
    /// At most [`SQL_ROW_CAP`] rows, each column name → value (numbers, booleans and
    /// JSON as such; everything else as text; NULL as null).
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Rows changed by INSERT / UPDATE / DELETE.
    pub rows_affected: u64,
    /// More rows came than were kept.
    pub truncated: bool,
    pub duration_ms: u64,
}

/// At most this many rows of a query are kept.
pub const SQL_ROW_CAP: usize = 10_000;

/// How a task ended: the command ran (`Ran`, whatever its exit code) or could not
/// (`Failed`: unreachable, refused sign-in, timeout, cancelled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaskOutcome {
    Ran {
        result: CommandResult,
    },
    /// An HTTP request got an answer (whatever its status).
    Http {
        result: HttpResult,
    },
    /// SQL ran.
    Sql {
        result: SqlResult,
    },
    /// An RPA script ran; the files it left in its directory.
    Rpa {
        result: CommandResult,
        artifacts: Vec<Artifact>,
    },
    Failed {
        error: String,
        code: FailureCode,
    },
}

impl TaskOutcome {
    /// Whether it went well, and one line saying how it ended (for logs and lists).
    pub fn summary(&self) -> (bool, String) {
        match self {
            TaskOutcome::Rpa { result, artifacts } => {
                let (ok, line) = TaskOutcome::Ran {
                    result: result.clone(),
                }
                .summary();
                (ok, format!("{line}, {} artefact(s)", artifacts.len()))
            }
            TaskOutcome::Ran { result } => (
                result.exit_code == Some(0),
                format!(
                    "exit code {} after {} ms",
                    result
                        .exit_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "none".into()),
                    result.duration_ms
                ),
            ),
            TaskOutcome::Http { result } => (
                result.status < 400,
                format!(
                    "HTTP {} {} after {} ms",
                    result.status, result.reason, result.duration_ms
                ),
            ),
            TaskOutcome::Sql { result } => (
                true,
                format!(
                    "{} rows, {} affected after {} ms",
                    result.rows.len(),
                    result.rows_affected,
                    result.duration_ms
                ),
            ),
            TaskOutcome::Failed { error, .. } => (false, error.clone()),
        }
    }
}

/// Why a task could not run, for error boundaries and for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    Unreachable,
    AuthFailed,
    Timeout,
    Cancelled,
    /// The database refused or failed the statement.
    Sql,
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
            FailureCode::Sql => "sql",
            FailureCode::Interrupted => "interrupted",
            FailureCode::Other => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_from_an_agent_before_versioning_reads_as_protocol_1() {
        let old = r#"{"type":"hello","version":"0.1.0","facts":{}}"#;
        match serde_json::from_str::<FromAgent>(old).unwrap() {
            FromAgent::Hello {
                protocol, process, ..
            } => {
                assert_eq!(protocol, 1);
                assert_ne!(protocol, PROTOCOL_VERSION);
                assert!(process.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let m = incompatible_message("0.1.0", 1, "0.2.0");
        assert!(m.contains("protocol 1") && m.contains(&format!("protocol {PROTOCOL_VERSION}")));
        assert!(m.contains("Sub Manager 0.2.0 package"), "{m}");
    }

    #[test]
    fn the_expected_host_key_and_the_basic_over_http_flag_travel_in_the_target() {
        let spec = TaskSpec::TestConnection {
            target: Target::Winrm {
                endpoint: "http://w:5985/wsman".into(),
                username: "u".into(),
                password: "p".into(),
                verify_tls: true,
                allow_basic_http: false,
            },
            timeout_secs: 5,
        };
        let text = serde_json::to_string(&spec).unwrap();
        assert!(text.contains(r#""allow_basic_http":false"#), "{text}");
        // A target without the flag (never sent by this version) reads as "not allowed".
        let old = r#"{"kind":"test_connection","target":{"via":"winrm","endpoint":"http://w/wsman","username":"u","password":"p","verify_tls":true},"timeout_secs":5}"#;
        match serde_json::from_str::<TaskSpec>(old).unwrap() {
            TaskSpec::TestConnection {
                target: Target::Winrm {
                    allow_basic_http, ..
                },
                ..
            } => assert!(!allow_basic_http),
            other => panic!("{other:?}"),
        }
        let done = FromAgent::Done {
            task: 1,
            outcome: TaskOutcome::Failed {
                error: "x".into(),
                code: FailureCode::Unreachable,
            },
            host_key: Some(HostKeySeen {
                address: "10.0.0.5".into(),
                port: 22,
                fingerprint: "SHA256:new".into(),
                algorithm: "ssh-ed25519".into(),
                expected: Some("SHA256:old".into()),
            }),
        };
        let text = serde_json::to_string(&done).unwrap();
        assert_eq!(serde_json::from_str::<FromAgent>(&text).unwrap(), done);
    }

    #[test]
    fn a_task_described_for_lists_and_journals_never_shows_its_secrets() {
        // The command carries the account's own password (typed into the step), a URL
        // with credentials and a token parameter.
        let spec = TaskSpec::Command {
            target: Target::Ssh {
                address: "10.0.0.5".into(),
                port: 22,
                username: "ops".into(),
                auth: SshAuth::Password {
                    password: "hunter2-pw".into(),
                },
                host_key: None,
            },
            command: "echo hunter2-pw | sudo -S true; curl https://u:p4ss@api/x?token=t0k".into(),
            work_dir: None,
            timeout_secs: 30,
            values: vec![],
        };
        let line = spec.describe();
        for secret in ["hunter2-pw", "p4ss", "t0k"] {
            assert!(!line.contains(secret), "{line}");
        }
        assert!(line.contains("echo ••• | sudo -S true"), "{line}");
        assert!(line.contains("ops@10.0.0.5:22"), "{line}");
        let redacted = serde_json::to_string(&spec.redacted()).unwrap();
        assert!(
            !redacted.contains("hunter2-pw") && !redacted.contains("p4ss"),
            "{redacted}"
        );
        // Values the caller knows are secret (global variables, later) too.
        let extra = Masker::with_secrets(["global-s3cret"]);
        let spec = TaskSpec::Http {
            request: HttpRequest {
                method: "GET".into(),
                url: "https://api/x?q=global-s3cret".into(),
                headers: vec![],
                body: None,
                verify_tls: true,
            },
            timeout_secs: 5,
        };
        assert!(spec.describe().contains("global-s3cret"));
        assert_eq!(spec.describe_masked(&extra), "GET https://api/x?q=•••");
        let sql = TaskSpec::Sql {
            database: SqlConnect {
                kind: DataSourceKind::Postgres,
                url: "postgres://db/x".into(),
                username: "u".into(),
                password: "db-pass-9".into(),
            },
            statements: vec![SqlStatement::text("ALTER USER u PASSWORD 'db-pass-9'")],
            timeout_secs: 5,
        };
        assert!(!sql.describe().contains("db-pass-9"), "{}", sql.describe());
    }

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
                host_key: Some("SHA256:abc".into()),
            },
            command: "uname -a; echo \"$LWAMS_V_1\" \"$LWAMS_V_2\"".into(),
            work_dir: None,
            timeout_secs: 30,
            values: vec!["hunter2".into(), "it's".into()],
        };
        let m = ToAgent::Run {
            task: 7,
            spec: spec.clone(),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<ToAgent>(&text).unwrap(), m);
        let shown = serde_json::to_string(&spec.redacted()).unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains(&format!(r#""values":["{}","it's"]"#, crate::redact::MASK)),
            "values masked too: {shown}"
        );
        // A command without values says none (and reads as none).
        let plain = TaskSpec::Command {
            target: Target::Local,
            command: "uname".into(),
            work_dir: None,
            timeout_secs: 1,
            values: vec![],
        };
        let text = serde_json::to_string(&plain).unwrap();
        assert!(!text.contains("values"), "{text}");
        assert_eq!(serde_json::from_str::<TaskSpec>(&text).unwrap(), plain);
        assert!(shown.contains("uname -a"));

        let sql = TaskSpec::Sql {
            database: SqlConnect {
                kind: DataSourceKind::Postgres,
                url: "postgres://db/x".into(),
                username: "u".into(),
                password: "s3cret".into(),
            },
            statements: vec![SqlStatement {
                sql: "select $1".into(),
                params: vec![serde_json::json!("it's")],
            }],
            timeout_secs: 5,
        };
        let shown = serde_json::to_string(&sql.redacted()).unwrap();
        assert!(
            !shown.contains("s3cret") && shown.contains("select $1") && shown.contains("it's"),
            "{shown}"
        );
        assert_eq!(
            serde_json::from_str::<TaskSpec>(&shown).unwrap(),
            sql.redacted()
        );
        // The single text of a server before parameters is one statement without values.
        let old = r#"{"kind":"sql","database":{"kind":"sqlite","url":"sqlite://x.db",
            "username":"","password":""},"sql":"select 'a'; select 2","timeout_secs":5}"#;
        match serde_json::from_str::<TaskSpec>(old).unwrap() {
            TaskSpec::Sql { statements, .. } => {
                assert_eq!(statements, vec![SqlStatement::text("select 'a'; select 2")])
            }
            other => panic!("{other:?}"),
        }
        let http = TaskSpec::Http {
            request: HttpRequest {
                method: "GET".into(),
                url: "https://api.example/x".into(),
                headers: vec![
                    ("Authorization".into(), "Bearer tok-123".into()),
                    ("X-Api-Key".into(), "k-456".into()),
                    ("Accept".into(), "application/json".into()),
                ],
                body: None,
                verify_tls: true,
            },
            timeout_secs: 5,
        };
        let shown = serde_json::to_string(&http.redacted()).unwrap();
        assert!(
            !shown.contains("tok-123") && !shown.contains("k-456"),
            "{shown}"
        );
        assert!(shown.contains("application/json"));
    }
}
