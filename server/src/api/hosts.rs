//! `/api/v1/host-groups`, `/api/v1/hosts`, `/api/v1/terminals`: System › Hosts
//! (SPEC §2.3, §2.4). Reads need the View right on System › Hosts, changes Manage.
//! Terminal secrets are write-only; the agent credential is shown once when rotated
//! and otherwise only written into the download package.

use super::extract::{JsonBody, PathParam, QueryParams};
use crate::agents::package::{self, ServerAddress};
use crate::agents::reach::ReachError;
use crate::agents::{credential, hub::AgentHub};
use crate::auth::Principal;
use crate::error::{unique, AppError, AppResult, InternalError};
use crate::state::AppState;
use crate::store::hosts;
use crate::store::sealed;
use crate::store::terminals::{self, Saved, TerminalFields, TerminalRow, TerminalUserRow};
use crate::store::{companies, Conn, StoreError};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use shared::agent::{TaskOutcome, TaskSpec};
use shared::dto::error::ErrorBody;
use shared::dto::host::{
    AcceptHostKey, AccountSecret, ConnectionTest, Host, HostDetail, HostGroup, HostGroupInput,
    HostInput, IssuedCredential, Terminal, TerminalAuth, TerminalInput, TerminalUser,
    TerminalUserInput,
};
use shared::dto::{Id, ListQuery, Page};
use shared::validate::{self, FieldError, FieldErrorCode};
use shared::{Function, Level};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/host-groups",
            get(list_host_groups).post(create_host_group),
        )
        .route(
            "/host-groups/{id}",
            put(update_host_group).delete(delete_host_group),
        )
        .route("/hosts", get(list_hosts).post(create_host))
        .route(
            "/hosts/{id}",
            get(get_host).put(update_host).delete(delete_host),
        )
        .route("/hosts/{id}/credential", post(rotate_credential))
        .route("/hosts/{id}/package", get(download_package))
        .route("/terminals", post(create_terminal))
        .route(
            "/terminals/{id}",
            put(update_terminal).delete(delete_terminal),
        )
        .route("/terminals/{id}/users", post(create_terminal_user))
        .route(
            "/terminals/{id}/users/{user_id}",
            put(update_terminal_user).delete(delete_terminal_user),
        )
        .route(
            "/terminals/{id}/users/{user_id}/test",
            post(test_connection),
        )
        .route("/terminals/{id}/host-key", post(accept_host_key))
}

pub(crate) const SECRET_MAX: usize = 16 * 1024;

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    FieldError::new(field, FieldErrorCode::Invalid, message).into()
}

// ---- host groups ------------------------------------------------------------------

async fn check_group(c: &mut Conn, company_id: Id, field: &str, id: Option<Id>) -> AppResult<()> {
    if let Some(id) = id {
        let groups = hosts::list_groups(c, company_id).await?;
        if !groups.iter().any(|g| g.id == id) {
            return Err(invalid(field, format!("no host group with id {id}")));
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/host-groups", tag = "hosts",
    responses((status = 200, body = Vec<HostGroup>), (status = 403, body = ErrorBody)))]
pub async fn list_host_groups(
    State(state): State<AppState>,
    p: Principal,
) -> AppResult<Json<Vec<HostGroup>>> {
    p.require(Function::SystemHosts, Level::View)?;
    let mut c = state.store.conn().await?;
    Ok(Json(hosts::list_groups(&mut c, p.company_id).await?))
}

#[utoipa::path(post, path = "/api/v1/host-groups", tag = "hosts", request_body = HostGroupInput,
    responses((status = 201, body = HostGroup), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_host_group(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<HostGroupInput>,
) -> AppResult<(StatusCode, Json<HostGroup>)> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let name = validate::required_text("name", &req.name, validate::NAME_MAX)?;
    let mut tx = state.store.begin().await?;
    check_group(&mut tx, p.company_id, "parent_id", req.parent_id).await?;
    let id = unique(
        hosts::insert_group(&mut tx, p.company_id, &name, req.parent_id).await,
        "name",
        "this host group name",
    )?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(HostGroup {
            id,
            name,
            parent_id: req.parent_id,
        }),
    ))
}

#[utoipa::path(put, path = "/api/v1/host-groups/{id}", tag = "hosts", params(("id" = i64, Path, description = "the host group's id")), request_body = HostGroupInput,
    responses((status = 200, body = HostGroup), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_host_group(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<HostGroupInput>,
) -> AppResult<Json<HostGroup>> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let name = validate::required_text("name", &req.name, validate::NAME_MAX)?;
    let mut tx = state.store.begin().await?;
    let groups = hosts::list_groups(&mut tx, p.company_id).await?;
    if !groups.iter().any(|g| g.id == id) {
        return Err(AppError::NotFound("host group"));
    }
    if let Some(parent) = req.parent_id {
        // The parent must exist and must not be the group itself or below it.
        let mut at = Some(parent);
        while let Some(g) = at {
            if g == id {
                return Err(invalid("parent_id", "a group cannot be inside itself"));
            }
            at = groups
                .iter()
                .find(|x| x.id == g)
                .ok_or_else(|| invalid("parent_id", format!("no host group with id {parent}")))?
                .parent_id;
        }
    }
    unique(
        hosts::update_group(&mut tx, p.company_id, id, &name, req.parent_id).await,
        "name",
        "this host group name",
    )?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(HostGroup {
        id,
        name,
        parent_id: req.parent_id,
    }))
}

#[utoipa::path(delete, path = "/api/v1/host-groups/{id}", tag = "hosts", params(("id" = i64, Path, description = "the host group's id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_host_group(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<StatusCode> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    if hosts::group_contents(&mut tx, p.company_id, id).await? > 0 {
        return Err(AppError::Conflict {
            field: None,
            message: "the host group still holds hosts or groups; move them first".into(),
        });
    }
    if !hosts::delete_group(&mut tx, p.company_id, id).await? {
        return Err(AppError::NotFound("host group"));
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- hosts ------------------------------------------------------------------------

/// `?q=&offset=&limit=&group_id=`
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HostQuery {
    pub q: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
    pub group_id: Option<Id>,
}

fn host_input(req: &HostInput) -> Result<(String, String), FieldError> {
    Ok((
        validate::required_text("name", &req.name, validate::NAME_MAX)?,
        validate::optional_text("comments", &req.comments, validate::TEXT_MAX)?,
    ))
}

/// The host as stored, with the live connection overriding a stale `connected`.
fn live_state(hub: &AgentHub, company_id: Id, mut h: Host) -> Host {
    use shared::dto::host::HostState;
    if h.state == HostState::Connected && !hub.is_connected(company_id, h.id) {
        h.state = HostState::Offline;
    }
    h
}

#[utoipa::path(get, path = "/api/v1/hosts", tag = "hosts", params(HostQuery),
    responses((status = 200, body = Page<Host>), (status = 403, body = ErrorBody)))]
pub async fn list_hosts(
    State(state): State<AppState>,
    p: Principal,
    QueryParams(q): QueryParams<HostQuery>,
) -> AppResult<Json<Page<Host>>> {
    p.require(Function::SystemHosts, Level::View)?;
    let mut c = state.store.conn().await?;
    let list = ListQuery {
        q: q.q,
        offset: q.offset,
        limit: q.limit,
    };
    let (items, total) = hosts::list_hosts(&mut c, p.company_id, &list, q.group_id).await?;
    let items = items
        .into_iter()
        .map(|h| live_state(&state.agents, p.company_id, h))
        .collect();
    Ok(Json(Page { items, total }))
}

fn terminal_dto(t: TerminalRow, users: &[TerminalUserRow]) -> Terminal {
    Terminal {
        users: users
            .iter()
            .filter(|u| u.terminal_id == t.id)
            .map(|u| TerminalUser {
                id: u.id,
                terminal_id: u.terminal_id,
                username: u.username.clone(),
                auth: u.auth,
                has_secret: !u.sealed_secret.is_empty(),
                comments: u.comments.clone(),
            })
            .collect(),
        id: t.id,
        host_id: t.host_id,
        host_name: t.host_name,
        host_address: t.host_address,
        port: t.port,
        connection_type: t.connection_type,
        os_name: t.os_name,
        os_version: t.os_version,
        comments: t.comments,
        host_key: t.host_key,
        host_key_pending: t.host_key_pending,
        host_key_at: t.host_key_at,
        allow_basic_http: t.allow_basic_http,
    }
}

async fn terminals_of(c: &mut Conn, company_id: Id, host_id: Id) -> AppResult<Vec<Terminal>> {
    let rows = terminals::list_terminals(c, company_id, Some(host_id)).await?;
    let ids: Vec<Id> = rows.iter().map(|t| t.id).collect();
    let users = terminals::list_users(c, company_id, &ids).await?;
    Ok(rows.into_iter().map(|t| terminal_dto(t, &users)).collect())
}

#[utoipa::path(get, path = "/api/v1/hosts/{id}", tag = "hosts", params(("id" = i64, Path, description = "the host's id")),
    responses((status = 200, body = HostDetail), (status = 404, body = ErrorBody)))]
pub async fn get_host(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<HostDetail>> {
    p.require(Function::SystemHosts, Level::View)?;
    let mut c = state.store.conn().await?;
    let host = hosts::get_host(&mut c, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("host"))?;
    Ok(Json(HostDetail {
        host: live_state(&state.agents, p.company_id, host),
        terminals: terminals_of(&mut c, p.company_id, id).await?,
        recent_tasks: state.agents.recent_tasks(id),
        log: state.agents.log_tail(id),
        processes: state.agents.processes(id),
    }))
}

async fn issue_credential(
    state: &AppState,
    c: &mut Conn,
    company_id: Id,
    id: Id,
) -> AppResult<IssuedCredential> {
    let cred = credential::issue(id);
    let issued_at = hosts::set_credential(
        c,
        company_id,
        id,
        &credential::hash(&cred),
        &state
            .secrets
            .seal(&sealed::HOST_CREDENTIAL.at(company_id, id), &cred),
    )
    .await?
    .ok_or(AppError::NotFound("host"))?;
    Ok(IssuedCredential {
        host_id: id,
        credential: cred,
        issued_at,
    })
}

#[utoipa::path(post, path = "/api/v1/hosts", tag = "hosts", request_body = HostInput,
    responses((status = 201, body = Host), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_host(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<HostInput>,
) -> AppResult<(StatusCode, Json<Host>)> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let (name, comments) = host_input(&req)?;
    let mut tx = state.store.begin().await?;
    check_group(&mut tx, p.company_id, "group_id", req.group_id).await?;
    let id = unique(
        hosts::insert_host(
            &mut tx,
            p.company_id,
            &name,
            req.group_id,
            &comments,
            &credential::unusable(),
        )
        .await,
        "name",
        "this host name",
    )?;
    issue_credential(&state, &mut tx, p.company_id, id).await?;
    let host = hosts::get_host(&mut tx, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("host"))?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(host_id = id, by = p.user_id, "host created");
    Ok((StatusCode::CREATED, Json(host)))
}

#[utoipa::path(put, path = "/api/v1/hosts/{id}", tag = "hosts", params(("id" = i64, Path, description = "the host's id")), request_body = HostInput,
    responses((status = 200, body = Host), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_host(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<HostInput>,
) -> AppResult<Json<Host>> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let (name, comments) = host_input(&req)?;
    let mut tx = state.store.begin().await?;
    check_group(&mut tx, p.company_id, "group_id", req.group_id).await?;
    if !unique(
        hosts::update_host(&mut tx, p.company_id, id, &name, req.group_id, &comments).await,
        "name",
        "this host name",
    )? {
        return Err(AppError::NotFound("host"));
    }
    let host = hosts::get_host(&mut tx, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("host"))?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(live_state(&state.agents, p.company_id, host)))
}

#[utoipa::path(delete, path = "/api/v1/hosts/{id}", tag = "hosts", params(("id" = i64, Path, description = "the host's id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_host(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<StatusCode> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    if !hosts::delete_host(&mut tx, p.company_id, id).await? {
        return Err(AppError::NotFound("host"));
    }
    tx.commit().await.map_err(StoreError::from)?;
    state.agents.kick(id);
    tracing::info!(host_id = id, by = p.user_id, "host deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new agent credential; the old one stops working and a connected agent
/// is disconnected. The new credential is in the response (once) and in downloads.
#[utoipa::path(post, path = "/api/v1/hosts/{id}/credential", tag = "hosts", params(("id" = i64, Path, description = "the host's id")),
    responses((status = 200, body = IssuedCredential), (status = 404, body = ErrorBody)))]
pub async fn rotate_credential(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<Json<IssuedCredential>> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    let issued = issue_credential(&state, &mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    state.agents.kick(id);
    state.agents.log(
        id,
        "warn",
        "credential rotated: the previous one is revoked",
    );
    tracing::info!(host_id = id, by = p.user_id, "agent credential rotated");
    Ok(Json(issued))
}

/// The Sub Manager package for this host (`.tar.gz`).
#[utoipa::path(get, path = "/api/v1/hosts/{id}/package", tag = "hosts", params(("id" = i64, Path, description = "the host's id")),
    responses((status = 200, content_type = "application/gzip"), (status = 404, body = ErrorBody)))]
pub async fn download_package(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    headers: HeaderMap,
) -> AppResult<impl IntoResponse> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let mut c = state.store.conn().await?;
    let host = hosts::get_host(&mut c, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("host"))?;
    let stored = hosts::sealed_credential(&mut c, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("host"))?;
    let cred = state
        .secrets
        .open(&sealed::HOST_CREDENTIAL.at(p.company_id, id), &stored)
        .map_err(|e| AppError::Internal(InternalError::Secret("host credential", e)))?;
    let company = companies::get(&mut c, p.company_id)
        .await?
        .ok_or(AppError::NotFound("company"))?;
    drop(c);
    let host_header = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| state.config.listen.to_string());
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
        || state.config.cookie_secure;
    let config = package::config_json(
        &company.code,
        &ServerAddress::from_host_header(&host_header, tls),
        &cred,
    );
    let name = host.name.clone();
    let bin = package::agent_binary(state.config.agent_bin.as_deref());
    let bytes = tokio::task::spawn_blocking(move || package::build(&name, &config, &bin))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::NotAllowed(e.to_string()))?;
    let file: String = host
        .name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"sub-manager-{file}.tar.gz\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    ))
}

// ---- terminals --------------------------------------------------------------------

fn terminal_input(
    req: &TerminalInput,
) -> Result<(String, String, String, String, String), FieldError> {
    let address = validate::required_text(
        "host_address",
        &req.host_address,
        validate::HOST_ADDRESS_MAX,
    )?;
    if address.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(FieldError::new(
            "host_address",
            FieldErrorCode::Invalid,
            "host_address: a host name or IP address, without spaces or slashes",
        ));
    }
    if !req.connection_type.offered() {
        return Err(FieldError::new(
            "connection_type",
            FieldErrorCode::Invalid,
            format!(
                "connection_type: {} is no longer offered, it sends passwords in clear on the \
                 network; use ssh or winrm",
                req.connection_type.as_str()
            ),
        ));
    }
    if req.port == Some(0) {
        return Err(FieldError::new(
            "port",
            FieldErrorCode::Invalid,
            "port: 1 to 65535",
        ));
    }
    Ok((
        validate::required_text("host_name", &req.host_name, validate::NAME_MAX)?,
        address,
        validate::optional_text("os_name", &req.os_name, validate::NAME_MAX)?,
        validate::optional_text("os_version", &req.os_version, validate::NAME_MAX)?,
        validate::optional_text("comments", &req.comments, validate::TEXT_MAX)?,
    ))
}

async fn save_terminal(
    state: &AppState,
    p: &Principal,
    id: Option<Id>,
    req: &TerminalInput,
) -> AppResult<Terminal> {
    let (host_name, host_address, os_name, os_version, comments) = terminal_input(req)?;
    let mut tx = state.store.begin().await?;
    if let Some(id) = id {
        terminals::get_terminal(&mut tx, p.company_id, id)
            .await?
            .ok_or(AppError::NotFound("terminal"))?;
    }
    if hosts::get_host(&mut tx, p.company_id, req.host_id)
        .await?
        .is_none()
    {
        return Err(invalid(
            "host_id",
            format!("no host with id {}", req.host_id),
        ));
    }
    let fields = TerminalFields {
        host_id: req.host_id,
        host_name: &host_name,
        host_address: &host_address,
        port: req.port.unwrap_or(req.connection_type.default_port()),
        connection_type: req.connection_type,
        os_name: &os_name,
        os_version: &os_version,
        comments: &comments,
        allow_basic_http: req.allow_basic_http,
    };
    let (id, moved) = match id {
        None => (
            unique(
                terminals::insert_terminal(&mut tx, p.company_id, &fields).await,
                "host_name",
                "this terminal name on the host",
            )?,
            false,
        ),
        Some(id) => match unique(
            terminals::update_terminal(&mut tx, p.company_id, id, &fields).await,
            "host_name",
            "this terminal name on the host",
        )? {
            Saved::NotFound => return Err(AppError::NotFound("terminal")),
            Saved::Kept => (id, false),
            Saved::Moved => (id, true),
        },
    };
    // Secrets given again in the same request (kept across a move).
    for (i, a) in req.account_secrets.iter().enumerate() {
        let user = terminals::get_user(&mut tx, p.company_id, id, a.user_id)
            .await?
            .ok_or_else(|| {
                invalid(
                    &format!("account_secrets[{i}]"),
                    format!("no account {} on this terminal", a.user_id),
                )
            })?;
        let (secret, passphrase) = account_secret(&state.secrets, &user, a)?;
        terminals::set_user_secrets(
            &mut tx,
            p.company_id,
            user.id,
            Some(&secret),
            passphrase.as_deref(),
        )
        .await?;
    }
    let t = load_terminal(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    if moved {
        tracing::info!(
            terminal = id,
            by = p.user_id,
            "terminal moved: its stored secrets and host key were cleared"
        );
    }
    Ok(t)
}

/// An account's secret given again, checked and sealed for the account's row (a
/// passphrase not given clears the stored one: it belonged to the old key).
fn account_secret(
    secrets: &crate::crypto::SecretBox,
    user: &TerminalUserRow,
    a: &AccountSecret,
) -> Result<(String, Option<String>), FieldError> {
    let secret = checked_secret(user.auth, Some(a.secret.as_str()), true)?
        .ok_or_else(|| FieldError::new("secret", FieldErrorCode::Required, "secret: required"))?;
    let sealed_secret = secrets.seal(
        &sealed::TERMINAL_SECRET.at(user.company_id, user.id),
        secret,
    );
    let passphrase = a
        .passphrase
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| secrets.seal(&sealed::TERMINAL_PASSPHRASE.at(user.company_id, user.id), s))
        .unwrap_or_default();
    Ok((sealed_secret, Some(passphrase)))
}

async fn load_terminal(c: &mut Conn, company_id: Id, id: Id) -> AppResult<Terminal> {
    let t = terminals::get_terminal(c, company_id, id)
        .await?
        .ok_or(AppError::NotFound("terminal"))?;
    let users = terminals::list_users(c, company_id, &[id]).await?;
    Ok(terminal_dto(t, &users))
}

#[utoipa::path(post, path = "/api/v1/terminals", tag = "hosts", request_body = TerminalInput,
    responses((status = 201, body = Terminal), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_terminal(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<TerminalInput>,
) -> AppResult<(StatusCode, Json<Terminal>)> {
    p.require(Function::SystemHosts, Level::Manage)?;
    Ok((
        StatusCode::CREATED,
        Json(save_terminal(&state, &p, None, &req).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/terminals/{id}", tag = "hosts", params(("id" = i64, Path, description = "the terminal's id")), request_body = TerminalInput,
    responses((status = 200, body = Terminal), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_terminal(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<TerminalInput>,
) -> AppResult<Json<Terminal>> {
    p.require(Function::SystemHosts, Level::Manage)?;
    Ok(Json(save_terminal(&state, &p, Some(id), &req).await?))
}

#[utoipa::path(delete, path = "/api/v1/terminals/{id}", tag = "hosts", params(("id" = i64, Path, description = "the terminal's id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_terminal(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
) -> AppResult<StatusCode> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    if !terminals::delete_terminal(&mut tx, p.company_id, id).await? {
        return Err(AppError::NotFound("terminal"));
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- terminal users ---------------------------------------------------------------

/// A secret as given (`None`/empty: none), checked for its kind of sign-in.
fn checked_secret(
    auth: TerminalAuth,
    secret: Option<&str>,
    required: bool,
) -> Result<Option<&str>, FieldError> {
    let secret = secret.filter(|s| !s.is_empty());
    if required && secret.is_none() {
        return Err(FieldError::new(
            "secret",
            FieldErrorCode::Required,
            "secret: a password or private key is required",
        ));
    }
    if let Some(s) = secret {
        if s.len() > SECRET_MAX {
            return Err(FieldError::new(
                "secret",
                FieldErrorCode::TooLong,
                "secret: at most 16 KB",
            ));
        }
        if auth == TerminalAuth::PrivateKey && !s.contains("PRIVATE KEY-----") {
            return Err(FieldError::new(
                "secret",
                FieldErrorCode::Invalid,
                "secret: a private key in OpenSSH or PEM form (-----BEGIN … PRIVATE KEY-----)",
            ));
        }
    }
    Ok(secret)
}

/// An account's fields, checked; its secrets are sealed once its row is known
/// ([`seal_account`]).
fn user_input(
    req: &TerminalUserInput,
    creating: bool,
) -> Result<terminals::SealedAccount, FieldError> {
    let username = validate::required_text("username", &req.username, validate::LOGIN_MAX)?;
    let comments = validate::optional_text("comments", &req.comments, validate::TEXT_MAX)?;
    checked_secret(req.auth, req.secret.as_deref(), creating)?;
    Ok(terminals::SealedAccount {
        username,
        auth: req.auth,
        comments,
        secret: None,
        passphrase: None,
    })
}

/// Seals the secrets given for account `id` (bound to its row) and stores them.
async fn seal_account(
    state: &AppState,
    c: &mut Conn,
    company_id: Id,
    id: Id,
    req: &TerminalUserInput,
) -> AppResult<()> {
    let given = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    let secret = given(&req.secret).map(|s| {
        state
            .secrets
            .seal(&sealed::TERMINAL_SECRET.at(company_id, id), &s)
    });
    let passphrase = given(&req.passphrase).map(|s| {
        state
            .secrets
            .seal(&sealed::TERMINAL_PASSPHRASE.at(company_id, id), &s)
    });
    if secret.is_some() || passphrase.is_some() {
        terminals::set_user_secrets(c, company_id, id, secret.as_deref(), passphrase.as_deref())
            .await?;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/terminals/{id}/users", tag = "hosts", params(("id" = i64, Path, description = "the terminal's id")), request_body = TerminalUserInput,
    responses((status = 201, body = Terminal), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_terminal_user(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<TerminalUserInput>,
) -> AppResult<(StatusCode, Json<Terminal>)> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let f = user_input(&req, true)?;
    let mut tx = state.store.begin().await?;
    terminals::get_terminal(&mut tx, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("terminal"))?;
    let user_id = unique(
        terminals::insert_user(&mut tx, p.company_id, id, &f).await,
        "username",
        "this account on the terminal",
    )?;
    seal_account(&state, &mut tx, p.company_id, user_id, &req).await?;
    let t = load_terminal(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[utoipa::path(put, path = "/api/v1/terminals/{id}/users/{user_id}", tag = "hosts", params(("id" = i64, Path, description = "the terminal's id"), ("user_id" = i64, Path, description = "the terminal account's id")), request_body = TerminalUserInput,
    responses((status = 200, body = Terminal), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_terminal_user(
    State(state): State<AppState>,
    p: Principal,
    PathParam((id, user_id)): PathParam<(Id, Id)>,
    JsonBody(req): JsonBody<TerminalUserInput>,
) -> AppResult<Json<Terminal>> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let f = user_input(&req, false)?;
    let mut tx = state.store.begin().await?;
    let old = terminals::get_user(&mut tx, p.company_id, id, user_id)
        .await?
        .ok_or(AppError::NotFound("terminal user"))?;
    if old.auth != req.auth && req.secret.as_deref().is_none_or(str::is_empty) {
        return Err(FieldError::new(
            "secret",
            FieldErrorCode::Required,
            "secret: changing how the account signs in needs the new password or key",
        )
        .into());
    }
    unique(
        terminals::update_user(&mut tx, p.company_id, user_id, &f).await,
        "username",
        "this account on the terminal",
    )?;
    seal_account(&state, &mut tx, p.company_id, user_id, &req).await?;
    let t = load_terminal(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(t))
}

#[utoipa::path(delete, path = "/api/v1/terminals/{id}/users/{user_id}", tag = "hosts", params(("id" = i64, Path, description = "the terminal's id"), ("user_id" = i64, Path, description = "the terminal account's id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_terminal_user(
    State(state): State<AppState>,
    p: Principal,
    PathParam((id, user_id)): PathParam<(Id, Id)>,
) -> AppResult<StatusCode> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    if !terminals::delete_user(&mut tx, p.company_id, id, user_id).await? {
        return Err(AppError::NotFound("terminal user"));
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Test connection": the terminal's host agent signs in with the account and runs
/// `uname -a` — always at the address the terminal is saved with (the request names
/// nothing else), so a stored secret never goes to an edited, unsaved address; an
/// account whose secret was cleared by a move sends nothing. The SSH host key the
/// terminal shows is recorded (learnt, or pending when changed).
#[utoipa::path(post, path = "/api/v1/terminals/{id}/users/{user_id}/test", tag = "hosts", params(("id" = i64, Path, description = "the terminal's id"), ("user_id" = i64, Path, description = "the terminal account's id")),
    responses((status = 200, body = ConnectionTest), (status = 404, body = ErrorBody)))]
pub async fn test_connection(
    State(state): State<AppState>,
    p: Principal,
    PathParam((id, user_id)): PathParam<(Id, Id)>,
) -> AppResult<Json<ConnectionTest>> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let reach = state.reach();
    let (terminal, user) = {
        let mut c = state.store.conn().await?;
        let t = terminals::get_terminal(&mut c, p.company_id, id)
            .await?
            .ok_or(AppError::NotFound("terminal"))?;
        let u = terminals::get_user(&mut c, p.company_id, id, user_id)
            .await?
            .ok_or(AppError::NotFound("terminal user"))?;
        (t, u)
    };
    let started = std::time::Instant::now();
    let target = match reach.target(&terminal, &user) {
        Ok(t) => t,
        Err(
            e @ (ReachError::Unsupported(..) | ReachError::Secret(_) | ReachError::NoSecret(..)),
        ) => {
            return Ok(Json(ConnectionTest {
                ok: false,
                message: e.to_string(),
                millis: 0,
            }))
        }
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let outcome = reach
        .run_on(
            p.company_id,
            terminal.host_id,
            Some(&terminal),
            TaskSpec::TestConnection {
                target,
                timeout_secs: 20,
            },
            &shared::redact::Masker::new(),
            None,
            std::future::pending(),
        )
        .await;
    let millis = started.elapsed().as_millis() as u64;
    Ok(Json(match outcome {
        TaskOutcome::Ran { result } if result.exit_code == Some(0) => ConnectionTest {
            ok: true,
            message: result.stdout.trim().to_string(),
            millis,
        },
        TaskOutcome::Ran { result } => ConnectionTest {
            ok: false,
            message: format!(
                "signed in, but `uname -a` exited with {:?}: {}",
                result.exit_code,
                result.stderr.trim()
            ),
            millis,
        },
        TaskOutcome::Failed { error, .. } => ConnectionTest {
            ok: false,
            message: error,
            millis,
        },
        other => ConnectionTest {
            ok: false,
            message: other.summary().1,
            millis,
        },
    }))
}

/// Trusts the new host key an SSH terminal showed (refused as changed until now): from
/// then on the Sub Manager connects only to a terminal showing it.
#[utoipa::path(post, path = "/api/v1/terminals/{id}/host-key", tag = "hosts", params(("id" = i64, Path, description = "the terminal's id")), request_body = AcceptHostKey,
    responses((status = 200, body = Terminal), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn accept_host_key(
    State(state): State<AppState>,
    p: Principal,
    PathParam(id): PathParam<Id>,
    JsonBody(req): JsonBody<AcceptHostKey>,
) -> AppResult<Json<Terminal>> {
    p.require(Function::SystemHosts, Level::Manage)?;
    let mut tx = state.store.begin().await?;
    let t = terminals::get_terminal(&mut tx, p.company_id, id)
        .await?
        .ok_or(AppError::NotFound("terminal"))?;
    if !terminals::accept_host_key(&mut tx, p.company_id, id, req.fingerprint.trim()).await? {
        return Err(AppError::Conflict {
            field: Some("fingerprint".into()),
            message: format!(
                "{} is not the host key waiting to be accepted for terminal {}",
                req.fingerprint.trim(),
                t.host_name
            ),
        });
    }
    let accepted = load_terminal(&mut tx, p.company_id, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    state.agents.log(
        t.host_id,
        "warn",
        &format!(
            "terminal {}: host key {} accepted (was {})",
            t.host_name,
            accepted.host_key,
            if t.host_key.is_empty() {
                "none"
            } else {
                &t.host_key
            }
        ),
    );
    tracing::info!(terminal = id, by = p.user_id, "host key accepted");
    Ok(Json(accepted))
}
