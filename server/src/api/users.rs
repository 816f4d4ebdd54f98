//! `/api/v1/users`: users of the signed-in user's company (System › Users).

use super::admin_rule::ensure_admins_remain;
use super::extract::{JsonBody, PathParam, QueryParams};
use crate::auth::{password, Principal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::users::{self, UserFields, UserRow};
use crate::store::{groups, sessions, Conn, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use shared::dto::error::ErrorBody;
use shared::dto::user::{User, UserCreate, UserUpdate};
use shared::dto::{Id, ListQuery, Page};
use shared::validate::{fields, FieldError, FieldErrorCode};
use shared::{Function, Level};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
}

fn to_dto(r: UserRow, group_ids: Vec<Id>) -> User {
    User {
        id: r.id,
        login: r.login,
        display_name: r.display_name,
        email: r.email,
        phone: r.phone,
        mobile: r.mobile,
        enabled: r.enabled,
        may_login_agent: r.may_login_agent,
        wechat_bound: r.wechat_openid.is_some(),
        locale: r.locale,
        group_ids,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

struct ValidFields {
    display_name: String,
    email: String,
    phone: String,
    mobile: String,
}

fn validate_fields(
    display_name: &str,
    email: &str,
    phone: &str,
    mobile: &str,
) -> Result<ValidFields, FieldError> {
    Ok(ValidFields {
        display_name: fields::USER_DISPLAY_NAME.check("display_name", display_name)?,
        email: fields::USER_EMAIL.check("email", email)?,
        phone: fields::USER_PHONE.check("phone", phone)?,
        mobile: fields::USER_PHONE.check("mobile", mobile)?,
    })
}

async fn check_groups(c: &mut Conn, company_id: Id, ids: &[Id]) -> AppResult<Vec<Id>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in &ids {
        if groups::get(c, company_id, *id).await?.is_none() {
            return Err(FieldError::new(
                "group_ids",
                FieldErrorCode::Invalid,
                format!("no group with id {id}"),
            )
            .into());
        }
    }
    Ok(ids)
}

async fn load(c: &mut Conn, company_id: Id, id: Id) -> AppResult<User> {
    let row = users::get(c, company_id, id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let mut gids = users::group_ids(c, company_id).await?;
    Ok(to_dto(row, gids.remove(&id).unwrap_or_default()))
}

/// Users of the company, filtered by login, name or e-mail.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListQuery),
    responses((status = 200, body = Page<User>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    p: Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Json<Page<User>>> {
    p.require(Function::SystemUsers, Level::View)?;
    let mut c = state.store.conn().await?;
    let (rows, total) = users::list(&mut c, p.company_id, &q).await?;
    let mut gids = users::group_ids(&mut c, p.company_id).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let g = gids.remove(&r.id).unwrap_or_default();
            to_dto(r, g)
        })
        .collect();
    Ok(Json(Page { items, total }))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "the user's id")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<User>> {
    p.require(Function::SystemUsers, Level::View)?;
    let mut c = state.store.conn().await?;
    Ok(Json(load(&mut c, p.company_id, id).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserCreate,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<UserCreate>,
) -> AppResult<(StatusCode, Json<User>)> {
    p.require(Function::SystemUsers, Level::Manage)?;
    let login = fields::USER_LOGIN.check("login", &req.login)?;
    let f = validate_fields(&req.display_name, &req.email, &req.phone, &req.mobile)?;
    fields::USER_PASSWORD.check("password", &req.password)?;
    let hash = password::hash(&req.password)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = state.store.begin().await?;
    let group_ids = check_groups(&mut tx, p.company_id, &req.group_ids).await?;
    let fields = UserFields {
        display_name: &f.display_name,
        email: &f.email,
        phone: &f.phone,
        mobile: &f.mobile,
        enabled: req.enabled,
        may_login_agent: req.may_login_agent,
    };
    let locale = req.locale.unwrap_or(p.locale);
    let id = match users::insert(&mut tx, p.company_id, &login, &hash, locale, &fields).await {
        Ok(id) => id,
        Err(e) if e.is_unique_violation() => {
            return Err(AppError::duplicate("login", "this login name"))
        }
        Err(e) => return Err(e.into()),
    };
    users::set_groups(&mut tx, id, &group_ids).await?;
    let user = load(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(user_id = id, by = p.user_id, "user created");
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "the user's id")), request_body = UserUpdate,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<UserUpdate>,
) -> AppResult<Json<User>> {
    p.require(Function::SystemUsers, Level::Manage)?;
    let f = validate_fields(&req.display_name, &req.email, &req.phone, &req.mobile)?;
    let hash = match &req.password {
        Some(pw) if !pw.is_empty() => {
            fields::USER_PASSWORD.check("password", pw)?;
            Some(
                password::hash(pw)
                    .await
                    .map_err(|e| AppError::Internal(e.into()))?,
            )
        }
        _ => None,
    };
    let mut tx = state.store.begin().await?;
    let group_ids = check_groups(&mut tx, p.company_id, &req.group_ids).await?;
    let fields = UserFields {
        display_name: &f.display_name,
        email: &f.email,
        phone: &f.phone,
        mobile: &f.mobile,
        enabled: req.enabled,
        may_login_agent: req.may_login_agent,
    };
    if !users::update(&mut tx, p.company_id, id, &fields).await? {
        return Err(AppError::NotFound("user"));
    }
    users::set_groups(&mut tx, id, &group_ids).await?;
    if let Some(h) = &hash {
        users::set_password(&mut tx, p.company_id, id, h).await?;
    }
    if hash.is_some() || !req.enabled {
        if id == p.user_id {
            sessions::delete_for_user_except(&mut tx, id, &p.session_hash).await?;
        } else {
            sessions::delete_for_user(&mut tx, id).await?;
        }
    }
    ensure_admins_remain(&mut tx, p.company_id, p.user_id).await?;
    let user = load(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(user_id = id, by = p.user_id, "user updated");
    Ok(Json(user))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "the user's id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<StatusCode> {
    p.require(Function::SystemUsers, Level::Manage)?;
    if id == p.user_id {
        return Err(AppError::NotAllowed(
            "you cannot delete your own account".into(),
        ));
    }
    let mut tx = state.store.begin().await?;
    if !users::delete(&mut tx, p.company_id, id).await? {
        return Err(AppError::NotFound("user"));
    }
    ensure_admins_remain(&mut tx, p.company_id, p.user_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(user_id = id, by = p.user_id, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}
