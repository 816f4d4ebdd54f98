//! `/api/v1/data-sources`: Resource › Data sources (SPEC §3). Reads need the View right
//! on Resource › Data sources, changes and connection tests Manage. The password is
//! write-only: sealed on the way in, never sent back.

use super::extract::{JsonBody, PathParam, QueryParams};
use super::hosts::SECRET_MAX;
use crate::auth::Principal;
use crate::error::{unique, AppError, AppResult};
use crate::state::AppState;
use crate::store::data_sources::{self, DataSourceFields, Usable};
use crate::store::hosts;
use crate::store::sealed;
use crate::store::StoreError;
use agent::executors::sql::{normalise_url, url_has_password};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::agent::{TaskOutcome, TaskSpec};
use shared::dto::data_source::{DataSource, DataSourceInput, DataSourceKind, DataSourceTestQuery};
use shared::dto::error::ErrorBody;
use shared::dto::host::ConnectionTest;
use shared::dto::{Id, ListQuery};
use shared::validate::{self, FieldError, FieldErrorCode};
use shared::{Function, Level};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/data-sources",
            get(list_data_sources).post(create_data_source),
        )
        .route(
            "/data-sources/{id}",
            get(get_data_source)
                .put(update_data_source)
                .delete(delete_data_source),
        )
        .route("/data-sources/{id}/test", post(test_data_source))
}

/// The statement "Test connection" runs.
const PROBE_SQL: &str = "SELECT 1";

/// Validated fields of a data source.
struct Fields {
    name: String,
    kind: DataSourceKind,
    url: String,
    username: String,
    comments: String,
}

/// The hosts a data source names, checked: hosts of the company, or ids it already
/// named (a deleted host stays named, so the restriction never widens by itself).
async fn check_hosts(
    c: &mut crate::store::Conn,
    company_id: Id,
    hosts: Option<&[Id]>,
    named: &[Id],
) -> AppResult<()> {
    for id in hosts.unwrap_or_default() {
        if !named.contains(id) && hosts::get_host(c, company_id, *id).await?.is_none() {
            return Err(FieldError::new(
                "allowed_hosts",
                FieldErrorCode::Invalid,
                format!("host {id} is not a host of this company"),
            )
            .into());
        }
    }
    Ok(())
}

fn usable(req: &DataSourceInput) -> Usable<'_> {
    Usable {
        hosts: req.allowed_hosts.as_deref(),
        in_cloud: req.in_cloud_allowed,
    }
}

fn fields(req: &DataSourceInput) -> Result<Fields, FieldError> {
    let name = validate::required_text("name", &req.name, validate::NAME_MAX)?;
    let kind = req.kind.ok_or_else(|| {
        FieldError::new(
            "kind",
            FieldErrorCode::Required,
            "is required: postgres, mysql or sqlite",
        )
    })?;
    let url = validate::required_text("url", &req.url, validate::TEXT_MAX)?;
    if url_has_password(&url) {
        return Err(FieldError::new(
            "url",
            FieldErrorCode::Invalid,
            "put the password in the password field, not in the URL",
        ));
    }
    let normal = normalise_url(kind, &url);
    let schemes: &[&str] = match kind {
        DataSourceKind::Postgres => &["postgres://", "postgresql://"],
        DataSourceKind::Mysql => &["mysql://"],
        DataSourceKind::Sqlite => &["sqlite:"],
    };
    if !schemes.iter().any(|s| normal.starts_with(s)) {
        return Err(FieldError::new(
            "url",
            FieldErrorCode::Invalid,
            format!(
                "must be a {} URL such as {}",
                kind.label(),
                kind.example_url()
            ),
        ));
    }
    let username = validate::optional_text("username", &req.username, validate::LOGIN_MAX)?;
    let comments = validate::optional_text("comments", &req.comments, validate::TEXT_MAX)?;
    if req.password.as_ref().is_some_and(|p| p.len() > SECRET_MAX) {
        return Err(FieldError::new(
            "password",
            FieldErrorCode::TooLong,
            "is too long: at most 16 KB",
        ));
    }
    Ok(Fields {
        name,
        kind,
        url,
        username,
        comments,
    })
}

impl Fields {
    fn row(&self) -> DataSourceFields<'_> {
        DataSourceFields {
            name: &self.name,
            kind: self.kind,
            url: &self.url,
            username: &self.username,
            comments: &self.comments,
        }
    }
}

async fn load(state: &AppState, company_id: Id, id: Id) -> AppResult<DataSource> {
    let mut c = state.store.conn().await?;
    Ok(data_sources::get(&mut c, company_id, id)
        .await?
        .ok_or(AppError::NotFound("data source"))?
        .source)
}

#[utoipa::path(get, path = "/api/v1/data-sources", tag = "data sources", params(ListQuery),
    responses((status = 200, body = Vec<DataSource>), (status = 403, body = ErrorBody)))]
pub async fn list_data_sources(
    State(state): State<AppState>,
    p: Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Json<Vec<DataSource>>> {
    p.require(Function::ResourceDataSources, Level::View)?;
    let mut c = state.store.conn().await?;
    let rows = data_sources::list(&mut c, p.company_id, q.q.as_deref().unwrap_or("")).await?;
    Ok(Json(rows.into_iter().map(|r| r.source).collect()))
}

#[utoipa::path(get, path = "/api/v1/data-sources/{id}", tag = "data sources", params(("id" = i64, Path, description = "the data source's id")),
    responses((status = 200, body = DataSource), (status = 404, body = ErrorBody)))]
pub async fn get_data_source(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<DataSource>> {
    p.require(Function::ResourceDataSources, Level::View)?;
    Ok(Json(load(&state, p.company_id, id).await?))
}

#[utoipa::path(post, path = "/api/v1/data-sources", tag = "data sources", request_body = DataSourceInput,
    responses((status = 201, body = DataSource), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_data_source(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<DataSourceInput>,
) -> AppResult<(StatusCode, Json<DataSource>)> {
    p.require(Function::ResourceDataSources, Level::Manage)?;
    let f = fields(&req)?;
    let id = {
        let mut tx = state.store.begin().await?;
        check_hosts(&mut tx, p.company_id, req.allowed_hosts.as_deref(), &[]).await?;
        let id = unique(
            data_sources::insert(&mut tx, p.company_id, &f.row(), "").await,
            "name",
            "this data source name",
        )?;
        // Sealed for its row, known once inserted.
        if let Some(pw) = req.password.as_deref().filter(|p| !p.is_empty()) {
            let sealed = state
                .secrets
                .seal(&sealed::DATA_SOURCE_PASSWORD.at(p.company_id, id), pw);
            data_sources::set_password(&mut tx, p.company_id, id, &sealed).await?;
        }
        data_sources::set_usable(&mut tx, p.company_id, id, &usable(&req)).await?;
        tx.commit().await.map_err(StoreError::from)?;
        id
    };
    Ok((
        StatusCode::CREATED,
        Json(load(&state, p.company_id, id).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/data-sources/{id}", tag = "data sources", params(("id" = i64, Path, description = "the data source's id")), request_body = DataSourceInput,
    responses((status = 200, body = DataSource), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_data_source(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<DataSourceInput>,
) -> AppResult<Json<DataSource>> {
    p.require(Function::ResourceDataSources, Level::Manage)?;
    let f = fields(&req)?;
    // A new URL or kind clears the stored password unless it is given again here
    // (`data_sources::update`).
    let sealed = match req.password.as_deref().filter(|p| !p.is_empty()) {
        Some(pw) => Some(
            state
                .secrets
                .seal(&sealed::DATA_SOURCE_PASSWORD.at(p.company_id, id), pw),
        ),
        None if req.clear_password => Some(String::new()),
        None => None,
    };
    {
        let mut tx = state.store.begin().await?;
        let named = data_sources::allowed_hosts(&mut tx, p.company_id, id).await?;
        check_hosts(&mut tx, p.company_id, req.allowed_hosts.as_deref(), &named).await?;
        let found = unique(
            data_sources::update(&mut tx, p.company_id, id, &f.row(), sealed.as_deref()).await,
            "name",
            "this data source name",
        )?;
        if !found {
            return Err(AppError::NotFound("data source"));
        }
        data_sources::set_usable(&mut tx, p.company_id, id, &usable(&req)).await?;
        tx.commit().await.map_err(StoreError::from)?;
    }
    Ok(Json(load(&state, p.company_id, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/data-sources/{id}", tag = "data sources", params(("id" = i64, Path, description = "the data source's id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_data_source(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<StatusCode> {
    p.require(Function::ResourceDataSources, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    if !data_sources::delete(&mut tx, p.company_id, id).await? {
        return Err(AppError::NotFound("data source"));
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Test connection": signs in and runs `SELECT 1`, from the server or, with `host_id`,
/// from that host's Sub Manager — only where the data source may be used, and from the
/// server only where the egress policy lets the company connect.
#[utoipa::path(post, path = "/api/v1/data-sources/{id}/test", tag = "data sources", params(("id" = i64, Path, description = "the data source's id"), DataSourceTestQuery),
    responses((status = 200, body = ConnectionTest), (status = 404, body = ErrorBody)))]
pub async fn test_data_source(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    QueryParams(q): QueryParams<DataSourceTestQuery>,
) -> AppResult<Json<ConnectionTest>> {
    p.require(Function::ResourceDataSources, Level::Manage)?;
    let reach = state.reach();
    let row = {
        let mut c = state.store.conn().await?;
        data_sources::get(&mut c, p.company_id, id)
            .await?
            .ok_or(AppError::NotFound("data source"))?
    };
    let started = std::time::Instant::now();
    let answer = |ok: bool, message: String| ConnectionTest {
        ok,
        message,
        millis: started.elapsed().as_millis() as u64,
    };
    let host = match q.host_id {
        Some(host_id) => {
            let mut c = state.store.conn().await?;
            Some(
                hosts::get_host(&mut c, p.company_id, host_id)
                    .await?
                    .ok_or(AppError::NotFound("host"))?,
            )
        }
        None => None,
    };
    // Where the data source may be used, and (in cloud, for an untrusted company) the
    // egress policy, apply to the test as to a step.
    let database = match reach.connect_on(p.company_id, &row, host.as_ref()).await {
        Ok(d) => d,
        Err(e) => return Ok(Json(answer(false, e.to_string()))),
    };
    let spec = TaskSpec::Sql {
        database,
        statements: vec![shared::sql::SqlStatement::text(PROBE_SQL)],
        timeout_secs: 20,
    };
    // A driver's error never shows the password (`shared::redact`).
    let masker = spec.masker(&shared::redact::Masker::new());
    let outcome = reach
        .run_service(p.company_id, host.as_ref(), spec, std::future::pending())
        .await;
    Ok(Json(match outcome {
        TaskOutcome::Sql { .. } => answer(true, format!("{PROBE_SQL} answered")),
        TaskOutcome::Failed { error, .. } => answer(false, masker.text(&error)),
        other => answer(false, other.summary().1),
    }))
}
