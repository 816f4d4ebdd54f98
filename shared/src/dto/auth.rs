//! Sign-in, the current session and the user's own settings.

use super::Id;
use crate::{Locale, PermissionMatrix};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The company's code; may be omitted when the installation has one company.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::company_code_or_null))]
    pub company_code: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::login))]
    pub login: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::password_given))]
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompanyBrief {
    pub id: Id,
    pub code: String,
    pub name: String,
}

/// Who is signed in, with the effective rights (union of the user's groups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub user_id: Id,
    pub login: String,
    pub display_name: String,
    pub locale: Locale,
    pub company: CompanyBrief,
    pub permissions: PermissionMatrix,
    /// Send back in the `X-CSRF-Token` header of every state-changing request.
    pub csrf_token: String,
    /// The user administers the platform operator's company (System › Company manage
    /// in it) and so may manage every company (System › Companies).
    #[serde(default)]
    pub platform_operator: bool,
}

/// What the sign-in page must ask (`GET /api/v1/auth/login-options`, no session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginOptions {
    /// More than one company uses this server: the company code is required.
    pub company_code_required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePassword {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::password_given))]
    pub current_password: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::password))]
    pub new_password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetLocale {
    pub locale: Locale,
}
