//! A statement template → statements with bind parameters. Each `${name}` becomes a
//! parameter of its own (a value used twice is bound twice, so each use gets the type
//! its place asks for); `'${name}'` — a string literal that is nothing but the
//! placeholder — becomes a bare parameter too. A placeholder that cannot stand for a
//! value is refused with a message naming it, never bound where it would silently
//! mean something else: inside a larger literal (`'%${n}%'`), a comment, a quoted or
//! unquoted name, a dollar-quoted body, right after `FROM`, `ORDER BY`… (a name goes
//! there) or a typed literal's keyword (`DATE '…'`). `${raw:name}` writes its value
//! into the SQL as code, unchecked: the opt-out for trusted names and fragments.

use super::split::{name_char, statements, tokens, trimmed, Tok, Token};
use super::SqlStatement;
use crate::dto::data_source::DataSourceKind;
use crate::vars::{pieces, Piece, VarError};
use serde_json::Value;

/// Why a SQL template cannot be turned into statements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlTemplateError {
    #[error(transparent)]
    Var(#[from] VarError),
    /// `${name}` stands where a bound value cannot go.
    #[error("${{{name}}} {why}")]
    Placement {
        name: String,
        /// Byte offset of the placeholder in the template.
        at: usize,
        why: String,
    },
}

impl SqlTemplateError {
    /// Byte offset in the template of what is wrong (0 when it is not a place).
    pub fn at(&self) -> usize {
        match self {
            SqlTemplateError::Var(VarError::Unclosed(i) | VarError::Empty(i)) => *i,
            SqlTemplateError::Var(VarError::Unknown(_)) => 0,
            SqlTemplateError::Placement { at, .. } => *at,
        }
    }
}

/// The driver's placeholder for the `n`th value (from 1) of a statement.
pub fn placeholder(kind: DataSourceKind, n: usize) -> String {
    match kind {
        DataSourceKind::Postgres => format!("${n}"),
        DataSourceKind::Mysql => "?".into(),
        // sqlx's SQLite driver binds `?NNN` by its number.
        DataSourceKind::Sqlite => format!("?{n}"),
    }
}

/// A placeholder's value where it was written.
struct Marker {
    /// Byte offset in the SQL text (the template with raw values written in and the
    /// other placeholders taken out).
    pos: usize,
    name: String,
    /// Byte offset of its `${` in the template.
    at: usize,
    value: Value,
}

/// How a placeholder becomes a parameter.
enum Place {
    /// Where it stands.
    Bare,
    /// Instead of the string literal (token index) it is the whole of.
    Literal(usize),
}

/// Keywords after which SQL expects a name, not a value.
const NAME_KEYWORDS: &[&str] = &[
    "FROM", "JOIN", "INTO", "UPDATE", "TABLE", "BY", "AS", "USER", "ROLE", "DATABASE", "SCHEMA",
    "INDEX", "VIEW", "SEQUENCE", "COLUMN", "EXISTS",
];

/// The statements of `template` for `kind`'s database: a script is cut into its
/// statements once it has values; one without placeholders (or with `${raw:…}` only)
/// stays one text, run as it is.
pub fn parameterize(
    template: &str,
    kind: DataSourceKind,
    lookup: impl Fn(&str) -> Option<Value>,
) -> Result<Vec<SqlStatement>, SqlTemplateError> {
    let mut text = String::with_capacity(template.len());
    let mut markers: Vec<Marker> = Vec::new();
    for piece in pieces(template) {
        match piece? {
            Piece::Text(t) => text.push_str(t),
            Piece::Var { path, raw, at } => {
                let value = lookup(path).ok_or_else(|| VarError::Unknown(path.to_string()))?;
                if raw {
                    text.push_str(&as_text(&value));
                } else {
                    markers.push(Marker {
                        pos: text.len(),
                        name: path.to_string(),
                        at,
                        value: bindable(value),
                    });
                }
            }
        }
    }
    if markers.is_empty() {
        return Ok(vec![SqlStatement::text(text)]);
    }
    let toks = tokens(&text, kind);
    let places = markers
        .iter()
        .map(|m| place(&text, &toks, &markers, m, kind))
        .collect::<Result<Vec<_>, _>>()?;
    let ranges = statements(&text, &toks, |r| {
        markers.iter().any(|m| r.start <= m.pos && m.pos <= r.end)
    });
    let mut out = Vec::with_capacity(ranges.len());
    for r in ranges {
        let mine: Vec<usize> = (0..markers.len())
            .filter(|&i| r.start <= markers[i].pos && markers[i].pos <= r.end)
            .collect();
        // Trimmed, but never past a placeholder (taken out of the text, it takes no room).
        let mut span = trimmed(&text, r.clone());
        if let (Some(&first), Some(&last)) = (mine.first(), mine.last()) {
            let (a, b) = (markers[first].pos, markers[last].pos);
            span = if span.is_empty() {
                a..b
            } else {
                span.start.min(a)..span.end.max(b)
            };
        }
        if mine.is_empty() {
            out.push(SqlStatement::text(&text[span]));
            continue;
        }
        if let Some(own) = toks
            .iter()
            .find(|t| t.kind == Tok::Param && t.start >= span.start && t.end <= span.end)
        {
            let m = &markers[mine[0]];
            return Err(SqlTemplateError::Placement {
                name: m.name.clone(),
                at: m.at,
                why: format!(
                    "is in a statement that has a parameter marker of its own ({}), which \
                     would take one of the values: write it inside quotes or leave it out",
                    &text[own.start..own.end]
                ),
            });
        }
        let mut sql = String::with_capacity(span.len() + 4 * mine.len());
        let mut params = Vec::with_capacity(mine.len());
        let mut cur = span.start;
        for i in mine {
            let m = &markers[i];
            match places[i] {
                Place::Bare => {
                    sql.push_str(&text[cur..m.pos]);
                    cur = m.pos;
                }
                Place::Literal(k) => {
                    sql.push_str(&text[cur..toks[k].start]);
                    cur = toks[k].end;
                }
            }
            params.push(m.value.clone());
            sql.push_str(&placeholder(kind, params.len()));
        }
        sql.push_str(&text[cur..span.end]);
        out.push(SqlStatement { sql, params });
    }
    Ok(out)
}

/// Whether every placeholder of `template` can become a parameter in `kind`'s dialect
/// (values unknown: checked when a SQL script is saved and a flow deployed).
pub fn check(template: &str, kind: DataSourceKind) -> Result<(), SqlTemplateError> {
    parameterize(template, kind, |_| Some(Value::String(String::new()))).map(|_| ())
}

/// Why [`check_every_kind`] refuses a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The first refusal.
    pub error: SqlTemplateError,
    /// The kinds of database whose dialect refuses it, when others accept it.
    pub only: Vec<DataSourceKind>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if !self.only.is_empty() {
            let kinds: Vec<&str> = self.only.iter().map(|k| k.label()).collect();
            write!(f, " (in {})", kinds.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// [`check`] for every kind of data source, as a saved SQL script or a flow's SQL step
/// may run against any: each placeholder must be able to become a parameter in all.
pub fn check_every_kind(template: &str) -> Result<(), Refused> {
    let refused: Vec<(DataSourceKind, SqlTemplateError)> = DataSourceKind::ALL
        .into_iter()
        .filter_map(|k| check(template, k).err().map(|e| (k, e)))
        .collect();
    let Some((_, error)) = refused.first().cloned() else {
        return Ok(());
    };
    let only = if refused.len() < DataSourceKind::ALL.len() {
        refused.iter().map(|(k, _)| *k).collect()
    } else {
        Vec::new()
    };
    Err(Refused { error, only })
}

/// A value as SQL text (`${raw:…}`): strings as they are, anything else as JSON.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value as a parameter: objects and arrays as their JSON text.
fn bindable(v: Value) -> Value {
    match v {
        Value::Object(_) | Value::Array(_) => Value::String(v.to_string()),
        other => other,
    }
}

/// The previous token that is not space or comment, before byte `before`.
fn previous_word<'t>(text: &'t str, toks: &[Token], before: usize) -> Option<&'t str> {
    toks.iter()
        .rev()
        .filter(|t| t.end <= before && t.significant())
        .map(|t| (t.kind == Tok::Word).then(|| &text[t.start..t.end]))
        .next()
        .flatten()
}

/// A refusal when the keyword before a value's place says a value cannot go there.
fn after_keyword(
    text: &str,
    toks: &[Token],
    before: usize,
    m: &Marker,
    kind: DataSourceKind,
) -> Option<String> {
    let word = previous_word(text, toks, before)?;
    let upper = word.to_ascii_uppercase();
    if NAME_KEYWORDS.contains(&upper.as_str()) {
        return Some(format!(
            "follows {upper}, where SQL expects a name, not a value; for a trusted name \
             write ${{raw:{}}}",
            m.name
        ));
    }
    let typed = matches!(upper.as_str(), "DATE" | "TIME" | "TIMESTAMP")
        || (upper == "INTERVAL" && kind == DataSourceKind::Postgres);
    if typed {
        return Some(format!(
            "follows {upper}: a typed literal cannot take a value; write CAST(${{{}}} AS \
             {upper})",
            m.name
        ));
    }
    None
}

/// How SQL of this dialect joins text, for the advice on literals.
fn concat_example(kind: DataSourceKind, name: &str) -> String {
    match kind {
        DataSourceKind::Mysql => format!("CONCAT('%', ${{{name}}}, '%')"),
        _ => format!("'%' || ${{{name}}} || '%'"),
    }
}

/// The text of token `t` with the placeholder shown where it is (at most ~60
/// characters).
fn shown(text: &str, t: &Token, m: &Marker) -> String {
    let whole = format!(
        "{}${{{}}}{}",
        &text[t.start..m.pos],
        m.name,
        &text[m.pos..t.end]
    );
    if whole.chars().count() <= 60 {
        return whole;
    }
    let cut: String = whole.chars().take(57).collect();
    format!("{cut}…")
}

fn place(
    text: &str,
    toks: &[Token],
    markers: &[Marker],
    m: &Marker,
    kind: DataSourceKind,
) -> Result<Place, SqlTemplateError> {
    let refuse = |why: String| SqlTemplateError::Placement {
        name: m.name.clone(),
        at: m.at,
        why,
    };
    let shared_spot = markers.iter().filter(|o| o.pos == m.pos).count() > 1;
    if let Some((k, t)) = toks.iter().enumerate().find(|(_, t)| t.contains(m.pos)) {
        match t.kind {
            Tok::Str { open, .. } => {
                let whole = t.closed && open + 1 == m.pos && t.end == m.pos + 1 && !shared_spot;
                if !whole {
                    return Err(refuse(format!(
                        "is inside the string literal {}: only a literal that holds nothing \
                         but the placeholder ('${{{}}}') becomes a value; build the text in \
                         SQL instead, e.g. {}",
                        shown(text, t, m),
                        m.name,
                        concat_example(kind, &m.name)
                    )));
                }
                let prefix = &text[t.start..open];
                if !prefix.is_empty()
                    && !prefix.eq_ignore_ascii_case("e")
                    && !prefix.eq_ignore_ascii_case("n")
                {
                    return Err(refuse(format!(
                        "is a {prefix}'…' literal, which cannot take a value; write it \
                         without {prefix}"
                    )));
                }
                if let Some(why) = after_keyword(text, toks, t.start, m, kind) {
                    return Err(refuse(why));
                }
                return Ok(Place::Literal(k));
            }
            Tok::QuotedName => {
                return Err(refuse(format!(
                    "is inside the quoted name {}: a value cannot be a name; for a trusted \
                     name write ${{raw:{}}}",
                    shown(text, t, m),
                    m.name
                )))
            }
            Tok::Comment => {
                return Err(refuse(format!(
                    "is inside a comment; write $${{{}}} for the text ${{{}}}, or leave it out",
                    m.name, m.name
                )))
            }
            Tok::Dollar => {
                return Err(refuse(
                    "is inside a dollar-quoted body ($$…$$), where values cannot be bound; \
                     pass it as an argument of the function instead"
                        .to_string(),
                ))
            }
            Tok::Word | Tok::Param => {
                return Err(refuse(format!(
                    "is part of the word {}: a value cannot be a name; for a trusted name \
                     write ${{raw:{}}}",
                    shown(text, t, m),
                    m.name
                )))
            }
            Tok::Semicolon | Tok::Space | Tok::Other => {}
        }
    }
    let prev = text[..m.pos].chars().next_back();
    let next = text[m.pos..].chars().next();
    let cast = text[..m.pos].ends_with("::");
    let touches_prev = prev.is_some_and(|c| name_char(c) || ".'\"`@".contains(c)) || cast;
    let touches_next = next.is_some_and(|c| name_char(c) || ".'\"`".contains(c));
    if shared_spot || touches_prev || touches_next {
        let around = format!(
            "{}${{{}}}{}",
            prev.map(String::from).unwrap_or_default(),
            m.name,
            next.map(String::from).unwrap_or_default()
        );
        return Err(refuse(format!(
            "touches the text next to it ({around}): a value stands alone, apart from names, \
             literals and other placeholders; for a trusted fragment of a name write \
             ${{raw:{}}}",
            m.name
        )));
    }
    if let Some(why) = after_keyword(text, toks, m.pos, m, kind) {
        return Err(refuse(why));
    }
    Ok(Place::Bare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use DataSourceKind::{Mysql, Postgres, Sqlite};

    fn vars() -> Value {
        json!({
            "n": 3,
            "who": "x'; DROP TABLE t; --",
            "or": "' OR 1=1 --",
            "t": "events",
            "flag": true,
            "none": null,
            "obj": {"a": [1, 2]},
            "text": "中文 ünïcödé",
        })
    }

    fn run(template: &str, kind: DataSourceKind) -> Result<Vec<SqlStatement>, SqlTemplateError> {
        let v = vars();
        parameterize(template, kind, |p| {
            crate::vars::lookup_value(&v, p).cloned()
        })
    }

    fn one(template: &str, kind: DataSourceKind) -> (String, Vec<Value>) {
        let mut s = run(template, kind).unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
        let s = s.remove(0);
        (s.sql, s.params)
    }

    fn refused(template: &str, kind: DataSourceKind) -> String {
        match run(template, kind) {
            Err(e) => e.to_string(),
            Ok(s) => panic!("{template} was accepted: {s:?}"),
        }
    }

    #[test]
    fn values_become_parameters_of_each_dialect() {
        let t = "SELECT * FROM t WHERE name = ${who} AND id = ${n} LIMIT ${n}";
        assert_eq!(
            one(t, Postgres),
            (
                "SELECT * FROM t WHERE name = $1 AND id = $2 LIMIT $3".into(),
                vec![json!("x'; DROP TABLE t; --"), json!(3), json!(3)]
            )
        );
        assert_eq!(
            one(t, Mysql).0,
            "SELECT * FROM t WHERE name = ? AND id = ? LIMIT ?"
        );
        assert_eq!(
            one(t, Sqlite).0,
            "SELECT * FROM t WHERE name = ?1 AND id = ?2 LIMIT ?3"
        );
        // Typed values keep their JSON type; objects and arrays go as JSON text.
        assert_eq!(
            one("VALUES (${flag}, ${none}, ${obj}, ${text})", Postgres).1,
            vec![
                json!(true),
                Value::Null,
                json!(r#"{"a":[1,2]}"#),
                json!("中文 ünïcödé")
            ]
        );
    }

    #[test]
    fn a_literal_that_is_only_the_placeholder_becomes_a_bare_parameter() {
        assert_eq!(
            one(
                "SELECT * FROM t WHERE a = '${or}' AND b = E'${n}'",
                Postgres
            ),
            (
                "SELECT * FROM t WHERE a = $1 AND b = $2".into(),
                vec![json!("' OR 1=1 --"), json!(3)]
            )
        );
        assert_eq!(
            one("UPDATE t SET a = \"${who}\" WHERE b = N'${n}'", Mysql).0,
            "UPDATE t SET a = ? WHERE b = ?"
        );
    }

    #[test]
    fn placeholders_in_larger_literals_comments_and_names_are_refused_by_name() {
        let e = refused("SELECT * FROM t WHERE a LIKE '%${who}%'", Postgres);
        assert!(
            e.starts_with("${who} is inside the string literal '%${who}%'"),
            "{e}"
        );
        assert!(e.contains("'%' || ${who} || '%'"), "{e}");
        let e = refused("SELECT 'abc${n}'", Mysql);
        assert!(e.contains("CONCAT('%', ${n}, '%')"), "{e}");
        let e = refused("SELECT 1 -- for ${n}\n", Postgres);
        assert!(e.starts_with("${n} is inside a comment"), "{e}");
        assert!(refused("SELECT 1 /* ${n} */", Sqlite).contains("comment"));
        let e = refused("SELECT \"${t}\" FROM x", Postgres);
        assert!(
            e.starts_with("${t} is inside the quoted name \"${t}\""),
            "{e}"
        );
        assert!(e.contains("${raw:t}"), "{e}");
        assert!(refused("SELECT `${t}` FROM x", Mysql).contains("quoted name"));
        assert!(refused("SELECT [${t}] FROM x", Sqlite).contains("quoted name"));
        let e = refused("SELECT * FROM log_${t}", Postgres);
        assert!(e.contains("touches the text next to it (_${t})"), "{e}");
        assert!(refused("SELECT x${t}y", Postgres).contains("part of the word x${t}y"));
        assert!(refused("SELECT ${t}.id FROM x", Postgres).contains("touches"));
        assert!(refused("SELECT a::${t}", Postgres).contains("touches"));
        assert!(refused("SELECT ${n}${n}", Postgres).contains("touches"));
        let e = refused("SELECT * FROM ${t}", Mysql);
        assert!(e.starts_with("${t} follows FROM"), "{e}");
        assert!(refused("SELECT * FROM x ORDER BY ${t}", Sqlite).contains("follows BY"));
        assert!(refused("INSERT INTO ${t} VALUES (1)", Postgres).contains("INTO"));
        assert!(refused("DROP TABLE IF EXISTS ${t}", Mysql).contains("EXISTS"));
        assert!(refused("CREATE USER ${t}", Postgres).contains("follows USER"));
        // Casts and operators next to a value are fine.
        assert_eq!(
            one("SELECT ${n}::int, '${n}'::date, -${n}, (${n})", Postgres).0,
            "SELECT $1::int, $2::date, -$3, ($4)"
        );
        let e = refused("SELECT DATE '${n}'", Postgres);
        assert!(e.contains("CAST(${n} AS DATE)"), "{e}");
        assert!(refused("SELECT now() - INTERVAL ${n}", Postgres).contains("INTERVAL"));
        assert!(run("SELECT NOW() - INTERVAL ${n} DAY", Mysql).is_ok());
        let e = refused("DO $$ BEGIN RAISE NOTICE '${n}'; END $$", Postgres);
        assert!(e.contains("dollar-quoted"), "{e}");
        assert!(refused("SELECT X'${n}'", Sqlite).contains("X'…'"));
        // An open literal runs to the end.
        assert!(refused("SELECT 'abc ${n}", Postgres).contains("string literal"));
        // A statement's own parameter markers would take the values.
        let e = refused("SELECT ? , ${n}", Mysql);
        assert!(e.contains("parameter marker of its own (?)"), "{e}");
        assert!(refused("SELECT $1, ${n}", Postgres).contains("($1)"));
        // `?` is an operator in PostgreSQL.
        assert!(run("SELECT data ? 'k' FROM t WHERE id = ${n}", Postgres).is_ok());
    }

    #[test]
    fn raw_values_are_sql_and_escapes_stay_text() {
        assert_eq!(
            one(
                "SELECT * FROM ${raw:t} WHERE id = ${n} AND a = '$${n}'",
                Postgres
            ),
            (
                "SELECT * FROM events WHERE id = $1 AND a = '${n}'".into(),
                vec![json!(3)]
            )
        );
        // Raw only, or nothing: the text as it is, one script.
        let s = run("DELETE FROM ${raw:t}; SELECT 1; SELECT 'a;b'", Mysql).unwrap();
        assert_eq!(
            s,
            vec![SqlStatement::text(
                "DELETE FROM events; SELECT 1; SELECT 'a;b'"
            )]
        );
        assert!(matches!(
            run("SELECT ${nope}", Postgres),
            Err(SqlTemplateError::Var(VarError::Unknown(_)))
        ));
        let e = run("SELECT 1;\nSELECT ${n", Postgres).unwrap_err();
        assert_eq!(e.at(), 17);
    }

    #[test]
    fn a_script_with_values_is_cut_into_statements_each_numbered_from_one() {
        let s = run(
            "CREATE TABLE t (id int, s text);\n\
             INSERT INTO t VALUES (${n}, '${who}'); -- the first\n\
             INSERT INTO t VALUES (4, ';'), (${n}, ${text});",
            Postgres,
        )
        .unwrap();
        assert_eq!(
            s,
            vec![
                SqlStatement::text("CREATE TABLE t (id int, s text)"),
                SqlStatement {
                    sql: "INSERT INTO t VALUES ($1, $2)".into(),
                    params: vec![json!(3), json!("x'; DROP TABLE t; --")]
                },
                SqlStatement {
                    sql: "-- the first\nINSERT INTO t VALUES (4, ';'), ($1, $2)".into(),
                    params: vec![json!(3), json!("中文 ünïcödé")]
                },
            ]
        );
        // A placeholder alone is a statement; whitespace around it is kept out.
        assert_eq!(one("  ${n}  ", Postgres).0, "$1");
    }

    #[test]
    fn check_reads_the_placeholders_of_a_saved_script() {
        assert!(check("SELECT * FROM t WHERE a = ${x} AND b = '${y}'", Postgres).is_ok());
        assert!(check("SELECT * FROM ${raw:t} WHERE a = ${x}", Mysql).is_ok());
        let e = check("SELECT '${x}%'", Sqlite).unwrap_err();
        assert_eq!(e.at(), 8);
        assert!(e.to_string().starts_with("${x} is inside"), "{e}");
        assert!(check_every_kind("SELECT ${a}, '${b}' FROM ${raw:t}").is_ok());
        let r = check_every_kind("SELECT '${x}%'").unwrap_err();
        assert!(
            r.only.is_empty() && r.to_string().starts_with("${x} is inside"),
            "{r}"
        );
        // A name in PostgreSQL and SQLite, a string in MySQL.
        let r = check_every_kind("SELECT \"${x}\"").unwrap_err();
        assert_eq!(r.only, vec![Postgres, Sqlite]);
        assert!(r.to_string().ends_with(" (in PostgreSQL, SQLite)"), "{r}");
    }
}
