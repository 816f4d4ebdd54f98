//! Every column holding a secret sealed with the server's key, and where each value is
//! bound (`table:column:company:id`, the associated data of `crypto::SealedAt`): for
//! re-sealing them all under a new key in one transaction (`lwams admin
//! rotate-secret-key`) and for converting old `v1:` values at start ([`upgrade`]).

use super::{Conn, StoreResult};
use crate::crypto::{secret_box, SealedAt, SecretBox};
use shared::dto::Id;
use sqlx::Row;

/// A sealed column. Fixed names: never from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub table: &'static str,
    pub column: &'static str,
    /// The expression giving the row's company (`company_id`, or `id` for companies).
    company: &'static str,
}

impl Column {
    /// Where the value of row `id` of `company_id` lives.
    pub fn at(&self, company_id: Id, id: Id) -> SealedAt<'static> {
        SealedAt {
            table: self.table,
            column: self.column,
            company_id,
            id,
        }
    }
}

pub const COMPANY_WECHAT_SECRET: Column = Column {
    table: "companies",
    column: "wechat_app_secret_enc",
    company: "id",
};
pub const HOST_CREDENTIAL: Column = Column {
    table: "hosts",
    column: "credential_sealed",
    company: "company_id",
};
pub const TERMINAL_SECRET: Column = Column {
    table: "terminal_users",
    column: "secret",
    company: "company_id",
};
pub const TERMINAL_PASSPHRASE: Column = Column {
    table: "terminal_users",
    column: "passphrase",
    company: "company_id",
};
pub const DATA_SOURCE_PASSWORD: Column = Column {
    table: "data_sources",
    column: "password",
    company: "company_id",
};

/// The sealed columns.
pub const COLUMNS: &[Column] = &[
    COMPANY_WECHAT_SECRET,
    HOST_CREDENTIAL,
    TERMINAL_SECRET,
    TERMINAL_PASSPHRASE,
    DATA_SOURCE_PASSWORD,
];

/// One sealed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    pub table: &'static str,
    pub column: &'static str,
    pub company_id: Id,
    pub id: Id,
    pub value: String,
}

impl Sealed {
    /// Where it lives (its associated data).
    pub fn at(&self) -> SealedAt<'static> {
        SealedAt {
            table: self.table,
            column: self.column,
            company_id: self.company_id,
            id: self.id,
        }
    }
}

/// Every non-empty sealed value.
pub async fn all(c: &mut Conn) -> StoreResult<Vec<Sealed>> {
    let mut out = Vec::new();
    for col in COLUMNS {
        let (table, column, company) = (col.table, col.column, col.company);
        let rows = sqlx::query(&format!(
            "SELECT id, {company} AS company, {column} AS v FROM {table} \
             WHERE {column} IS NOT NULL AND {column} <> '' ORDER BY id"
        ))
        .fetch_all(&mut *c)
        .await?;
        for r in rows {
            out.push(Sealed {
                table,
                column,
                company_id: r.try_get("company")?,
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

/// What [`upgrade`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upgraded {
    /// `v1:` values re-sealed with their associated data.
    pub resealed: usize,
    /// `v1:` values the key does not open (left as they are; they did not open before
    /// either): `table.column` of row id.
    pub unreadable: Vec<String>,
}

/// Re-seals every old `v1:` value (sealed without associated data) as `v2:`, bound to
/// its table, column, company and row — run at start, in the caller's transaction.
pub async fn upgrade(c: &mut Conn, key: &SecretBox) -> StoreResult<Upgraded> {
    let mut done = Upgraded::default();
    for s in all(c).await? {
        if !secret_box::is_v1(&s.value) {
            continue;
        }
        match key.open_v1(&s.value) {
            Ok(plain) => {
                replace(c, &s, &key.seal(&s.at(), &plain)).await?;
                done.resealed += 1;
            }
            Err(_) => done
                .unreadable
                .push(format!("{}.{} of id {}", s.table, s.column, s.id)),
        }
    }
    Ok(done)
}
