//! `/api/v1/scripts`: Resource › Scripts, the script library (SPEC §3). Reads need the
//! View right on Resource › Scripts, changes Manage.

use super::extract::{JsonBody, PathParam, QueryParams};
use crate::auth::Principal;
use crate::error::{unique, AppError, AppResult};
use crate::state::AppState;
use crate::store::scripts::{self, ScriptFields};
use crate::store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use shared::dto::error::ErrorBody;
use shared::dto::script::{Script, ScriptInput, ScriptKind, SCRIPT_BODY_MAX};
use shared::dto::{Id, ListQuery};
use shared::validate::{self, FieldError, FieldErrorCode};
use shared::vars::{resolve, VarError};
use shared::{Function, Level};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/scripts", get(list_scripts).post(create_script))
        .route(
            "/scripts/{id}",
            get(get_script).put(update_script).delete(delete_script),
        )
}

struct Fields {
    name: String,
    kind: ScriptKind,
    body: String,
    comments: String,
}

impl Fields {
    fn row(&self) -> ScriptFields<'_> {
        ScriptFields {
            name: &self.name,
            kind: self.kind,
            body: &self.body,
            comments: &self.comments,
        }
    }
}

/// The line (from 1) of a byte offset in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |before| before.matches('\n').count() + 1)
}

fn fields(req: &ScriptInput) -> Result<Fields, FieldError> {
    let name = validate::required_text("name", &req.name, validate::NAME_MAX)?;
    let kind = req.kind.ok_or_else(|| {
        FieldError::new(
            "kind",
            FieldErrorCode::Required,
            "is required: sql, sh, bash, bat, powershell, vbs, java or python",
        )
    })?;
    if req.body.trim().is_empty() {
        return Err(FieldError::new(
            "body",
            FieldErrorCode::Required,
            "is required: the script's code",
        ));
    }
    if req.body.len() > SCRIPT_BODY_MAX {
        return Err(FieldError::new(
            "body",
            FieldErrorCode::TooLong,
            "is too long: at most 256 KB",
        ));
    }
    // Placeholders must be well formed (their values are only known when a step runs).
    if let Err(e) = resolve(&req.body, |_| Some(String::new()), |s| s.to_string()) {
        let at = match &e {
            VarError::Unclosed(i) | VarError::Empty(i) => *i,
            VarError::Unknown(_) => 0,
        };
        return Err(FieldError::new(
            "body",
            FieldErrorCode::Invalid,
            format!(
                "line {}: {e} (write $${{ for a literal ${{)",
                line_of(&req.body, at)
            ),
        ));
    }
    if kind == ScriptKind::Sql {
        sql_placeholders(&req.body)?;
    }
    let comments = validate::optional_text("comments", &req.comments, validate::TEXT_MAX)?;
    Ok(Fields {
        name,
        kind,
        body: req.body.replace("\r\n", "\n"),
        comments,
    })
}

/// A SQL script's values become bind parameters when it runs: each placeholder must
/// stand where a value can (not inside a larger literal, a comment or a name), in the
/// dialect of every kind of data source.
fn sql_placeholders(body: &str) -> Result<(), FieldError> {
    shared::sql::check_every_kind(body).map_err(|r| {
        FieldError::new(
            "body",
            FieldErrorCode::Invalid,
            format!("line {}: {r}", line_of(body, r.error.at())),
        )
    })
}

async fn load(state: &AppState, company_id: Id, id: Id) -> AppResult<Script> {
    let mut c = state.store.conn().await?;
    scripts::get(&mut c, company_id, id)
        .await?
        .ok_or(AppError::NotFound("script"))
}

#[utoipa::path(get, path = "/api/v1/scripts", tag = "scripts", params(ListQuery),
    responses((status = 200, body = Vec<Script>), (status = 403, body = ErrorBody)))]
pub async fn list_scripts(
    State(state): State<AppState>,
    p: Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Json<Vec<Script>>> {
    p.require(Function::ResourceScripts, Level::View)?;
    let mut c = state.store.conn().await?;
    Ok(Json(
        scripts::list(&mut c, p.company_id, q.q.as_deref().unwrap_or("")).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/scripts/{id}", tag = "scripts", params(("id" = i64, Path, description = "the script's id")),
    responses((status = 200, body = Script), (status = 404, body = ErrorBody)))]
pub async fn get_script(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<Script>> {
    p.require(Function::ResourceScripts, Level::View)?;
    Ok(Json(load(&state, p.company_id, id).await?))
}

#[utoipa::path(post, path = "/api/v1/scripts", tag = "scripts", request_body = ScriptInput,
    responses((status = 201, body = Script), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_script(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<ScriptInput>,
) -> AppResult<(StatusCode, Json<Script>)> {
    p.require(Function::ResourceScripts, Level::Manage)?;
    let f = fields(&req)?;
    let id = {
        let mut c = state.store.conn().await?;
        unique(
            scripts::insert(&mut c, p.company_id, &f.row(), p.user_id).await,
            "name",
            "this script name",
        )?
    };
    Ok((
        StatusCode::CREATED,
        Json(load(&state, p.company_id, id).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/scripts/{id}", tag = "scripts", params(("id" = i64, Path, description = "the script's id")), request_body = ScriptInput,
    responses((status = 200, body = Script), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_script(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<ScriptInput>,
) -> AppResult<Json<Script>> {
    p.require(Function::ResourceScripts, Level::Manage)?;
    let f = fields(&req)?;
    {
        let mut c = state.store.conn().await?;
        let found = unique(
            scripts::update(&mut c, p.company_id, id, &f.row(), p.user_id).await,
            "name",
            "this script name",
        )?;
        if !found {
            return Err(AppError::NotFound("script"));
        }
    }
    Ok(Json(load(&state, p.company_id, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/scripts/{id}", tag = "scripts", params(("id" = i64, Path, description = "the script's id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_script(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<StatusCode> {
    p.require(Function::ResourceScripts, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    if !scripts::delete(&mut tx, p.company_id, id).await? {
        return Err(AppError::NotFound("script"));
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(body: &str) -> ScriptInput {
        ScriptInput {
            name: "sysinfo".into(),
            kind: Some(ScriptKind::Sh),
            body: body.into(),
            comments: String::new(),
        }
    }

    #[test]
    fn a_malformed_placeholder_is_refused_with_its_line() {
        let e = fields(&input("uname -a\necho ${dir\n")).err().unwrap();
        assert_eq!(e.field, "body");
        assert!(e.message.contains("line 2"), "{}", e.message);
        assert!(fields(&input("echo $${HOME} ${dir}")).is_ok());
        assert_eq!(fields(&input("  ")).err().unwrap().field, "body");
        // A SQL script's placeholders must be able to become parameters.
        let sql = |body: &str| ScriptInput {
            kind: Some(ScriptKind::Sql),
            ..input(body)
        };
        assert!(fields(&sql("SELECT * FROM t WHERE a = ${a} AND b = '${b}'")).is_ok());
        assert!(fields(&sql("SELECT * FROM ${raw:t} WHERE a LIKE ${p}")).is_ok());
        let e = fields(&sql("SELECT 1;\nSELECT * FROM t WHERE a LIKE '%${p}%'"))
            .err()
            .unwrap();
        assert_eq!(e.field, "body");
        assert!(
            e.message
                .starts_with("line 2: ${p} is inside the string literal '%${p}%'"),
            "{}",
            e.message
        );
        let e = fields(&sql("SELECT \"${c}\" FROM t")).err().unwrap();
        assert!(
            e.message.contains("(in PostgreSQL, SQLite)"),
            "{}",
            e.message
        );
        // The same text is fine as a shell script.
        assert!(fields(&input("echo '%${p}%'")).is_ok());
        let mut no_kind = input("ls");
        no_kind.kind = None;
        assert_eq!(fields(&no_kind).err().unwrap().field, "kind");
    }
}
