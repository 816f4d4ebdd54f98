//! The script library (Resource › Scripts, SPEC §3): named script templates that
//! command and SQL steps pick by name instead of carrying code in every flow. A body
//! holds `${…}` placeholders; each value is quoted as a literal of the script's own
//! language (`${raw:…}` inserts it as written) — except in SQL scripts, whose values
//! SQL steps bind as parameters (`crate::sql`).

use super::Id;
use super::Millis;
use crate::vars::{sh_quote, sql_quote};
use serde::{Deserialize, Serialize};

/// The languages a script can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScriptKind {
    /// Run by SQL steps against a data source.
    Sql,
    /// POSIX `sh`.
    Sh,
    Bash,
    /// Windows batch (`cmd`).
    Bat,
    Powershell,
    /// VBScript, run by `cscript`.
    Vbs,
    /// A single-file Java program (`java File.java`, Java 11 or later).
    Java,
    Python,
}

impl ScriptKind {
    pub const ALL: [ScriptKind; 8] = [
        ScriptKind::Sh,
        ScriptKind::Bash,
        ScriptKind::Python,
        ScriptKind::Powershell,
        ScriptKind::Bat,
        ScriptKind::Vbs,
        ScriptKind::Java,
        ScriptKind::Sql,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScriptKind::Sql => "sql",
            ScriptKind::Sh => "sh",
            ScriptKind::Bash => "bash",
            ScriptKind::Bat => "bat",
            ScriptKind::Powershell => "powershell",
            ScriptKind::Vbs => "vbs",
            ScriptKind::Java => "java",
            ScriptKind::Python => "python",
        }
    }

    pub fn parse(s: &str) -> Option<ScriptKind> {
        let s = s.trim().to_ascii_lowercase();
        ScriptKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the UI shows.
    pub fn label(self) -> &'static str {
        match self {
            ScriptKind::Sql => "SQL",
            ScriptKind::Sh => "sh",
            ScriptKind::Bash => "bash",
            ScriptKind::Bat => "bat (cmd)",
            ScriptKind::Powershell => "PowerShell",
            ScriptKind::Vbs => "VBScript",
            ScriptKind::Java => "Java",
            ScriptKind::Python => "Python",
        }
    }

    /// The file name extension the script is saved with before it runs.
    pub fn extension(self) -> &'static str {
        match self {
            ScriptKind::Sql => "sql",
            ScriptKind::Sh | ScriptKind::Bash => "sh",
            ScriptKind::Bat => "bat",
            ScriptKind::Powershell => "ps1",
            ScriptKind::Vbs => "vbs",
            ScriptKind::Java => "java",
            ScriptKind::Python => "py",
        }
    }

    /// Whether a command step can run it (SQL scripts belong to SQL steps).
    pub fn runs_as_command(self) -> bool {
        self != ScriptKind::Sql
    }

    /// A value as one literal of this language, so that whatever it holds (quotes,
    /// `; rm -rf /`, `%PATH%`) stays data. SQL: a standard literal, for showing only —
    /// SQL steps bind a SQL script's values as parameters (`crate::sql`).
    pub fn quote(self, v: &str) -> String {
        match self {
            ScriptKind::Sh | ScriptKind::Bash => sh_quote(v),
            ScriptKind::Sql => sql_quote(v),
            // Single-quoted strings expand nothing; PowerShell also ends them at the
            // typographic single quotes, so every kind is doubled.
            ScriptKind::Powershell => {
                let mut out = String::with_capacity(v.len() + 2);
                out.push('\'');
                for c in v.chars() {
                    if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
                        out.push(c);
                    }
                    out.push(c);
                }
                out.push('\'');
                out
            }
            // JSON string syntax is valid Python string literal syntax (`\n`, `\"`,
            // `\\`, `\uXXXX`).
            ScriptKind::Python => serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into()),
            // Java too, with everything outside ASCII as `\uXXXX` (UTF-16) so the value
            // survives whatever encoding javac assumes for the file.
            ScriptKind::Java => {
                let json = serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into());
                let mut out = String::with_capacity(json.len());
                for c in json.chars() {
                    if c.is_ascii() {
                        out.push(c);
                    } else {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                }
                out
            }
            // VBScript literals cannot span lines: line breaks are joined with vbCr/vbLf.
            ScriptKind::Vbs => double_quoted(v, |c| match c {
                '"' => Some("\"\""),
                '\r' => Some("\" & vbCr & \""),
                '\n' => Some("\" & vbLf & \""),
                _ => None,
            }),
            // Inside double quotes cmd takes & | < > ^ literally; `%` would expand and
            // `"` would end the string, so they are doubled; a line break cannot be
            // quoted and becomes a space.
            ScriptKind::Bat => double_quoted(v, |c| match c {
                '"' => Some("\"\""),
                '%' => Some("%%"),
                '\r' | '\n' => Some(" "),
                _ => None,
            }),
        }
    }
}

/// `v` in double quotes, each character replaced by what `escape` says (`None`: kept).
fn double_quoted(v: &str, escape: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match escape(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A script template of the library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Script {
    pub id: Id,
    pub name: String,
    pub kind: ScriptKind,
    /// The code, with `${…}` placeholders.
    pub body: String,
    pub comments: String,
    pub updated_at: Millis,
    /// Who saved it last (display name; empty when unknown).
    pub updated_by: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptInput {
    pub name: String,
    pub kind: Option<ScriptKind>,
    pub body: String,
    #[serde(default)]
    pub comments: String,
}

/// The largest script body accepted (256 KB).
pub const SCRIPT_BODY_MAX: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in ScriptKind::ALL {
            assert_eq!(ScriptKind::parse(k.as_str()), Some(k));
            assert!(!k.extension().is_empty());
        }
        assert_eq!(
            ScriptKind::parse(" PowerShell "),
            Some(ScriptKind::Powershell)
        );
        assert_eq!(ScriptKind::parse("perl"), None);
    }

    #[test]
    fn values_become_literals_of_each_language() {
        let evil = "it's \"x\"; rm -rf / %PATH% \\n";
        assert_eq!(ScriptKind::Sh.quote("it's"), "'it'\\''s'");
        assert_eq!(ScriptKind::Sql.quote("O'Brien"), "'O''Brien'");
        assert_eq!(ScriptKind::Powershell.quote("it's"), "'it''s'");
        assert_eq!(
            ScriptKind::Powershell.quote("a\u{2019}b"),
            "'a\u{2019}\u{2019}b'"
        );
        assert_eq!(ScriptKind::Python.quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(ScriptKind::Java.quote("tab\t"), r#""tab\t""#);
        assert_eq!(ScriptKind::Java.quote("中😀"), r#""\u4e2d\ud83d\ude00""#);
        assert_eq!(
            ScriptKind::Vbs.quote("say \"hi\"\nbye"),
            "\"say \"\"hi\"\"\" & vbLf & \"bye\""
        );
        assert_eq!(
            ScriptKind::Bat.quote("50% \"off\" & more"),
            "\"50%% \"\"off\"\" & more\""
        );
        for k in ScriptKind::ALL {
            let q = k.quote(evil);
            assert!(q.len() > evil.len(), "{k:?} {q}");
        }
    }
}
