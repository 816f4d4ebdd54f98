//! `/api/v1/groups`: user groups, their permission matrix and members.

use super::{list_path, send_empty, send_json, ApiResult, Method};
use shared::dto::group::{Group, GroupInput, GroupMembers};
use shared::dto::{Id, ListQuery, Page};

/// One page of groups whose name or description contains the search.
pub async fn list(q: ListQuery) -> ApiResult<Page<Group>> {
    super::get(&list_path("/groups", &q, "")).await
}

pub async fn create(body: &GroupInput) -> ApiResult<Group> {
    send_json(Method::Post, "/groups", body).await
}

pub async fn update(id: Id, body: &GroupInput) -> ApiResult<Group> {
    send_json(Method::Put, &format!("/groups/{id}"), body).await
}

pub async fn delete(id: Id) -> ApiResult<()> {
    send_empty::<()>(Method::Delete, &format!("/groups/{id}"), None).await
}

/// Adds users to the group.
pub async fn add_members(id: Id, body: &GroupMembers) -> ApiResult<Group> {
    send_json(Method::Post, &format!("/groups/{id}/members"), body).await
}
