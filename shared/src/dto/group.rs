//! User groups and their permission matrices (SPEC §2.2).

use super::Id;
use crate::PermissionMatrix;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub id: Id,
    pub name: String,
    pub description: String,
    pub permissions: PermissionMatrix,
    pub user_ids: Vec<Id>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::text))]
    pub description: String,
    #[serde(default)]
    pub permissions: PermissionMatrix,
}

/// "Associate users": adds these users to the group (existing members stay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMembers {
    pub user_ids: Vec<Id>,
}
