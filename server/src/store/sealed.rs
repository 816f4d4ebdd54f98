//! Every column holding a secret sealed with the server's key, for re-sealing them
//! all under a new key in one transaction (`lwams admin rotate-secret-key`).

use super::{Conn, StoreResult};
use shared::dto::Id;
use sqlx::Row;

/// The sealed columns (table, column). Fixed names: never from input.
pub const COLUMNS: &[(&str, &str)] = &[
    ("companies", "wechat_app_secret_enc"),
    ("hosts", "credential_sealed"),
    ("terminal_users", "secret"),
    ("terminal_users", "passphrase"),
    ("data_sources", "password"),
];

/// One sealed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    pub table: &'static str,
    pub column: &'static str,
    pub id: Id,
    pub value: String,
}

/// Every non-empty sealed value.
pub async fn all(c: &mut Conn) -> StoreResult<Vec<Sealed>> {
    let mut out = Vec::new();
    for (table, column) in COLUMNS {
        let rows = sqlx::query(&format!(
            "SELECT id, {column} AS v FROM {table} WHERE {column} IS NOT NULL AND {column} <> '' ORDER BY id"
        ))
        .fetch_all(&mut *c)
        .await?;
        for r in rows {
            out.push(Sealed {
                table,
                column,
                id: r.try_get("id")?,
                value: r.try_get("v")?,
            });
        }
    }
    Ok(out)
}

/// Replaces one sealed value.
pub async fn replace(c: &mut Conn, s: &Sealed, value: &str) -> StoreResult<()> {
    sqlx::query(&format!(
        "UPDATE {} SET {} = $1 WHERE id = $2",
        s.table, s.column
    ))
    .bind(value)
    .bind(s.id)
    .execute(&mut *c)
    .await?;
    Ok(())
}
