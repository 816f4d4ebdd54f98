//! The platform operator's view of the companies (tenants) on this server
//! (`/api/v1/platform`, System › Companies).

use super::{Id, Millis};
use serde::{Deserialize, Serialize};

/// A company as the platform operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlatformCompany {
    pub id: Id,
    pub code: String,
    pub name: String,
    /// Its users cannot sign in, its sessions and Sub Managers are refused.
    pub disabled: bool,
    /// The platform operator's own company (cannot be disabled).
    pub platform_operator: bool,
    /// How many users it has.
    pub users: i64,
    pub created_at: Millis,
}

/// A new company: it gets an Administrators group with every right and no user yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlatformCompanyCreate {
    /// 1–32 letters, digits, `-` and `_`; unique.
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::company_code))]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlatformCompanyRename {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub name: String,
}

/// A company's first administrator (a member of its Administrators group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FirstAdminCreate {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::identifier))]
    pub login: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub display_name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::password))]
    pub password: String,
}
