//! `/ws`: the live hub. A signed-in user with at least view rights on Flow › Monitor
//! receives every change of its company's instances as JSON (`LiveMessage`). A client
//! that falls behind gets `resync` and fetches again; a client that reconnects does the
//! same, so nothing is missed.

use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shared::dto::flow::LiveMessage;
use shared::{Function, Level};
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
    Ok(upgrade.on_upgrade(move |socket| serve(socket, state, company)))
}

async fn serve(mut socket: WebSocket, state: AppState, company: shared::dto::Id) {
    let mut rx = state.runtime.subscribe();
    let mut output = state.runtime.subscribe_output();
    loop {
        tokio::select! {
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
}
