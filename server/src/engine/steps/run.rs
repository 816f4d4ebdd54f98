//! Running a prepared step through its executor: on the server, on a host's agent or
//! a terminal through it, or as an HTTP / SQL service; live output and what is recorded
//! are masked with the secrets the step comes to know.

use super::*;

/// Whether a host's agent runs on Windows (its facts say so): its commands are `cmd`.
pub(super) fn runs_windows(facts: &shared::dto::host::HostFacts) -> bool {
    facts
        .get("osName")
        .is_some_and(|os| os.to_ascii_lowercase().contains("windows"))
}

/// Loads a library script and makes each placeholder a reference to a variable of the
/// script's language carrying the value (never the value itself in the code).
pub(super) async fn load_script(
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
    let bound = data::bind(&script.body, lang, |p| lookup_json(vars, p))
        .map_err(|e| format!("script {}: {e}", script.name))?;
    Ok(LoadedScript {
        shown: shown_values(&script.body, vars),
        body: bound.text,
        values: bound.values,
        script,
        work_dir: r.work_dir.clone(),
        timeout: r.timeout,
    })
}

/// An output sink masking what it passes on.
pub(super) fn masking_sink(sink: OutputSink, m: Masker) -> OutputSink {
    if !m.knows_values() {
        return sink;
    }
    std::sync::Arc::new(move |stream, text: &str| sink(stream, &m.text(text)))
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
pub(super) async fn execute_step(
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
pub(super) fn on_server_finished(
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
pub(super) async fn run_remote(
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

pub(super) async fn run_service(
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
            let statements = match shared::sql::parameterize(&template, database.kind, |p| {
                shared::vars::lookup_value(vars, p).cloned()
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
