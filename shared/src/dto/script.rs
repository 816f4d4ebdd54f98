//! The script library (Resource › Scripts, SPEC §3): named script templates that
//! command and SQL steps pick by name instead of carrying code in every flow. A body
//! holds `${…}` placeholders; each value is quoted as a literal of the script's own
//! language (`${raw:…}` inserts it as written) — except in SQL scripts, whose values
//! SQL steps bind as parameters (`crate::sql`).

use super::Id;
use super::Millis;
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
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub name: String,
    pub kind: Option<ScriptKind>,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::script_body))]
    pub body: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::text))]
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
}
