//! Values as data, not code: a command or script gets a step's values as variables of
//! its own language instead of as text spliced into its code.
//!
//! Each distinct `${path}` of a template becomes an environment variable
//! `LWAMS_V_<n>` (numbered from 1 in order of first use) that travels outside the code —
//! in the environment of a process LWAMS starts itself, or through the standard input
//! of the launcher that runs it on a terminal (`agent::executors::script`) — and the
//! placeholder in the text is rewritten to that language's reference to the variable,
//! knowing whether it sits inside quotes:
//!
//! | language   | outside quotes                     | inside `"…"`        | inside `'…'`            |
//! |------------|------------------------------------|---------------------|-------------------------|
//! | sh, bash   | `"$LWAMS_V_1"`                     | `${LWAMS_V_1}`      | `'"$LWAMS_V_1"'`        |
//! | cmd, bat   | `!LWAMS_V_1!` (delayed expansion)  | `!LWAMS_V_1!`       | (not a quote in cmd)    |
//! | PowerShell | `${env:LWAMS_V_1}`                 | `${env:LWAMS_V_1}`  | refused                 |
//! | Python     | `__import__("os").environ["LWAMS_V_1"]` | refused        | refused                 |
//! | Java       | `System.getenv("LWAMS_V_1")`       | refused             | refused (char literal)  |
//! | VBScript   | `CreateObject("WScript.Shell").Environment("PROCESS")("LWAMS_V_1")` | `" & … & "` | (a comment) |
//!
//! A value is never parsed by the language: the shell expands a variable once and never
//! reads the result as code; cmd's delayed expansion (`!NAME!`, the command run with
//! `cmd /V:ON`, a batch file with `setlocal EnableDelayedExpansion` put first) happens
//! after the line was parsed — unlike `%NAME%`, which is expanded before parsing and so
//! is never used. Where cmd would parse an expanded value again (either side of a pipe,
//! `CALL`, a `FOR` set) the placeholder is refused, and so is a `!` of the text that
//! delayed expansion would eat. `${raw:…}` still splices the value as text (the
//! documented opt-out); `$${` is a literal `${`. A value holding NUL cannot reach a
//! process and is refused.

use super::{pieces, Piece, VarError};
use crate::dto::script::ScriptKind;

/// The environment variables carrying values are named this, then their number.
pub const ENV_PREFIX: &str = "LWAMS_V_";

/// The name of the variable carrying value `i` (0-based): `LWAMS_V_<i+1>`.
pub fn env_name(i: usize) -> String {
    format!("{ENV_PREFIX}{}", i + 1)
}

/// A language a command or script is written in, as far as placing values goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// POSIX `sh` (inline commands on Linux/Unix machines and terminals).
    Sh,
    Bash,
    /// A `cmd.exe` command line (inline commands on Windows machines and terminals).
    Cmd,
    /// A batch file run by `cmd.exe`.
    Bat,
    Powershell,
    Python,
    Java,
    Vbs,
}

impl Lang {
    pub const ALL: [Lang; 8] = [
        Lang::Sh,
        Lang::Bash,
        Lang::Cmd,
        Lang::Bat,
        Lang::Powershell,
        Lang::Python,
        Lang::Java,
        Lang::Vbs,
    ];

    /// The language of a library script (`None`: SQL, whose values are bind parameters).
    pub fn of_script(kind: ScriptKind) -> Option<Lang> {
        Some(match kind {
            ScriptKind::Sql => return None,
            ScriptKind::Sh => Lang::Sh,
            ScriptKind::Bash => Lang::Bash,
            ScriptKind::Bat => Lang::Bat,
            ScriptKind::Powershell => Lang::Powershell,
            ScriptKind::Vbs => Lang::Vbs,
            ScriptKind::Java => Lang::Java,
            ScriptKind::Python => Lang::Python,
        })
    }

    /// The language an inline command is written in on a machine: `cmd` on Windows,
    /// `sh` elsewhere.
    pub fn command_on(windows: bool) -> Lang {
        if windows {
            Lang::Cmd
        } else {
            Lang::Sh
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Lang::Sh => "sh",
            Lang::Bash => "bash",
            Lang::Cmd => "cmd",
            Lang::Bat => "batch",
            Lang::Powershell => "PowerShell",
            Lang::Python => "Python",
            Lang::Java => "Java",
            Lang::Vbs => "VBScript",
        }
    }

    /// The longest value one environment variable carries: Windows limits a variable to
    /// 32,767 UTF-16 units, Linux one `NAME=value` string to 128 KiB.
    fn max_value(self) -> (usize, &'static str) {
        match self {
            Lang::Cmd | Lang::Bat | Lang::Vbs => (32_000, "UTF-16 units (Windows)"),
            _ => (128 * 1024 - 32, "bytes"),
        }
    }

    fn units(self, v: &str) -> usize {
        match self {
            Lang::Cmd | Lang::Bat | Lang::Vbs => v.encode_utf16().count(),
            _ => v.len(),
        }
    }
}

/// Where a placeholder sits in the text of its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spot {
    /// Outside quotes: code.
    Code,
    /// Inside a comment (the reference is put there; it does nothing).
    Comment,
    /// Inside `"…"` where the language expands variables (sh, PowerShell, cmd).
    Double,
    /// Inside `'…'` where nothing is expanded (sh, PowerShell).
    Single,
    /// Inside bash's `$'…'`.
    AnsiC,
    /// Inside a here-document; `expands`: its delimiter is unquoted.
    Heredoc { expands: bool },
    /// Inside a string (or character) literal of Python, Java or VBScript.
    Literal,
    /// Right after the escape character (`\` in sh, `` ` `` in PowerShell).
    Escaped,
}

impl Spot {
    /// Written inside quotes (what the designer warns about: not needed).
    pub fn quoted(self) -> bool {
        matches!(
            self,
            Spot::Double | Spot::Single | Spot::AnsiC | Spot::Literal
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error(transparent)]
    Var(#[from] VarError),
    #[error("${{{0}}} holds a NUL character, which cannot be passed to a process")]
    Nul(String),
    #[error("${{{path}}} is {len} {unit} long; a value passed to a process holds at most {max}")]
    TooLong {
        path: String,
        len: usize,
        max: usize,
        unit: &'static str,
    },
    #[error("{lang}: ${{{path}}} on line {line} {why}")]
    Refused {
        lang: &'static str,
        path: String,
        line: usize,
        why: String,
    },
    #[error("{lang}: line {line}: {why}")]
    Text {
        lang: &'static str,
        line: usize,
        why: String,
    },
}

/// A template bound for its language: the code, and the values it reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bound {
    /// The code: every placeholder replaced by its variable reference (`${raw:…}`
    /// spliced as text).
    pub text: String,
    /// The values in order: [`env_name`]`(i)` carries `values[i]`.
    pub values: Vec<String>,
    /// The placeholder path each value came from.
    pub paths: Vec<String>,
}

impl Bound {
    /// The values as environment variables (`LWAMS_V_1=…`).
    pub fn env(&self) -> Vec<(String, String)> {
        env_of(&self.values)
    }
}

/// `values` as environment variables: `LWAMS_V_1`, `LWAMS_V_2`, …
pub fn env_of(values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (env_name(i), v.clone()))
        .collect()
}

/// A character of the code, or a placeholder (its index among the uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    C(char),
    V(usize),
}

/// A placeholder that is not raw, in order of appearance.
#[derive(Debug, Clone)]
struct Use<'a> {
    path: &'a str,
    at: usize,
}

/// The template as characters and placeholders: `raw` gives the text of a `${raw:…}`.
fn flatten<'a>(
    template: &'a str,
    mut raw: impl FnMut(&'a str) -> Result<String, BindError>,
) -> Result<(Vec<Tok>, Vec<Use<'a>>), BindError> {
    let mut toks = Vec::with_capacity(template.len());
    let mut uses = Vec::new();
    for piece in pieces(template) {
        match piece? {
            Piece::Text(t) => toks.extend(t.chars().map(Tok::C)),
            Piece::Var {
                path, raw: true, ..
            } => toks.extend(raw(path)?.chars().map(Tok::C)),
            Piece::Var { path, at, .. } => {
                toks.push(Tok::V(uses.len()));
                uses.push(Use { path, at });
            }
        }
    }
    Ok((toks, uses))
}

/// What the scanner of a language found for each placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    spot: Spot,
    /// Why it cannot be placed here (cmd's rules).
    refused: Option<String>,
}

fn line_of(template: &str, at: usize) -> usize {
    template.as_bytes()[..at.min(template.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Binds `template` for `lang`: each distinct placeholder becomes a variable whose value
/// `lookup` gives; refused where the language cannot take the value as data.
pub fn bind(
    template: &str,
    lang: Lang,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Bound, BindError> {
    let value_of = |path: &str| -> Result<String, BindError> {
        let v = lookup(path).ok_or_else(|| VarError::Unknown(path.to_string()))?;
        if v.contains('\0') {
            return Err(BindError::Nul(path.to_string()));
        }
        Ok(v)
    };
    let (toks, uses) = flatten(template, &value_of)?;
    let found = scan(&toks, uses.len(), lang);
    if let Some((line, why)) = text_refusal(&toks, lang, template, &uses) {
        return Err(BindError::Text {
            lang: lang.label(),
            line,
            why,
        });
    }
    let mut bound = Bound::default();
    let mut slot_of = Vec::with_capacity(uses.len());
    for (u, f) in uses.iter().zip(&found) {
        let refuse = |why: String| BindError::Refused {
            lang: lang.label(),
            path: u.path.to_string(),
            line: line_of(template, u.at),
            why,
        };
        if let Some(why) = &f.refused {
            return Err(refuse(why.clone()));
        }
        let slot = match bound.paths.iter().position(|p| p == u.path) {
            Some(s) => s,
            None => {
                let v = value_of(u.path)?;
                let (max, unit) = lang.max_value();
                let len = lang.units(&v);
                if len > max {
                    return Err(BindError::TooLong {
                        path: u.path.to_string(),
                        len,
                        max,
                        unit,
                    });
                }
                bound.paths.push(u.path.to_string());
                bound.values.push(v);
                bound.paths.len() - 1
            }
        };
        reference(lang, slot, f.spot).map_err(refuse)?;
        slot_of.push(slot);
    }
    let mut text = String::with_capacity(toks.len() + 16 * uses.len());
    if lang == Lang::Bat && !uses.is_empty() {
        // Delayed expansion for the whole file (the values are read as !LWAMS_V_n!).
        text.push_str("@setlocal EnableDelayedExpansion\n");
    }
    for t in &toks {
        match *t {
            Tok::C(c) => text.push(c),
            Tok::V(k) => {
                // Checked above: every placeholder has a reference.
                if let Ok(r) = reference(lang, slot_of[k], found[k].spot) {
                    text.push_str(&r);
                }
            }
        }
    }
    bound.text = text;
    Ok(bound)
}

/// The placeholders (not raw) of `template` written inside quotes or a string literal of
/// `lang`, with their byte offsets: values arrive as data, so the quotes are not needed
/// (and in some languages the placeholder is refused there).
pub fn quoted(template: &str, lang: Lang) -> Vec<(String, usize)> {
    let Ok((toks, uses)) = flatten(template, |_| Ok(String::new())) else {
        return Vec::new();
    };
    let found = scan(&toks, uses.len(), lang);
    uses.iter()
        .zip(found)
        .filter(|(_, f)| f.spot.quoted())
        .map(|(u, _)| (u.path.to_string(), u.at))
        .collect()
}

/// The reference to variable `slot` at `spot` in `lang`, or why there is none.
fn reference(lang: Lang, slot: usize, spot: Spot) -> Result<String, String> {
    let name = env_name(slot);
    match lang {
        Lang::Sh | Lang::Bash => match spot {
            Spot::Code | Spot::Comment => Ok(format!("\"${name}\"")),
            Spot::Double | Spot::Heredoc { expands: true } => Ok(format!("${{{name}}}")),
            Spot::Single => Ok(format!("'\"${name}\"'")),
            Spot::AnsiC => Ok(format!("'\"${name}\"$'")),
            Spot::Heredoc { expands: false } => Err(
                "is inside a quoted here-document (<<'END'), where the shell expands nothing: \
                 leave the delimiter unquoted"
                    .into(),
            ),
            Spot::Escaped => Err(
                "follows a backslash, which would escape the value's reference: remove the \
                 backslash (write $${ for a literal ${)"
                    .into(),
            ),
            Spot::Literal => Err("is inside a literal".into()),
        },
        Lang::Cmd | Lang::Bat => Ok(format!("!{name}!")),
        Lang::Powershell => match spot {
            Spot::Code | Spot::Comment | Spot::Double => Ok(format!("${{env:{name}}}")),
            Spot::Single | Spot::Literal => Err(
                "is inside '…', where PowerShell expands nothing: write it inside \"…\" or \
                 without quotes (the value arrives as data)"
                    .into(),
            ),
            Spot::Escaped => Err(
                "follows a backtick, which would make the reference literal text: remove it".into(),
            ),
            Spot::AnsiC | Spot::Heredoc { .. } => Err("is inside a literal".into()),
        },
        Lang::Python => match spot {
            Spot::Code | Spot::Comment => Ok(format!("__import__(\"os\").environ[\"{name}\"]")),
            _ => Err(
                "is inside a string literal: write it outside the quotes, as an expression \
                 (\"hello \" + ${…}) — the value arrives as a str"
                    .into(),
            ),
        },
        Lang::Java => match spot {
            Spot::Code | Spot::Comment => Ok(format!("System.getenv(\"{name}\")")),
            _ => Err(
                "is inside a string or character literal: write it outside the quotes, as an \
                 expression (\"hello \" + ${…}) — the value arrives as a String"
                    .into(),
            ),
        },
        Lang::Vbs => {
            let get =
                format!("CreateObject(\"WScript.Shell\").Environment(\"PROCESS\")(\"{name}\")");
            match spot {
                Spot::Literal => Ok(format!("\" & {get} & \"")),
                _ => Ok(get),
            }
        }
    }
}

fn scan(toks: &[Tok], uses: usize, lang: Lang) -> Vec<Found> {
    let spots = |s: Vec<Spot>| {
        s.into_iter()
            .map(|spot| Found {
                spot,
                refused: None,
            })
            .collect()
    };
    match lang {
        Lang::Sh | Lang::Bash => spots(scan_sh(toks, uses)),
        Lang::Powershell => spots(scan_powershell(toks, uses)),
        Lang::Python => spots(scan_python(toks, uses)),
        Lang::Java => spots(scan_java(toks, uses)),
        Lang::Vbs => spots(scan_vbs(toks, uses)),
        Lang::Cmd | Lang::Bat => scan_cmd(toks, uses),
    }
}

fn ch(toks: &[Tok], i: usize) -> Option<char> {
    match toks.get(i) {
        Some(Tok::C(c)) => Some(*c),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// sh / bash

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sh {
    /// Code at the top level.
    Top,
    /// Code inside `$(…)`, with the depth of parentheses opened in it.
    Subst(u32),
    /// Code inside `` `…` ``.
    Backq,
    /// Inside `${…}` (a parameter expansion of the script's own).
    Brace {
        in_double: bool,
    },
    Double,
    Single,
    AnsiC,
}

#[derive(Debug, Clone)]
struct HereDoc {
    delim: String,
    quoted: bool,
    strip_tabs: bool,
}

fn scan_sh(toks: &[Tok], uses: usize) -> Vec<Spot> {
    let mut spots = vec![Spot::Code; uses];
    let mut stack = vec![Sh::Top];
    let mut escaped = false;
    let mut comment = false;
    let mut word_start = true;
    let mut pending: Vec<HereDoc> = Vec::new();
    // The here-document being read: its delimiter, the current line, whether the line
    // holds a placeholder.
    let mut here: Option<(HereDoc, String, bool)> = None;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        i += 1;
        if let Some((doc, line, has_var)) = here.as_mut() {
            match t {
                Tok::V(k) => {
                    spots[k] = Spot::Heredoc {
                        expands: !doc.quoted,
                    };
                    *has_var = true;
                }
                Tok::C('\n') => {
                    let l = if doc.strip_tabs {
                        line.trim_start_matches('\t')
                    } else {
                        line.as_str()
                    };
                    let l = l.strip_suffix('\r').unwrap_or(l);
                    let ends = !*has_var && l == doc.delim;
                    line.clear();
                    *has_var = false;
                    if ends {
                        here = (!pending.is_empty())
                            .then(|| (pending.remove(0), String::new(), false));
                    }
                }
                Tok::C(c) => line.push(c),
            }
            continue;
        }
        if comment {
            match t {
                Tok::V(k) => spots[k] = Spot::Comment,
                Tok::C('\n') => {
                    comment = false;
                    word_start = true;
                    if !pending.is_empty() {
                        here = Some((pending.remove(0), String::new(), false));
                    }
                }
                Tok::C(_) => {}
            }
            continue;
        }
        let top = stack.last().copied().unwrap_or(Sh::Top);
        let c = match t {
            Tok::V(k) => {
                spots[k] = if escaped {
                    Spot::Escaped
                } else {
                    match top {
                        Sh::Single => Spot::Single,
                        Sh::AnsiC => Spot::AnsiC,
                        Sh::Double | Sh::Brace { in_double: true } => Spot::Double,
                        _ => Spot::Code,
                    }
                };
                escaped = false;
                word_start = false;
                continue;
            }
            Tok::C(c) => c,
        };
        if escaped {
            escaped = false;
            word_start = false;
            continue;
        }
        let next = ch(toks, i);
        match top {
            Sh::Single => {
                if c == '\'' {
                    stack.pop();
                }
            }
            Sh::AnsiC => match c {
                '\\' => escaped = true,
                '\'' => {
                    stack.pop();
                }
                _ => {}
            },
            Sh::Double => match c {
                '\\' => escaped = true,
                '"' => {
                    stack.pop();
                }
                '`' => stack.push(Sh::Backq),
                '$' if next == Some('(') => {
                    stack.push(Sh::Subst(0));
                    i += 1;
                }
                '$' if next == Some('{') => {
                    stack.push(Sh::Brace { in_double: true });
                    i += 1;
                }
                _ => {}
            },
            Sh::Brace { in_double } => match c {
                '}' => {
                    stack.pop();
                }
                '\\' => escaped = true,
                '"' => stack.push(Sh::Double),
                '\'' if !in_double => stack.push(Sh::Single),
                '`' => stack.push(Sh::Backq),
                '$' if next == Some('(') => {
                    stack.push(Sh::Subst(0));
                    i += 1;
                }
                '$' if next == Some('{') => {
                    stack.push(Sh::Brace { in_double });
                    i += 1;
                }
                _ => {}
            },
            Sh::Top | Sh::Subst(_) | Sh::Backq => match c {
                '\\' => escaped = true,
                '\'' => stack.push(Sh::Single),
                '"' => stack.push(Sh::Double),
                '`' => {
                    if top == Sh::Backq {
                        stack.pop();
                    } else {
                        stack.push(Sh::Backq);
                    }
                }
                '$' if next == Some('\'') => {
                    stack.push(Sh::AnsiC);
                    i += 1;
                }
                '$' if next == Some('(') => {
                    stack.push(Sh::Subst(0));
                    i += 1;
                }
                '$' if next == Some('{') => {
                    stack.push(Sh::Brace { in_double: false });
                    i += 1;
                }
                '(' => {
                    if let Some(Sh::Subst(d)) = stack.last_mut() {
                        *d += 1;
                    }
                }
                ')' => {
                    if let Some(Sh::Subst(d)) = stack.last_mut() {
                        if *d == 0 {
                            stack.pop();
                        } else {
                            *d -= 1;
                        }
                    }
                }
                '#' if word_start => comment = true,
                '<' if next == Some('<') => {
                    if ch(toks, i + 1) == Some('<') {
                        // A here-string (`<<<`).
                        i += 2;
                    } else {
                        i += 1;
                        let strip_tabs = ch(toks, i) == Some('-');
                        if strip_tabs {
                            i += 1;
                        }
                        while matches!(ch(toks, i), Some(' ' | '\t')) {
                            i += 1;
                        }
                        let mut delim = String::new();
                        let mut quoted = false;
                        while let Some(d) = ch(toks, i) {
                            if d.is_whitespace() || ";|&<>()".contains(d) {
                                break;
                            }
                            if matches!(d, '\'' | '"' | '\\') {
                                quoted = true;
                            } else {
                                delim.push(d);
                            }
                            i += 1;
                        }
                        if !delim.is_empty() {
                            pending.push(HereDoc {
                                delim,
                                quoted,
                                strip_tabs,
                            });
                        }
                    }
                }
                '\n' if !pending.is_empty() => {
                    here = Some((pending.remove(0), String::new(), false));
                }
                _ => {}
            },
        }
        word_start = c.is_whitespace() || ";&|()<>".contains(c);
    }
    spots
}

// ---------------------------------------------------------------------------------
// Python

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Py {
    Code,
    /// Inside `{…}` of an f-string, with the depth of brackets opened in it.
    FExpr(u32),
    Str {
        q: char,
        triple: bool,
        f: bool,
    },
}

fn scan_python(toks: &[Tok], uses: usize) -> Vec<Spot> {
    let mut spots = vec![Spot::Code; uses];
    let mut stack = vec![Py::Code];
    let mut comment = false;
    let mut escaped = false;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        i += 1;
        if comment {
            match t {
                Tok::V(k) => spots[k] = Spot::Comment,
                Tok::C('\n') => comment = false,
                Tok::C(_) => {}
            }
            continue;
        }
        let top = stack.last().copied().unwrap_or(Py::Code);
        let c = match t {
            Tok::V(k) => {
                spots[k] = if stack.len() > 1 {
                    Spot::Literal
                } else {
                    Spot::Code
                };
                escaped = false;
                continue;
            }
            Tok::C(c) => c,
        };
        match top {
            Py::Str { q, triple, f } => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    if !triple {
                        stack.pop();
                    } else if ch(toks, i) == Some(q) && ch(toks, i + 1) == Some(q) {
                        i += 2;
                        stack.pop();
                    }
                } else if c == '\n' && !triple {
                    stack.pop();
                } else if f && c == '{' {
                    if ch(toks, i) == Some('{') {
                        i += 1;
                    } else {
                        stack.push(Py::FExpr(0));
                    }
                } else if f && c == '}' && ch(toks, i) == Some('}') {
                    i += 1;
                }
            }
            Py::Code | Py::FExpr(_) => match c {
                '#' => comment = true,
                '\'' | '"' => {
                    let prefix = string_prefix(toks, i - 1);
                    let triple = ch(toks, i) == Some(c) && ch(toks, i + 1) == Some(c);
                    if triple {
                        i += 2;
                    }
                    stack.push(Py::Str {
                        q: c,
                        triple,
                        f: prefix.contains(['f', 'F']),
                    });
                }
                '{' | '(' | '[' => {
                    if let Some(Py::FExpr(d)) = stack.last_mut() {
                        *d += 1;
                    }
                }
                '}' | ')' | ']' => {
                    if let Some(Py::FExpr(d)) = stack.last_mut() {
                        if *d == 0 {
                            stack.pop();
                        } else {
                            *d -= 1;
                        }
                    }
                }
                _ => {}
            },
        }
    }
    spots
}

/// The letters of a Python string prefix (`rb`, `f`, …) right before the quote at `q`.
fn string_prefix(toks: &[Tok], q: usize) -> String {
    let mut start = q;
    while start > 0 && q - start < 2 {
        match toks[start - 1] {
            Tok::C(c) if "rRbBuUfF".contains(c) => start -= 1,
            _ => break,
        }
    }
    let before_is_ident =
        start > 0 && matches!(toks[start - 1], Tok::C(c) if c.is_alphanumeric() || c == '_');
    if before_is_ident {
        return String::new();
    }
    toks[start..q]
        .iter()
        .filter_map(|t| match t {
            Tok::C(c) => Some(*c),
            Tok::V(_) => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Java

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Jv {
    Code,
    LineComment,
    BlockComment,
    Str,
    Chr,
    Text,
}

fn scan_java(toks: &[Tok], uses: usize) -> Vec<Spot> {
    let mut spots = vec![Spot::Code; uses];
    let mut state = Jv::Code;
    let mut escaped = false;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        i += 1;
        let c = match t {
            Tok::V(k) => {
                spots[k] = match state {
                    Jv::Code => Spot::Code,
                    Jv::LineComment | Jv::BlockComment => Spot::Comment,
                    Jv::Str | Jv::Chr | Jv::Text => Spot::Literal,
                };
                escaped = false;
                continue;
            }
            Tok::C(c) => c,
        };
        let next = ch(toks, i);
        match state {
            Jv::Code => match c {
                '/' if next == Some('/') => {
                    state = Jv::LineComment;
                    i += 1;
                }
                '/' if next == Some('*') => {
                    state = Jv::BlockComment;
                    i += 1;
                }
                '"' if next == Some('"') && ch(toks, i + 1) == Some('"') => {
                    state = Jv::Text;
                    i += 2;
                }
                '"' => state = Jv::Str,
                '\'' => state = Jv::Chr,
                _ => {}
            },
            Jv::LineComment => {
                if c == '\n' {
                    state = Jv::Code;
                }
            }
            Jv::BlockComment => {
                if c == '*' && next == Some('/') {
                    state = Jv::Code;
                    i += 1;
                }
            }
            Jv::Str | Jv::Chr | Jv::Text => {
                let close = match state {
                    Jv::Chr => '\'',
                    _ => '"',
                };
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == close {
                    if state != Jv::Text {
                        state = Jv::Code;
                    } else if next == Some('"') && ch(toks, i + 1) == Some('"') {
                        state = Jv::Code;
                        i += 2;
                    }
                } else if c == '\n' && state != Jv::Text {
                    state = Jv::Code;
                }
            }
        }
    }
    spots
}

// ---------------------------------------------------------------------------------
// PowerShell

fn ps_single(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

fn ps_double(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ps {
    /// Code; `sub`: inside `$(…)` with the depth of parentheses opened in it.
    Code {
        sub: bool,
        depth: u32,
    },
    Double,
    Single,
    HereDouble,
    HereSingle,
    BlockComment,
}

fn scan_powershell(toks: &[Tok], uses: usize) -> Vec<Spot> {
    let mut spots = vec![Spot::Code; uses];
    let mut stack = vec![Ps::Code {
        sub: false,
        depth: 0,
    }];
    let mut escaped = false;
    let mut comment = false;
    let mut word_start = true;
    let mut line_start = true;
    let mut i = 0;
    // After `@'` / `@"`: a here-string starts with the line break that follows.
    let here_opens = |toks: &[Tok], i: usize| -> bool {
        let mut j = i;
        while matches!(ch(toks, j), Some(' ' | '\t')) {
            j += 1;
        }
        matches!(ch(toks, j), Some('\n' | '\r'))
    };
    while i < toks.len() {
        let t = toks[i];
        i += 1;
        if comment {
            match t {
                Tok::V(k) => spots[k] = Spot::Comment,
                Tok::C('\n') => {
                    comment = false;
                    word_start = true;
                    line_start = true;
                }
                Tok::C(_) => {}
            }
            continue;
        }
        let top = stack.last().copied().unwrap_or(Ps::Code {
            sub: false,
            depth: 0,
        });
        let c = match t {
            Tok::V(k) => {
                spots[k] = if escaped {
                    Spot::Escaped
                } else {
                    match top {
                        Ps::Code { .. } => Spot::Code,
                        Ps::Double | Ps::HereDouble => Spot::Double,
                        Ps::Single | Ps::HereSingle => Spot::Single,
                        Ps::BlockComment => Spot::Comment,
                    }
                };
                escaped = false;
                word_start = false;
                line_start = false;
                continue;
            }
            Tok::C(c) => c,
        };
        let at_line_start = line_start;
        line_start = c == '\n';
        if escaped {
            escaped = false;
            word_start = false;
            continue;
        }
        let next = ch(toks, i);
        match top {
            Ps::Code { sub, depth } => match c {
                '`' => escaped = true,
                '#' if word_start => comment = true,
                '<' if next == Some('#') => {
                    stack.push(Ps::BlockComment);
                    i += 1;
                }
                '@' if next.is_some_and(ps_single) && here_opens(toks, i + 1) => {
                    stack.push(Ps::HereSingle);
                    i += 1;
                }
                '@' if next.is_some_and(ps_double) && here_opens(toks, i + 1) => {
                    stack.push(Ps::HereDouble);
                    i += 1;
                }
                c if ps_single(c) => stack.push(Ps::Single),
                c if ps_double(c) => stack.push(Ps::Double),
                '$' if next == Some('(') => {
                    stack.push(Ps::Code {
                        sub: true,
                        depth: 0,
                    });
                    i += 1;
                }
                '(' if sub => {
                    if let Some(Ps::Code { depth, .. }) = stack.last_mut() {
                        *depth += 1;
                    }
                }
                ')' if sub => {
                    if depth == 0 {
                        stack.pop();
                    } else if let Some(Ps::Code { depth, .. }) = stack.last_mut() {
                        *depth -= 1;
                    }
                }
                _ => {}
            },
            Ps::Double => match c {
                '`' => escaped = true,
                c if ps_double(c) => {
                    if next.is_some_and(ps_double) {
                        i += 1;
                    } else {
                        stack.pop();
                    }
                }
                '$' if next == Some('(') => {
                    stack.push(Ps::Code {
                        sub: true,
                        depth: 0,
                    });
                    i += 1;
                }
                _ => {}
            },
            Ps::Single => {
                if ps_single(c) {
                    if next.is_some_and(ps_single) {
                        i += 1;
                    } else {
                        stack.pop();
                    }
                }
            }
            Ps::HereDouble => {
                if at_line_start && ps_double(c) && next == Some('@') {
                    stack.pop();
                    i += 1;
                } else if c == '`' {
                    escaped = true;
                }
            }
            Ps::HereSingle => {
                if at_line_start && ps_single(c) && next == Some('@') {
                    stack.pop();
                    i += 1;
                }
            }
            Ps::BlockComment => {
                if c == '#' && next == Some('>') {
                    stack.pop();
                    i += 1;
                }
            }
        }
        word_start = c.is_whitespace() || ";|&(){}".contains(c);
    }
    spots
}

// ---------------------------------------------------------------------------------
// VBScript

fn scan_vbs(toks: &[Tok], uses: usize) -> Vec<Spot> {
    let mut spots = vec![Spot::Code; uses];
    let mut in_str = false;
    let mut comment = false;
    // The statement's characters so far (to recognise `Rem`).
    let mut statement = String::new();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        i += 1;
        let c = match t {
            Tok::V(k) => {
                spots[k] = if comment {
                    Spot::Comment
                } else if in_str {
                    Spot::Literal
                } else {
                    Spot::Code
                };
                statement.push('x');
                continue;
            }
            Tok::C(c) => c,
        };
        if c == '\n' {
            comment = false;
            in_str = false;
            statement.clear();
            continue;
        }
        if comment {
            continue;
        }
        if in_str {
            if c == '"' {
                if ch(toks, i) == Some('"') {
                    i += 1;
                } else {
                    in_str = false;
                }
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '\'' => comment = true,
            ':' => statement.clear(),
            c if c.is_whitespace() => {
                if statement.trim().eq_ignore_ascii_case("rem") {
                    comment = true;
                }
                statement.push(c);
            }
            c => statement.push(c),
        }
    }
    spots
}

// ---------------------------------------------------------------------------------
// cmd and batch files

/// What kind of command a placeholder is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmdKind {
    Other,
    Call,
    /// A FOR command, before its `DO`.
    ForSet,
}

fn scan_cmd(toks: &[Tok], uses: usize) -> Vec<Found> {
    #[derive(Clone, Copy)]
    struct At {
        block: usize,
        kind: CmdKind,
        quoted: bool,
        next_to_percent: bool,
    }
    let mut at = vec![
        At {
            block: 0,
            kind: CmdKind::Other,
            quoted: false,
            next_to_percent: false,
        };
        uses
    ];
    // Per block (a line, or lines joined by `^` or an open parenthesis): has a pipe.
    let mut piped = vec![false];
    let mut block = 0;
    let mut depth = 0u32;
    let mut quoted = false;
    let mut caret = false;
    let mut continued = false;
    let mut kind = CmdKind::Other;
    // The first word of the current command and the word being read.
    let mut first_word: Option<String> = None;
    let mut word = String::new();
    let mut at_command_start = true;
    let end_word = |word: &mut String,
                    first_word: &mut Option<String>,
                    kind: &mut CmdKind,
                    at_command_start: &mut bool| {
        if word.is_empty() {
            return;
        }
        let w = word.trim_start_matches('@').to_ascii_lowercase();
        if first_word.is_none() {
            *kind = match w.as_str() {
                "call" => CmdKind::Call,
                "for" => CmdKind::ForSet,
                _ => CmdKind::Other,
            };
            *first_word = Some(w);
        } else if *kind == CmdKind::ForSet && w == "do" {
            // The command after DO is a command of its own.
            *kind = CmdKind::Other;
            *first_word = None;
            *at_command_start = true;
        }
        word.clear();
    };
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        i += 1;
        let c = match t {
            Tok::V(k) => {
                let prev = if i >= 2 { ch(toks, i - 2) } else { None };
                at[k] = At {
                    block,
                    kind,
                    quoted,
                    next_to_percent: prev == Some('%') || ch(toks, i) == Some('%'),
                };
                word.push('x');
                at_command_start = false;
                continue;
            }
            Tok::C(c) => c,
        };
        if c == '\n' {
            end_word(&mut word, &mut first_word, &mut kind, &mut at_command_start);
            quoted = false;
            if caret {
                // `^` at the end of a line continues the command.
                caret = false;
                continued = true;
                continue;
            }
            if depth == 0 && !continued {
                block += 1;
                piped.push(false);
            }
            continued = false;
            first_word = None;
            kind = CmdKind::Other;
            at_command_start = true;
            continue;
        }
        if c == '\r' {
            continue;
        }
        continued = false;
        if caret {
            caret = false;
            word.push(c);
            continue;
        }
        if quoted {
            if c == '"' {
                quoted = false;
            }
            word.push(c);
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                word.push(c);
            }
            '^' => caret = true,
            '|' | '&' | '(' | ')' => {
                end_word(&mut word, &mut first_word, &mut kind, &mut at_command_start);
                let doubled = ch(toks, i) == Some(c);
                if c == '|' && !doubled {
                    piped[block] = true;
                }
                if doubled {
                    i += 1;
                }
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                // A new command starts after an operator or an open parenthesis (not
                // inside a FOR's set, which is one command with its DO).
                if c != ')' && !(c == '(' && kind == CmdKind::ForSet) {
                    first_word = None;
                    kind = CmdKind::Other;
                    at_command_start = true;
                }
            }
            c if c.is_whitespace() || c == ',' || c == ';' || c == '=' => {
                end_word(&mut word, &mut first_word, &mut kind, &mut at_command_start);
            }
            c => {
                if at_command_start && c == '@' {
                    continue;
                }
                at_command_start = false;
                word.push(c);
            }
        }
    }
    at.iter()
        .map(|a| {
            let refused = if piped[a.block] {
                Some(
                    "is in a command with a pipe (|): cmd runs each side of a pipe in a new \
                     cmd.exe that would parse the value again as code — save it in a \
                     variable first (set \"v=…\") on a line of its own"
                        .to_string(),
                )
            } else if a.kind == CmdKind::Call {
                Some("is in a CALL command, which expands %…% again inside the value".to_string())
            } else if a.kind == CmdKind::ForSet {
                Some(
                    "is in a FOR command before its DO: FOR /F runs its command in a new \
                     cmd.exe that would parse the value again as code"
                        .to_string(),
                )
            } else if a.next_to_percent {
                Some("is written next to %: cmd would read a variable's name, not the value".into())
            } else {
                None
            };
            Found {
                spot: if a.quoted { Spot::Double } else { Spot::Code },
                refused,
            }
        })
        .collect()
}

/// What refuses a text as a whole: in cmd, delayed expansion (needed for the values)
/// eats every `!` that is not part of a `!NAME!` reference.
fn text_refusal(
    toks: &[Tok],
    lang: Lang,
    template: &str,
    uses: &[Use<'_>],
) -> Option<(usize, String)> {
    if !matches!(lang, Lang::Cmd | Lang::Bat) || uses.is_empty() {
        return None;
    }
    let mut line = 1;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        i += 1;
        match t {
            Tok::V(k) => line = line_of(template, uses[k].at),
            Tok::C('\n') => line += 1,
            Tok::C('!') => {
                if i >= 2 && ch(toks, i - 2) == Some('^') {
                    continue;
                }
                // A `!NAME!` (or `!NAME:~1,2!`) of the script's own is fine.
                let mut j = i;
                let mut name = String::new();
                while let Some(c) = ch(toks, j) {
                    if c == '!' || c == '\n' || c == '%' || c == '"' {
                        break;
                    }
                    name.push(c);
                    j += 1;
                }
                let plausible = !name.is_empty()
                    && !name.starts_with([' ', '\t', ':', '='])
                    && name
                        .split(':')
                        .next()
                        .is_some_and(|n| !n.is_empty() && !n.contains(char::is_whitespace));
                if ch(toks, j) == Some('!') && plausible {
                    i = j + 1;
                    continue;
                }
                return Some((
                    line,
                    "with values the command runs with delayed expansion (they arrive as \
                     !LWAMS_V_n!), which would eat this `!`: write ^^! outside quotes or ^! \
                     inside them"
                        .into(),
                ));
            }
            Tok::C(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
