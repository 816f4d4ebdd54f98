//! SQL steps against data sources (SPEC §3, §5.1): PostgreSQL, MySQL/MariaDB and SQLite.
//! The statement (or a script of statements) runs as given through the simple-query
//! protocol, so any statement the database accepts works; rows come back with their
//! column names (at most [`SQL_ROW_CAP`]) and changes as a count. Runs on the agent
//! and, for steps "in cloud", on the server.

use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use shared::agent::{SqlConnect, SqlResult, SQL_ROW_CAP};
use shared::dto::data_source::DataSourceKind;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Column, ConnectOptions, Connection, Database, Either, Row, TypeInfo, ValueRef};
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

/// Runs `sql` on `db` until it ends, `timeout` passes or `cancel` completes.
pub async fn run(
    db: &SqlConnect,
    sql: &str,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<SqlResult, SqlError> {
    run_pinned(db, None, sql, timeout, cancel).await
}

/// [`run`], connecting to `pin` (an address the caller resolved the host name to and
/// checked) instead of resolving the name again — unless TLS verifies the server's
/// name (PostgreSQL `verify-full`, MySQL `VERIFY_IDENTITY`): the certificate then
/// binds the connection to the name.
pub async fn run_pinned(
    db: &SqlConnect,
    pin: Option<IpAddr>,
    sql: &str,
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
                once::<sqlx::Postgres, _>(o, sql, |d| d.rows_affected()).await?
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
                once::<sqlx::MySql, _>(o, sql, |d| d.rows_affected()).await?
            }
            DataSourceKind::Sqlite => {
                let o = SqliteConnectOptions::from_str(&url)
                    .map_err(bad_url)?
                    .create_if_missing(false);
                once::<sqlx::Sqlite, _>(o, sql, |d| d.rows_affected()).await?
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

/// Connects, runs the statements and closes the connection.
async fn once<DB, O>(
    options: O,
    sql: &str,
    affected: impl Fn(&DB::QueryResult) -> u64,
) -> Result<SqlResult, SqlError>
where
    DB: Database,
    O: ConnectOptions<Connection = DB::Connection>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'r> String: sqlx::Decode<'r, DB>,
    for<'r> Vec<u8>: sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut c = options.connect().await.map_err(connect_error)?;
    let r = execute::<DB>(&mut c, sql, affected).await;
    let _ = c.close().await;
    r
}

/// Runs the statements and collects rows and counts.
async fn execute<DB>(
    c: &mut DB::Connection,
    sql: &str,
    affected: impl Fn(&DB::QueryResult) -> u64,
) -> Result<SqlResult, SqlError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'r> String: sqlx::Decode<'r, DB>,
    for<'r> Vec<u8>: sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut out = SqlResult::default();
    #[allow(deprecated)]
    let mut stream = sqlx::raw_sql(sql).fetch_many(&mut *c);
    while let Some(item) = stream
        .try_next()
        .await
        .map_err(|e| SqlError::Statement(statement_error(e)))?
    {
        match item {
            Either::Left(done) => out.rows_affected += affected(&done),
            Either::Right(row) => {
                if out.rows.len() >= SQL_ROW_CAP {
                    out.truncated = true;
                    continue;
                }
                let mut m = Map::new();
                for (i, col) in row.columns().iter().enumerate() {
                    let name = col.name().to_string();
                    if !out.columns.contains(&name) {
                        out.columns.push(name.clone());
                    }
                    m.insert(name, cell::<DB>(&row, i));
                }
                out.rows.push(m);
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
            "CREATE TABLE t (id INTEGER, name TEXT, score REAL, raw BLOB); \
             INSERT INTO t VALUES (1, 'a', 1.5, x'00ff'), (2, NULL, 2, NULL);",
            t,
            never(),
        )
        .await
        .unwrap();
        assert_eq!(r.rows_affected, 2);
        assert!(r.rows.is_empty());
        let r = run(&db, "SELECT id, name, score FROM t ORDER BY id", t, never())
            .await
            .unwrap();
        assert_eq!(r.columns, ["id", "name", "score"]);
        assert_eq!(r.rows[0]["id"], 1);
        assert_eq!(r.rows[0]["name"], "a");
        assert_eq!(r.rows[0]["score"], 1.5);
        assert_eq!(r.rows[1]["name"], Value::Null);
        let e = run(&db, "SELECT nope FROM t", t, never())
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
        let e = run(&missing, "SELECT 1", t, never()).await.unwrap_err();
        assert!(
            matches!(e, SqlError::Unreachable(_) | SqlError::Refused(_)),
            "{e}"
        );
    }
}
