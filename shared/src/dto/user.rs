//! Users of a company (SPEC §2.2).

use super::{Id, Millis};
use crate::Locale;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Id,
    pub login: String,
    pub display_name: String,
    pub email: String,
    pub phone: String,
    pub mobile: String,
    pub enabled: bool,
    /// May log in to the Sub Manager's local page.
    pub may_login_agent: bool,
    /// A WeChat identity is bound (shown as "activated").
    pub wechat_bound: bool,
    pub locale: Locale,
    pub group_ids: Vec<Id>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserCreate {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::identifier))]
    pub login: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub display_name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::password))]
    pub password: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::email))]
    pub email: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::phone))]
    pub phone: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::phone))]
    pub mobile: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub may_login_agent: bool,
    #[serde(default)]
    pub locale: Option<Locale>,
    #[serde(default)]
    pub group_ids: Vec<Id>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserUpdate {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub display_name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::email))]
    pub email: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::phone))]
    pub phone: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::phone))]
    pub mobile: String,
    pub enabled: bool,
    #[serde(default)]
    pub may_login_agent: bool,
    pub group_ids: Vec<Id>,
    /// Set a new password for the user (administrator reset); `None` keeps it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::password_or_null))]
    pub password: Option<String>,
}
