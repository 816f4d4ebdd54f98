//! Request and response bodies of the REST API (`/api/v1`). The server, the browser
//! app and tests all use these types; nothing crosses the wire as untyped JSON.

pub mod auth;
pub mod company;
pub mod data_source;
pub mod error;
pub mod flow;
pub mod group;
pub mod host;
pub mod platform;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod script;
pub mod status;
pub mod user;

use serde::{Deserialize, Serialize};

/// Identifiers are 64-bit integers allocated by the store.
pub type Id = i64;
/// Timestamps are Unix milliseconds (UTC).
pub type Millis = i64;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many items match the filter in all.
    pub total: i64,
}

/// Filter and paging of list endpoints (`?q=&offset=&limit=`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListQuery {
    /// Case-insensitive substring filter.
    pub q: Option<String>,
    pub offset: Option<i64>,
    /// At most 500; 50 when omitted.
    pub limit: Option<i64>,
}

impl ListQuery {
    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 500;

    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }

    pub fn limit(&self) -> i64 {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .clamp(1, Self::MAX_LIMIT)
    }

    /// The filter, trimmed, or `None` when empty.
    pub fn filter(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}
