//! WebSocket clients: the live feed `/ws` signed in with a session, and reading the
//! next text message of any line.

use super::Client;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// The upgrade request for the live feed on `port`, with `who`'s session when given.
pub fn feed_request(port: u16, who: Option<&Client>) -> Request {
    let mut req = format!("ws://127.0.0.1:{port}/ws")
        .into_client_request()
        .expect("a WebSocket URL");
    if let Some(c) = who {
        req.headers_mut()
            .insert("cookie", c.cookie.parse().expect("a cookie header"));
    }
    req
}

/// The live feed on `port`, signed in as `who`.
pub async fn feed(port: u16, who: &Client) -> Ws {
    tokio_tungstenite::connect_async(feed_request(port, Some(who)))
        .await
        .expect("the live feed accepts a signed-in client")
        .0
}

/// The next text message within 10 s (other frames skipped); `None` once the line
/// is closed. Panics naming `what` on a timeout or a broken line.
pub async fn next_text<S>(ws: &mut S, what: &str) -> Option<String>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) => return None,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => panic!("{what}: the line failed: {e}"),
            Err(_) => panic!("{what} within 10 s"),
        }
    }
}
