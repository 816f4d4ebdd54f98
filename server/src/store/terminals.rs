//! Terminals (machines reached through a host's agent) and their accounts. Scoped by
//! `company_id`; secrets arrive sealed (the store never sees a plaintext password or key).
//! Moving a terminal clears its accounts' secrets and its SSH host key
//! ([`update_terminal`]); the host key is learnt and accepted here too.

use super::{now_millis, Conn, StoreError, StoreResult};
use shared::dto::host::{ConnectionType, TerminalAuth};
use shared::dto::Id;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct TerminalRow {
    pub id: Id,
    pub company_id: Id,
    pub host_id: Id,
    pub host_name: String,
    pub host_address: String,
    pub port: u16,
    pub connection_type: ConnectionType,
    pub os_name: String,
    pub os_version: String,
    pub comments: String,
    /// SSH: the trusted host key's fingerprint (empty: none yet).
    pub host_key: String,
    /// SSH: another key the terminal showed, waiting to be accepted (empty: none).
    pub host_key_pending: String,
    pub host_key_at: Option<i64>,
    /// WinRM: Basic over plain HTTP allowed.
    pub allow_basic_http: bool,
}

const TERMINAL_COLUMNS: &str = "id, company_id, host_id, host_name, host_address, port, \
                                connection_type, os_name, os_version, comments, host_key, \
                                host_key_pending, host_key_at, allow_basic_http";

fn terminal_from_row(r: &sqlx::any::AnyRow) -> StoreResult<TerminalRow> {
    let kind: String = r.try_get("connection_type")?;
    let port: i64 = r.try_get("port")?;
    Ok(TerminalRow {
        id: r.try_get("id")?,
        company_id: r.try_get("company_id")?,
        host_id: r.try_get("host_id")?,
        host_name: r.try_get("host_name")?,
        host_address: r.try_get("host_address")?,
        port: u16::try_from(port).map_err(|e| StoreError::corrupt("terminal port", e))?,
        connection_type: ConnectionType::parse(&kind)
            .ok_or_else(|| StoreError::corrupt("terminal connection type", kind))?,
        os_name: r.try_get("os_name")?,
        os_version: r.try_get("os_version")?,
        comments: r.try_get("comments")?,
        host_key: r.try_get("host_key")?,
        host_key_pending: r.try_get("host_key_pending")?,
        host_key_at: r.try_get("host_key_at")?,
        allow_basic_http: r.try_get::<i64, _>("allow_basic_http")? != 0,
    })
}

/// A terminal's fields as written (the caller has validated them).
pub struct TerminalFields<'a> {
    pub host_id: Id,
    pub host_name: &'a str,
    pub host_address: &'a str,
    pub port: u16,
    pub connection_type: ConnectionType,
    pub os_name: &'a str,
    pub os_version: &'a str,
    pub comments: &'a str,
    pub allow_basic_http: bool,
}

impl TerminalFields<'_> {
    /// Whether saving these fields moves the terminal: another host's agent, address or
    /// port reaches something else than what its secrets and host key were given for.
    pub fn moves(&self, from: &TerminalRow) -> bool {
        self.host_id != from.host_id
            || !self.host_address.eq_ignore_ascii_case(&from.host_address)
            || self.port != from.port
    }
}

pub async fn insert_terminal(
    c: &mut Conn,
    company_id: Id,
    t: &TerminalFields<'_>,
) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO terminals (company_id, host_id, host_name, host_address, port, \
         connection_type, os_name, os_version, comments, created_at, allow_basic_http) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(company_id)
    .bind(t.host_id)
    .bind(t.host_name)
    .bind(t.host_address)
    .bind(i64::from(t.port))
    .bind(t.connection_type.as_str())
    .bind(t.os_name)
    .bind(t.os_version)
    .bind(t.comments)
    .bind(now_millis())
    .bind(i64::from(t.allow_basic_http))
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

/// What saving a terminal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    NotFound,
    /// Saved where it was.
    Kept,
    /// Saved at another host, address or port: its host key is forgotten and every
    /// account's stored password, key and passphrase cleared (they were given for the
    /// old place; a step or test sends nothing until they are given again).
    Moved,
}

/// Saves a terminal; moving it ([`TerminalFields::moves`]) clears its secrets and host
/// key in the same transaction.
pub async fn update_terminal(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    t: &TerminalFields<'_>,
) -> StoreResult<Saved> {
    let Some(old) = get_terminal(c, company_id, id).await? else {
        return Ok(Saved::NotFound);
    };
    let moved = t.moves(&old);
    if moved {
        sqlx::query(
            "UPDATE terminals SET host_key = '', host_key_pending = '', host_key_at = NULL \
             WHERE company_id = $1 AND id = $2",
        )
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "UPDATE terminal_users SET secret = '', passphrase = '' \
             WHERE company_id = $1 AND terminal_id = $2",
        )
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    }
    let done = sqlx::query(
        "UPDATE terminals SET host_id = $1, host_name = $2, host_address = $3, port = $4, \
         connection_type = $5, os_name = $6, os_version = $7, comments = $8, \
         allow_basic_http = $9 WHERE company_id = $10 AND id = $11",
    )
    .bind(t.host_id)
    .bind(t.host_name)
    .bind(t.host_address)
    .bind(i64::from(t.port))
    .bind(t.connection_type.as_str())
    .bind(t.os_name)
    .bind(t.os_version)
    .bind(t.comments)
    .bind(i64::from(t.allow_basic_http))
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(match (done.rows_affected() == 1, moved) {
        (false, _) => Saved::NotFound,
        (true, false) => Saved::Kept,
        (true, true) => Saved::Moved,
    })
}

/// Records the host key a terminal showed at `address:port` — only while the terminal
/// is still there (a key seen before it moved is not its key): a first key is trusted
/// (trust on first use), a refused one is kept pending for an operator. Returns
/// whether anything changed.
pub async fn record_host_key(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    address: &str,
    port: u16,
    fingerprint: &str,
    refused: bool,
) -> StoreResult<bool> {
    let done = if refused {
        sqlx::query(
            "UPDATE terminals SET host_key_pending = $1 WHERE company_id = $2 AND id = $3 \
             AND host_address = $4 AND port = $5 AND host_key <> $1 AND host_key_pending <> $1",
        )
        .bind(fingerprint)
        .bind(company_id)
        .bind(id)
        .bind(address)
        .bind(i64::from(port))
        .execute(&mut *c)
        .await?
    } else {
        sqlx::query(
            "UPDATE terminals SET host_key = $1, host_key_at = $2, host_key_pending = '' \
             WHERE company_id = $3 AND id = $4 AND host_address = $5 AND port = $6 \
             AND host_key = ''",
        )
        .bind(fingerprint)
        .bind(now_millis())
        .bind(company_id)
        .bind(id)
        .bind(address)
        .bind(i64::from(port))
        .execute(&mut *c)
        .await?
    };
    Ok(done.rows_affected() == 1)
}

/// Trusts the key waiting to be accepted, if it is `fingerprint`. Returns whether it was.
pub async fn accept_host_key(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    fingerprint: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE terminals SET host_key = host_key_pending, host_key_pending = '', \
         host_key_at = $1 WHERE company_id = $2 AND id = $3 AND host_key_pending = $4 \
         AND host_key_pending <> ''",
    )
    .bind(now_millis())
    .bind(company_id)
    .bind(id)
    .bind(fingerprint)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get_terminal(
    c: &mut Conn,
    company_id: Id,
    id: Id,
) -> StoreResult<Option<TerminalRow>> {
    let row = sqlx::query(&format!(
        "SELECT {TERMINAL_COLUMNS} FROM terminals WHERE company_id = $1 AND id = $2"
    ))
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(terminal_from_row).transpose()
}

/// A host's terminal by id, host name or address.
pub async fn find_terminal(
    c: &mut Conn,
    company_id: Id,
    host_id: Id,
    reference: &str,
) -> StoreResult<Option<TerminalRow>> {
    let id: Id = reference.trim().parse().unwrap_or(-1);
    let row = sqlx::query(&format!(
        "SELECT {TERMINAL_COLUMNS} FROM terminals WHERE company_id = $1 AND host_id = $2 \
         AND (id = $3 OR host_name = $4 OR host_address = $4) ORDER BY id LIMIT 1"
    ))
    .bind(company_id)
    .bind(host_id)
    .bind(id)
    .bind(reference.trim())
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(terminal_from_row).transpose()
}

/// Terminals of one host, or of every host.
pub async fn list_terminals(
    c: &mut Conn,
    company_id: Id,
    host_id: Option<Id>,
) -> StoreResult<Vec<TerminalRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {TERMINAL_COLUMNS} FROM terminals WHERE company_id = $1 AND ($2 < 0 OR host_id = $2) \
         ORDER BY host_name, id"
    ))
    .bind(company_id)
    .bind(host_id.unwrap_or(-1))
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(terminal_from_row).collect()
}

pub async fn delete_terminal(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    sqlx::query("DELETE FROM terminal_users WHERE company_id = $1 AND terminal_id = $2")
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    super::delete_scoped(c, "terminals", company_id, id).await
}

// ---- terminal users -----------------------------------------------------------------

/// An account with its sealed secrets (never sent to a browser).
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalUserRow {
    pub id: Id,
    pub company_id: Id,
    pub terminal_id: Id,
    pub username: String,
    pub auth: TerminalAuth,
    pub sealed_secret: String,
    pub sealed_passphrase: String,
    pub comments: String,
}

const USER_COLUMNS: &str =
    "id, company_id, terminal_id, username, auth, secret, passphrase, comments";

fn auth_str(a: TerminalAuth) -> &'static str {
    match a {
        TerminalAuth::Password => "password",
        TerminalAuth::PrivateKey => "private_key",
    }
}

fn user_from_row(r: &sqlx::any::AnyRow) -> StoreResult<TerminalUserRow> {
    let auth: String = r.try_get("auth")?;
    Ok(TerminalUserRow {
        id: r.try_get("id")?,
        company_id: r.try_get("company_id")?,
        terminal_id: r.try_get("terminal_id")?,
        username: r.try_get("username")?,
        auth: match auth.as_str() {
            "password" => TerminalAuth::Password,
            "private_key" => TerminalAuth::PrivateKey,
            other => return Err(StoreError::corrupt("terminal user auth", other)),
        },
        sealed_secret: r.try_get("secret")?,
        sealed_passphrase: r.try_get("passphrase")?,
        comments: r.try_get("comments")?,
    })
}

pub async fn list_users(
    c: &mut Conn,
    company_id: Id,
    terminal_ids: &[Id],
) -> StoreResult<Vec<TerminalUserRow>> {
    if terminal_ids.is_empty() {
        return Ok(vec![]);
    }
    // Ids are integers from the store: safe to inline.
    let ids = terminal_ids
        .iter()
        .map(Id::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM terminal_users WHERE company_id = $1 AND terminal_id IN ({ids}) \
         ORDER BY username"
    ))
    .bind(company_id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn get_user(
    c: &mut Conn,
    company_id: Id,
    terminal_id: Id,
    id: Id,
) -> StoreResult<Option<TerminalUserRow>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM terminal_users WHERE company_id = $1 AND terminal_id = $2 AND id = $3"
    ))
    .bind(company_id)
    .bind(terminal_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The terminal's account with this username (or id); its first account when `None`.
pub async fn find_user(
    c: &mut Conn,
    company_id: Id,
    terminal_id: Id,
    reference: Option<&str>,
) -> StoreResult<Option<TerminalUserRow>> {
    let reference = reference.map(str::trim).filter(|r| !r.is_empty());
    let id: Id = reference.and_then(|r| r.parse().ok()).unwrap_or(-1);
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM terminal_users WHERE company_id = $1 AND terminal_id = $2 \
         AND ($3 = '' OR id = $4 OR username = $3) ORDER BY id LIMIT 1"
    ))
    .bind(company_id)
    .bind(terminal_id)
    .bind(reference.unwrap_or(""))
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// A terminal account as written: validated fields and its secrets already sealed for
/// the account's row (`None`: none given — on update, keep the stored one). A new
/// account is inserted without secrets, then given them ([`set_user_secrets`]) once
/// its id — part of what they are sealed to — is known.
#[derive(Debug, Clone)]
pub struct SealedAccount {
    pub username: String,
    pub auth: TerminalAuth,
    pub comments: String,
    pub secret: Option<String>,
    pub passphrase: Option<String>,
}

pub async fn insert_user(
    c: &mut Conn,
    company_id: Id,
    terminal_id: Id,
    a: &SealedAccount,
) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO terminal_users (company_id, terminal_id, username, auth, secret, passphrase, \
         comments, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(company_id)
    .bind(terminal_id)
    .bind(&a.username)
    .bind(auth_str(a.auth))
    .bind(a.secret.as_deref().unwrap_or_default())
    .bind(a.passphrase.as_deref().unwrap_or_default())
    .bind(&a.comments)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

/// Sets an account's sealed secrets (`None`: keep the stored one).
pub async fn set_user_secrets(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    secret: Option<&str>,
    passphrase: Option<&str>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE terminal_users SET secret = COALESCE($1, secret), \
         passphrase = COALESCE($2, passphrase) WHERE company_id = $3 AND id = $4",
    )
    .bind(secret)
    .bind(passphrase)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves an account; `None` secrets keep the stored ones.
pub async fn update_user(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    a: &SealedAccount,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE terminal_users SET username = $1, auth = $2, secret = COALESCE($3, secret), \
         passphrase = COALESCE($4, passphrase), comments = $5 WHERE company_id = $6 AND id = $7",
    )
    .bind(&a.username)
    .bind(auth_str(a.auth))
    .bind(a.secret.as_deref())
    .bind(a.passphrase.as_deref())
    .bind(&a.comments)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_user(
    c: &mut Conn,
    company_id: Id,
    terminal_id: Id,
    id: Id,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "DELETE FROM terminal_users WHERE company_id = $1 AND terminal_id = $2 AND id = $3",
    )
    .bind(company_id)
    .bind(terminal_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}
