//! `/api/v1/auth`: sign in and out, who am I, own password and language.

use super::extract::JsonBody;
use crate::auth::{login, password, session, Principal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{companies, sessions, users, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use shared::dto::auth::{ChangePassword, CompanyBrief, LoginOptions, LoginRequest, Me, SetLocale};
use shared::dto::error::ErrorBody;
use shared::validate;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(sign_in))
        .route("/auth/login-options", get(login_options))
        .route("/auth/logout", post(sign_out))
        .route("/auth/me", get(me))
        .route("/auth/password", post(change_password))
        .route("/auth/locale", put(set_locale))
}

async fn me_of(state: &AppState, p: &Principal) -> AppResult<Me> {
    let mut c = state.store.conn().await?;
    let co = companies::get(&mut c, p.company_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(Me {
        user_id: p.user_id,
        login: p.login.clone(),
        display_name: p.display_name.clone(),
        locale: p.locale,
        company: CompanyBrief {
            id: co.id,
            code: co.code,
            name: co.name,
        },
        permissions: p.permissions.clone(),
        csrf_token: p.csrf_token.clone(),
        platform_operator: p.is_platform_operator(),
    })
}

/// What the sign-in page asks for: the company code once several companies use the
/// server. Needs no session (the page shows it before anyone signs in).
#[utoipa::path(get, path = "/api/v1/auth/login-options", tag = "auth",
    responses((status = 200, body = LoginOptions)))]
pub async fn login_options(State(state): State<AppState>) -> AppResult<Json<LoginOptions>> {
    Ok(Json(login::options(&state.store).await?))
}

/// Signs in and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody),
        (status = 403, description = "the company is disabled (`company_disabled`)", body = ErrorBody),
        (status = 422, description = "login, password, or the company code when several companies exist", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    JsonBody(req): JsonBody<LoginRequest>,
) -> AppResult<(CookieJar, Json<Me>)> {
    validate::required_text("login", &req.login, validate::LOGIN_MAX)?;
    if req.password.is_empty() {
        return Err(validate::FieldError::new(
            "password",
            validate::FieldErrorCode::Required,
            "is required",
        )
        .into());
    }
    let s = login::login(&state.store, &req, state.config.session_hours).await?;
    let hash = session::token_hash(&s.token);
    let mut c = state.store.conn().await?;
    let row = sessions::get_live(&mut c, &hash)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let u = users::get(&mut c, s.company_id, s.user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let permissions = crate::store::groups::user_permissions(&mut c, u.id).await?;
    drop(c);
    let p = Principal {
        user_id: u.id,
        company_id: u.company_id,
        login: u.login,
        display_name: u.display_name,
        locale: u.locale,
        permissions,
        csrf_token: row.csrf_token,
        session_hash: hash,
        operator_company: row.platform_operator,
    };
    let me = me_of(&state, &p).await?;
    let max_age = state.config.session_hours as i64 * 3600;
    Ok((
        jar.add(session::cookie(
            s.token,
            state.config.cookie_secure,
            max_age,
        )),
        Json(me),
    ))
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn sign_out(
    State(state): State<AppState>,
    p: Principal,
    jar: CookieJar,
) -> AppResult<(CookieJar, StatusCode)> {
    let mut c = state.store.conn().await?;
    sessions::delete(&mut c, &p.session_hash).await?;
    Ok((
        jar.add(session::removal_cookie(state.config.cookie_secure)),
        StatusCode::NO_CONTENT,
    ))
}

/// The signed-in user, its company and effective rights.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, p: Principal) -> AppResult<Json<Me>> {
    Ok(Json(me_of(&state, &p).await?))
}

/// Changes one's own password; other sessions of the user end.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePassword,
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<ChangePassword>,
) -> AppResult<StatusCode> {
    validate::password("new_password", &req.new_password)?;
    let mut c = state.store.conn().await?;
    let u = users::get(&mut c, p.company_id, p.user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    drop(c);
    if !password::verify(Some(u.password_hash), &req.current_password).await? {
        return Err(validate::FieldError::new(
            "current_password",
            validate::FieldErrorCode::Invalid,
            "is not your current password",
        )
        .into());
    }
    let hash = password::hash(&req.new_password)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = state.store.begin().await?;
    users::set_password(&mut tx, p.company_id, p.user_id, &hash).await?;
    sessions::delete_for_user_except(&mut tx, p.user_id, &p.session_hash).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets one's own UI language.
#[utoipa::path(put, path = "/api/v1/auth/locale", tag = "auth", request_body = SetLocale,
    responses((status = 204)))]
pub async fn set_locale(
    State(state): State<AppState>,
    p: Principal,
    jar: CookieJar,
    JsonBody(req): JsonBody<SetLocale>,
) -> AppResult<(CookieJar, StatusCode)> {
    let mut c = state.store.conn().await?;
    users::set_locale(&mut c, p.company_id, p.user_id, req.locale).await?;
    Ok((
        jar.add(session::lang_cookie(req.locale, state.config.cookie_secure)),
        StatusCode::NO_CONTENT,
    ))
}
