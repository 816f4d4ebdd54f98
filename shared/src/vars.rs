//! The `${…}` resolver used by the engine, forms and reports: one implementation.
//!
//! `${name}` and `${node.result.stdout}` look a variable up by its dotted path;
//! `${raw:name}` inserts it as written, never encoded (the documented opt-out); `$${`
//! writes a literal `${`. An unknown variable is an error naming it. Code never gets
//! values as text: commands and scripts get them as variables of their language
//! ([`data`]: `"$LWAMS_V_1"`, `!LWAMS_V_1!`, `${env:LWAMS_V_1}`…, the values passed
//! outside the code), and SQL as bind parameters (`crate::sql`).

pub mod data;
pub mod http;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("unknown variable ${{{0}}}")]
    Unknown(String),
    #[error("unclosed ${{ at character {0}")]
    Unclosed(usize),
    #[error("empty ${{}} at character {0}")]
    Empty(usize),
}

/// One part of a template: text as written (a `$${` escape gives the text `${`), or a
/// placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Var {
        /// The dotted path, trimmed (without `raw:`).
        path: &'a str,
        /// Written `${raw:path}`: inserted without quoting.
        raw: bool,
        /// Byte offset of its `${` in the template.
        at: usize,
    },
}

/// The parts of `template`, in order; a malformed placeholder ends it with an error.
/// The one parser of `${…}`: [`resolve`], [`placeholders`] and the SQL parameters
/// (`crate::sql`) read templates through it.
pub fn pieces(template: &str) -> Pieces<'_> {
    Pieces {
        rest: template,
        offset: 0,
        pending: None,
        failed: false,
    }
}

/// The iterator of [`pieces`].
#[derive(Debug, Clone)]
pub struct Pieces<'a> {
    rest: &'a str,
    offset: usize,
    pending: Option<Piece<'a>>,
    failed: bool,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Result<Piece<'a>, VarError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(p) = self.pending.take() {
            return Some(Ok(p));
        }
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        let Some(i) = rest.find("${") else {
            self.rest = "";
            return Some(Ok(Piece::Text(rest)));
        };
        if i > 0 && rest.as_bytes()[i - 1] == b'$' {
            // `$${`: the text before it, then a literal `${`.
            self.rest = &rest[i + 2..];
            self.offset += i + 2;
            let escaped = Piece::Text(&rest[i..i + 2]);
            if i > 1 {
                self.pending = Some(escaped);
                return Some(Ok(Piece::Text(&rest[..i - 1])));
            }
            return Some(Ok(escaped));
        }
        if i > 0 {
            self.rest = &rest[i..];
            self.offset += i;
            return Some(Ok(Piece::Text(&rest[..i])));
        }
        let after = &rest[2..];
        let Some(end) = after.find('}') else {
            self.failed = true;
            return Some(Err(VarError::Unclosed(self.offset)));
        };
        let inner = after[..end].trim();
        if inner.is_empty() {
            self.failed = true;
            return Some(Err(VarError::Empty(self.offset)));
        }
        let (raw, path) = match inner.strip_prefix("raw:") {
            Some(p) => (true, p.trim()),
            None => (false, inner),
        };
        let at = self.offset;
        self.rest = &after[end + 1..];
        self.offset += 2 + end + 1;
        Some(Ok(Piece::Var { path, raw, at }))
    }
}

/// Replaces every `${path}` in `template` by `lookup(path)`, passed through `quote`
/// unless written `${raw:path}`.
pub fn resolve(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
    quote: impl Fn(&str) -> String,
) -> Result<String, VarError> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece? {
            Piece::Text(t) => out.push_str(t),
            Piece::Var { path, raw, .. } => {
                let value = lookup(path).ok_or_else(|| VarError::Unknown(path.to_string()))?;
                if raw {
                    out.push_str(&value);
                } else {
                    out.push_str(&quote(&value));
                }
            }
        }
    }
    Ok(out)
}

/// The variables a template names (`${a}`, `${raw:b}` → `a`, `b`), each once, in order
/// of first use; malformed placeholders are skipped.
pub fn placeholders(template: &str) -> Vec<String> {
    let names = std::cell::RefCell::new(Vec::<String>::new());
    let _ = resolve(
        template,
        |p| {
            let mut n = names.borrow_mut();
            if !n.iter().any(|x| x == p) {
                n.push(p.to_string());
            }
            Some(String::new())
        },
        |s| s.to_string(),
    );
    names.into_inner()
}

/// Quotes a value as one word for POSIX `sh`.
pub fn sh_quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c))
    {
        return v.to_string();
    }
    format!("'{}'", v.replace('\'', "'\\''"))
}

/// Quotes a value as one argument on a Windows `cmd` command line: in double quotes,
/// inner `"` doubled (how the C runtime reads it back); `& | < > ^` are literal inside
/// the quotes. cmd still expands `%NAME%` of a defined variable on a command line, so
/// values never reach a command this way (they arrive as data, [`data`]).
pub fn cmd_quote(v: &str) -> String {
    let flat = v.replace(['\r', '\n'], " ");
    format!("\"{}\"", flat.replace('"', "\"\""))
}

/// Quotes a value as a standard SQL string literal (`'` doubled). SQL steps bind values
/// as parameters instead (`crate::sql`); this is for showing a value as SQL.
pub fn sql_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// What a `${…}` path is looked up in: an instance's variables, by reference (steps
/// never copy them to look a value up), or any JSON value.
#[derive(Debug, Clone, Copy)]
pub enum Root<'a> {
    Vars(&'a serde_json::Map<String, serde_json::Value>),
    Value(&'a serde_json::Value),
}

impl<'a> From<&'a serde_json::Map<String, serde_json::Value>> for Root<'a> {
    fn from(vars: &'a serde_json::Map<String, serde_json::Value>) -> Root<'a> {
        Root::Vars(vars)
    }
}

impl<'a> From<&'a serde_json::Value> for Root<'a> {
    fn from(value: &'a serde_json::Value) -> Root<'a> {
        Root::Value(value)
    }
}

/// One step of a dotted path: a member of an object, an element of a list.
fn member<'a>(v: &'a serde_json::Value, part: &str) -> Option<&'a serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m.get(part),
        serde_json::Value::Array(a) => a.get(part.parse::<usize>().ok()?),
        _ => None,
    }
}

/// The JSON value at a dotted path (`a.b.0.c`).
pub fn lookup_value<'a>(root: impl Into<Root<'a>>, path: &str) -> Option<&'a serde_json::Value> {
    let mut parts = path.split('.');
    let mut v = match root.into() {
        Root::Vars(m) => m.get(parts.next()?)?,
        Root::Value(v) => v,
    };
    for part in parts {
        v = member(v, part)?;
    }
    Some(v)
}

/// Looks a dotted path up in the variables or a JSON value; strings come back unquoted.
pub fn lookup_json<'a>(root: impl Into<Root<'a>>, path: &str) -> Option<String> {
    Some(match lookup_value(root, path)? {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sql_values_become_one_literal_whatever_they_hold() {
        assert_eq!(sql_quote("O'Brien"), "'O''Brien'");
        assert_eq!(sql_quote("x'; DROP TABLE t; --"), "'x''; DROP TABLE t; --'");
        assert_eq!(sql_quote("a\\'"), "'a\\'''");
    }

    #[test]
    fn values_are_substituted_quoted_and_raw() {
        let vars =
            json!({"host": "node1", "msg": "; rm -rf /", "collect": {"result": {"exitCode": 0}}});
        let look = |p: &str| lookup_json(&vars, p);
        assert_eq!(
            resolve("echo ${msg}", look, sh_quote).unwrap(),
            "echo '; rm -rf /'"
        );
        assert_eq!(
            resolve("ssh ${host} && ${raw:msg}", look, sh_quote).unwrap(),
            "ssh node1 && ; rm -rf /"
        );
        assert_eq!(
            resolve("code=${collect.result.exitCode}", look, sh_quote).unwrap(),
            "code=0"
        );
        assert_eq!(
            resolve("literal $${host}", look, sh_quote).unwrap(),
            "literal ${host}"
        );
        assert_eq!(
            resolve("it's ${msg}", look, |v| v.to_string()).unwrap(),
            "it's ; rm -rf /"
        );
    }

    #[test]
    fn errors_name_the_variable_or_position() {
        let look = |_: &str| None;
        assert_eq!(
            resolve("a ${nope}", look, sh_quote)
                .unwrap_err()
                .to_string(),
            "unknown variable ${nope}"
        );
        assert_eq!(
            resolve("a ${x", look, sh_quote).unwrap_err(),
            VarError::Unclosed(2)
        );
        assert_eq!(
            resolve("${ }", look, sh_quote).unwrap_err(),
            VarError::Empty(0)
        );
    }

    #[test]
    fn pieces_are_text_and_placeholders_with_their_offsets() {
        let p: Vec<Piece> = pieces("a $${b} ${ raw:c }${d.e}")
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Text("a "),
                Piece::Text("${"),
                Piece::Text("b} "),
                Piece::Var {
                    path: "c",
                    raw: true,
                    at: 8
                },
                Piece::Var {
                    path: "d.e",
                    raw: false,
                    at: 18
                },
            ]
        );
        let mut bad = pieces("x ${");
        assert_eq!(bad.next(), Some(Ok(Piece::Text("x "))));
        assert_eq!(bad.next(), Some(Err(VarError::Unclosed(2))));
        assert_eq!(bad.next(), None);
    }

    #[test]
    fn cmd_quote_keeps_operators_inside_double_quotes() {
        assert_eq!(cmd_quote("a & b"), "\"a & b\"");
        assert_eq!(cmd_quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cmd_quote("two\nlines"), "\"two lines\"");
    }

    #[test]
    fn placeholders_are_listed_once_in_order() {
        assert_eq!(
            placeholders("ls ${dir} $${HOME} ${raw:opts} ${dir} ${collect.result}"),
            vec!["dir", "opts", "collect.result"]
        );
        assert!(placeholders("no ${ end").is_empty());
    }

    #[test]
    fn sh_quote_makes_one_literal_word() {
        assert_eq!(sh_quote("plain-1.txt"), "plain-1.txt");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$(id)"), "'$(id)'");
    }

    #[test]
    fn the_variables_are_looked_up_by_reference_as_their_json_value_is() {
        let v = json!({"a": {"b": [10, {"c": "x"}]}, "n": 1});
        let vars = v.as_object().unwrap();
        for path in ["a.b.1.c", "a.b.0", "n", "a", "missing", "a.b.9", "n.x"] {
            assert_eq!(lookup_value(vars, path), lookup_value(&v, path), "{path}");
        }
        assert_eq!(lookup_json(vars, "a.b.1.c").as_deref(), Some("x"));
    }
}
