//! `/api/v1/platform`: the platform operator's management of the companies (tenants)
//! on this server (System › Companies): list, create, rename, disable / enable, and a
//! company's first administrator.
//!
//! **Only for platform operators** — users of the platform operator's company (the
//! first one created) with the *manage* right on System › Company. Everybody else, and
//! requests without a session, get exactly what an unknown endpoint answers (404
//! `endpoint not found`, for every method), never 401 or 403: other tenants do not learn
//! these endpoints exist. The `PlatformOperator` extractor comes first in every handler
//! so that no path or body error answers before it.

use super::extract::{JsonBody, PathParam, QueryParams};
use crate::auth::{password, PlatformOperator};
use crate::bootstrap;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::companies::{self, CompanyRow};
use crate::store::{hosts, sessions, Conn, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put, MethodRouter};
use axum::{Json, Router};
use shared::dto::error::ErrorBody;
use shared::dto::platform::{
    FirstAdminCreate, PlatformCompany, PlatformCompanyCreate, PlatformCompanyRename,
};
use shared::dto::{Id, ListQuery, Page};
use shared::validate;

pub fn router() -> Router<AppState> {
    // A method a route does not serve is 404 too (not 405), like an unknown endpoint.
    let hidden =
        |r: MethodRouter<AppState>| r.fallback(|| async { AppError::NotFound("endpoint") });
    Router::new()
        .route(
            "/platform/companies",
            hidden(get(list_companies).post(create_company)),
        )
        .route("/platform/companies/{id}", hidden(put(rename_company)))
        .route(
            "/platform/companies/{id}/disable",
            hidden(post(disable_company)),
        )
        .route(
            "/platform/companies/{id}/enable",
            hidden(post(enable_company)),
        )
        .route(
            "/platform/companies/{id}/admins",
            hidden(post(create_first_admin)),
        )
}

fn to_dto(r: CompanyRow, users: i64) -> PlatformCompany {
    PlatformCompany {
        id: r.id,
        code: r.code,
        name: r.name,
        disabled: r.disabled,
        platform_operator: r.platform_operator,
        users,
        created_at: r.created_at,
    }
}

async fn load(c: &mut Conn, id: Id) -> AppResult<PlatformCompany> {
    let row = companies::get(c, id)
        .await?
        .ok_or(AppError::NotFound("company"))?;
    let users = companies::user_count(c, id).await?;
    Ok(to_dto(row, users))
}

/// Every company, oldest first, filtered by code or name, with its number of users.
#[utoipa::path(get, path = "/api/v1/platform/companies", tag = "platform", params(ListQuery),
    responses((status = 200, body = Page<PlatformCompany>),
        (status = 404, description = "not a platform operator", body = ErrorBody)))]
pub async fn list_companies(
    PlatformOperator(_p): PlatformOperator,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Json<Page<PlatformCompany>>> {
    let mut c = state.store.conn().await?;
    let (rows, total) = companies::list_with_users(&mut c, &q).await?;
    let items = rows.into_iter().map(|s| to_dto(s.row, s.users)).collect();
    Ok(Json(Page { items, total }))
}

/// Creates a company with an Administrators group holding every right; its first
/// administrator comes next (`POST …/{id}/admins`).
#[utoipa::path(post, path = "/api/v1/platform/companies", tag = "platform",
    request_body = PlatformCompanyCreate,
    responses((status = 201, body = PlatformCompany), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 404, description = "not a platform operator", body = ErrorBody)))]
pub async fn create_company(
    PlatformOperator(p): PlatformOperator,
    State(state): State<AppState>,
    JsonBody(req): JsonBody<PlatformCompanyCreate>,
) -> AppResult<(StatusCode, Json<PlatformCompany>)> {
    let code = validate::company_code("code", &req.code)?;
    let name = validate::required_text("name", &req.name, validate::NAME_MAX)?;
    let mut tx = state.store.begin().await?;
    let created = match bootstrap::create_company(&mut tx, &code, &name).await {
        Ok(created) => created,
        Err(e) if e.is_unique_violation() => return Err(code_taken(&code)),
        Err(e) => return Err(e.into()),
    };
    let company = load(&mut tx, created.id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(company_id = created.id, code = %code, by = p.user_id, "company created");
    Ok((StatusCode::CREATED, Json(company)))
}

/// The conflict answer for a company code in use.
pub fn code_taken(code: &str) -> AppError {
    AppError::Conflict {
        field: Some("code".into()),
        message: format!("code: a company with code {code} already exists"),
    }
}

/// Renames a company (its code, which users type at sign-in, stays).
#[utoipa::path(put, path = "/api/v1/platform/companies/{id}", tag = "platform", params(("id" = i64, Path, description = "the company's id")),
    request_body = PlatformCompanyRename,
    responses((status = 200, body = PlatformCompany), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn rename_company(
    PlatformOperator(p): PlatformOperator,
    State(state): State<AppState>,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<PlatformCompanyRename>,
) -> AppResult<Json<PlatformCompany>> {
    let name = validate::required_text("name", &req.name, validate::NAME_MAX)?;
    let mut c = state.store.conn().await?;
    if !companies::rename(&mut c, id, &name).await? {
        return Err(AppError::NotFound("company"));
    }
    tracing::info!(company_id = id, by = p.user_id, "company renamed");
    Ok(Json(load(&mut c, id).await?))
}

/// Disables a company: its users cannot sign in, its sessions end, its Sub Managers
/// are disconnected and refused. The operator's own company cannot be disabled.
#[utoipa::path(post, path = "/api/v1/platform/companies/{id}/disable", tag = "platform", params(("id" = i64, Path, description = "the company's id")),
    responses((status = 200, body = PlatformCompany), (status = 404, body = ErrorBody),
        (status = 409, description = "the operator's own company", body = ErrorBody)))]
pub async fn disable_company(
    PlatformOperator(p): PlatformOperator,
    State(state): State<AppState>,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<PlatformCompany>> {
    if id == p.company_id {
        return Err(AppError::NotAllowed(
            "you cannot disable your own company (the platform operator's)".into(),
        ));
    }
    let mut tx = state.store.begin().await?;
    let row = companies::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound("company"))?;
    if row.platform_operator {
        return Err(AppError::NotAllowed(
            "the platform operator's company cannot be disabled".into(),
        ));
    }
    companies::set_disabled(&mut tx, id, true).await?;
    let ended = sessions::delete_for_company(&mut tx, id).await?;
    let hosts = hosts::ids(&mut tx, id).await?;
    let company = load(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    // Connected Sub Managers are cut (and refused when they dial again).
    for host in hosts {
        state.agents.kick(host);
    }
    tracing::info!(
        company_id = id,
        sessions = ended,
        by = p.user_id,
        "company disabled"
    );
    Ok(Json(company))
}

/// Enables a disabled company again (its users sign in anew).
#[utoipa::path(post, path = "/api/v1/platform/companies/{id}/enable", tag = "platform", params(("id" = i64, Path, description = "the company's id")),
    responses((status = 200, body = PlatformCompany), (status = 404, body = ErrorBody)))]
pub async fn enable_company(
    PlatformOperator(p): PlatformOperator,
    State(state): State<AppState>,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<PlatformCompany>> {
    let mut c = state.store.conn().await?;
    if !companies::set_disabled(&mut c, id, false).await? {
        return Err(AppError::NotFound("company"));
    }
    tracing::info!(company_id = id, by = p.user_id, "company enabled");
    Ok(Json(load(&mut c, id).await?))
}

/// Creates the company's first administrator (a member of its Administrators group),
/// validated as any new user. Refused once the company has users: from then on its
/// own administrators manage them (System › Users).
#[utoipa::path(post, path = "/api/v1/platform/companies/{id}/admins", tag = "platform", params(("id" = i64, Path, description = "the company's id")),
    request_body = FirstAdminCreate,
    responses((status = 201, body = PlatformCompany), (status = 404, body = ErrorBody),
        (status = 409, description = "the company already has users", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_first_admin(
    PlatformOperator(p): PlatformOperator,
    State(state): State<AppState>,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<FirstAdminCreate>,
) -> AppResult<(StatusCode, Json<PlatformCompany>)> {
    let login = validate::identifier("login", &req.login, validate::LOGIN_MAX)?;
    let display_name =
        validate::required_text("display_name", &req.display_name, validate::NAME_MAX)?;
    validate::password("password", &req.password)?;
    // Refuse early, before the deliberately slow hash.
    let mut c = state.store.conn().await?;
    let row = companies::get(&mut c, id)
        .await?
        .ok_or(AppError::NotFound("company"))?;
    if companies::user_count(&mut c, id).await? > 0 {
        return Err(has_users(&row.code));
    }
    drop(c);
    let hash = password::hash(&req.password)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = state.store.begin().await?;
    if companies::user_count(&mut tx, id).await? > 0 {
        return Err(has_users(&row.code));
    }
    let group = bootstrap::admin_group(&mut tx, id).await?;
    let user =
        bootstrap::add_administrator(&mut tx, id, group, &login, &display_name, &hash).await?;
    let company = load(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(
        company_id = id,
        user_id = user,
        by = p.user_id,
        "first administrator created"
    );
    Ok((StatusCode::CREATED, Json(company)))
}

fn has_users(code: &str) -> AppError {
    AppError::NotAllowed(format!(
        "company {code} already has users: its administrators add more under System › Users"
    ))
}
