//! `GET /agent`: the WebSocket a Sub Manager dials. The upgrade is refused (401)
//! unless `Authorization: Bearer <credential>` and the company code header match a
//! host; then the agent must say `Hello` within 10 s, the host turns `connected` with
//! its facts, and the loop forwards heartbeats, output and outcomes to the hub until
//! the agent leaves or goes silent for three heartbeats (the host turns `offline`).

use super::credential;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::hosts;
use axum::extract::ws::CloseFrame;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shared::agent::{
    incompatible_message, wire, FromAgent, LoginOutcome, ToAgent, COMPANY_HEADER, HEARTBEAT_SECS,
    PROTOCOL_VERSION,
};
use shared::dto::host::{Host, HostState};
use shared::dto::Id;
use std::time::Duration;
use tokio::sync::mpsc;

/// Largest frame an agent may send: larger messages come in parts
/// (`shared::agent::wire`), put back together up to `wire::MESSAGE_LIMIT`.
const MAX_MESSAGE: usize = 4 << 20;

/// How the agent's line reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSecurity {
    /// TLS (the server behind a TLS proxy says so with `X-Forwarded-Proto: https`).
    Encrypted,
    /// Plaintext, but from this machine.
    Loopback,
    /// Plaintext from another machine: tasks and their secrets cross the network.
    Plaintext,
}

pub fn line_security(headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> LineSecurity {
    let forwarded_tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if forwarded_tls {
        LineSecurity::Encrypted
    } else if peer.is_none_or(|p| p.ip().is_loopback()) {
        LineSecurity::Loopback
    } else {
        LineSecurity::Plaintext
    }
}

pub async fn agent(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let security = line_security(&headers, peer.map(|p| p.0 .0));
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
    let company = headers
        .get(COMPANY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthorized)?;
    let mut c = state.store.conn().await?;
    let (company_id, host) =
        hosts::by_credential(&mut c, company.trim(), &credential::hash(bearer))
            .await?
            .ok_or(AppError::Unauthorized)?;
    drop(c);
    if security == LineSecurity::Plaintext {
        if state.config.agent_require_tls {
            state.agents.log(
                host.id,
                "error",
                "refused a Sub Manager line without TLS (this server requires wss://): \
                 download the package again from the server's https:// address",
            );
            return Err(AppError::NotAllowed(
                "this server accepts Sub Manager lines over TLS only (wss://)".into(),
            ));
        }
        state.agents.log(
            host.id,
            "warn",
            "this Sub Manager's line is NOT encrypted (ws:// from another machine): tasks \
             and their secrets cross the network readable — put the server behind TLS \
             (README: reverse proxy) and download the package again",
        );
    }
    Ok(upgrade
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve(socket, state, company_id, host)))
}

async fn send(socket: &mut WebSocket, m: &ToAgent) -> bool {
    // Messages larger than a frame go in parts (`shared::agent::wire`).
    static NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let number = NUMBER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let Ok(frames) = wire::frames(m, number, |message, last, text| ToAgent::Part {
        message,
        last,
        text,
    }) else {
        return false;
    };
    for f in frames {
        if socket.send(Message::Text(f.into())).await.is_err() {
            return false;
        }
    }
    true
}

/// The agent's next whole message (parts put back together), or `None` when the line
/// ends, stays silent for `within`, or sends a message in parts too large to keep.
async fn next(
    socket: &mut WebSocket,
    within: Duration,
    parts: &mut wire::Reassembly,
) -> Option<FromAgent> {
    loop {
        match tokio::time::timeout(within, socket.recv()).await {
            Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str(&t) {
                Ok(FromAgent::Part {
                    message,
                    last,
                    text,
                }) => match parts.add(message, last, &text) {
                    Ok(None) => {}
                    Ok(Some(whole)) => match serde_json::from_str(&whole) {
                        Ok(m) => return Some(m),
                        Err(e) => tracing::warn!(error = %e, "unreadable message from an agent"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "an agent's message in parts was refused");
                        return None;
                    }
                },
                Ok(m) => return Some(m),
                Err(e) => tracing::warn!(error = %e, "unreadable message from an agent"),
            },
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

async fn record(
    state: &AppState,
    host_id: Id,
    s: HostState,
    version: Option<&str>,
    facts: Option<&shared::dto::host::HostFacts>,
) {
    let saved = match state.store.conn().await {
        Ok(mut c) => hosts::record_agent(&mut c, host_id, s, version, facts).await,
        Err(e) => Err(e),
    };
    if let Err(e) = saved {
        tracing::error!(host = host_id, error = %e, "cannot record the agent's state");
    }
}

/// Whether `login` may sign in to this host's Sub Manager page: an enabled account of
/// the host's company, allowed to log in to Sub Manager, with the right password
/// (the sign-in form's lock-out applies). Recorded in the host's log.
async fn check_login(
    state: &AppState,
    company_id: Id,
    host_id: Id,
    login: &str,
    password: &str,
) -> LoginOutcome {
    let outcome =
        match crate::auth::login::check_password(&state.store, Some(company_id), login, password)
            .await
        {
            Ok(u) if u.may_login_agent => LoginOutcome::Allowed {
                display_name: u.display_name,
            },
            Ok(_) => LoginOutcome::Refused {
                reason: "this account may not log in to Sub Manager".into(),
            },
            Err(e @ (AppError::BadCredentials | AppError::Locked(_) | AppError::Busy(_))) => {
                LoginOutcome::Refused {
                    reason: e.to_string(),
                }
            }
            Err(e) => {
                tracing::error!(host = host_id, error = %e, "cannot check a Sub Manager sign-in");
                LoginOutcome::Refused {
                    reason: "the server could not check the account; try again".into(),
                }
            }
        };
    let shown: String = login.chars().take(64).collect();
    match &outcome {
        LoginOutcome::Allowed { .. } => state.agents.log(
            host_id,
            "info",
            &format!("{shown} signed in to the Sub Manager page"),
        ),
        LoginOutcome::Refused { reason } => state.agents.log(
            host_id,
            "warn",
            &format!("refused a Sub Manager page sign-in as {shown}: {reason}"),
        ),
    }
    outcome
}

/// An agent of another protocol version: told which Sub Manager to download (its log),
/// the host page says the same, and the line is closed.
async fn refuse_incompatible(
    socket: &mut WebSocket,
    state: &AppState,
    host_id: Id,
    agent_version: &str,
    agent_protocol: u32,
) {
    let server_version = env!("CARGO_PKG_VERSION");
    let message = incompatible_message(agent_version, agent_protocol, server_version);
    state.agents.log(host_id, "error", &message);
    tracing::warn!(
        host = host_id,
        agent_version,
        agent_protocol,
        "refused an agent of another protocol version"
    );
    let refusal = ToAgent::Incompatible {
        protocol: PROTOCOL_VERSION,
        server_version: server_version.to_string(),
        message,
    };
    let _ = send(socket, &refusal).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 4000,
            reason: format!("incompatible agent protocol: the server speaks {PROTOCOL_VERSION}")
                .into(),
        })))
        .await;
}

async fn serve(mut socket: WebSocket, state: AppState, company_id: Id, host: Host) {
    let hub = state.agents.clone();
    let mut parts = wire::Reassembly::default();
    let Some(FromAgent::Hello {
        protocol,
        process,
        version,
        facts,
    }) = next(&mut socket, Duration::from_secs(10), &mut parts).await
    else {
        hub.log(host.id, "warn", "an agent connected but did not say hello");
        return;
    };
    if protocol != PROTOCOL_VERSION {
        refuse_incompatible(&mut socket, &state, host.id, &version, protocol).await;
        return;
    }
    record(
        &state,
        host.id,
        HostState::Connected,
        Some(&version),
        Some(&facts),
    )
    .await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (session, other) = hub.connect(company_id, host.id, &process, tx.clone());
    hub.seen(host.id, &process, &version);
    hub.log(host.id, "info", &format!("Sub Manager {version} connected"));
    if let Some(other) = other {
        hub.log(
            host.id,
            "warn",
            &format!(
                "a second Sub Manager process ({process}) connected with this host's credential \
                 while process {other} was connected, and took over its line; if you did not \
                 start it, rotate the host's credential (that cuts both)"
            ),
        );
        tracing::warn!(
            host = host.id,
            process,
            other,
            "a second agent process with the same credential"
        );
    }
    tracing::info!(host = host.id, version, "agent connected");
    let welcome = ToAgent::Welcome {
        host_id: host.id,
        host_name: host.name.clone(),
    };
    let silent = Duration::from_secs(HEARTBEAT_SECS * 3);
    if send(&mut socket, &welcome).await {
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    // A replaced or kicked line is woken to close, sending nothing more.
                    Some(_) if !hub.is_current(host.id, session) => break,
                    Some(m) => if !send(&mut socket, &m).await { break },
                    None => break,
                },
                got = next(&mut socket, silent, &mut parts) => {
                    // A kicked session (credential rotated) stops here.
                    if !hub.is_current(host.id, session) { break }
                    match got {
                        None => break,
                        Some(FromAgent::Heartbeat { facts }) => {
                            hub.seen(host.id, &process, &version);
                            record(&state, host.id, HostState::Connected, None, facts.as_ref()).await;
                            if !send(&mut socket, &ToAgent::Beat).await { break }
                        }
                        Some(FromAgent::Output { task, stream, text }) => hub.output(host.id, task, stream, &text),
                        Some(FromAgent::Done { task, outcome, host_key }) => hub.done(host.id, task, outcome, host_key),
                        Some(FromAgent::Log { level, message }) => hub.log(host.id, &level, &message),
                        Some(FromAgent::CheckLogin { request, login, password }) => {
                            let (state, tx, host_id) = (state.clone(), tx.clone(), host.id);
                            tokio::spawn(async move {
                                let outcome = check_login(&state, company_id, host_id, &login, &password).await;
                                let _ = tx.send(ToAgent::LoginChecked { request, outcome });
                            });
                        }
                        Some(FromAgent::Hello { .. } | FromAgent::Part { .. }) => {}
                    }
                }
            }
            if !hub.is_current(host.id, session) {
                break;
            }
        }
    }
    if hub.disconnect(host.id, session) {
        record(&state, host.id, HostState::Offline, None, None).await;
        hub.log(host.id, "warn", "Sub Manager disconnected");
        tracing::info!(host = host.id, "agent disconnected");
    }
    let _ = socket.send(Message::Close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plaintext_line_from_another_machine_is_told_from_tls_and_loopback() {
        let plain = HeaderMap::new();
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-proto", "HTTPS".parse().unwrap());
        let far: std::net::SocketAddr = "10.0.0.5:40000".parse().unwrap();
        let near: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(line_security(&plain, Some(far)), LineSecurity::Plaintext);
        assert_eq!(line_security(&plain, Some(near)), LineSecurity::Loopback);
        assert_eq!(line_security(&proxied, Some(far)), LineSecurity::Encrypted);
        assert_eq!(line_security(&plain, None), LineSecurity::Loopback);
    }
}
