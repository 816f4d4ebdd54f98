//! SQL steps against data sources (SPEC §3, §5.1): PostgreSQL, MySQL/MariaDB and SQLite.
//! A task's statements ([`SqlStatement`], built by `shared::sql`) run in order. One with
//! values runs as a prepared statement with the values bound as parameters, never
//! spliced into the text; one without runs as given through the simple-query protocol,
//! so any statement (or a whole script) the database accepts works. Several statements
//! on PostgreSQL run in one transaction, as a script of the simple-query protocol does.
//! Rows come back with their column names (at most [`SQL_ROW_CAP`], over all the
//! statements) and changes as a count. Runs on the agent and, for steps "in cloud", on
//! the server.
//!
//! Binding "untyped": a value goes where SQL text `'…'` went before, so `id = ${x}`
//! (an integer column) and `LIMIT ${n}` work whatever JSON type the value has.
//! PostgreSQL: the statement is described first and each value sent as the type the
//! server infers for its parameter — integers, floats, booleans and text directly, any
//! other type converted from text by the server itself (`$1::text::numeric`, the
//! conversion a literal gets). MySQL/MariaDB and SQLite convert a bound string where a
//! number is needed; numbers, booleans and null are bound as such. Prepared
//! statements answer in the binary protocol: cells of types read here become what the
//! simple-query protocol's text would have given; on PostgreSQL the server turns any
//! other type into its text (`$1::text`).

use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use shared::agent::{SqlConnect, SqlResult, SQL_ROW_CAP};
use shared::dto::data_source::DataSourceKind;
use shared::sql::SqlStatement;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::postgres::types::Oid;
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgConnection, PgSslMode, PgTypeInfo,
};
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteConnection};
use sqlx::{
    Arguments, Column, ConnectOptions, Connection, Database, Either, Executor, MySql, Postgres,
    Row, Sqlite, Statement, TypeInfo, ValueRef,
};
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("url: {0}")]
    Url(String),
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    #[error("the database refused the sign-in: {0}")]
    Refused(String),
    #[error("{0}")]
    Statement(String),
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cancelled")]
    Cancelled,
}

/// The URL sqlx understands: JDBC prefixes (`jdbc:postgresql:`, `jdbc:mysql:`,
/// `jdbc:mariadb:`, `jdbc:sqlite:`) and `mariadb://` are accepted as well.
pub fn normalise_url(kind: DataSourceKind, url: &str) -> String {
    let url = url.trim();
    let url = url.strip_prefix("jdbc:").unwrap_or(url);
    match kind {
        DataSourceKind::Mysql => match url.strip_prefix("mariadb:") {
            Some(rest) => format!("mysql:{rest}"),
            None => url.to_string(),
        },
        DataSourceKind::Sqlite if !url.starts_with("sqlite:") => format!("sqlite://{url}"),
        _ => url.to_string(),
    }
}

/// Whether the URL names a password in it (it belongs in the password field).
pub fn url_has_password(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or("");
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// Where a data source's connection goes, seen from the machine that connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A SQLite file.
    File(String),
    /// A Unix-domain socket (PostgreSQL `host=/dir`, MySQL `socket=`).
    Socket(String),
    /// A server over TCP (`host` without IPv6 brackets).
    Tcp { host: String, port: u16 },
}

/// Where `db` connects (as [`run`] would, defaults included).
pub fn endpoint(db: &SqlConnect) -> Result<Endpoint, SqlError> {
    let url = normalise_url(db.kind, &db.url);
    let bad_url = |e: sqlx::Error| SqlError::Url(e.to_string());
    let tcp = |host: &str, port: u16| Endpoint::Tcp {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
    };
    Ok(match db.kind {
        DataSourceKind::Postgres => {
            let o = PgConnectOptions::from_str(&url).map_err(bad_url)?;
            match o.get_socket() {
                Some(dir) => Endpoint::Socket(dir.display().to_string()),
                None if o.get_host().starts_with('/') => Endpoint::Socket(o.get_host().into()),
                None => tcp(o.get_host(), o.get_port()),
            }
        }
        DataSourceKind::Mysql => {
            let o = MySqlConnectOptions::from_str(&url).map_err(bad_url)?;
            match o.get_socket() {
                Some(path) => Endpoint::Socket(path.display().to_string()),
                None => tcp(o.get_host(), o.get_port()),
            }
        }
        DataSourceKind::Sqlite => Endpoint::File(
            url.trim_start_matches("sqlite:")
                .trim_start_matches("//")
                .split('?')
                .next()
                .unwrap_or("")
                .to_string(),
        ),
    })
}

/// The URL's parameters that name files of the machine that connects (TLS
/// certificates and keys, sockets), as written.
pub fn file_parameters(db: &SqlConnect) -> Vec<String> {
    const FILES: &[&str] = &[
        "sslrootcert",
        "ssl-root-cert",
        "ssl-ca",
        "sslcert",
        "ssl-cert",
        "sslkey",
        "ssl-key",
        "socket",
        "passfile",
    ];
    let url = normalise_url(db.kind, &db.url);
    let Ok(url) = reqwest::Url::parse(&url) else {
        return Vec::new();
    };
    url.query_pairs()
        .filter(|(k, v)| {
            let k = k.to_ascii_lowercase();
            FILES.contains(&k.as_str()) || (k == "host" && v.starts_with('/'))
        })
        .map(|(k, _)| k.into_owned())
        .collect()
}

/// Runs `statements` on `db` until they end, `timeout` passes or `cancel` completes.
pub async fn run(
    db: &SqlConnect,
    statements: &[SqlStatement],
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<SqlResult, SqlError> {
    run_pinned(db, None, statements, timeout, cancel).await
}

/// [`run`], connecting to `pin` (an address the caller resolved the host name to and
/// checked) instead of resolving the name again — unless TLS verifies the server's
/// name (PostgreSQL `verify-full`, MySQL `VERIFY_IDENTITY`): the certificate then
/// binds the connection to the name.
pub async fn run_pinned(
    db: &SqlConnect,
    pin: Option<IpAddr>,
    statements: &[SqlStatement],
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<SqlResult, SqlError> {
    let started = Instant::now();
    let work = async {
        let url = normalise_url(db.kind, &db.url);
        let bad_url = |e: sqlx::Error| SqlError::Url(e.to_string());
        let mut result = match db.kind {
            DataSourceKind::Postgres => {
                let mut o = PgConnectOptions::from_str(&url).map_err(bad_url)?;
                if let Some(ip) = pin {
                    if !matches!(o.get_ssl_mode(), PgSslMode::VerifyFull) {
                        o = o.host(&ip.to_string());
                    }
                }
                if !db.username.is_empty() {
                    o = o.username(&db.username);
                }
                if !db.password.is_empty() {
                    o = o.password(&db.password);
                }
                let mut c = o.connect().await.map_err(connect_error)?;
                let r = postgres(&mut c, statements).await;
                let _ = c.close().await;
                r?
            }
            DataSourceKind::Mysql => {
                let mut o = MySqlConnectOptions::from_str(&url).map_err(bad_url)?;
                if let Some(ip) = pin {
                    if !matches!(o.get_ssl_mode(), MySqlSslMode::VerifyIdentity) {
                        o = o.host(&ip.to_string());
                    }
                }
                if !db.username.is_empty() {
                    o = o.username(&db.username);
                }
                if !db.password.is_empty() {
                    o = o.password(&db.password);
                }
                let mut c = o.connect().await.map_err(connect_error)?;
                let r = mysql(&mut c, statements).await;
                let _ = c.close().await;
                r?
            }
            DataSourceKind::Sqlite => {
                let o = SqliteConnectOptions::from_str(&url)
                    .map_err(bad_url)?
                    .create_if_missing(false);
                let mut c = o.connect().await.map_err(connect_error)?;
                let r = sqlite(&mut c, statements).await;
                let _ = c.close().await;
                r?
            }
        };
        result.duration_ms = started.elapsed().as_millis() as u64;
        Ok(result)
    };
    tokio::select! {
        r = tokio::time::timeout(timeout, work) => r.unwrap_or(Err(SqlError::Timeout(timeout))),
        _ = cancel => Err(SqlError::Cancelled),
    }
}

fn connect_error(e: sqlx::Error) -> SqlError {
    match e {
        sqlx::Error::Database(d) => SqlError::Refused(d.message().to_string()),
        sqlx::Error::Configuration(c) => SqlError::Url(c.to_string()),
        other => SqlError::Unreachable(other.to_string()),
    }
}

fn failed(e: sqlx::Error) -> SqlError {
    SqlError::Statement(statement_error(e))
}

/// Adds a row (its cells by column) to `out`, unless the cap is reached.
fn push_row(out: &mut SqlResult, cells: Vec<(String, Value)>) -> Option<usize> {
    if out.rows.len() >= SQL_ROW_CAP {
        out.truncated = true;
        return None;
    }
    let mut m = Map::new();
    for (name, v) in cells {
        if !out.columns.contains(&name) {
            out.columns.push(name.clone());
        }
        m.insert(name, v);
    }
    out.rows.push(m);
    Some(out.rows.len() - 1)
}

/// Runs SQL without values through the simple-query protocol (a script of several
/// statements too) and adds its rows and counts to `out`.
async fn simple<DB>(
    c: &mut DB::Connection,
    sql: &str,
    out: &mut SqlResult,
    affected: impl Fn(&DB::QueryResult) -> u64,
) -> Result<(), SqlError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'r> String: sqlx::Decode<'r, DB>,
    for<'r> Vec<u8>: sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    #[allow(deprecated)]
    let mut stream = sqlx::raw_sql(sql).fetch_many(&mut *c);
    while let Some(item) = stream.try_next().await.map_err(failed)? {
        match item {
            Either::Left(done) => out.rows_affected += affected(&done),
            Either::Right(row) => {
                let cells = row
                    .columns()
                    .iter()
                    .enumerate()
                    .map(|(i, col)| (col.name().to_string(), cell::<DB>(&row, i)))
                    .collect();
                push_row(out, cells);
            }
        }
    }
    Ok(())
}

/// PostgreSQL: the statements in order; several in one transaction.
async fn postgres(
    c: &mut PgConnection,
    statements: &[SqlStatement],
) -> Result<SqlResult, SqlError> {
    let mut out = SqlResult::default();
    let several = statements.len() > 1;
    if several {
        c.execute("BEGIN").await.map_err(failed)?;
    }
    let mut ran = Ok(());
    for st in statements {
        ran = if st.params.is_empty() {
            simple::<Postgres>(c, &st.sql, &mut out, |d| d.rows_affected()).await
        } else {
            pg_bound(c, st, several, &mut out).await
        };
        if ran.is_err() {
            break;
        }
    }
    if several {
        let end = if ran.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = c.execute(end).await.map_err(failed);
        ran = ran.and(ended.map(|_| ()));
    }
    ran.map(|()| out)
}

/// SQLSTATE of "could not determine data type of parameter".
const PG_INDETERMINATE: &str = "42P18";
/// SQLSTATE of a syntax error.
const PG_SYNTAX: &str = "42601";

/// One PostgreSQL statement with values: described, its values sent as the types of
/// its parameters, its rows read from the binary protocol.
async fn pg_bound(
    c: &mut PgConnection,
    st: &SqlStatement,
    in_transaction: bool,
    out: &mut SqlResult,
) -> Result<(), SqlError> {
    let types = pg_parameter_types(c, st, in_transaction)
        .await
        .map_err(|e| match e {
            SqlError::Statement(m) if m.ends_with(&format!("({PG_SYNTAX})")) => {
                SqlError::Statement(format!(
                    "{m}; its values are bound as parameters, which PostgreSQL takes only in \
                     SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES and CALL — not in SET, \
                     CREATE, ALTER… (use ${{raw:…}} there only for trusted text)"
                ))
            }
            other => other,
        })?;
    if types.len() != st.params.len() {
        return Err(SqlError::Statement(format!(
            "the statement takes {} values, {} given",
            types.len(),
            st.params.len()
        )));
    }
    let mut args = PgArguments::default();
    for (ty, bytes) in types.iter().zip(pg_values(c, &types, &st.params).await?) {
        args.add(PgRaw {
            ty: ty.clone(),
            bytes,
        })
        .map_err(|e| SqlError::Statement(e.to_string()))?;
    }
    let mut later: Vec<PgLater> = Vec::new();
    {
        #[allow(deprecated)]
        let mut stream = sqlx::query_with(&st.sql, args).fetch_many(&mut *c);
        while let Some(item) = stream.try_next().await.map_err(failed)? {
            let row = match item {
                Either::Left(done) => {
                    out.rows_affected += done.rows_affected();
                    continue;
                }
                Either::Right(row) => row,
            };
            let mut cells = Vec::with_capacity(row.columns().len());
            let mut unread = Vec::new();
            for (i, col) in row.columns().iter().enumerate() {
                let name = col.name().to_string();
                let v = match pg_cell(&row, i) {
                    PgCell::Read(v) => v,
                    PgCell::AsText(ty, bytes) => {
                        unread.push((name.clone(), ty, bytes));
                        Value::Null
                    }
                };
                cells.push((name, v));
            }
            if let Some(at) = push_row(out, cells) {
                later.extend(unread.into_iter().map(|(column, ty, bytes)| PgLater {
                    row: at,
                    column,
                    ty,
                    bytes,
                }));
            }
        }
    }
    pg_as_text(c, later, out).await
}

/// The types PostgreSQL infers for the statement's parameters. One it cannot infer
/// (`${x} IS NULL`) is text, as a literal's would be (within a transaction a savepoint
/// keeps the failed attempt from ending it).
async fn pg_parameter_types(
    c: &mut PgConnection,
    st: &SqlStatement,
    in_transaction: bool,
) -> Result<Vec<PgTypeInfo>, SqlError> {
    if in_transaction {
        c.execute("SAVEPOINT lwams_describe")
            .await
            .map_err(failed)?;
    }
    let described = match c.prepare(&st.sql).await {
        Ok(s) => Ok(s),
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some(PG_INDETERMINATE) => {
            if in_transaction {
                c.execute("ROLLBACK TO SAVEPOINT lwams_describe")
                    .await
                    .map_err(failed)?;
            }
            let text = vec![PgTypeInfo::with_oid(PG_TEXT); st.params.len()];
            c.prepare_with(&st.sql, &text).await
        }
        Err(e) => Err(e),
    };
    let types = match described.map_err(failed)?.parameters() {
        Some(Either::Left(types)) => types.to_vec(),
        Some(Either::Right(n)) => vec![PgTypeInfo::with_oid(PG_TEXT); n],
        None => Vec::new(),
    };
    if in_transaction {
        c.execute("RELEASE SAVEPOINT lwams_describe")
            .await
            .map_err(failed)?;
    }
    Ok(types)
}

const PG_TEXT: Oid = Oid(pg_oid::TEXT);

/// The PostgreSQL types whose binary form is read and written here (`pg_type.oid`).
mod pg_oid {
    pub const BOOL: u32 = 16;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const JSONB: u32 = 3802;
}

/// What to send for a value of a parameter of type `ty`.
#[derive(Debug, PartialEq)]
enum PgParam {
    Null,
    /// The binary form of the type.
    Bytes(Vec<u8>),
    /// The server converts the text.
    FromText(String),
}

/// A value as a parameter of PostgreSQL type `ty`.
fn pg_param(ty: &PgTypeInfo, v: &Value) -> PgParam {
    let text = match v {
        Value::Null => return PgParam::Null,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let integer = || -> Option<i64> {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let float = || -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => {
                let s = s.trim();
                let plain =
                    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || ".eE+-".contains(c));
                plain.then(|| s.parse().ok()).flatten()
            }
            _ => None,
        }
    };
    let bytes = match ty.oid().map_or(0, |o| o.0) {
        pg_oid::BOOL => match v {
            Value::Bool(b) => Some(vec![u8::from(*b)]),
            _ => None,
        },
        pg_oid::INT2 => integer()
            .and_then(|n| i16::try_from(n).ok())
            .map(|n| n.to_be_bytes().to_vec()),
        pg_oid::INT4 => integer()
            .and_then(|n| i32::try_from(n).ok())
            .map(|n| n.to_be_bytes().to_vec()),
        pg_oid::INT8 => integer().map(|n| n.to_be_bytes().to_vec()),
        pg_oid::FLOAT4 => float()
            .map(|f| f as f32)
            .filter(|f| f.is_finite())
            .map(|f| f.to_be_bytes().to_vec()),
        pg_oid::FLOAT8 => float()
            .filter(|f| f.is_finite())
            .map(|f| f.to_be_bytes().to_vec()),
        pg_oid::TEXT
        | pg_oid::VARCHAR
        | pg_oid::BPCHAR
        | pg_oid::NAME
        | pg_oid::UNKNOWN
        | pg_oid::JSON => Some(text.clone().into_bytes()),
        pg_oid::JSONB => {
            let mut b = Vec::with_capacity(text.len() + 1);
            b.push(1);
            b.extend_from_slice(text.as_bytes());
            Some(b)
        }
        _ => None,
    };
    match bytes {
        Some(b) => PgParam::Bytes(b),
        None => PgParam::FromText(text),
    }
}

/// The values' binary forms for parameters of `types`; those not sent directly are
/// converted by the server from text (`$1::text::<type>`, as a literal would be).
async fn pg_values(
    c: &mut PgConnection,
    types: &[PgTypeInfo],
    values: &[Value],
) -> Result<Vec<Option<Vec<u8>>>, SqlError> {
    let mut out = Vec::with_capacity(values.len());
    let mut convert: Vec<(usize, Oid, String)> = Vec::new();
    for (i, (ty, v)) in types.iter().zip(values).enumerate() {
        match pg_param(ty, v) {
            PgParam::Null => out.push(None),
            PgParam::Bytes(b) => out.push(Some(b)),
            PgParam::FromText(text) => {
                let oid = ty.oid().ok_or_else(|| {
                    SqlError::Statement(format!("parameter ${}: unknown type {ty}", i + 1))
                })?;
                convert.push((i, oid, text));
                out.push(None);
            }
        }
    }
    if convert.is_empty() {
        return Ok(out);
    }
    let names = (1..=convert.len())
        // A typmod of -1, not NULL: `bpchar`, not `character` (which is char(1)).
        .map(|j| format!("format_type(${j}, -1)"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT {names}");
    let mut q = sqlx::query(&sql).persistent(false);
    for (_, oid, _) in &convert {
        q = q.bind(*oid);
    }
    let row = q.fetch_one(&mut *c).await.map_err(failed)?;
    let mut casts = Vec::with_capacity(convert.len());
    for j in 0..convert.len() {
        let name: String = row.try_get(j).map_err(failed)?;
        casts.push(format!("CAST(${}::text AS {name})", j + 1));
    }
    let sql = format!("SELECT {}", casts.join(", "));
    let mut q = sqlx::query(&sql).persistent(false);
    for (_, _, text) in &convert {
        q = q.bind(text.as_str());
    }
    let row = q.fetch_one(&mut *c).await.map_err(failed)?;
    for (j, (i, _, _)) in convert.iter().enumerate() {
        let v = row.try_get_raw(j).map_err(failed)?;
        if !v.is_null() {
            let b = v
                .as_bytes()
                .map_err(|e| SqlError::Statement(e.to_string()))?;
            out[*i] = Some(b.to_vec());
        }
    }
    Ok(out)
}

/// A value in its binary form, sent as PostgreSQL type `ty`.
struct PgRaw {
    ty: PgTypeInfo,
    bytes: Option<Vec<u8>>,
}

impl sqlx::Type<Postgres> for PgRaw {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(PG_TEXT)
    }
}

impl sqlx::Encode<'_, Postgres> for PgRaw {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        match &self.bytes {
            Some(b) => {
                buf.extend_from_slice(b);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn produces(&self) -> Option<PgTypeInfo> {
        Some(self.ty.clone())
    }
}

/// A PostgreSQL cell of the binary protocol.
enum PgCell {
    Read(Value),
    /// A type not read here: the server makes it text.
    AsText(PgTypeInfo, Vec<u8>),
}

/// A cell [`pg_as_text`] fills in.
struct PgLater {
    row: usize,
    column: String,
    ty: PgTypeInfo,
    bytes: Vec<u8>,
}

fn pg_cell(row: &sqlx::postgres::PgRow, i: usize) -> PgCell {
    let Ok(raw) = row.try_get_raw(i) else {
        return PgCell::Read(Value::Null);
    };
    if raw.is_null() {
        return PgCell::Read(Value::Null);
    }
    let ty = raw.type_info().into_owned();
    let Ok(b) = raw.as_bytes() else {
        return PgCell::Read(Value::Null);
    };
    match pg_text(ty.oid().map_or(0, |o| o.0), b) {
        Some(text) => PgCell::Read(typed(&ty.name().to_ascii_uppercase(), text)),
        None => PgCell::AsText(ty, b.to_vec()),
    }
}

/// The simple-query protocol's text of a binary PostgreSQL value of the types read
/// here (`None`: another type).
fn pg_text(oid: u32, b: &[u8]) -> Option<String> {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    match oid {
        pg_oid::BOOL => Some(if b.first()? != &0 { "t" } else { "f" }.into()),
        pg_oid::INT2 => Some(i16::from_be_bytes(b.try_into().ok()?).to_string()),
        pg_oid::INT4 => Some(i32::from_be_bytes(b.try_into().ok()?).to_string()),
        pg_oid::INT8 => Some(i64::from_be_bytes(b.try_into().ok()?).to_string()),
        pg_oid::OID => Some(u32::from_be_bytes(b.try_into().ok()?).to_string()),
        pg_oid::FLOAT4 => Some(f32::from_be_bytes(b.try_into().ok()?))
            .filter(|f| f.is_finite())
            .map(|f| f.to_string()),
        pg_oid::FLOAT8 => Some(f64::from_be_bytes(b.try_into().ok()?))
            .filter(|f| f.is_finite())
            .map(|f| f.to_string()),
        pg_oid::TEXT
        | pg_oid::VARCHAR
        | pg_oid::BPCHAR
        | pg_oid::NAME
        | pg_oid::UNKNOWN
        | pg_oid::JSON => text(b),
        pg_oid::JSONB if b.first() == Some(&1) => text(&b[1..]),
        _ => None,
    }
}

/// Cells of types not read here, as the server's text for them (at most 1,000 in one
/// `SELECT $1::text, …`).
async fn pg_as_text(
    c: &mut PgConnection,
    later: Vec<PgLater>,
    out: &mut SqlResult,
) -> Result<(), SqlError> {
    for chunk in later.chunks(1000) {
        let cols = (1..=chunk.len())
            .map(|j| format!("${j}::text"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut args = PgArguments::default();
        for l in chunk {
            args.add(PgRaw {
                ty: l.ty.clone(),
                bytes: Some(l.bytes.clone()),
            })
            .map_err(|e| SqlError::Statement(e.to_string()))?;
        }
        let sql = format!("SELECT {cols}");
        let row = sqlx::query_with(&sql, args)
            .persistent(false)
            .fetch_one(&mut *c)
            .await
            .map_err(failed)?;
        for (j, l) in chunk.iter().enumerate() {
            let text: String = row.try_get_unchecked(j).map_err(failed)?;
            if let Some(r) = out.rows.get_mut(l.row) {
                r.insert(
                    l.column.clone(),
                    typed(&l.ty.name().to_ascii_uppercase(), text),
                );
            }
        }
    }
    Ok(())
}

/// MySQL/MariaDB: the statements in order, each in its own transaction (autocommit).
async fn mysql(
    c: &mut MySqlConnection,
    statements: &[SqlStatement],
) -> Result<SqlResult, SqlError> {
    let mut out = SqlResult::default();
    for st in statements {
        if st.params.is_empty() {
            simple::<MySql>(c, &st.sql, &mut out, |d| d.rows_affected()).await?;
            continue;
        }
        let mut args = MySqlArguments::default();
        for v in &st.params {
            let added = match v {
                Value::Null => args.add(None::<String>),
                Value::Bool(b) => args.add(*b),
                Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                    (Some(i), _, _) => args.add(i),
                    (None, Some(u), _) => args.add(u),
                    (None, None, f) => args.add(f.unwrap_or(f64::NAN)),
                },
                Value::String(s) => args.add(s.clone()),
                other => args.add(other.to_string()),
            };
            added.map_err(|e| SqlError::Statement(e.to_string()))?;
        }
        #[allow(deprecated)]
        let mut stream = sqlx::query_with(&st.sql, args).fetch_many(&mut *c);
        while let Some(item) = stream.try_next().await.map_err(failed)? {
            match item {
                Either::Left(done) => out.rows_affected += done.rows_affected(),
                Either::Right(row) => {
                    let cells = row
                        .columns()
                        .iter()
                        .enumerate()
                        .map(|(i, col)| (col.name().to_string(), mysql_cell(&row, i)))
                        .collect();
                    push_row(&mut out, cells);
                }
            }
        }
    }
    Ok(out)
}

/// A MySQL cell of the binary protocol, as its text would have been read.
fn mysql_cell(row: &sqlx::mysql::MySqlRow, i: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let type_name = raw.type_info().name().to_string();
    let bytes = row.try_get_unchecked::<Vec<u8>, _>(i).unwrap_or_default();
    match mysql_text(&type_name, &bytes) {
        Some(text) => typed(&type_name, text),
        None => Value::String(format!("<{} bytes>", bytes.len())),
    }
}

/// The text protocol's text of a binary MySQL value (`None`: bytes that are not text,
/// or not the size of their type).
fn mysql_text(type_name: &str, b: &[u8]) -> Option<String> {
    let n = |len: usize| b.get(..len);
    match type_name {
        "TINYINT" | "BOOLEAN" => Some((*b.first()? as i8).to_string()),
        "TINYINT UNSIGNED" => Some(b.first()?.to_string()),
        "SMALLINT" => Some(i16::from_le_bytes(n(2)?.try_into().ok()?).to_string()),
        "SMALLINT UNSIGNED" | "YEAR" => {
            Some(u16::from_le_bytes(n(2)?.try_into().ok()?).to_string())
        }
        "INT" | "MEDIUMINT" => Some(i32::from_le_bytes(n(4)?.try_into().ok()?).to_string()),
        "INT UNSIGNED" | "MEDIUMINT UNSIGNED" => {
            Some(u32::from_le_bytes(n(4)?.try_into().ok()?).to_string())
        }
        "BIGINT" => Some(i64::from_le_bytes(n(8)?.try_into().ok()?).to_string()),
        "BIGINT UNSIGNED" => Some(u64::from_le_bytes(n(8)?.try_into().ok()?).to_string()),
        "FLOAT" => Some(f32::from_le_bytes(n(4)?.try_into().ok()?).to_string()),
        "DOUBLE" => Some(f64::from_le_bytes(n(8)?.try_into().ok()?).to_string()),
        "DATE" | "DATETIME" | "TIMESTAMP" => mysql_datetime(type_name == "DATE", b),
        "TIME" => mysql_time(b),
        _ => String::from_utf8(b.to_vec()).ok(),
    }
}

/// `[len, year (2), month, day, hour, minute, second, microseconds (4)]`, as
/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]`.
fn mysql_datetime(date_only: bool, b: &[u8]) -> Option<String> {
    let len = *b.first()? as usize;
    let v = b.get(1..1 + len)?;
    let year = if len >= 4 {
        u16::from_le_bytes([v[0], v[1]])
    } else {
        0
    };
    let (month, day) = if len >= 4 { (v[2], v[3]) } else { (0, 0) };
    let date = format!("{year:04}-{month:02}-{day:02}");
    if date_only {
        return Some(date);
    }
    let (h, m, s) = if len >= 7 {
        (v[4], v[5], v[6])
    } else {
        (0, 0, 0)
    };
    let micros = if len >= 11 {
        u32::from_le_bytes([v[7], v[8], v[9], v[10]])
    } else {
        0
    };
    Some(format!("{date} {h:02}:{m:02}:{s:02}{}", fraction(micros)))
}

/// `[len, negative, days (4), hour, minute, second, microseconds (4)]` as
/// `[-]HH:MM:SS[.ffffff]`.
fn mysql_time(b: &[u8]) -> Option<String> {
    let len = *b.first()? as usize;
    if len < 8 {
        return Some("00:00:00".into());
    }
    let v = b.get(1..1 + len)?;
    let days = u32::from_le_bytes([v[1], v[2], v[3], v[4]]);
    let hours = u64::from(days) * 24 + u64::from(v[5]);
    let micros = if len >= 12 {
        u32::from_le_bytes([v[8], v[9], v[10], v[11]])
    } else {
        0
    };
    let sign = if v[0] == 1 { "-" } else { "" };
    Some(format!(
        "{sign}{hours:02}:{:02}:{:02}{}",
        v[6],
        v[7],
        fraction(micros)
    ))
}

fn fraction(micros: u32) -> String {
    if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    }
}

/// SQLite: the statements in order, each in its own transaction (autocommit).
async fn sqlite(
    c: &mut SqliteConnection,
    statements: &[SqlStatement],
) -> Result<SqlResult, SqlError> {
    let mut out = SqlResult::default();
    for st in statements {
        if st.params.is_empty() {
            simple::<Sqlite>(c, &st.sql, &mut out, |d| d.rows_affected()).await?;
            continue;
        }
        let mut args = SqliteArguments::default();
        for v in &st.params {
            let added = match v {
                Value::Null => args.add(None::<String>),
                Value::Bool(b) => args.add(*b),
                Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => args.add(i),
                    (None, f) => args.add(f.unwrap_or(f64::NAN)),
                },
                Value::String(s) => args.add(s.clone()),
                other => args.add(other.to_string()),
            };
            added.map_err(|e| SqlError::Statement(e.to_string()))?;
        }
        #[allow(deprecated)]
        let mut stream = sqlx::query_with(&st.sql, args).fetch_many(&mut *c);
        while let Some(item) = stream.try_next().await.map_err(failed)? {
            match item {
                Either::Left(done) => out.rows_affected += done.rows_affected(),
                Either::Right(row) => {
                    let cells = row
                        .columns()
                        .iter()
                        .enumerate()
                        .map(|(i, col)| (col.name().to_string(), cell::<Sqlite>(&row, i)))
                        .collect();
                    push_row(&mut out, cells);
                }
            }
        }
    }
    Ok(out)
}

fn statement_error(e: sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => match d.code() {
            Some(code) => format!("{} ({code})", d.message()),
            None => d.message().to_string(),
        },
        other => other.to_string(),
    }
}

/// One value as JSON: NULL → null, integers and floats → numbers, booleans, JSON as
/// such, everything else as the database's text for it.
fn cell<DB>(row: &DB::Row, i: usize) -> Value
where
    DB: Database,
    for<'r> String: sqlx::Decode<'r, DB>,
    for<'r> Vec<u8>: sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let type_name = raw.type_info().name().to_ascii_uppercase();
    let text = match row.try_get_unchecked::<String, _>(i) {
        Ok(t) => t,
        Err(_) => {
            let bytes = row.try_get_unchecked::<Vec<u8>, _>(i).unwrap_or_default();
            return Value::String(format!("<{} bytes>", bytes.len()));
        }
    };
    typed(&type_name, text)
}

/// The JSON value of a column's text, by the column's SQL type name.
fn typed(type_name: &str, text: String) -> Value {
    let t = type_name;
    let integer = t.contains("INT") && !t.contains("INTERVAL") && !t.contains("POINT");
    if integer {
        if let Ok(n) = text.trim().parse::<i64>() {
            return Value::from(n);
        }
        if let Ok(n) = text.trim().parse::<u64>() {
            return Value::from(n);
        }
    }
    if matches!(t, "FLOAT4" | "FLOAT8" | "REAL" | "DOUBLE" | "FLOAT") {
        if let Some(n) = text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    if matches!(t, "BOOL" | "BOOLEAN") {
        match text.trim() {
            "t" | "true" | "1" => return Value::Bool(true),
            "f" | "false" | "0" => return Value::Bool(false),
            _ => {}
        }
    }
    if matches!(t, "JSON" | "JSONB") {
        if let Ok(v) = serde_json::from_str(&text) {
            return v;
        }
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(sql: &str) -> Vec<SqlStatement> {
        vec![SqlStatement::text(sql)]
    }

    fn connect(kind: DataSourceKind, url: &str) -> SqlConnect {
        SqlConnect {
            kind,
            url: url.into(),
            username: String::new(),
            password: String::new(),
        }
    }

    #[test]
    fn the_endpoint_and_the_file_parameters_of_a_url_are_known_before_connecting() {
        let tcp = |host: &str, port| Endpoint::Tcp {
            host: host.into(),
            port,
        };
        let cases = [
            (
                DataSourceKind::Postgres,
                "postgres://db.example:6543/x",
                tcp("db.example", 6543),
            ),
            (
                DataSourceKind::Postgres,
                "jdbc:postgresql://10.1.2.3/x",
                tcp("10.1.2.3", 5432),
            ),
            (
                DataSourceKind::Postgres,
                "postgres://[::1]:5433/x",
                tcp("::1", 5433),
            ),
            (
                DataSourceKind::Postgres,
                "postgres://db/x?host=/run/pg",
                Endpoint::Socket("/run/pg".into()),
            ),
            (
                DataSourceKind::Postgres,
                "postgres://db/x?hostaddr=127.0.0.1",
                tcp("127.0.0.1", 5432),
            ),
            (
                DataSourceKind::Mysql,
                "mysql://db.example/x",
                tcp("db.example", 3306),
            ),
            (
                DataSourceKind::Mysql,
                "mysql://db/x?socket=/run/my.sock",
                Endpoint::Socket("/run/my.sock".into()),
            ),
            (
                DataSourceKind::Sqlite,
                "sqlite:///var/x.db",
                Endpoint::File("/var/x.db".into()),
            ),
            (
                DataSourceKind::Sqlite,
                "/var/x.db",
                Endpoint::File("/var/x.db".into()),
            ),
        ];
        for (kind, url, want) in cases {
            assert_eq!(endpoint(&connect(kind, url)).unwrap(), want, "{url}");
        }
        assert_eq!(
            file_parameters(&connect(
                DataSourceKind::Postgres,
                "postgres://db/x?sslmode=require&ssl%63ert=/etc/k&sslkey=/etc/k2&host=/tmp"
            )),
            ["sslcert", "sslkey", "host"]
        );
        assert!(file_parameters(&connect(
            DataSourceKind::Postgres,
            "postgres://db/x?sslmode=require&host=db2"
        ))
        .is_empty());
    }

    #[test]
    fn jdbc_and_mariadb_urls_are_understood_and_passwords_in_urls_are_noticed() {
        assert_eq!(
            normalise_url(DataSourceKind::Postgres, "jdbc:postgresql://db:5432/x"),
            "postgresql://db:5432/x"
        );
        assert_eq!(
            normalise_url(DataSourceKind::Mysql, "jdbc:mariadb://db/x"),
            "mysql://db/x"
        );
        assert_eq!(
            normalise_url(DataSourceKind::Sqlite, "/var/x.db"),
            "sqlite:///var/x.db"
        );
        assert!(url_has_password("postgres://u:pw@db/x"));
        assert!(!url_has_password("postgres://u@db/x"));
        assert!(!url_has_password("postgres://db:5432/x?sslmode=require"));
        assert!(!url_has_password("sqlite:///tmp/a:b@c.db"));
    }

    #[test]
    fn values_keep_their_json_types() {
        assert_eq!(typed("INT4", "42".into()), Value::from(42));
        assert_eq!(
            typed("BIGINT UNSIGNED", "18446744073709551615".into()),
            Value::from(u64::MAX)
        );
        assert_eq!(typed("FLOAT8", "1.5".into()), Value::from(1.5));
        assert_eq!(typed("BOOL", "t".into()), Value::Bool(true));
        assert_eq!(
            typed("JSONB", "{\"a\":1}".into()),
            serde_json::json!({"a": 1})
        );
        assert_eq!(typed("NUMERIC", "1.10".into()), Value::from("1.10"));
        assert_eq!(typed("INTERVAL", "1 day".into()), Value::from("1 day"));
        assert_eq!(typed("TEXT", "x".into()), Value::from("x"));
    }

    #[tokio::test]
    async fn sqlite_rows_come_back_with_column_names_and_changes_as_a_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        std::fs::File::create(&path).unwrap();
        let db = SqlConnect {
            kind: DataSourceKind::Sqlite,
            url: format!("sqlite://{}", path.display()),
            username: String::new(),
            password: String::new(),
        };
        let never = || std::future::pending::<()>();
        let t = Duration::from_secs(10);
        let r = run(
            &db,
            &text(
                "CREATE TABLE t (id INTEGER, name TEXT, score REAL, raw BLOB); \
                 INSERT INTO t VALUES (1, 'a', 1.5, x'00ff'), (2, NULL, 2, NULL);",
            ),
            t,
            never(),
        )
        .await
        .unwrap();
        assert_eq!(r.rows_affected, 2);
        assert!(r.rows.is_empty());
        let r = run(
            &db,
            &text("SELECT id, name, score FROM t ORDER BY id"),
            t,
            never(),
        )
        .await
        .unwrap();
        assert_eq!(r.columns, ["id", "name", "score"]);
        assert_eq!(r.rows[0]["id"], 1);
        assert_eq!(r.rows[0]["name"], "a");
        assert_eq!(r.rows[0]["score"], 1.5);
        assert_eq!(r.rows[1]["name"], Value::Null);
        let e = run(&db, &text("SELECT nope FROM t"), t, never())
            .await
            .unwrap_err();
        assert!(
            matches!(e, SqlError::Statement(_)) && e.to_string().contains("nope"),
            "{e}"
        );
        let missing = SqlConnect {
            url: format!("sqlite://{}/missing.db", dir.path().display()),
            ..db.clone()
        };
        let e = run(&missing, &text("SELECT 1"), t, never())
            .await
            .unwrap_err();
        assert!(
            matches!(e, SqlError::Unreachable(_) | SqlError::Refused(_)),
            "{e}"
        );
    }

    /// PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`), MariaDB on
    /// 127.0.0.1:3306 (root without password, database `test`) — as the server's tests
    /// reach them — and a SQLite file in `dir`.
    fn databases(dir: &std::path::Path) -> Vec<SqlConnect> {
        let file = dir.join("values.db");
        std::fs::File::create(&file).unwrap();
        vec![
            SqlConnect {
                username: "postgres".into(),
                ..connect(DataSourceKind::Postgres, "postgres://127.0.0.1:5432/test")
            },
            SqlConnect {
                username: "root".into(),
                ..connect(DataSourceKind::Mysql, "mysql://127.0.0.1:3306/test")
            },
            connect(
                DataSourceKind::Sqlite,
                &format!("sqlite://{}", file.display()),
            ),
        ]
    }

    /// A table name unique to this run.
    fn table(prefix: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        format!("{prefix}_{}_{nanos}", std::process::id())
    }

    /// Runs `template` with `vars` as `shared::sql` makes it for `db`.
    async fn go(db: &SqlConnect, template: &str, vars: &Value) -> Result<SqlResult, SqlError> {
        let statements = shared::sql::parameterize(template, db.kind, |p| {
            shared::vars::lookup_value(vars, p).cloned()
        })
        .unwrap_or_else(|e| panic!("{template}: {e}"));
        run(
            db,
            &statements,
            Duration::from_secs(20),
            std::future::pending(),
        )
        .await
    }

    async fn ok(db: &SqlConnect, template: &str, vars: &Value) -> SqlResult {
        go(db, template, vars)
            .await
            .unwrap_or_else(|e| panic!("{:?} {template}: {e}", db.kind))
    }

    #[tokio::test]
    async fn values_arrive_as_data_on_postgres_mariadb_and_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let big: String = "0123456789abcdef\u{e9}\u{4e2d}'\"\\;".repeat(420);
        assert!(big.len() > 10_000);
        for db in databases(dir.path()) {
            let kind = db.kind;
            let t = table("lwams_values");
            let vars = json!({
                "x": 3, "xs": "3", "n": 2, "ns": "2",
                "or": "' OR 1=1 --",
                "drop": format!("x'; DROP TABLE {t}; --"),
                "uni": "中文 ünïcödé 🎉 \\' \"",
                "big": big,
                "none": null,
                "id": 10,
            });
            ok(
                &db,
                &format!("CREATE TABLE {t} (id INTEGER, name TEXT)"),
                &vars,
            )
            .await;
            ok(
                &db,
                &format!("INSERT INTO {t} VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')"),
                &vars,
            )
            .await;
            let count = |r: &SqlResult| r.rows[0]["c"].clone();
            let count_sql = format!("SELECT COUNT(*) AS c FROM {t}");

            // `id = ${x}` against an integer column, the value a number or a string.
            for x in ["x", "xs"] {
                let r = ok(
                    &db,
                    &format!("SELECT id, name FROM {t} WHERE id = ${{{x}}}"),
                    &vars,
                )
                .await;
                assert_eq!(r.rows.len(), 1, "{kind:?} {x}: {r:?}");
                assert_eq!(r.rows[0]["id"], 3, "{kind:?} {x}");
                assert_eq!(r.rows[0]["name"], "c", "{kind:?} {x}");
            }
            // `LIMIT ${n}`.
            for n in ["n", "ns"] {
                let r = ok(
                    &db,
                    &format!("SELECT id FROM {t} ORDER BY id LIMIT ${{{n}}}"),
                    &vars,
                )
                .await;
                assert_eq!(r.rows.len(), 2, "{kind:?} {n}: {r:?}");
            }
            // Hostile values are data: they match nothing and change nothing.
            for v in ["or", "drop"] {
                for shape in ["${V}", "'${V}'"] {
                    let cond = shape.replace('V', v);
                    let r = ok(
                        &db,
                        &format!("SELECT id FROM {t} WHERE name = {cond}"),
                        &vars,
                    )
                    .await;
                    assert!(r.rows.is_empty(), "{kind:?} {cond}: {r:?}");
                    let r = ok(
                        &db,
                        &format!("UPDATE {t} SET name = 'z' WHERE name = {cond}"),
                        &vars,
                    )
                    .await;
                    assert_eq!(r.rows_affected, 0, "{kind:?} {cond}");
                    let r = ok(&db, &format!("DELETE FROM {t} WHERE name = {cond}"), &vars).await;
                    assert_eq!(r.rows_affected, 0, "{kind:?} {cond}");
                }
            }
            assert_eq!(
                count(&ok(&db, &count_sql, &vars).await),
                5,
                "{kind:?}: the table is intact"
            );
            // Values arrive byte for byte: quotes, backslashes, non-ASCII, 10 KB.
            for (i, v) in ["or", "drop", "uni", "big"].into_iter().enumerate() {
                let r = ok(
                    &db,
                    &format!("INSERT INTO {t} VALUES (${{id}} + {i}, ${{{v}}})"),
                    &vars,
                )
                .await;
                assert_eq!(r.rows_affected, 1, "{kind:?} {v}");
                let r = ok(
                    &db,
                    &format!("SELECT name FROM {t} WHERE id = {}", 10 + i),
                    &vars,
                )
                .await;
                assert_eq!(r.rows[0]["name"], vars[v], "{kind:?} {v}");
                let r = ok(
                    &db,
                    &format!("SELECT id FROM {t} WHERE name = ${{{v}}}"),
                    &vars,
                )
                .await;
                assert_eq!(r.rows.len(), 1, "{kind:?} {v}");
                assert_eq!(r.rows[0]["id"], 10 + i, "{kind:?} {v}");
            }
            // Null is NULL.
            let r = ok(
                &db,
                &format!("SELECT COUNT(*) AS c FROM {t} WHERE ${{none}} IS NULL"),
                &vars,
            )
            .await;
            assert_eq!(count(&r), 9, "{kind:?}");
            // A script of statements with values: rows and counts add up as before.
            let r = ok(
                &db,
                &format!(
                    "INSERT INTO {t} VALUES (20, ${{uni}}); -- 'a comment; with $${{x}}'\n\
                     UPDATE {t} SET name = ${{or}} WHERE id = ${{x}};\n\
                     SELECT id, name FROM {t} WHERE id IN (3, 20) ORDER BY id;"
                ),
                &vars,
            )
            .await;
            assert_eq!(r.rows.len(), 2, "{kind:?}: {r:?}");
            assert_eq!(r.rows[0]["name"], vars["or"], "{kind:?}");
            assert_eq!(r.rows[1]["name"], vars["uni"], "{kind:?}");
            // The count is what the same script without values gives (PostgreSQL's
            // includes the rows a SELECT returned, SQLite's the changes before it).
            let before = ok(
                &db,
                &format!(
                    "INSERT INTO {t} VALUES (21, 'u'); UPDATE {t} SET name = 'o' WHERE id = 3;\n\
                     SELECT id, name FROM {t} WHERE id IN (3, 21) ORDER BY id;"
                ),
                &vars,
            )
            .await;
            assert_eq!(r.rows_affected, before.rows_affected, "{kind:?}: {r:?}");
            assert!(r.rows_affected >= 2, "{kind:?}: {r:?}");
            assert_eq!(count(&ok(&db, &count_sql, &vars).await), 11, "{kind:?}");
            ok(&db, &format!("DROP TABLE {t}"), &vars).await;
        }
    }

    #[tokio::test]
    async fn a_failing_script_on_postgres_changes_nothing_and_untyped_values_are_text() {
        let dir = tempfile::tempdir().unwrap();
        let db = databases(dir.path()).remove(0);
        let t = table("lwams_tx");
        let vars = json!({ "x": 1, "maybe": null, "word": "w" });
        ok(&db, &format!("CREATE TABLE {t} (id INTEGER)"), &vars).await;
        let e = go(
            &db,
            &format!("INSERT INTO {t} VALUES (${{x}}); SELECT nope FROM {t} WHERE id = ${{x}}"),
            &vars,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let r = ok(&db, &format!("SELECT COUNT(*) AS c FROM {t}"), &vars).await;
        assert_eq!(r.rows[0]["c"], 0, "rolled back");
        // A statement that takes no parameters says so.
        let e = go(&db, "SET application_name = ${word}", &vars)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not in SET"), "{e}");
        // A parameter PostgreSQL cannot type alone is text, also inside a script.
        let r = ok(
            &db,
            "SELECT ${word} IS NULL AS a, ${maybe} IS NULL AS b",
            &vars,
        )
        .await;
        assert_eq!(r.rows[0]["a"], false);
        assert_eq!(r.rows[0]["b"], true);
        let r = ok(
            &db,
            &format!("INSERT INTO {t} VALUES (${{x}}); SELECT ${{word}} IS NULL AS a FROM {t}"),
            &vars,
        )
        .await;
        assert_eq!(
            r.rows,
            vec![json!({"a": false}).as_object().unwrap().clone()]
        );
        ok(&db, &format!("DROP TABLE {t}"), &vars).await;
    }

    #[tokio::test]
    async fn prepared_rows_read_like_the_simple_protocol_on_postgres_and_mariadb() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = databases(dir.path());
        for db in &dbs[..2] {
            let t = table("lwams_types");
            let (create, insert) = match db.kind {
                DataSourceKind::Postgres => (
                    format!(
                        "CREATE TYPE {t}_mood AS ENUM ('sad', 'happy'); CREATE TABLE {t} (id INT, \
                         small SMALLINT, big BIGINT, f4 REAL, f8 DOUBLE PRECISION, \
                         amount NUMERIC(10,2), day DATE, at TIMESTAMPTZ, span INTERVAL, \
                         u UUID, tags INT[], doc JSONB, j JSON, flag BOOLEAN, \
                         mood {t}_mood, c CHAR(3), raw BYTEA, addr INET)"
                    ),
                    format!(
                        "INSERT INTO {t} VALUES (${{id}}, ${{small}}, ${{big}}, ${{f}}, ${{f}}, \
                         ${{amount}}, ${{day}}, ${{at}}, ${{span}}, ${{u}}, ${{tags}}, ${{doc}}, \
                         ${{doc}}, ${{flag}}, ${{mood}}, ${{c}}, ${{raw}}, ${{addr}})"
                    ),
                ),
                _ => (
                    format!(
                        "CREATE TABLE {t} (id INT, small SMALLINT, big BIGINT UNSIGNED, \
                         f4 FLOAT, f8 DOUBLE, amount DECIMAL(10,2), day DATE, \
                         at DATETIME(6), at0 TIMESTAMP NULL, span TIME, tiny TINYINT(1), \
                         y YEAR, doc JSON, mood ENUM('sad','happy'), c CHAR(3), \
                         raw VARBINARY(10), m MEDIUMINT UNSIGNED)"
                    ),
                    format!(
                        "INSERT INTO {t} VALUES (${{id}}, ${{small}}, ${{big}}, ${{f}}, ${{f}}, \
                         ${{amount}}, ${{day}}, ${{at}}, ${{at0}}, ${{span}}, ${{flag}}, \
                         ${{year}}, ${{doc}}, ${{mood}}, ${{c}}, ${{raw}}, ${{m}})"
                    ),
                ),
            };
            let vars = json!({
                "id": 3, "small": "-7", "big": "9007199254740993", "f": 0.1,
                "amount": "12.50", "day": "2024-02-29", "at": "2024-02-29 10:11:12.5",
                "at0": "2024-03-01 00:00:00", "span": "-27:03:04", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "tags": "{1,2}", "doc": {"a": [1, "x"]}, "flag": true, "mood": "happy",
                "c": "ab", "raw": "bin", "addr": "10.0.0.1/8", "year": 2024, "m": 16777215,
            });
            ok(db, &create, &vars).await;
            ok(db, &insert, &vars).await;
            let simple = ok(db, &format!("SELECT * FROM {t} WHERE id = 3"), &vars).await;
            let bound = ok(db, &format!("SELECT * FROM {t} WHERE id = ${{id}}"), &vars).await;
            assert_eq!(bound.rows.len(), 1, "{:?}", db.kind);
            assert_eq!(bound.columns, simple.columns, "{:?}", db.kind);
            assert_eq!(bound.rows, simple.rows, "{:?}", db.kind);
            let row = &bound.rows[0];
            assert_eq!(row["small"], -7, "{row:?}");
            assert_eq!(row["amount"], "12.50", "{row:?}");
            assert_eq!(row["day"], "2024-02-29", "{row:?}");
            assert_eq!(row["mood"], "happy", "{row:?}");
            match db.kind {
                DataSourceKind::Postgres => {
                    assert_eq!(row["big"], 9007199254740993i64, "{row:?}");
                    assert_eq!(row["f4"], 0.1, "{row:?}");
                    assert_eq!(row["tags"], "{1,2}", "{row:?}");
                    assert_eq!(row["flag"], true, "{row:?}");
                    assert_eq!(row["u"], vars["u"], "{row:?}");
                    assert_eq!(row["doc"], json!({"a": [1, "x"]}), "{row:?}");
                    ok(db, &format!("DROP TABLE {t}; DROP TYPE {t}_mood"), &vars).await;
                }
                _ => {
                    assert_eq!(row["at"], "2024-02-29 10:11:12.500000", "{row:?}");
                    assert_eq!(row["span"], "-27:03:04", "{row:?}");
                    assert_eq!(row["tiny"], true, "{row:?}");
                    assert_eq!(row["m"], 16777215, "{row:?}");
                    ok(db, &format!("DROP TABLE {t}"), &vars).await;
                }
            }
        }
    }

    #[test]
    fn values_are_sent_as_the_type_postgres_infers_for_their_parameter() {
        let ty = |oid| PgTypeInfo::with_oid(Oid(oid));
        let (int4, int8, text, float8, boolean, numeric) =
            (ty(23), ty(20), ty(25), ty(701), ty(16), ty(1700));
        assert_eq!(pg_param(&int4, &json!(3)), PgParam::Bytes(vec![0, 0, 0, 3]));
        assert_eq!(
            pg_param(&int4, &json!(" 3 ")),
            PgParam::Bytes(vec![0, 0, 0, 3])
        );
        // Out of range or not a number: the server converts it and says what is wrong.
        assert_eq!(
            pg_param(&int4, &json!(1u64 << 40)),
            PgParam::FromText("1099511627776".into())
        );
        assert_eq!(pg_param(&int8, &json!("x")), PgParam::FromText("x".into()));
        assert_eq!(pg_param(&text, &json!(3)), PgParam::Bytes(b"3".to_vec()));
        assert_eq!(
            pg_param(&float8, &json!("1.5")),
            PgParam::Bytes(1.5f64.to_be_bytes().to_vec())
        );
        assert_eq!(pg_param(&boolean, &json!(true)), PgParam::Bytes(vec![1]));
        assert_eq!(
            pg_param(&boolean, &json!("yes")),
            PgParam::FromText("yes".into())
        );
        assert_eq!(
            pg_param(&numeric, &json!(1.25)),
            PgParam::FromText("1.25".into())
        );
        assert_eq!(pg_param(&numeric, &Value::Null), PgParam::Null);
        assert_eq!(pg_text(20, &(-5i64).to_be_bytes()), Some("-5".into()));
        assert_eq!(pg_text(700, &0.1f32.to_be_bytes()), Some("0.1".into()));
        assert_eq!(pg_text(3802, b"\x01{\"a\":1}"), Some("{\"a\":1}".into()));
        assert_eq!(pg_text(1042, b"ab "), Some("ab ".into()));
        assert_eq!(pg_text(1700, &[0, 1]), None);
        assert_eq!(pg_text(23, &[0, 1]), None);
    }

    #[test]
    fn binary_mysql_values_read_as_their_text() {
        assert_eq!(mysql_text("INT", &(-2i32).to_le_bytes()), Some("-2".into()));
        assert_eq!(
            mysql_text("BIGINT UNSIGNED", &u64::MAX.to_le_bytes()),
            Some(u64::MAX.to_string())
        );
        assert_eq!(mysql_text("TINYINT", &[0xff]), Some("-1".into()));
        assert_eq!(mysql_text("DECIMAL", b"1.50"), Some("1.50".into()));
        assert_eq!(
            mysql_text("DATE", &[4, 0xe8, 0x07, 2, 29]),
            Some("2024-02-29".into())
        );
        assert_eq!(mysql_text("DATE", &[0]), Some("0000-00-00".into()));
        assert_eq!(
            mysql_text("DATETIME", &[7, 0xe8, 0x07, 2, 29, 10, 11, 12]),
            Some("2024-02-29 10:11:12".into())
        );
        assert_eq!(
            mysql_text(
                "TIMESTAMP",
                &[11, 0xe8, 0x07, 2, 29, 10, 11, 12, 0x20, 0xa1, 0x07, 0]
            ),
            Some("2024-02-29 10:11:12.500000".into())
        );
        assert_eq!(
            mysql_text("TIME", &[8, 1, 1, 0, 0, 0, 3, 4, 5]),
            Some("-27:04:05".into())
        );
        assert_eq!(mysql_text("TIME", &[0]), Some("00:00:00".into()));
        // Truncated or not text: no panic.
        assert_eq!(mysql_text("DATETIME", &[7, 1]), None);
        assert_eq!(mysql_text("BLOB", &[0xff, 0xfe]), None);
    }
}
