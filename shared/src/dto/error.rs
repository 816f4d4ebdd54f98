//! The body of every error response.

use serde::{Deserialize, Serialize};

/// `{"error": "validation", "message": "login: is required", "field": "login"}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A stable machine-readable code: `validation`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `csrf`, `locked`, `internal`.
    pub error: String,
    /// A human-readable sentence naming what is wrong.
    pub message: String,
    /// The request field the error is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
