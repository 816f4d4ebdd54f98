//! `/api/v1/flows` and `/api/v1/instances`: deploy BPMN files as new versions, list
//! flows and their versions (Flow › Editor), list and inspect instances (Flow › Monitor).

use super::extract::{JsonBody, PathParam, QueryParams};
use crate::auth::Principal;
use crate::bpmn_decode;
use crate::engine::builtins::Initiator;
use crate::engine::deploy::{deploy as engine_deploy, DeployError, Which};
use crate::engine::runtime::{Actor, StartSpec};
use crate::error::{AppError, AppResult, InternalError};
use crate::state::AppState;
use crate::store::artifacts;
use crate::store::drafts;
use crate::store::flows::{self, DefinitionRow, InstanceListRow};
use crate::store::users;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::dto::error::ErrorBody;
use shared::dto::flow::{
    ArtifactInfo, DeployFlow, DraftSummary, FlowDraft, FlowProblem, FlowVersion, Instance,
    InstanceAction, InstanceControl, InstanceDetail, InstanceQuery, InstanceStatus, NodeRun,
    SaveDraft, StartInstance,
};
use shared::dto::{Id, ListQuery, Page};
use shared::validate::{self, FieldError, FieldErrorCode};
use shared::{Function, Level};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flows", get(list_flows).post(deploy))
        .route(
            "/flows/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(
                crate::engine::deploy::MAX_XML_BYTES,
            )),
        )
        .route("/flows/{key}/versions", get(flow_versions))
        .route("/flows/{key}/versions/{version}/xml", get(version_xml))
        .route("/flows/{key}/diff", get(version_diff))
        .route(
            "/flows/{key}/draft",
            get(get_draft).put(save_draft).delete(delete_draft),
        )
        .route("/flow-drafts", get(list_drafts))
        .route("/instances", get(list_instances).post(start_instance))
        .route("/instances/{id}", get(get_instance))
        .route("/instances/{id}/control", post(control_instance))
        .route("/instances/{id}/diagram", get(instance_diagram))
        .route("/instances/{id}/artifacts", get(list_artifacts))
        .route(
            "/instances/{id}/artifacts/{artifact}",
            get(download_artifact),
        )
}

fn version_dto(r: DefinitionRow) -> FlowVersion {
    FlowVersion {
        id: r.id,
        key: r.key,
        name: r.name,
        version: r.version,
        created_by: r.created_by,
        created_by_name: r.created_by_name,
        created_at: r.created_at,
        about: r.about,
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
        created_by_name: r.created_by_name,
        started_at: r.started_at,
        ended_at: r.ended_at,
    }
}

/// The deploy was refused: every problem, with element id and line.
struct Refused(Vec<FlowProblem>);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let message = DeployError::Refused(self.0.clone()).to_string();
        let body = serde_json::json!({
            "error": "invalid_flow",
            "message": message,
            "field": "xml",
            "problems": self.0,
        });
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
    }
}

/// Whether an executable process of the file starts on a timer (an unreadable file is
/// refused later by deploy, with its problems).
fn starts_itself(xml: &str) -> bool {
    shared::bpmn::Document::parse(xml).is_ok_and(|doc| {
        doc.model
            .processes
            .iter()
            .filter(|p| p.is_executable)
            .any(|p| {
                p.nodes.iter().any(|n| {
                    n.kind == shared::bpmn::model::NodeKind::StartEvent
                        && n.parent.is_none()
                        && n.events
                            .iter()
                            .any(|e| matches!(e, shared::bpmn::model::EventDef::Timer(_)))
                })
            })
    })
}

/// Deploys every executable process of the file as a new (immutable) version. The file
/// arrives as text, already Unicode: its declaration is rewritten to UTF-8 (see
/// `bpmn_decode::from_text`); text that was read in the wrong encoding before it was
/// sent (U+FFFD under a non-UTF-8 declaration) is refused — `POST /flows/import` takes
/// the bytes.
#[utoipa::path(post, path = "/api/v1/flows", tag = "flows", request_body = DeployFlow,
    responses((status = 201, body = [FlowVersion]), (status = 422, body = ErrorBody)))]
pub async fn deploy(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<DeployFlow>,
) -> Result<Response, AppError> {
    p.require(Function::FlowEditor, Level::Manage)?;
    let decoded = bpmn_decode::from_text(req.xml);
    if !decoded.warnings.is_empty() {
        return Ok(Refused(decoded.warnings.iter().map(decode_problem).collect()).into_response());
    }
    let about = req.about.checked()?;
    Ok(
        match deploy_text(&state, &p, &decoded.text, req.base.as_ref(), &about).await? {
            Ok(out) => (StatusCode::CREATED, Json(out)).into_response(),
            Err(refused) => refused.into_response(),
        },
    )
}

/// Imports a `.bpmn` file from any modelling tool: the request body is the file's bytes
/// in any encoding the WHATWG Encoding Standard names, decoded on the server (a wrong
/// declaration falls back, with a warning). Then as `POST /flows`: a file with broken
/// references or duplicate ids is refused, naming element and line.
#[utoipa::path(post, path = "/api/v1/flows/import", tag = "flows",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the .bpmn file's bytes, in its own encoding"),
    responses((status = 201, body = shared::dto::flow::ImportedFlows), (status = 422, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    p: Principal,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    p.require(Function::FlowEditor, Level::Manage)?;
    let decoded = match bpmn_decode::decode(&body) {
        Ok(d) => d,
        Err(e) => {
            let line = match e {
                bpmn_decode::DecodeError::Malformed { line, .. } => line,
                bpmn_decode::DecodeError::TooLarge => 0,
            };
            let message = e.to_string();
            let message = message
                .strip_prefix(&format!("line {line}: "))
                .unwrap_or(&message)
                .to_string();
            return Ok(Refused(vec![FlowProblem {
                element_id: None,
                line,
                message,
            }])
            .into_response());
        }
    };
    let warnings = decoded.warnings.iter().map(ToString::to_string).collect();
    Ok(
        match deploy_text(&state, &p, &decoded.text, None, &Default::default()).await? {
            Ok(versions) => (
                StatusCode::CREATED,
                Json(shared::dto::flow::ImportedFlows { versions, warnings }),
            )
                .into_response(),
            Err(refused) => refused.into_response(),
        },
    )
}

fn decode_problem(w: &bpmn_decode::DecodeWarning) -> FlowProblem {
    FlowProblem {
        element_id: None,
        line: w.line,
        message: w.message.clone(),
    }
}

/// The deploy shared by `POST /flows` and `POST /flows/import`: the versions deployed,
/// or the problems that refused the file.
async fn deploy_text(
    state: &AppState,
    p: &Principal,
    xml: &str,
    base: Option<&shared::dto::flow::DeployBase>,
    about: &shared::dto::flow::FlowAbout,
) -> Result<Result<Vec<FlowVersion>, Refused>, AppError> {
    // A flow that starts itself (a timer start event) needs the right to start flows.
    if starts_itself(xml) {
        p.require(Function::FlowMonitor, Level::Manage)?;
    }
    let deployed = match engine_deploy(
        &state.runtime,
        p.company_id,
        xml,
        Which::Executable,
        Some(p.user_id),
        base,
        about,
    )
    .await
    {
        Ok((_, d)) => d,
        Err(DeployError::Refused(problems)) => return Ok(Err(Refused(problems))),
        Err(DeployError::Store(e)) => return Err(e.into()),
        Err(DeployError::Runtime(e)) => return Err(e.into()),
        Err(DeployError::Stale {
            key,
            latest,
            by,
            at,
        }) => {
            let mut c = state.store.conn().await?;
            let who = match by {
                Some(id) => users::get(&mut c, p.company_id, id)
                    .await?
                    .map(|u| u.display_name)
                    .unwrap_or_else(|| format!("user {id}")),
                None => "lwams flow run".into(),
            };
            return Err(AppError::Conflict {
                field: Some("base".into()),
                message: format!(
                    "flow {key} was changed by {who} at {} UTC (now version {latest}); reload it to see their change, then deploy again",
                    shared::datetime::datetime(at)
                ),
            });
        }
    };
    let mut c = state.store.conn().await?;
    let mut out = Vec::new();
    for d in &deployed {
        // The draft it came from is done with.
        drafts::delete(&mut c, p.company_id, &d.key).await?;
        let row = flows::latest(&mut c, p.company_id, &d.key)
            .await?
            .filter(|r| r.id == d.id);
        out.extend(row.map(version_dto));
    }
    tracing::info!(by = p.user_id, flows = out.len(), "flows deployed");
    Ok(Ok(out))
}

/// Starts an instance of a flow (latest version unless `version` is given); the starter
/// is recorded, and the start way: `manual` when the app's Start button sent it
/// (`manual: true`), else `api`.
#[utoipa::path(post, path = "/api/v1/instances", tag = "flows", request_body = StartInstance,
    responses((status = 201, body = Instance), (status = 404, body = ErrorBody)))]
pub async fn start_instance(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<StartInstance>,
) -> AppResult<(StatusCode, Json<Instance>)> {
    p.require(Function::FlowMonitor, Level::Manage)?;
    let mut c = state.store.conn().await?;
    let versions = flows::versions(&mut c, p.company_id, &req.key).await?;
    let def = match req.version {
        Some(v) => versions.into_iter().find(|d| d.version == v),
        None => versions.into_iter().next(),
    }
    .ok_or(AppError::NotFound("flow"))?;
    let me = users::get(&mut c, p.company_id, p.user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    drop(c);
    let way = start_way(&req);
    let id = state
        .runtime
        .start(StartSpec {
            variables: req.variables,
            initiator: Initiator {
                id: Some(me.id),
                name: me.display_name.clone(),
                phone: me.phone.clone(),
                email: me.email.clone(),
                mobile: me.mobile.clone(),
            },
            ..StartSpec::new(p.company_id, def.id, way)
        })
        .await?;
    let mut c = state.store.conn().await?;
    let row = flows::instance_summary(&mut c, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("instance"))?;
    tracing::info!(by = p.user_id, instance = id, flow = %def.key, "instance started");
    Ok((StatusCode::CREATED, Json(instance_dto(row))))
}

/// The start way recorded for a start through the API: `manual` only when a person
/// pressed Start in the app.
fn start_way(req: &StartInstance) -> &'static str {
    if req.manual {
        "manual"
    } else {
        "api"
    }
}

/// Pause, resume, terminate; retry, skip or complete one node instance. Recorded with
/// who and when; refused (409) when the instance or node is not in a state for it.
#[utoipa::path(post, path = "/api/v1/instances/{id}/control", tag = "flows", params(("id" = i64, Path, description = "the instance's id")), request_body = InstanceControl,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn control_instance(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<InstanceControl>,
) -> AppResult<StatusCode> {
    p.require(Function::FlowMonitor, Level::Manage)?;
    if req.action.needs_node() && req.node_instance.is_none() {
        return Err(AppError::Validation(shared::validate::FieldError::new(
            "node_instance",
            shared::validate::FieldErrorCode::Required,
            format!(
                "node_instance: {} needs the node instance",
                req.action.as_str()
            ),
        )));
    }
    state
        .runtime
        .control(
            p.company_id,
            id,
            req.action,
            req.node_instance,
            Actor {
                user_id: Some(p.user_id),
                name: p.display_name.clone(),
            },
        )
        .await?;
    tracing::info!(
        by = p.user_id,
        instance = id,
        action = req.action.as_str(),
        "instance control"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// The BPMN XML of the version an instance runs (the monitor draws it).
#[utoipa::path(get, path = "/api/v1/instances/{id}/diagram", tag = "flows", params(("id" = i64, Path, description = "the instance's id")),
    responses((status = 200, content_type = "application/xml", body = String), (status = 404, body = ErrorBody)))]
pub async fn instance_diagram(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Response> {
    p.require(Function::FlowMonitor, Level::View)?;
    let mut c = state.store.conn().await?;
    let xml = flows::xml_of_instance(&mut c, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("instance"))?;
    Ok(xml_response(xml, &format!("instance-{id}.bpmn")))
}

/// The flow's draft (saved in the designer, not deployed).
#[utoipa::path(get, path = "/api/v1/flows/{key}/draft", tag = "flows", params(("key" = String, Path, description = "the flow's key (the id of its BPMN process)")),
    responses((status = 200, body = FlowDraft), (status = 404, body = ErrorBody)))]
pub async fn get_draft(
    State(state): State<AppState>,
    p: Principal,
    PathParam(key): PathParam<String>,
) -> AppResult<Json<FlowDraft>> {
    p.require(Function::FlowEditor, Level::View)?;
    let mut c = state.store.conn().await?;
    Ok(Json(
        drafts::get(&mut c, p.company_id, &key)
            .await?
            .ok_or(AppError::NotFound("draft"))?,
    ))
}

/// Saves the flow's draft (any diagram that is well-formed XML: steps may still lack
/// parameters); it replaces the previous draft, whoever saved it.
#[utoipa::path(put, path = "/api/v1/flows/{key}/draft", tag = "flows", params(("key" = String, Path, description = "the flow's key (the id of its BPMN process)")), request_body = SaveDraft,
    responses((status = 200, body = FlowDraft), (status = 422, body = ErrorBody)))]
pub async fn save_draft(
    State(state): State<AppState>,
    p: Principal,
    PathParam(key): PathParam<String>,
    JsonBody(req): JsonBody<SaveDraft>,
) -> AppResult<Json<FlowDraft>> {
    p.require(Function::FlowEditor, Level::Manage)?;
    let key = validate::required_text("key", &key, validate::NAME_MAX)?;
    if req.xml.len() > shared::bpmn::xml::MAX_INPUT_BYTES {
        return Err(FieldError::new("xml", FieldErrorCode::TooLong, "is over 20 MB").into());
    }
    if let Err(e) = shared::bpmn::xml::parse(&req.xml) {
        return Err(FieldError::new("xml", FieldErrorCode::Invalid, e.to_string()).into());
    }
    let mut c = state.store.conn().await?;
    drafts::save(
        &mut c,
        p.company_id,
        &key,
        &req.xml,
        req.base_version.max(0),
        p.user_id,
    )
    .await?;
    Ok(Json(
        drafts::get(&mut c, p.company_id, &key)
            .await?
            .ok_or(AppError::NotFound("draft"))?,
    ))
}

/// Every flow with a draft (those never deployed included), with who saved it when.
#[utoipa::path(get, path = "/api/v1/flow-drafts", tag = "flows",
    responses((status = 200, body = [DraftSummary]), (status = 403, body = ErrorBody)))]
pub async fn list_drafts(
    State(state): State<AppState>,
    p: Principal,
) -> AppResult<Json<Vec<DraftSummary>>> {
    p.require(Function::FlowEditor, Level::View)?;
    let mut c = state.store.conn().await?;
    let all = drafts::list(&mut c, p.company_id).await?;
    Ok(Json(all.into_iter().map(draft_summary).collect()))
}

/// A draft for the list: its process name read from the diagram (the key if none).
fn draft_summary(d: FlowDraft) -> DraftSummary {
    let name = shared::bpmn::Document::parse(&d.xml)
        .ok()
        .and_then(|doc| {
            doc.model
                .processes
                .iter()
                .find(|p| p.id == d.key)
                .or(doc.model.processes.first())
                .and_then(|p| p.name.clone())
        })
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| d.key.clone());
    DraftSummary {
        name,
        key: d.key,
        base_version: d.base_version,
        updated_by: d.updated_by,
        updated_at: d.updated_at,
    }
}

/// Discards the flow's draft.
#[utoipa::path(delete, path = "/api/v1/flows/{key}/draft", tag = "flows", params(("key" = String, Path, description = "the flow's key (the id of its BPMN process)")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_draft(
    State(state): State<AppState>,
    p: Principal,
    PathParam(key): PathParam<String>,
) -> AppResult<StatusCode> {
    p.require(Function::FlowEditor, Level::Manage)?;
    let mut c = state.store.conn().await?;
    if !drafts::delete(&mut c, p.company_id, &key).await? {
        return Err(AppError::NotFound("draft"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The files RPA steps of an instance brought back.
#[utoipa::path(get, path = "/api/v1/instances/{id}/artifacts", tag = "flows", params(("id" = i64, Path, description = "the instance's id")),
    responses((status = 200, body = [ArtifactInfo]), (status = 404, body = ErrorBody)))]
pub async fn list_artifacts(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<Vec<ArtifactInfo>>> {
    p.require(Function::FlowMonitor, Level::View)?;
    let mut c = state.store.conn().await?;
    flows::get_instance(&mut c, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("instance"))?;
    Ok(Json(artifacts::list(&mut c, p.company_id, id).await?))
}

/// One artefact's content, as a download.
#[utoipa::path(get, path = "/api/v1/instances/{id}/artifacts/{artifact}", tag = "flows", params(("id" = i64, Path, description = "the instance's id"), ("artifact" = i64, Path, description = "the artifact's id")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn download_artifact(
    State(state): State<AppState>,
    p: Principal,
    PathParam((id, artifact)): PathParam<(Id, Id)>,
) -> AppResult<Response> {
    p.require(Function::FlowMonitor, Level::View)?;
    let mut c = state.store.conn().await?;
    let (name, content) = artifacts::content(&mut c, p.company_id, id, artifact)
        .await?
        .ok_or(AppError::NotFound("artefact"))?;
    let content = content.ok_or(AppError::NotFound(
        "artefact content (it was over the size limits)",
    ))?;
    // The last path part, without quotes or control characters, for the header.
    let file: String = name
        .rsplit('/')
        .next()
        .unwrap_or("artefact")
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    let ascii: String = file
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let encoded: String = file
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/octet-stream".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                "nosniff".to_string(),
            ),
        ],
        content,
    )
        .into_response())
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
#[utoipa::path(get, path = "/api/v1/flows/{key}/versions", tag = "flows", params(("key" = String, Path, description = "the flow's key (the id of its BPMN process)")),
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

/// `?from=&to=`: the two versions to compare.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    pub from: i64,
    pub to: i64,
}

/// What changed from one version of a flow to another: elements added and removed,
/// and each changed property with its value before and after.
#[utoipa::path(get, path = "/api/v1/flows/{key}/diff", tag = "flows", params(("key" = String, Path, description = "the flow's key (the id of its BPMN process)"), DiffQuery),
    responses((status = 200, body = [shared::bpmn::diff::Change]), (status = 404, body = ErrorBody)))]
pub async fn version_diff(
    State(state): State<AppState>,
    p: Principal,
    PathParam(key): PathParam<String>,
    QueryParams(q): QueryParams<DiffQuery>,
) -> AppResult<Json<Vec<shared::bpmn::diff::Change>>> {
    p.require(Function::FlowEditor, Level::View)?;
    let mut c = state.store.conn().await?;
    let mut docs = Vec::new();
    for v in [q.from, q.to] {
        let xml = flows::version_xml(&mut c, p.company_id, &key, v)
            .await?
            .ok_or(AppError::NotFound("flow version"))?;
        let doc = shared::bpmn::Document::parse(&xml).map_err(|e| {
            AppError::Internal(InternalError::Corrupt(
                format!("version {v} of {key}"),
                e.to_string(),
            ))
        })?;
        docs.push(doc);
    }
    let process =
        |d: &shared::bpmn::Document| d.model.processes.iter().find(|p| p.id == key).cloned();
    Ok(Json(shared::bpmn::diff::diff(
        process(&docs[0]).as_ref(),
        process(&docs[1]).as_ref(),
    )))
}

/// A BPMN file as the answer: a download (`attachment`), never rendered by the browser
/// as a document of this origin.
fn xml_response(xml: String, file_name: &str) -> Response {
    let content_type = "application/xml; charset=utf-8";
    let safe: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{safe}\"");
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        xml,
    )
        .into_response()
}

/// The BPMN XML of one version (the designer opens it).
#[utoipa::path(get, path = "/api/v1/flows/{key}/versions/{version}/xml", tag = "flows", params(("key" = String, Path, description = "the flow's key (the id of its BPMN process)"), ("version" = i64, Path, description = "the version number (from 1)")),
    responses((status = 200, content_type = "application/xml", body = String), (status = 404, body = ErrorBody)))]
pub async fn version_xml(
    State(state): State<AppState>,
    p: Principal,
    PathParam((key, version)): PathParam<(String, i64)>,
) -> AppResult<Response> {
    p.require(Function::FlowEditor, Level::View)?;
    let mut c = state.store.conn().await?;
    let xml = flows::version_xml(&mut c, p.company_id, &key, version)
        .await?
        .ok_or(AppError::NotFound("flow version"))?;
    Ok(xml_response(xml, &format!("{key}-v{version}.bpmn")))
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
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(InstanceStatus::parse(s).map_err(|_| {
            let names: Vec<&str> = InstanceStatus::ALL.iter().map(|s| s.as_str()).collect();
            shared::validate::FieldError::new(
                "status",
                shared::validate::FieldErrorCode::Invalid,
                format!("must be one of {}", names.join(", ")),
            )
        })?),
    };
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
#[utoipa::path(get, path = "/api/v1/instances/{id}", tag = "flows", params(("id" = i64, Path, description = "the instance's id")),
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
    let actions = flows::actions_of(&mut c, id)
        .await?
        .into_iter()
        .map(|a| InstanceAction {
            action: a.action,
            node_id: a.node_id,
            user_id: a.user_id,
            user_name: a.user_name,
            at: a.at,
        })
        .collect();
    drop(c);
    let snap = state.runtime.snapshot(id).await?;
    Ok(Json(InstanceDetail {
        instance: instance_dto(row),
        runs,
        nodes: snap.nodes,
        actions,
        parent_instance: snap.record.parent.map(|p| p.0),
        root_instance: snap.record.root,
    }))
}
