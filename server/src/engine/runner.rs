//! The headless runner behind `lwams flow run`: deploys a BPMN file as a new version,
//! starts an instance and drives it to the end (or to the first user task), running
//! steps on this host and saving the state after every step in one transaction.

use super::compile::{compile, Behaviour, Executable};
use super::conditions::CelConditions;
use super::core::{step, Command, Event, InstanceState, InstanceStatus, TimerDefDto};
use super::duration::{parse_cycle, parse_duration};
use crate::executors::local_command::{self, LocalCommand};
use crate::store::{flows, Store, StoreError};
use serde_json::{json, Map, Value};
use shared::bpmn::{validate, Document};
use shared::dto::Id;
use shared::vars::{lookup_json, resolve, sh_quote};
use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Bpmn(#[from] shared::bpmn::BpmnError),
    #[error("the flow cannot run:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
    #[error("{0}")]
    Compile(#[from] super::compile::CompileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("engine: {0}")]
    Step(#[from] super::core::StepError),
}

/// How a headless run ended.
#[derive(Debug)]
pub struct Outcome {
    pub instance_id: Id,
    pub status: InstanceStatus,
    /// User tasks the instance waits at (a headless run stops there).
    pub waiting_at: Vec<String>,
    /// Failed steps: (node id, error).
    pub failures: Vec<(String, String)>,
    pub variables: Map<String, Value>,
}

/// Default step timeout when `lwams:timeout` (seconds) is not set.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

pub async fn run_file(
    store: &Store,
    company_id: Id,
    xml: &str,
    variables: Map<String, Value>,
    initiator: &super::builtins::Initiator,
    report: &mut dyn FnMut(&str),
) -> Result<Outcome, RunError> {
    let doc = Document::parse(xml)?;
    let problems: Vec<String> = validate(&doc).iter().map(|p| p.to_string()).collect();
    if !problems.is_empty() {
        return Err(RunError::Invalid(problems));
    }
    let process = doc
        .model
        .processes
        .iter()
        .find(|p| p.is_executable)
        .or_else(|| doc.model.processes.first())
        .ok_or_else(|| RunError::Invalid(vec!["the file has no process".into()]))?;
    let name = process.name.clone().unwrap_or_else(|| process.id.clone());
    let mut tx = store.begin().await?;
    let (def_id, version) =
        flows::insert_definition(&mut tx, company_id, &process.id, &name, xml, initiator.id)
            .await?;
    tx.commit().await.map_err(StoreError::from)?;
    let ctx = RunCtx {
        store,
        company_id,
        doc: &doc,
        initiator,
    };
    let start = Start {
        def_id,
        version,
        start_way: "api",
        depth: 0,
        extra: Map::new(),
    };
    run_instance(&ctx, process, start, variables, report).await
}

/// What a run needs besides the instance: where to save, and the file it came from.
struct RunCtx<'a> {
    store: &'a Store,
    company_id: Id,
    doc: &'a Document,
    initiator: &'a super::builtins::Initiator,
}

/// How an instance starts: its definition, the start way, the call depth and the
/// variables a calling flow adds (`LWAMS_CALL_*`).
struct Start {
    def_id: Id,
    version: i64,
    start_way: &'static str,
    depth: usize,
    extra: Map<String, Value>,
}

/// Calls nested deeper than this are refused (a flow calling itself, say).
const MAX_CALL_DEPTH: usize = 10;

type BoxedRun<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Outcome, RunError>> + 'a>>;

fn run_instance<'a>(
    ctx: &'a RunCtx<'a>,
    process: &'a shared::bpmn::Process,
    start: Start,
    variables: Map<String, Value>,
    report: &'a mut dyn FnMut(&str),
) -> BoxedRun<'a> {
    Box::pin(async move {
        let store = ctx.store;
        let company_id = ctx.company_id;
        let ex = compile(process, &ctx.doc.model.errors)?;
        let mut state = InstanceState::default();
        let mut vars = variables;
        // Built-in variables (SPEC §8.1); the caller's variables may not override them.
        vars.extend(super::builtins::at_start(
            ctx.initiator,
            start.def_id,
            start.start_way,
            crate::store::now_millis(),
        ));
        vars.extend(start.extra);
        let mut tx = store.begin().await?;
        let instance_id = flows::insert_instance(
            &mut tx,
            &flows::NewInstance {
                company_id,
                definition_id: start.def_id,
                status: "running",
                state: &to_json(&state),
                variables: &Value::Object(vars.clone()).to_string(),
                start_way: start.start_way,
                created_by: ctx.initiator.id,
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        report(&format!(
            "{}flow {} version {}: instance {instance_id} started",
            "  ".repeat(start.depth),
            process.id,
            start.version
        ));

        let mut events = VecDeque::from([Event::Start]);
        let mut waiting_at = Vec::new();
        while let Some(event) = events.pop_front() {
            let commands = step(&mut state, &ex, event, &CelConditions::new(&vars))?;
            save(store, instance_id, &state, &vars).await?;
            for c in commands {
                match c {
                    Command::RunJob { ni, node, attempt } => {
                        if let Some(index) = state.get(ni).and_then(|n| n.index) {
                            set_element(&ex, node, index, &mut vars);
                        }
                        let e = run_job(
                            store,
                            instance_id,
                            &ex,
                            ni,
                            node,
                            attempt,
                            &mut vars,
                            report,
                        )
                        .await?;
                        events.push_back(e);
                    }
                    Command::OpenUserTask { node, .. } => {
                        report(&format!("  waiting  {} (user task)", ex.nodes[node].id));
                        waiting_at.push(ex.nodes[node].id.clone());
                    }
                    Command::StartTimer { ni, node, def } => {
                        let wait = match &def {
                        TimerDefDto::Duration(d) => parse_duration(d).map_err(|e| e.to_string()),
                        TimerDefDto::Cycle(c) => parse_cycle(c).map(|(_, d)| d).map_err(|e| e.to_string()),
                        TimerDefDto::Date(d) => Err(format!("timer date {d:?}: dates are handled by the server's scheduler, not a headless run")),
                    };
                        match wait {
                            Ok(d) if matches!(ex.nodes[node].behaviour, Behaviour::Timer(_)) => {
                                report(&format!("  timer    {} ({d:?})", ex.nodes[node].id));
                                tokio::time::sleep(d).await;
                                events.push_back(Event::TimerFired { ni });
                            }
                            // Boundary timers of a headless run never fire: its steps run inline.
                            Ok(_) => {}
                            Err(message) => {
                                report(&format!("  FAILED   {}: {message}", ex.nodes[node].id));
                                return Err(RunError::Invalid(vec![format!(
                                    "{}: {message}",
                                    ex.nodes[node].id
                                )]));
                            }
                        }
                    }
                    Command::StartChild { ni, node, called } => {
                        let e = call_flow(
                            ctx,
                            &ex,
                            instance_id,
                            ni,
                            node,
                            &called,
                            start.depth,
                            &mut vars,
                            report,
                        )
                        .await?;
                        events.push_back(e);
                    }
                    Command::Cancel { .. } => {}
                    Command::Ended { status } => {
                        report(&format!("instance {instance_id} {status:?}"))
                    }
                }
            }
        }
        save(store, instance_id, &state, &vars).await?;
        let failures = state
            .nodes
            .iter()
            .filter(|n| n.state == super::core::NodeState::Failed)
            .map(|n| {
                (
                    ex.nodes[n.node].id.clone(),
                    n.error.clone().unwrap_or_default(),
                )
            })
            .collect();
        Ok(Outcome {
            instance_id,
            status: state.status,
            waiting_at,
            failures,
            variables: vars,
        })
    })
}

/// Runs the flow a call activity names — a process of the same file, else the latest
/// deployed version with that key — as a child instance, and returns its end as an
/// event. The child sees the caller's variables; its own come back under the node id.
#[allow(clippy::too_many_arguments)]
async fn call_flow(
    ctx: &RunCtx<'_>,
    ex: &Executable,
    parent: Id,
    ni: u64,
    node: usize,
    called: &str,
    depth: usize,
    vars: &mut Map<String, Value>,
    report: &mut dyn FnMut(&str),
) -> Result<Event, RunError> {
    let n = &ex.nodes[node];
    if depth + 1 > MAX_CALL_DEPTH {
        return child_failed(
            report,
            &n.id,
            ni,
            format!("calls are nested deeper than {MAX_CALL_DEPTH} levels"),
        );
    }
    // The called process: in this file (sharing the caller's definition row), else the
    // latest deployed version of that key.
    let stored: Document;
    let (doc, process, def_id, version) =
        match ctx.doc.model.processes.iter().find(|p| p.id == called) {
            Some(p) => {
                let (def_id, version) = current_definition(ctx, parent).await?;
                (ctx.doc, p, def_id, version)
            }
            None => {
                let mut c = ctx.store.conn().await?;
                let found = flows::latest_definition(&mut c, ctx.company_id, called).await?;
                drop(c);
                let Some((def_id, version, xml)) = found else {
                    return child_failed(
                        report,
                        &n.id,
                        ni,
                        format!("no deployed flow with key {called:?}"),
                    );
                };
                stored = match Document::parse(&xml) {
                    Ok(d) => d,
                    Err(e) => {
                        return child_failed(report, &n.id, ni, format!("flow {called:?}: {e}"))
                    }
                };
                let Some(p) = stored.model.processes.iter().find(|p| p.id == called) else {
                    return child_failed(
                        report,
                        &n.id,
                        ni,
                        format!("flow {called:?} has no process {called:?}"),
                    );
                };
                (&stored, p, def_id, version)
            }
        };
    let mut extra = Map::new();
    extra.insert("LWAMS_CALL_PROCESS_INSTANCE_ID".into(), json!(parent));
    extra.insert("LWAMS_CALL_PROCESS_TASK_ID".into(), json!(ni));
    extra.insert(
        "LWAMS_CALL_PARAM".into(),
        json!(n.lwams.get("param").cloned().unwrap_or_default()),
    );
    let inherited: Map<String, Value> = vars
        .iter()
        .filter(|(k, _)| !k.starts_with("LWAMS_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let child_ctx = RunCtx {
        store: ctx.store,
        company_id: ctx.company_id,
        doc,
        initiator: ctx.initiator,
    };
    let start = Start {
        def_id,
        version,
        start_way: "call",
        depth: depth + 1,
        extra,
    };
    let outcome = match run_instance(&child_ctx, process, start, inherited, report).await {
        Ok(o) => o,
        Err(e) => return child_failed(report, &n.id, ni, e.to_string()),
    };
    let returned: Map<String, Value> = outcome
        .variables
        .into_iter()
        .filter(|(k, _)| !k.starts_with("LWAMS_"))
        .collect();
    for key in n
        .lwams
        .get("out")
        .map(|o| {
            o.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    {
        if let Some(v) = returned.get(key) {
            vars.insert(key.to_string(), v.clone());
        }
    }
    vars.insert(
        n.id.clone(),
        json!({ "name": n.name.clone().unwrap_or_default(), "process": { "key": called, "instance": outcome.instance_id }, "result": returned }),
    );
    let ok = outcome.status == InstanceStatus::Completed;
    let message = if ok {
        String::new()
    } else if !outcome.waiting_at.is_empty() {
        format!("flow {called} waits at {}", outcome.waiting_at.join(", "))
    } else {
        let why: Vec<String> = outcome
            .failures
            .iter()
            .map(|(id, e)| format!("{id}: {e}"))
            .collect();
        format!(
            "flow {called} ended {:?} ({})",
            outcome.status,
            why.join("; ")
        )
    };
    Ok(Event::ChildEnded { ni, ok, message })
}

/// A call activity's child could not run: reported, and the call fails with `message`.
fn child_failed(
    report: &mut dyn FnMut(&str),
    node_id: &str,
    ni: u64,
    message: String,
) -> Result<Event, RunError> {
    report(&format!("  FAILED   {node_id}: {message}"));
    Ok(Event::ChildEnded {
        ni,
        ok: false,
        message,
    })
}

/// The definition (id, version) an instance runs.
async fn current_definition(ctx: &RunCtx<'_>, instance: Id) -> Result<(Id, i64), RunError> {
    let mut c = ctx.store.conn().await?;
    Ok(flows::definition_of(&mut c, ctx.company_id, instance)
        .await?
        .unwrap_or_default())
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn status_str(s: InstanceStatus) -> &'static str {
    match s {
        InstanceStatus::Running => "running",
        InstanceStatus::Paused => "paused",
        InstanceStatus::Failed => "failed",
        InstanceStatus::Completed => "completed",
        InstanceStatus::Terminated => "terminated",
    }
}

async fn save(
    store: &Store,
    id: Id,
    state: &InstanceState,
    vars: &Map<String, Value>,
) -> Result<(), RunError> {
    let ended = matches!(
        state.status,
        InstanceStatus::Completed | InstanceStatus::Terminated
    );
    let mut tx = store.begin().await?;
    flows::save_instance(
        &mut tx,
        id,
        status_str(state.status),
        &to_json(state),
        &Value::Object(vars.clone()).to_string(),
        ended,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Before a run of a multi-instance activity: its element (`item`, or the name in
/// `lwams:elementVariable`) and `loopCounter`.
fn set_element(ex: &Executable, node: usize, index: usize, vars: &mut Map<String, Value>) {
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

#[allow(clippy::too_many_arguments)]
async fn run_job(
    store: &Store,
    instance: Id,
    ex: &Executable,
    ni: u64,
    node: usize,
    attempt: u32,
    vars: &mut Map<String, Value>,
    report: &mut dyn FnMut(&str),
) -> Result<Event, RunError> {
    let n = &ex.nodes[node];
    let kind = match &n.behaviour {
        Behaviour::Job { kind } => kind.as_str(),
        _ => "",
    };
    let root = Value::Object(vars.clone());
    let command = match kind {
        "localCommand" => n
            .lwams
            .get("command")
            .or_else(|| n.lwams.get("script"))
            .cloned()
            .unwrap_or_default(),
        other => {
            let message = format!("no executor for {other:?} steps on this server yet");
            report(&format!("  FAILED   {}: {message}", n.id));
            return Ok(Event::JobFailed {
                ni,
                message,
                code: None,
            });
        }
    };
    let command = match resolve(&command, |p| lookup_json(&root, p), sh_quote) {
        Ok(c) => c,
        Err(e) => {
            let message = format!("command: {e}");
            report(&format!("  FAILED   {}: {message}", n.id));
            return Ok(Event::JobFailed {
                ni,
                message,
                code: None,
            });
        }
    };
    let timeout = n
        .lwams
        .get("timeout")
        .and_then(|t| t.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let mut tx = store.begin().await?;
    flows::start_node_run(
        &mut tx,
        instance,
        ni as i64,
        attempt as i64,
        &n.id,
        &json!({ "command": command }).to_string(),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    let req = LocalCommand {
        command: command.clone(),
        work_dir: n.lwams.get("workDir").cloned(),
        timeout,
    };
    let (event, status, output, error) = match local_command::run(&req).await {
        Ok(r) => {
            let out = serde_json::to_value(&r).unwrap_or(Value::Null);
            let now = crate::store::now_millis();
            let mut entry = json!({
                "name": n.name.clone().unwrap_or_default(),
                "createDate": super::builtins::date(now),
                "createDatetime": super::builtins::datetime(now),
                "command": command,
                "connectionType": "local",
                "result": out,
            });
            if let Some(obj) = entry.as_object_mut() {
                obj.insert(
                    "workDir".into(),
                    json!(n.lwams.get("workDir").cloned().unwrap_or_default()),
                );
            }
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
                results[index] = entry["result"].clone();
                entry["results"] = Value::Array(results);
            }
            vars.insert(n.id.clone(), entry);
            if let Some(rv) = n.lwams.get("resultVariable").filter(|v| !v.is_empty()) {
                vars.insert(rv.clone(), json!(r.stdout.trim_end()));
            }
            if r.exit_code == Some(0) {
                report(&format!(
                    "  ok       {} (exit 0, {} ms)",
                    n.id, r.duration_ms
                ));
                (
                    Event::JobCompleted { ni },
                    "completed",
                    Some(out.to_string()),
                    None,
                )
            } else {
                let message = format!(
                    "exit code {:?}: {}",
                    r.exit_code,
                    r.stderr.trim_end().lines().last().unwrap_or("")
                );
                report(&format!("  FAILED   {}: {message}", n.id));
                let code = r.exit_code.map(|c| format!("exit:{c}"));
                (
                    Event::JobFailed {
                        ni,
                        message: message.clone(),
                        code,
                    },
                    "failed",
                    Some(out.to_string()),
                    Some(message),
                )
            }
        }
        Err(e) => {
            let message = e.to_string();
            report(&format!("  FAILED   {}: {message}", n.id));
            (
                Event::JobFailed {
                    ni,
                    message: message.clone(),
                    code: None,
                },
                "failed",
                None,
                Some(message),
            )
        }
    };
    let mut tx = store.begin().await?;
    flows::finish_node_run(
        &mut tx,
        instance,
        ni as i64,
        attempt as i64,
        status,
        output.as_deref(),
        error.as_deref(),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(event)
}
