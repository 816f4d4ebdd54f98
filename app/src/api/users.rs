//! `/api/v1/users`: the company's users.

use super::{list_path, send_empty, send_json, ApiResult, Method};
use shared::dto::user::{User, UserCreate, UserUpdate};
use shared::dto::{Id, ListQuery, Page};

/// One page of users whose login, name or e-mail contains the search.
pub async fn list(q: ListQuery) -> ApiResult<Page<User>> {
    super::get(&list_path("/users", &q, "")).await
}

pub async fn create(body: &UserCreate) -> ApiResult<User> {
    send_json(Method::Post, "/users", body).await
}

pub async fn update(id: Id, body: &UserUpdate) -> ApiResult<User> {
    send_json(Method::Put, &format!("/users/{id}"), body).await
}

pub async fn delete(id: Id) -> ApiResult<()> {
    send_empty::<()>(Method::Delete, &format!("/users/{id}"), None).await
}
