//! The company (tenant) settings page.

use super::Id;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Company {
    pub id: Id,
    pub code: String,
    pub name: String,
    pub wechat_app_id: String,
    /// Whether a WeChat appSecret is stored. The secret itself is never sent.
    pub wechat_app_secret_set: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompanyUpdate {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::company_code))]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::app_id))]
    pub wechat_app_id: String,
    /// `None` keeps the stored secret, `Some("")` clears it, anything else replaces it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::secret_or_null))]
    pub wechat_app_secret: Option<String>,
}
