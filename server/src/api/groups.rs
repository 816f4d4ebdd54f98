//! `/api/v1/groups`: user groups, their permission matrices and "associate users".

use super::admin_rule::ensure_admins_remain;
use super::extract::{JsonBody, PathParam, QueryParams};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::groups::{self, GroupRow};
use crate::store::{users, Conn, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use shared::dto::error::ErrorBody;
use shared::dto::group::{Group, GroupInput, GroupMembers};
use shared::dto::{Id, ListQuery, Page};
use shared::validate::{fields, FieldError, FieldErrorCode};
use shared::{Function, Level};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list_groups).post(create_group))
        .route(
            "/groups/{id}",
            get(get_group).put(update_group).delete(delete_group),
        )
        .route("/groups/{id}/members", post(add_members))
        .route("/groups/{id}/members/{user_id}", delete(remove_member))
}

async fn load(c: &mut Conn, company_id: Id, id: Id) -> AppResult<Group> {
    let row = groups::get(c, company_id, id)
        .await?
        .ok_or(AppError::NotFound("group"))?;
    let mut perms = groups::permissions(c, company_id).await?;
    let mut members = groups::members(c, company_id).await?;
    Ok(to_dto(row, &mut perms, &mut members))
}

fn to_dto(
    r: GroupRow,
    perms: &mut std::collections::HashMap<Id, shared::PermissionMatrix>,
    members: &mut std::collections::HashMap<Id, Vec<Id>>,
) -> Group {
    Group {
        permissions: perms.remove(&r.id).unwrap_or_default(),
        user_ids: members.remove(&r.id).unwrap_or_default(),
        id: r.id,
        name: r.name,
        description: r.description,
    }
}

fn validate_input(req: &GroupInput) -> Result<(String, String), FieldError> {
    Ok((
        fields::GROUP_NAME.check("name", &req.name)?,
        fields::GROUP_DESCRIPTION.check("description", &req.description)?,
    ))
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", params(ListQuery),
    responses((status = 200, body = Page<Group>), (status = 403, body = ErrorBody)))]
pub async fn list_groups(
    State(state): State<AppState>,
    p: Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Json<Page<Group>>> {
    p.require(Function::SystemUsers, Level::View)?;
    let mut c = state.store.conn().await?;
    let (rows, total) = groups::list(&mut c, p.company_id, &q).await?;
    let mut perms = groups::permissions(&mut c, p.company_id).await?;
    let mut members = groups::members(&mut c, p.company_id).await?;
    let items = rows
        .into_iter()
        .map(|r| to_dto(r, &mut perms, &mut members))
        .collect();
    Ok(Json(Page { items, total }))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = i64, Path, description = "the user group's id")),
    responses((status = 200, body = Group), (status = 404, body = ErrorBody)))]
pub async fn get_group(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<Group>> {
    p.require(Function::SystemUsers, Level::View)?;
    let mut c = state.store.conn().await?;
    Ok(Json(load(&mut c, p.company_id, id).await?))
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = GroupInput,
    responses((status = 201, body = Group), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_group(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<GroupInput>,
) -> AppResult<(StatusCode, Json<Group>)> {
    p.require(Function::SystemUsers, Level::Manage)?;
    let (name, description) = validate_input(&req)?;
    let mut tx = state.store.begin().await?;
    let id = match groups::insert(&mut tx, p.company_id, &name, &description).await {
        Ok(id) => id,
        Err(e) if e.is_unique_violation() => {
            return Err(AppError::duplicate("name", "this group name"))
        }
        Err(e) => return Err(e.into()),
    };
    groups::set_permissions(&mut tx, id, &req.permissions).await?;
    let g = load(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(group_id = id, by = p.user_id, "group created");
    Ok((StatusCode::CREATED, Json(g)))
}

#[utoipa::path(put, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = i64, Path, description = "the user group's id")), request_body = GroupInput,
    responses((status = 200, body = Group), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_group(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<GroupInput>,
) -> AppResult<Json<Group>> {
    p.require(Function::SystemUsers, Level::Manage)?;
    let (name, description) = validate_input(&req)?;
    let mut tx = state.store.begin().await?;
    match groups::update(&mut tx, p.company_id, id, &name, &description).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::NotFound("group")),
        Err(e) if e.is_unique_violation() => {
            return Err(AppError::duplicate("name", "this group name"))
        }
        Err(e) => return Err(e.into()),
    }
    groups::set_permissions(&mut tx, id, &req.permissions).await?;
    ensure_admins_remain(&mut tx, p.company_id, p.user_id).await?;
    let g = load(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(group_id = id, by = p.user_id, "group updated");
    Ok(Json(g))
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = i64, Path, description = "the user group's id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_group(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<StatusCode> {
    p.require(Function::SystemUsers, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    if !groups::delete(&mut tx, p.company_id, id).await? {
        return Err(AppError::NotFound("group"));
    }
    ensure_admins_remain(&mut tx, p.company_id, p.user_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(group_id = id, by = p.user_id, "group deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// "Associate users": adds existing users of the company to the group.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members", tag = "groups", params(("id" = i64, Path, description = "the user group's id")), request_body = GroupMembers,
    responses((status = 200, body = Group), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_members(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<GroupMembers>,
) -> AppResult<Json<Group>> {
    p.require(Function::SystemUsers, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    groups::get(&mut tx, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("group"))?;
    for u in &req.user_ids {
        if users::get(&mut tx, p.company_id, *u).await?.is_none() {
            return Err(FieldError::new(
                "user_ids",
                FieldErrorCode::Invalid,
                format!("no user with id {u}"),
            )
            .into());
        }
    }
    groups::add_members(&mut tx, id, &req.user_ids).await?;
    let g = load(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(g))
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", tag = "groups", params(("id" = i64, Path, description = "the user group's id"), ("user_id" = i64, Path, description = "the member's user id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    p: Principal,
    PathParam((id, user_id)): PathParam<(Id, Id)>,
) -> AppResult<StatusCode> {
    p.require(Function::SystemUsers, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    groups::get(&mut tx, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("group"))?;
    if !groups::remove_member(&mut tx, id, user_id).await? {
        return Err(AppError::NotFound("member"));
    }
    ensure_admins_remain(&mut tx, p.company_id, p.user_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
