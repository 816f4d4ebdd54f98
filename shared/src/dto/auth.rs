//! Sign-in, the current session and the user's own settings.

use super::Id;
use crate::{Locale, PermissionMatrix};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The company's code; may be omitted when the installation has one company.
    #[serde(default)]
    pub company_code: Option<String>,
    pub login: String,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetLocale {
    pub locale: Locale,
}
