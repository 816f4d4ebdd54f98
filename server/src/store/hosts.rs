//! Host groups, hosts (agents), terminals and terminal users. Scoped by `company_id`;
//! secrets arrive sealed (the store never sees a plaintext password or key).

use super::{like_pattern, now_millis, Conn, StoreError, StoreResult};
use shared::dto::host::{ConnectionType, Host, HostFacts, HostGroup, HostState, TerminalAuth};
use shared::dto::{Id, ListQuery};
use sqlx::Row;

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

// ---- host groups ------------------------------------------------------------------

pub async fn list_groups(c: &mut Conn, company_id: Id) -> StoreResult<Vec<HostGroup>> {
    let rows = sqlx::query(
        "SELECT id, name, parent_id FROM host_groups WHERE company_id = $1 ORDER BY name",
    )
    .bind(company_id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HostGroup {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                parent_id: r.try_get("parent_id")?,
            })
        })
        .collect()
}

pub async fn insert_group(
    c: &mut Conn,
    company_id: Id,
    name: &str,
    parent_id: Option<Id>,
) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO host_groups (company_id, name, parent_id, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(company_id)
    .bind(name)
    .bind(parent_id)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn update_group(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    name: &str,
    parent_id: Option<Id>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE host_groups SET name = $1, parent_id = $2 WHERE company_id = $3 AND id = $4",
    )
    .bind(name)
    .bind(parent_id)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many hosts and sub-groups a group holds (a group is deleted only when empty).
pub async fn group_contents(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<i64> {
    let n: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM hosts WHERE company_id = $1 AND group_id = $2) \
              + (SELECT COUNT(*) FROM host_groups WHERE company_id = $1 AND parent_id = $2) AS n",
    )
    .bind(company_id)
    .bind(id)
    .fetch_one(&mut *c)
    .await?
    .try_get("n")?;
    Ok(n)
}

pub async fn delete_group(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM host_groups WHERE company_id = $1 AND id = $2")
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---- hosts ------------------------------------------------------------------------

const HOST_COLUMNS: &str = "id, company_id, name, group_id, comments, state, last_seen, \
                            agent_version, facts, credential_issued_at";

fn host_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Host> {
    let facts: String = r.try_get("facts")?;
    let state: String = r.try_get("state")?;
    Ok(Host {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        group_id: r.try_get("group_id")?,
        comments: r.try_get("comments")?,
        state: HostState::parse(&state),
        last_seen: r.try_get("last_seen")?,
        agent_version: r.try_get("agent_version")?,
        facts: serde_json::from_str::<HostFacts>(&facts).map_err(|e| corrupt("host facts", e))?,
        credential_issued_at: r.try_get("credential_issued_at")?,
    })
}

pub async fn insert_host(
    c: &mut Conn,
    company_id: Id,
    name: &str,
    group_id: Option<Id>,
    comments: &str,
    credential_hash: &str,
) -> StoreResult<Id> {
    let now = now_millis();
    let row = sqlx::query(
        "INSERT INTO hosts (company_id, name, group_id, comments, credential_hash, \
         credential_issued_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(company_id)
    .bind(name)
    .bind(group_id)
    .bind(comments)
    .bind(credential_hash)
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn get_host(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<Option<Host>> {
    let row = sqlx::query(&format!(
        "SELECT {HOST_COLUMNS} FROM hosts WHERE company_id = $1 AND id = $2"
    ))
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(host_from_row).transpose()
}

/// A host by id (when the reference is a number) or by name.
pub async fn find_host(c: &mut Conn, company_id: Id, reference: &str) -> StoreResult<Option<Host>> {
    let id: Id = reference.trim().parse().unwrap_or(-1);
    let row = sqlx::query(&format!(
        "SELECT {HOST_COLUMNS} FROM hosts WHERE company_id = $1 AND (id = $2 OR name = $3) \
         ORDER BY id LIMIT 1"
    ))
    .bind(company_id)
    .bind(id)
    .bind(reference.trim())
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(host_from_row).transpose()
}

pub async fn list_hosts(
    c: &mut Conn,
    company_id: Id,
    q: &ListQuery,
    group_id: Option<Id>,
) -> StoreResult<(Vec<Host>, i64)> {
    let pattern = like_pattern(q.filter().unwrap_or(""));
    let filter = "company_id = $1 AND (LOWER(name) LIKE $2 ESCAPE '\\' \
                  OR LOWER(comments) LIKE $2 ESCAPE '\\') AND ($3 < 0 OR group_id = $3)";
    let group = group_id.unwrap_or(-1);
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM hosts WHERE {filter}"))
        .bind(company_id)
        .bind(&pattern)
        .bind(group)
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {HOST_COLUMNS} FROM hosts WHERE {filter} ORDER BY name LIMIT $4 OFFSET $5"
    ))
    .bind(company_id)
    .bind(&pattern)
    .bind(group)
    .bind(q.limit())
    .bind(q.offset())
    .fetch_all(&mut *c)
    .await?;
    Ok((
        rows.iter().map(host_from_row).collect::<StoreResult<_>>()?,
        total,
    ))
}

pub async fn update_host(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    name: &str,
    group_id: Option<Id>,
    comments: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE hosts SET name = $1, group_id = $2, comments = $3 WHERE company_id = $4 AND id = $5",
    )
    .bind(name)
    .bind(group_id)
    .bind(comments)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a host with its terminals and their accounts.
pub async fn delete_host(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    sqlx::query(
        "DELETE FROM terminal_users WHERE company_id = $1 AND terminal_id IN \
         (SELECT id FROM terminals WHERE company_id = $1 AND host_id = $2)",
    )
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM terminals WHERE company_id = $1 AND host_id = $2")
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    let done = sqlx::query("DELETE FROM hosts WHERE company_id = $1 AND id = $2")
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the host's credential (the old one stops working at once).
pub async fn set_credential(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    credential_hash: &str,
    credential_sealed: &str,
) -> StoreResult<Option<i64>> {
    let now = now_millis();
    let done = sqlx::query(
        "UPDATE hosts SET credential_hash = $1, credential_sealed = $2, credential_issued_at = $3 \
         WHERE company_id = $4 AND id = $5",
    )
    .bind(credential_hash)
    .bind(credential_sealed)
    .bind(now)
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok((done.rows_affected() == 1).then_some(now))
}

/// The host's current credential, sealed.
pub async fn sealed_credential(
    c: &mut Conn,
    company_id: Id,
    id: Id,
) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT credential_sealed FROM hosts WHERE company_id = $1 AND id = $2")
        .bind(company_id)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| r.try_get("credential_sealed").map_err(StoreError::from))
        .transpose()
}

/// The host an agent credential belongs to, within the company with this code.
pub async fn by_credential(
    c: &mut Conn,
    company_code: &str,
    credential_hash: &str,
) -> StoreResult<Option<(Id, Host)>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM hosts h JOIN companies co ON co.id = h.company_id \
         WHERE h.credential_hash = $1 AND co.code = $2",
        HOST_COLUMNS
            .split(", ")
            .map(|col| format!("h.{col}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(credential_hash)
    .bind(company_code)
    .fetch_optional(&mut *c)
    .await?;
    match row {
        Some(r) => Ok(Some((r.try_get("company_id")?, host_from_row(&r)?))),
        None => Ok(None),
    }
}

/// Records what the agent said: state, version and facts (when it sent them).
pub async fn record_agent(
    c: &mut Conn,
    id: Id,
    state: HostState,
    version: Option<&str>,
    facts: Option<&HostFacts>,
) -> StoreResult<()> {
    let facts = facts
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| corrupt("host facts", e))?;
    sqlx::query(
        "UPDATE hosts SET state = $1, last_seen = $2, \
         agent_version = COALESCE($3, agent_version), facts = COALESCE($4, facts) WHERE id = $5",
    )
    .bind(state.as_str())
    .bind(now_millis())
    .bind(version)
    .bind(facts)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// At start no agent is connected to this process yet.
pub async fn mark_all_offline(c: &mut Conn) -> StoreResult<()> {
    sqlx::query("UPDATE hosts SET state = 'offline' WHERE state = 'connected'")
        .execute(&mut *c)
        .await?;
    Ok(())
}

// ---- terminals ----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct TerminalRow {
    pub id: Id,
    pub host_id: Id,
    pub host_name: String,
    pub host_address: String,
    pub port: u16,
    pub connection_type: ConnectionType,
    pub os_name: String,
    pub os_version: String,
    pub comments: String,
}

const TERMINAL_COLUMNS: &str = "id, host_id, host_name, host_address, port, connection_type, \
                                os_name, os_version, comments";

fn terminal_from_row(r: &sqlx::any::AnyRow) -> StoreResult<TerminalRow> {
    let kind: String = r.try_get("connection_type")?;
    let port: i64 = r.try_get("port")?;
    Ok(TerminalRow {
        id: r.try_get("id")?,
        host_id: r.try_get("host_id")?,
        host_name: r.try_get("host_name")?,
        host_address: r.try_get("host_address")?,
        port: u16::try_from(port).map_err(|e| corrupt("terminal port", e))?,
        connection_type: ConnectionType::parse(&kind)
            .ok_or_else(|| corrupt("terminal connection type", kind))?,
        os_name: r.try_get("os_name")?,
        os_version: r.try_get("os_version")?,
        comments: r.try_get("comments")?,
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
}

pub async fn insert_terminal(
    c: &mut Conn,
    company_id: Id,
    t: &TerminalFields<'_>,
) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO terminals (company_id, host_id, host_name, host_address, port, \
         connection_type, os_name, os_version, comments, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
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
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn update_terminal(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    t: &TerminalFields<'_>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE terminals SET host_id = $1, host_name = $2, host_address = $3, port = $4, \
         connection_type = $5, os_name = $6, os_version = $7, comments = $8 \
         WHERE company_id = $9 AND id = $10",
    )
    .bind(t.host_id)
    .bind(t.host_name)
    .bind(t.host_address)
    .bind(i64::from(t.port))
    .bind(t.connection_type.as_str())
    .bind(t.os_name)
    .bind(t.os_version)
    .bind(t.comments)
    .bind(company_id)
    .bind(id)
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
    let done = sqlx::query("DELETE FROM terminals WHERE company_id = $1 AND id = $2")
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---- terminal users -----------------------------------------------------------------

/// An account with its sealed secrets (never sent to a browser).
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalUserRow {
    pub id: Id,
    pub terminal_id: Id,
    pub username: String,
    pub auth: TerminalAuth,
    pub sealed_secret: String,
    pub sealed_passphrase: String,
    pub comments: String,
}

const USER_COLUMNS: &str = "id, terminal_id, username, auth, secret, passphrase, comments";

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
        terminal_id: r.try_get("terminal_id")?,
        username: r.try_get("username")?,
        auth: match auth.as_str() {
            "password" => TerminalAuth::Password,
            "private_key" => TerminalAuth::PrivateKey,
            other => return Err(corrupt("terminal user auth", other)),
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

pub async fn insert_user(
    c: &mut Conn,
    company_id: Id,
    terminal_id: Id,
    username: &str,
    auth: TerminalAuth,
    sealed_secret: &str,
    sealed_passphrase: &str,
    comments: &str,
) -> StoreResult<Id> {
    let row = sqlx::query(
        "INSERT INTO terminal_users (company_id, terminal_id, username, auth, secret, passphrase, \
         comments, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(company_id)
    .bind(terminal_id)
    .bind(username)
    .bind(auth_str(auth))
    .bind(sealed_secret)
    .bind(sealed_passphrase)
    .bind(comments)
    .bind(now_millis())
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

/// Saves an account; `None` secrets keep the stored ones.
pub async fn update_user(
    c: &mut Conn,
    company_id: Id,
    id: Id,
    username: &str,
    auth: TerminalAuth,
    sealed_secret: Option<&str>,
    sealed_passphrase: Option<&str>,
    comments: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE terminal_users SET username = $1, auth = $2, secret = COALESCE($3, secret), \
         passphrase = COALESCE($4, passphrase), comments = $5 WHERE company_id = $6 AND id = $7",
    )
    .bind(username)
    .bind(auth_str(auth))
    .bind(sealed_secret)
    .bind(sealed_passphrase)
    .bind(comments)
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

/// Every sealed secret, for re-sealing under a new key (`lwams secrets rotate`).
pub async fn sealed_secrets(c: &mut Conn) -> StoreResult<Vec<(Id, String, String)>> {
    let rows = sqlx::query("SELECT id, secret, passphrase FROM terminal_users ORDER BY id")
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("secret")?,
                r.try_get("passphrase")?,
            ))
        })
        .collect()
}

pub async fn reseal(c: &mut Conn, id: Id, secret: &str, passphrase: &str) -> StoreResult<()> {
    sqlx::query("UPDATE terminal_users SET secret = $1, passphrase = $2 WHERE id = $3")
        .bind(secret)
        .bind(passphrase)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}
