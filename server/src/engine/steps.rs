//! Carrying out one step: the node's parameters are resolved against the instance's
//! variables (`${…}`, quoted for the shell), the executor runs it, and the result
//! becomes the node's variables (SPEC §8.2) and the event for the engine core.
//! `localCommand` runs here on the server; with `lwams:host` it runs on that host's
//! Sub Manager, and `remoteCommand` runs on a terminal through its host's agent.

use super::compile::{Behaviour, ExecNode, Executable};
use super::core::Event;
use crate::agents::hub::OutputSink;
use crate::agents::reach::{Reach, RemoteRef};
use crate::executors::local_command::{self, CommandResult, LocalCommand, LocalCommandError};
use serde_json::{json, Map, Value};
use shared::agent::{Direction, FailureCode, TaskOutcome, TaskSpec};
use shared::dto::Id;
use shared::vars::{lookup_json, resolve, sh_quote};
use std::time::Duration;

/// Default step timeout when `lwams:timeout` (seconds) is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// A step ready to run: what the executor gets, and the input recorded for the monitor.
#[derive(Debug, Clone)]
pub enum Prepared {
    Local(LocalCommand),
    /// A command on a host's agent (its own machine, or a terminal through it).
    Remote(RemoteStep),
    /// `lwams:kind="noop"`: a placeholder step that does nothing and succeeds (drafts,
    /// and measuring the engine's own cost per step).
    Noop,
    /// The step cannot run (unknown executor, a placeholder that does not resolve).
    Refused(String),
}

impl Prepared {
    /// The input recorded with the node run.
    pub fn input(&self) -> Value {
        match self {
            Prepared::Local(c) => json!({ "command": c.command, "workDir": c.work_dir }),
            Prepared::Remote(r) => {
                let mut m = r.work.params();
                m.insert("host".into(), json!(r.at.host));
                m.insert("terminal".into(), json!(r.at.terminal));
                m.insert("terminalUser".into(), json!(r.at.user));
                Value::Object(m)
            }
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

#[derive(Debug, Clone)]
pub enum RemoteWork {
    Command(LocalCommand),
    /// File distribution over SFTP.
    Transfer {
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
            RemoteWork::Command(c) => {
                m.insert("command".into(), json!(c.command));
                m.insert(
                    "workDir".into(),
                    json!(c.work_dir.clone().unwrap_or_default()),
                );
            }
            RemoteWork::Transfer {
                direction,
                local_file,
                remote_file,
                ..
            } => {
                m.insert("command".into(), json!(direction.as_str()));
                m.insert("connectionType".into(), json!("SFTP"));
                m.insert("localFile".into(), json!(local_file));
                m.insert("remoteFile".into(), json!(remote_file));
            }
        }
        m
    }

    fn spec(&self, target: shared::agent::Target) -> TaskSpec {
        match self {
            RemoteWork::Command(c) => TaskSpec::Command {
                target,
                command: c.command.clone(),
                work_dir: c.work_dir.clone(),
                timeout_secs: c.timeout.as_secs(),
            },
            RemoteWork::Transfer {
                direction,
                local_file,
                remote_file,
                timeout,
            } => TaskSpec::Transfer {
                target,
                direction: *direction,
                local_file: local_file.clone(),
                remote_file: remote_file.clone(),
                timeout_secs: timeout.as_secs(),
            },
        }
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
        }
    }
}

fn kind(n: &ExecNode) -> &str {
    match &n.behaviour {
        Behaviour::Job { kind } => kind.as_str(),
        _ => "",
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

fn command_of(n: &ExecNode, root: &Value) -> Result<LocalCommand, String> {
    let command = n
        .lwams
        .get("command")
        .or_else(|| n.lwams.get("script"))
        .cloned()
        .unwrap_or_default();
    let command = resolve(&command, |p| lookup_json(root, p), sh_quote)
        .map_err(|e| format!("command: {e}"))?;
    Ok(LocalCommand {
        command,
        work_dir: param(n, root, "workDir")?,
        timeout: n
            .lwams
            .get("timeout")
            .and_then(|t| t.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TIMEOUT),
    })
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
            work: RemoteWork::Command(command_of(n, &root)?),
        }))
    };
    let transfer = || -> Result<Prepared, String> {
        let kind = param(n, &root, "connectionType")?.unwrap_or_else(|| "SFTP".into());
        if !kind.eq_ignore_ascii_case("sftp") {
            return Err(format!(
                "connectionType: {kind} is not supported by this Sub Manager yet (use SFTP)"
            ));
        }
        let direction = param(n, &root, "direction")?.unwrap_or_default();
        let direction = Direction::parse(&direction)
            .ok_or_else(|| format!("direction: GET or PUT, not {direction:?}"))?;
        let file = |name: &str| param(n, &root, name)?.ok_or_else(|| format!("{name}: which file"));
        Ok(Prepared::Remote(RemoteStep {
            company_id,
            at: at(true)?,
            work: RemoteWork::Transfer {
                direction,
                local_file: file("localFile")?,
                remote_file: file("remoteFile")?,
                timeout: n
                    .lwams
                    .get("timeout")
                    .and_then(|t| t.parse().ok())
                    .map(Duration::from_secs)
                    .unwrap_or(DEFAULT_TIMEOUT),
            },
        }))
    };
    let prepared = match kind(n) {
        "localCommand" if n.lwams.get("host").is_some_and(|h| !h.trim().is_empty()) => {
            remote(false)
        }
        "localCommand" => command_of(n, &root).map(Prepared::Local),
        "remoteCommand" => remote(true),
        "fileDistribution" => transfer(),
        "noop" => Ok(Prepared::Noop),
        other => Err(format!(
            "no executor for {other:?} steps on this server yet"
        )),
    };
    prepared.unwrap_or_else(Prepared::Refused)
}

/// Runs a prepared step until it ends or `cancel` completes (`None`: cancelled).
pub async fn execute(
    n: &ExecNode,
    prepared: &Prepared,
    vars: &Map<String, Value>,
    now: i64,
    reach: Option<&Reach>,
    output: OutputSink,
    cancel: impl std::future::Future<Output = ()>,
) -> Option<Finished> {
    match prepared {
        Prepared::Remote(step) => {
            let Some(reach) = reach else {
                return Some(Finished::failed(
                    "steps on hosts run only in `lwams serve` (no agent gateway here)".into(),
                ));
            };
            run_remote(n, step, reach, vars, now, output, cancel).await
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
            })
        }
        Prepared::Local(req) => match local_command::run_until(req, cancel, &*output).await {
            Ok(r) => {
                let mut params = RemoteWork::Command(req.clone()).params();
                params.insert("connectionType".into(), json!("local"));
                Some(command_finished(n, params, r, vars, now))
            }
            Err(LocalCommandError::Cancelled) => None,
            Err(e) => Some(Finished::failed(e.to_string())),
        },
    }
}

async fn run_remote(
    n: &ExecNode,
    step: &RemoteStep,
    reach: &Reach,
    vars: &Map<String, Value>,
    now: i64,
    output: OutputSink,
    cancel: impl std::future::Future<Output = ()>,
) -> Option<Finished> {
    let resolved = match reach.resolve(step.company_id, &step.at).await {
        Ok(r) => r,
        Err(e) => return Some(Finished::failed(e.to_string())),
    };
    let spec = step.work.spec(resolved.target.clone());
    match reach
        .hub
        .run(
            step.company_id,
            resolved.host.id,
            spec,
            Some(output),
            cancel,
        )
        .await
    {
        TaskOutcome::Ran { result } => {
            let mut params = resolved.node_params();
            params.extend(step.work.params());
            Some(command_finished(n, params, result, vars, now))
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
    }
}

/// A finished command or transfer: `params` are the node's parameters (SPEC §8.2).
fn command_finished(
    n: &ExecNode,
    params: Map<String, Value>,
    r: CommandResult,
    vars: &Map<String, Value>,
    now: i64,
) -> Finished {
    let out = serde_json::to_value(&r).unwrap_or(Value::Null);
    let mut entry = node_entry(n, now);
    entry.extend(params);
    entry.insert("result".into(), out.clone());
    if let Some(index) = vars
        .get("loopCounter")
        .and_then(Value::as_u64)
        .filter(|_| n.multi.is_some())
    {
        // Multi-instance: every run's result, by index, beside the last one.
        let mut results = vars
            .get(&n.id)
            .and_then(|v| v.get("results"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let index = index as usize;
        if results.len() <= index {
            results.resize(index + 1, Value::Null);
        }
        results[index] = out.clone();
        entry.insert("results".into(), Value::Array(results));
    }
    let mut patch = Map::new();
    patch.insert(n.id.clone(), Value::Object(entry));
    if let Some(rv) = n.lwams.get("resultVariable").filter(|v| !v.is_empty()) {
        patch.insert(rv.clone(), json!(r.stdout.trim_end()));
    }
    let ok = r.exit_code == Some(0);
    Finished {
        ok,
        message: if ok {
            String::new()
        } else {
            format!(
                "exit code {:?}: {}",
                r.exit_code,
                r.stderr.trim_end().lines().last().unwrap_or("")
            )
        },
        code: r.exit_code.filter(|_| !ok).map(|c| format!("exit:{c}")),
        output: Some(out),
        vars: patch,
        interrupted: false,
    }
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
    use std::collections::BTreeMap;

    fn node(attrs: &[(&str, &str)]) -> ExecNode {
        ExecNode {
            id: "n".into(),
            name: Some("N".into()),
            behaviour: Behaviour::Job {
                kind: "localCommand".into(),
            },
            incoming: vec![],
            outgoing: vec![],
            default_flow: None,
            parent: None,
            boundaries: vec![],
            lwams: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            multi: None,
        }
    }

    #[test]
    fn values_are_quoted_for_the_shell_and_missing_ones_refuse_the_step() {
        let n = node(&[("command", "echo ${who}")]);
        let mut vars = Map::new();
        vars.insert("who".into(), json!("; rm -rf /"));
        match prepare(1, &n, &vars) {
            Prepared::Local(c) => assert_eq!(c.command, "echo '; rm -rf /'"),
            other => panic!("{other:?}"),
        }
        match prepare(1, &n, &Map::new()) {
            Prepared::Refused(why) => assert!(why.contains("who"), "{why}"),
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
