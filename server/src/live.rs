//! `/ws`: the live hub. A signed-in user with at least view rights on Flow › Monitor
//! receives every change of its company's instances as JSON (`LiveMessage`). A client
//! that falls behind gets `resync` and fetches again; a client that reconnects does the
//! same, so nothing is missed. The session and the right are checked again every few
//! seconds and before sending after a quiet spell: a signed-out or disabled user, or
//! one who lost the right, is cut off within seconds.

use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{groups, sessions};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shared::dto::flow::LiveMessage;
use shared::{Function, Level};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

pub async fn ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    p: Principal,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    p.require(Function::FlowMonitor, Level::View)?;
    if !crate::login_form::same_origin(&headers) {
        return Err(AppError::NotAllowed("cross-site WebSocket refused".into()));
    }
    let company = p.company_id;
    let session = p.session_hash.clone();
    Ok(upgrade.on_upgrade(move |socket| serve(socket, state, company, session)))
}

/// How often an open feed checks that its session still may see it.
pub const RECHECK: Duration = Duration::from_secs(3);

/// Whether the session is still live (signed in, user and company enabled) and its
/// user still may view the monitor.
async fn still_allowed(state: &AppState, session: &str) -> bool {
    let check = async {
        let mut c = state.store.conn().await?;
        let Some(s) = sessions::get_live(&mut c, session).await? else {
            return Ok::<_, crate::store::StoreError>(false);
        };
        let permissions = groups::user_permissions(&mut c, s.user_id).await?;
        Ok(permissions.allows(Function::FlowMonitor, Level::View))
    };
    match check.await {
        Ok(ok) => ok,
        Err(e) => {
            // A database hiccup does not cut every feed; the next check decides.
            tracing::warn!(error = %e, "cannot re-check a live feed's session");
            true
        }
    }
}

async fn serve(mut socket: WebSocket, state: AppState, company: shared::dto::Id, session: String) {
    let mut rx = state.runtime.subscribe();
    let mut output = state.runtime.subscribe_output();
    let mut tick = tokio::time::interval(RECHECK);
    let mut checked = Instant::now();
    loop {
        // Before sending after a quiet spell, make sure the session still may see it.
        if checked.elapsed() >= RECHECK {
            if !still_allowed(&state, &session).await {
                break;
            }
            checked = Instant::now();
        }
        tokio::select! {
            _ = tick.tick() => {
                if !still_allowed(&state, &session).await {
                    break;
                }
                checked = Instant::now();
            }
            got = output.recv() => {
                let msg = match got {
                    Ok(o) if o.0 == company => LiveMessage::Output(o.1.clone()),
                    // Dropped output is in the node run once the step ends.
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                };
                let Ok(text) = serde_json::to_string(&msg) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            got = rx.recv() => {
                let msg = match got {
                    Ok(live) if live.company_id == company => LiveMessage::Update(live.update.clone()),
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => LiveMessage::Resync,
                    Err(RecvError::Closed) => break,
                };
                let Ok(text) = serde_json::to_string(&msg) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                // Pings are answered by axum; anything else from the client is ignored.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
    }
    let _ = socket
        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
            code: 4001,
            reason: "signed out or no longer allowed".into(),
        })))
        .await;
}
