//! `/api/v1/flows` and `/api/v1/instances`: deploy BPMN files as new versions, list
//! flows and their versions (Flow › Editor), list and inspect instances (Flow › Monitor).

use super::extract::{JsonBody, PathParam, QueryParams};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::flows::{self, DefinitionRow, InstanceListRow};
use crate::store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use shared::bpmn::{validate, Document};
use shared::dto::error::ErrorBody;
use shared::dto::flow::{
    DeployFlow, FlowProblem, FlowVersion, Instance, InstanceDetail, InstanceQuery, NodeRun,
};
use shared::dto::{Id, ListQuery, Page};
use shared::{Function, Level};

/// Largest BPMN file accepted by the API.
const MAX_XML_BYTES: usize = 10 * 1024 * 1024;
const STATUSES: [&str; 5] = ["running", "paused", "failed", "completed", "terminated"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flows", get(list_flows).post(deploy))
        .route("/flows/{key}/versions", get(flow_versions))
        .route("/instances", get(list_instances))
        .route("/instances/{id}", get(get_instance))
}

fn version_dto(r: DefinitionRow) -> FlowVersion {
    FlowVersion {
        id: r.id,
        key: r.key,
        name: r.name,
        version: r.version,
        created_by: r.created_by,
        created_at: r.created_at,
    }
}

fn instance_dto(r: InstanceListRow) -> Instance {
    Instance {
        id: r.id,
        flow_key: r.flow_key,
        flow_version: r.flow_version,
        status: r.status,
        start_way: r.start_way,
        created_by: r.created_by,
        started_at: r.started_at,
        ended_at: r.ended_at,
    }
}

/// `line 3: msg` → `msg` (the line travels in its own field).
fn without_line(m: &str) -> String {
    match m.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest.to_string(),
        _ => m.to_string(),
    }
}

/// The deploy was refused: every problem, with element id and line.
struct Refused(Vec<FlowProblem>);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let message = self
            .0
            .iter()
            .map(|p| match &p.element_id {
                Some(id) => format!("line {}: {id}: {}", p.line, p.message),
                None => format!("line {}: {}", p.line, p.message),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let body = serde_json::json!({
            "error": "invalid_flow",
            "message": message,
            "field": "xml",
            "problems": self.0,
        });
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
    }
}

/// Deploys every executable process of the file as a new (immutable) version.
#[utoipa::path(post, path = "/api/v1/flows", tag = "flows", request_body = DeployFlow,
    responses((status = 201, body = [FlowVersion]), (status = 422, body = ErrorBody)))]
pub async fn deploy(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<DeployFlow>,
) -> Result<Response, AppError> {
    p.require(Function::FlowEditor, Level::Manage)?;
    if req.xml.len() > MAX_XML_BYTES {
        return Ok(Refused(vec![FlowProblem {
            element_id: None,
            line: 0,
            message: format!("the file is larger than {} MB", MAX_XML_BYTES / 1024 / 1024),
        }])
        .into_response());
    }
    let doc = match Document::parse(&req.xml) {
        Ok(d) => d,
        Err(e) => {
            let line = match &e {
                shared::bpmn::BpmnError::Xml(x) => x.line,
                shared::bpmn::BpmnError::NotBpmn { line, .. } => *line,
            };
            return Ok(Refused(vec![FlowProblem {
                element_id: None,
                line,
                message: without_line(&e.to_string()),
            }])
            .into_response());
        }
    };
    let problems: Vec<FlowProblem> = validate(&doc)
        .into_iter()
        .map(|p| FlowProblem {
            element_id: p.element_id.clone(),
            line: p.line,
            message: p.message.clone(),
        })
        .collect();
    if !problems.is_empty() {
        return Ok(Refused(problems).into_response());
    }
    let executable: Vec<_> = doc
        .model
        .processes
        .iter()
        .filter(|p| p.is_executable)
        .collect();
    if executable.is_empty() {
        return Ok(Refused(vec![FlowProblem {
            element_id: None,
            line: 0,
            message: "no process is marked executable (isExecutable=\"true\")".into(),
        }])
        .into_response());
    }
    for process in &executable {
        shared::validate::identifier("key", &process.id, 100).map_err(|_| {
            AppError::BadRequest(format!(
                "process id {:?} is not usable as a flow key",
                process.id
            ))
        })?;
    }
    let mut tx = state.store.begin().await?;
    let mut out = Vec::new();
    for process in executable {
        let name = process.name.clone().unwrap_or_else(|| process.id.clone());
        let (id, _) = flows::insert_definition(
            &mut tx,
            p.company_id,
            &process.id,
            &name,
            &req.xml,
            Some(p.user_id),
        )
        .await?;
        let row = flows::versions(&mut tx, p.company_id, &process.id)
            .await?
            .into_iter()
            .find(|r| r.id == id);
        out.extend(row.map(version_dto));
    }
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(by = p.user_id, flows = out.len(), "flows deployed");
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The latest version of every flow.
#[utoipa::path(get, path = "/api/v1/flows", tag = "flows", params(ListQuery),
    responses((status = 200, body = Page<FlowVersion>), (status = 403, body = ErrorBody)))]
pub async fn list_flows(
    State(state): State<AppState>,
    p: Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Json<Page<FlowVersion>>> {
    p.require(Function::FlowEditor, Level::View)?;
    let mut c = state.store.conn().await?;
    let (rows, total) = flows::list_latest(&mut c, p.company_id, &q).await?;
    Ok(Json(Page {
        items: rows.into_iter().map(version_dto).collect(),
        total,
    }))
}

/// Every version of one flow, newest first.
#[utoipa::path(get, path = "/api/v1/flows/{key}/versions", tag = "flows",
    responses((status = 200, body = [FlowVersion]), (status = 404, body = ErrorBody)))]
pub async fn flow_versions(
    State(state): State<AppState>,
    p: Principal,
    PathParam(key): PathParam<String>,
) -> AppResult<Json<Vec<FlowVersion>>> {
    p.require(Function::FlowEditor, Level::View)?;
    let mut c = state.store.conn().await?;
    let rows = flows::versions(&mut c, p.company_id, &key).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound("flow"));
    }
    Ok(Json(rows.into_iter().map(version_dto).collect()))
}

/// Instances, newest first, filtered by flow key and status.
#[utoipa::path(get, path = "/api/v1/instances", tag = "flows", params(InstanceQuery),
    responses((status = 200, body = Page<Instance>), (status = 422, body = ErrorBody)))]
pub async fn list_instances(
    State(state): State<AppState>,
    p: Principal,
    QueryParams(q): QueryParams<InstanceQuery>,
) -> AppResult<Json<Page<Instance>>> {
    p.require(Function::FlowMonitor, Level::View)?;
    let status = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = status {
        if !STATUSES.contains(&s) {
            return Err(shared::validate::FieldError::new(
                "status",
                shared::validate::FieldErrorCode::Invalid,
                format!("must be one of {}", STATUSES.join(", ")),
            )
            .into());
        }
    }
    let paging = ListQuery {
        q: None,
        offset: q.offset,
        limit: q.limit,
    };
    let mut c = state.store.conn().await?;
    let (rows, total) = flows::list_instances(
        &mut c,
        p.company_id,
        q.q.as_deref().map(str::trim),
        status,
        paging.offset(),
        paging.limit(),
    )
    .await?;
    Ok(Json(Page {
        items: rows.into_iter().map(instance_dto).collect(),
        total,
    }))
}

/// One instance with every node run (inputs, outputs, errors, timings).
#[utoipa::path(get, path = "/api/v1/instances/{id}", tag = "flows",
    responses((status = 200, body = InstanceDetail), (status = 404, body = ErrorBody)))]
pub async fn get_instance(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<InstanceDetail>> {
    p.require(Function::FlowMonitor, Level::View)?;
    let mut c = state.store.conn().await?;
    let row = flows::instance_summary(&mut c, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("instance"))?;
    let runs = flows::runs_of(&mut c, id)
        .await?
        .into_iter()
        .map(|r| NodeRun {
            node_id: r.node_id,
            attempt: r.attempt,
            status: r.status,
            started_at: r.started_at,
            ended_at: r.ended_at,
            output: r.output,
            error: r.error,
        })
        .collect();
    Ok(Json(InstanceDetail {
        instance: instance_dto(row),
        runs,
    }))
}
