//! SQL steps: values are data, not code. A statement template's `${…}` placeholders
//! become the database driver's bind parameters (`$1` PostgreSQL, `?` MySQL/MariaDB,
//! `?1` SQLite) with their values beside the text, so whatever a value holds
//! (`' OR 1=1 --`) reaches the database as one value and never as SQL. `${raw:…}` is
//! the explicit opt-out: its value is written into the text as SQL. `split.rs` reads
//! SQL far enough to cut a script into statements and to know what each placeholder
//! stands in; `params.rs` builds the statements.

pub mod params;
pub mod split;

pub use params::{check, check_every_kind, parameterize, placeholder, Refused, SqlTemplateError};
pub use split::split;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One statement as the database gets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlStatement {
    /// The SQL, with the driver's placeholders ([`placeholder`]) where values go. A
    /// statement without values may hold a whole script (run as it is by the
    /// database's simple-query protocol, as SQL from before parameters was).
    pub sql: String,
    /// The values of its placeholders, in order: null, booleans, numbers or strings
    /// (objects and arrays arrive as their JSON text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Value>,
}

impl SqlStatement {
    /// SQL run as it is, without values.
    pub fn text(sql: impl Into<String>) -> SqlStatement {
        SqlStatement {
            sql: sql.into(),
            params: Vec::new(),
        }
    }
}
