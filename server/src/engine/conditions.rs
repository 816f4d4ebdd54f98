//! Sequence-flow conditions in CEL (Common Expression Language): sandboxed, no side
//! effects, no loops. Variables of the instance are CEL variables, node results are
//! maps (`collect.result.exitCode == 0`). A condition may be wrapped as `${…}`.

use super::core::Conditions;
use serde_json::{Map, Value};

/// Evaluates conditions against a snapshot of the instance variables.
pub struct CelConditions<'a> {
    vars: &'a Map<String, Value>,
}

impl<'a> CelConditions<'a> {
    pub fn new(vars: &'a Map<String, Value>) -> Self {
        CelConditions { vars }
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

impl Conditions for CelConditions<'_> {
    fn eval(&self, expression: &str) -> Result<bool, String> {
        let source = unwrap_expression(expression);
        let program = cel::Program::compile(source)
            .map_err(|e| format!("{source:?} is not a valid expression: {e}"))?;
        let mut ctx = cel::Context::default();
        for (k, v) in self.vars {
            ctx.add_variable(k.as_str(), v.clone())
                .map_err(|e| format!("variable {k}: {e}"))?;
        }
        match program.execute(&ctx) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("{source:?} gives {other:?}, not true or false")),
            Err(e) => Err(format!("{source:?}: {e}")),
        }
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
    fn bad_expressions_and_missing_variables_are_errors_not_panics() {
        let v = vars();
        let c = CelConditions::new(&v);
        assert!(c
            .eval("x >")
            .unwrap_err()
            .contains("not a valid expression"));
        assert!(c.eval("nope == 1").is_err());
        assert!(c.eval("env").unwrap_err().contains("not true or false"));
    }
}
