//! HTTP request steps (SPEC §5.1): method, URL, headers, body, TLS verification; the
//! answer's status, headers and body (capped at [`OUTPUT_CAP`], parsed when JSON).
//! Runs on the agent and, for steps "in cloud", on the server.

use shared::agent::{HttpRequest, HttpResult, OUTPUT_CAP};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("method: {0:?} is not an HTTP method (GET, POST, PUT, DELETE, PATCH, HEAD)")]
    Method(String),
    #[error("url: {0}")]
    Url(String),
    #[error("header {0:?}: {1}")]
    Header(String, String),
    #[error("{0} did not answer within {1:?}")]
    Timeout(String, Duration),
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    #[error("cancelled")]
    Cancelled,
}

/// Two shared clients (connection pools) for HTTP steps: verifying TLS certificates,
/// and not. (WinRM keeps a connection per shell: NTLM authenticates connections.)
pub fn shared_client(verify_tls: bool) -> Result<&'static reqwest::Client, reqwest::Error> {
    static VERIFYING: OnceLock<reqwest::Client> = OnceLock::new();
    static TRUSTING: OnceLock<reqwest::Client> = OnceLock::new();
    let cell = if verify_tls { &VERIFYING } else { &TRUSTING };
    if let Some(c) = cell.get() {
        return Ok(c);
    }
    let c = reqwest::Client::builder()
        .danger_accept_invalid_certs(!verify_tls)
        .user_agent(concat!("LWAMS/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .build()?;
    Ok(cell.get_or_init(|| c))
}

fn client(verify_tls: bool) -> Result<&'static reqwest::Client, HttpError> {
    shared_client(verify_tls).map_err(|e| HttpError::Unreachable("client".into(), e.to_string()))
}

/// Sends `req` and reads the answer until it ends, `timeout` passes or `cancel` completes.
pub async fn run(
    req: &HttpRequest,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<HttpResult, HttpError> {
    let method = req.method.trim().to_ascii_uppercase();
    let method = match method.as_str() {
        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" => {
            reqwest::Method::from_bytes(method.as_bytes())
                .map_err(|_| HttpError::Method(req.method.clone()))?
        }
        _ => return Err(HttpError::Method(req.method.clone())),
    };
    let url = reqwest::Url::parse(req.url.trim()).map_err(|e| HttpError::Url(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HttpError::Url(format!(
            "{} is not an http:// or https:// address",
            req.url
        )));
    }
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &req.headers {
        let name = reqwest::header::HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|e| HttpError::Header(k.clone(), e.to_string()))?;
        let value = reqwest::header::HeaderValue::from_str(v.trim())
            .map_err(|e| HttpError::Header(k.clone(), e.to_string()))?;
        headers.append(name, value);
    }
    let mut builder = client(req.verify_tls)?
        .request(method, url.clone())
        .headers(headers);
    if let Some(body) = &req.body {
        builder = builder.body(body.clone());
    }
    let started = Instant::now();
    let shown = format!("{}://{}", url.scheme(), url.authority());
    let exchange = async {
        let mut response = builder
            .send()
            .await
            .map_err(|e| HttpError::Unreachable(shown.clone(), error_chain(&e)))?;
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HttpError::Unreachable(shown.clone(), error_chain(&e)))?
        {
            let room = OUTPUT_CAP.saturating_sub(body.len());
            if chunk.len() > room {
                truncated = true;
            }
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let json = if truncated {
            None
        } else {
            serde_json::from_str(&body).ok()
        };
        Ok(HttpResult {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers,
            body,
            json,
            truncated,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    };
    tokio::select! {
        r = tokio::time::timeout(timeout, exchange) => {
            r.unwrap_or_else(|_| Err(HttpError::Timeout(shown.clone(), timeout)))
        }
        _ = cancel => Err(HttpError::Cancelled),
    }
}

/// reqwest's error with its causes ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: vec![],
            body: None,
            verify_tls: true,
        }
    }

    #[tokio::test]
    async fn bad_method_url_or_header_is_refused_before_anything_is_sent() {
        let never = std::future::pending();
        let e = run(&request("FETCH", "http://x"), Duration::from_secs(1), never)
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("method:"), "{e}");
        let e = run(
            &request("GET", "ftp://x/y"),
            Duration::from_secs(1),
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().starts_with("url:"), "{e}");
        let mut r = request("GET", "http://127.0.0.1:9/");
        r.headers.push(("bad header".into(), "v".into()));
        let e = run(&r, Duration::from_secs(1), std::future::pending())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("bad header"), "{e}");
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_naming_the_address() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = run(
            &request("GET", &format!("http://127.0.0.1:{port}/x")),
            Duration::from_secs(5),
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, HttpError::Unreachable(..)), "{e}");
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    }
}
