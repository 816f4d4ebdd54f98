//! `/api/v1/company`: the signed-in user's company (System › Company).

use super::extract::JsonBody;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::companies::{self, CompanyRow};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shared::dto::company::{Company, CompanyUpdate};
use shared::dto::error::ErrorBody;
use shared::{validate, Function, Level};

pub fn router() -> Router<AppState> {
    Router::new().route("/company", get(get_company).put(update_company))
}

fn to_dto(r: CompanyRow) -> Company {
    Company {
        id: r.id,
        code: r.code,
        name: r.name,
        wechat_app_id: r.wechat_app_id,
        wechat_app_secret_set: r.wechat_app_secret_enc.is_some(),
    }
}

/// The company's settings (the WeChat secret only as "set or not").
#[utoipa::path(get, path = "/api/v1/company", tag = "company",
    responses((status = 200, body = Company), (status = 403, body = ErrorBody)))]
pub async fn get_company(State(state): State<AppState>, p: Principal) -> AppResult<Json<Company>> {
    p.require(Function::SystemCompany, Level::View)?;
    let mut c = state.store.conn().await?;
    let row = companies::get(&mut c, p.company_id)
        .await?
        .ok_or(AppError::NotFound("company"))?;
    Ok(Json(to_dto(row)))
}

/// Edits name, code and WeChat settings; the secret is write-only.
#[utoipa::path(put, path = "/api/v1/company", tag = "company", request_body = CompanyUpdate,
    responses((status = 200, body = Company), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_company(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<CompanyUpdate>,
) -> AppResult<Json<Company>> {
    p.require(Function::SystemCompany, Level::Manage)?;
    let code = validate::company_code("code", &req.code)?;
    let name = validate::required_text("name", &req.name, validate::NAME_MAX)?;
    let app_id =
        validate::optional_text("wechat_app_id", &req.wechat_app_id, validate::APP_ID_MAX)?;
    let secret = match req.wechat_app_secret.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(s) => {
            let s = validate::optional_text("wechat_app_secret", s, validate::SECRET_MAX)?;
            Some(Some(state.secrets.seal(
                &crate::store::sealed::COMPANY_WECHAT_SECRET.at(p.company_id, p.company_id),
                &s,
            )))
        }
    };
    let mut c = state.store.conn().await?;
    match companies::update(&mut c, p.company_id, &code, &name, &app_id, secret).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::NotFound("company")),
        Err(e) if e.is_unique_violation() => {
            return Err(AppError::duplicate("code", "this company code"))
        }
        Err(e) => return Err(e.into()),
    }
    let row = companies::get(&mut c, p.company_id)
        .await?
        .ok_or(AppError::NotFound("company"))?;
    tracing::info!(company_id = p.company_id, by = p.user_id, "company updated");
    Ok(Json(to_dto(row)))
}
