//! Data sources (Resource › Data sources, SPEC §3): databases SQL steps run against,
//! from the server ("in cloud") or from a host's Sub Manager. The password is
//! write-only: inputs carry it, outputs only say whether one is set.

use super::Id;
use super::Millis;
use serde::{Deserialize, Serialize};

/// The database engines a data source can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DataSourceKind {
    Postgres,
    /// MySQL and MariaDB (one wire protocol).
    Mysql,
    Sqlite,
}

impl DataSourceKind {
    pub const ALL: [DataSourceKind; 3] = [
        DataSourceKind::Postgres,
        DataSourceKind::Mysql,
        DataSourceKind::Sqlite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataSourceKind::Postgres => "postgres",
            DataSourceKind::Mysql => "mysql",
            DataSourceKind::Sqlite => "sqlite",
        }
    }

    pub fn parse(s: &str) -> Option<DataSourceKind> {
        DataSourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the UI shows.
    pub fn label(self) -> &'static str {
        match self {
            DataSourceKind::Postgres => "PostgreSQL",
            DataSourceKind::Mysql => "MySQL / MariaDB",
            DataSourceKind::Sqlite => "SQLite",
        }
    }

    /// An example URL for the form's placeholder.
    pub fn example_url(self) -> &'static str {
        match self {
            DataSourceKind::Postgres => "postgres://db.example:5432/inventory",
            DataSourceKind::Mysql => "mysql://db.example:3306/inventory",
            DataSourceKind::Sqlite => "sqlite:///var/lib/app/data.db",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataSource {
    pub id: Id,
    pub name: String,
    pub kind: DataSourceKind,
    /// The database URL without credentials (`postgres://host:port/db`; JDBC URLs are
    /// accepted and stored as given).
    pub url: String,
    pub username: String,
    /// Whether a password is stored (it is never sent back).
    pub has_password: bool,
    pub comments: String,
    /// The hosts whose Sub Managers may use it (ids); empty: every host of the company.
    /// The password is unsealed only for a step or test on one of them.
    #[serde(default)]
    pub allowed_hosts: Vec<Id>,
    /// Whether steps "in cloud" (and "Test connection" from the server) may use it.
    #[serde(default = "yes")]
    pub in_cloud_allowed: bool,
    pub updated_at: Millis,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataSourceInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub name: String,
    pub kind: Option<DataSourceKind>,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::required_text))]
    pub url: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::username))]
    pub username: String,
    /// `None` or empty on update: keep the stored password. `clear_password` removes it.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub clear_password: bool,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::text))]
    pub comments: String,
    /// The hosts that may use it (see [`DataSource::allowed_hosts`]); `None`: none named
    /// on create, unchanged on update.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<Id>>,
    /// `None`: allowed on create, unchanged on update.
    #[serde(default)]
    pub in_cloud_allowed: Option<bool>,
}

/// "Test connection" of a data source: from the server, or from a host's Sub Manager.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct DataSourceTestQuery {
    /// The host whose Sub Manager connects (for databases inside a private network).
    pub host_id: Option<Id>,
}
