//! Sequence-flow conditions in CEL (Common Expression Language): sandboxed, no side
//! effects, no loops. Variables of the instance are CEL variables, node results are
//! maps (`collect.result.exitCode == 0`). A condition may be wrapped as `${…}`.

use super::core::Conditions;
use serde_json::{Map, Value};

/// Evaluates conditions against a snapshot of the instance variables.
pub struct CelConditions<'a> {
    vars: &'a Map<String, Value>,
    multi_instance_max: usize,
}

impl<'a> CelConditions<'a> {
    pub fn new(vars: &'a Map<String, Value>) -> Self {
        CelConditions {
            vars,
            multi_instance_max: usize::MAX,
        }
    }

    /// At most `max` runs per multi-instance activity.
    pub fn with_multi_instance_max(mut self, max: usize) -> Self {
        self.multi_instance_max = max;
        self
    }
}

/// `${x > 1}` → `x > 1`; anything else unchanged.
fn unwrap_expression(e: &str) -> &str {
    let t = e.trim();
    match t.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        Some(inner) if !inner.contains("${") => inner.trim(),
        _ => t,
    }
}

impl CelConditions<'_> {
    fn value(&self, expression: &str) -> Result<cel::Value, String> {
        let source = unwrap_expression(expression);
        let program = cel::Program::compile(source)
            .map_err(|e| format!("{source:?} is not a valid expression: {e}"))?;
        let mut ctx = cel::Context::default();
        for (k, v) in self.vars {
            ctx.add_variable(k.as_str(), v.clone())
                .map_err(|e| format!("variable {k}: {e}"))?;
        }
        program
            .execute(&ctx)
            .map_err(|e| format!("{source:?}: {e}"))
    }
}

impl Conditions for CelConditions<'_> {
    fn eval(&self, expression: &str) -> Result<bool, String> {
        match self.value(expression)? {
            cel::Value::Bool(b) => Ok(b),
            other => Err(format!(
                "{:?} gives {other:?}, not true or false",
                unwrap_expression(expression)
            )),
        }
    }

    fn count(&self, over: &str) -> Result<usize, String> {
        if let Ok(n) = over.trim().parse::<usize>() {
            return Ok(n);
        }
        match self.value(over)? {
            cel::Value::List(items) => Ok(items.len()),
            cel::Value::Int(n) if n >= 0 => Ok(n as usize),
            cel::Value::UInt(n) => Ok(n as usize),
            other => Err(format!("{over:?} gives {other:?}, not a list or a count")),
        }
    }

    fn multi_instance_max(&self) -> usize {
        self.multi_instance_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Map<String, Value> {
        json!({"x": 3, "env": "prod", "collect": {"result": {"exitCode": 0, "stdout": "Linux"}}})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn conditions_read_variables_and_node_results() {
        let v = vars();
        let c = CelConditions::new(&v);
        assert_eq!(c.eval("x > 1"), Ok(true));
        assert_eq!(c.eval("${env == 'prod' && x < 3}"), Ok(false));
        assert_eq!(c.eval("collect.result.exitCode == 0"), Ok(true));
        assert_eq!(c.eval("collect.result.stdout.contains('Linux')"), Ok(true));
    }

    #[test]
    fn counts_come_from_lists_numbers_and_literals() {
        let v = json!({"hosts": ["a", "b", "c"], "n": 2})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let c = CelConditions::new(&v);
        assert_eq!(c.count("hosts"), Ok(3));
        assert_eq!(c.count("n"), Ok(2));
        assert_eq!(c.count("4"), Ok(4));
    }

    #[test]
    fn bad_expressions_and_missing_variables_are_errors_not_panics() {
        let v = vars();
        let c = CelConditions::new(&v);
        assert!(c
            .eval("x >")
            .unwrap_err()
            .contains("not a valid expression"));
        assert!(c.eval("nope == 1").is_err());
        assert!(c.eval("env").unwrap_err().contains("not true or false"));
        assert!(c.count("env").unwrap_err().contains("not a list"));
    }
}
