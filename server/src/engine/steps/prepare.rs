//! Preparing a step: its `lwams:` parameters resolved against the instance's
//! variables (read by reference) into a [`Prepared`] step — commands keep their
//! placeholders until the shell that runs them is known; SQL values become bind
//! parameters; HTTP values are placed by where they stand.

use super::*;

/// The secret values a step knows before it resolves its terminal or data source: the
/// values masked in everything shown of it. Empty today; global variables marked
/// secret (a later issue) join here.
pub fn known_secrets(_vars: &Map<String, Value>) -> Masker {
    Masker::new()
}

pub(super) fn kind(n: &ExecNode) -> Option<StepKind> {
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
pub(super) fn param(
    n: &ExecNode,
    root: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, String> {
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
pub(super) fn path_param(
    n: &ExecNode,
    root: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, String> {
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
pub(super) fn command_of(n: &ExecNode, root: &Map<String, Value>) -> Result<CommandWork, String> {
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
    let root = vars;
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

pub(super) fn timeout_of(n: &ExecNode) -> Duration {
    n.lwams
        .get("timeout")
        .and_then(|t| t.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Where an `http` / `sql` step runs: on `lwams:host`'s agent unless
/// `lwams:inCloud="true"` or no host is named.
pub(super) fn service(
    company_id: Id,
    n: &ExecNode,
    root: &Map<String, Value>,
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
pub(super) fn parse_headers(
    text: &str,
    root: &Map<String, Value>,
) -> Result<Vec<(String, String)>, String> {
    shared::vars::http::headers(text.trim(), root).map_err(|e| format!("headers: {e}"))
}

/// An HTTP step: values percent-encoded in the URL's path and query (not a value that
/// is the base address at its start), checked in headers, JSON-encoded in a JSON body.
pub(super) fn http_work(n: &ExecNode, root: &Map<String, Value>) -> Result<ServiceWork, String> {
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

pub(super) fn file_work(n: &ExecNode, root: &Map<String, Value>) -> Result<ServiceWork, String> {
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
pub(super) fn shown_statements(statements: &[shared::sql::SqlStatement]) -> (String, Vec<Value>) {
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
pub(super) fn reads_rows(sql: &str) -> bool {
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

pub(super) fn sql_work(n: &ExecNode, root: &Map<String, Value>) -> Result<ServiceWork, String> {
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
