//! A step's outcome: what a finished step changes (its node's `${id.…}` entry, the
//! result variable, a multi-instance run's kept result) and the event for the core.

use super::*;

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

    pub(super) fn failed(message: String) -> Finished {
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
    pub(super) fn masked(mut self, m: &Masker, prepared: &Prepared) -> Finished {
        self.output = self.output.map(|o| m.json(&o));
        self.message = m.text(&self.message);
        if m.knows_values() {
            self.input = Some(m.json(&prepared.raw_input()));
        }
        self
    }
}

/// An HTTP answer: a status of 400 or more fails the step with code `http:STATUS`; the
/// result variable gets the body (parsed when JSON).
pub(super) fn http_finished(
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
pub(super) fn sql_finished(
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
pub(super) fn command_finished(
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
pub(super) fn step_finished(
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
pub(super) const RESULT_TEXT_KEEP: usize = 512;
/// Fields a summarised result keeps.
pub(super) const RESULT_FIELDS_KEEP: usize = 12;

/// A run's result as `${node.results.N}` keeps it: as it is when small, else its
/// scalar fields (texts cut to [`RESULT_TEXT_KEEP`] characters) with `truncated: true`
/// and `size` (the whole result's bytes; it is in the node run).
pub(super) fn kept_result(out: &Value) -> Value {
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
    m.insert(
        "createDate".into(),
        json!(crate::engine::builtins::date(now)),
    );
    m.insert(
        "createDatetime".into(),
        json!(crate::engine::builtins::datetime(now)),
    );
    m
}

/// Before a run of a multi-instance activity: its element (`item`, or the name in
/// `lwams:elementVariable`) and `loopCounter`.
pub fn set_element(ex: &Executable, node: usize, index: usize, vars: &mut Map<String, Value>) {
    let Some(multi) = &ex.nodes[node].multi else {
        return;
    };
    let element = match shared::vars::lookup_value(&*vars, &multi.over) {
        Some(Value::Array(items)) => items.get(index).cloned().unwrap_or(Value::Null),
        _ => json!(index),
    };
    vars.insert(multi.element.clone(), element);
    vars.insert("loopCounter".into(), json!(index));
}
