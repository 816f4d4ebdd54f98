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
    /// The client's address policy refused to connect (see [`Refused`]).
    #[error("{0}")]
    Refused(String),
    #[error("cancelled")]
    Cancelled,
}

/// What a client's DNS resolver or redirect policy returns when it refuses an address
/// (the server's egress policy for steps in cloud): [`run_with`] reports it as
/// [`HttpError::Refused`] with this text rather than as an unreachable host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The settings every HTTP step client shares (TLS verification or not, user agent);
/// the server adds its own resolver and redirect policy for steps in cloud.
pub fn client_builder(verify_tls: bool) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(!verify_tls)
        .user_agent(concat!("LWAMS/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
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
    let c = client_builder(verify_tls).build()?;
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
    run_with(client(req.verify_tls)?, req, timeout, cancel).await
}

/// [`run`] with the caller's client (built from [`client_builder`] with the same
/// `verify_tls` as `req`).
pub async fn run_with(
    client: &reqwest::Client,
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
    let mut builder = client.request(method, url.clone()).headers(headers);
    if let Some(body) = &req.body {
        builder = builder.body(body.clone());
    }
    let started = Instant::now();
    let shown = format!("{}://{}", url.scheme(), url.authority());
    let exchange = async {
        let mut response = builder.send().await.map_err(|e| send_error(&shown, &e))?;
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
        while let Some(chunk) = response.chunk().await.map_err(|e| send_error(&shown, &e))? {
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

/// A failed exchange: refused by the client's policy, or unreachable.
fn send_error(shown: &str, e: &reqwest::Error) -> HttpError {
    match refusal(e) {
        Some(r) => HttpError::Refused(r.0.clone()),
        None => HttpError::Unreachable(shown.to_string(), error_chain(e)),
    }
}

/// The [`Refused`] among an error's causes (looking inside `io::Error`s too, whose
/// `source` skips the error they wrap).
fn refusal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<Refused>() {
            return Some(r);
        }
        if let Some(inner) = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(r) = refusal(inner) {
                return Some(r);
            }
        }
        cause = c.source();
    }
    None
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

    struct RefuseAll;

    impl reqwest::dns::Resolve for RefuseAll {
        fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
            let why = format!("{} is not for you", name.as_str());
            Box::pin(async move { Err(Box::new(Refused(why)) as _) })
        }
    }

    #[tokio::test]
    async fn a_refusal_of_the_clients_resolver_or_redirect_policy_is_reported_as_such() {
        let client = client_builder(true)
            .dns_resolver(std::sync::Arc::new(RefuseAll))
            .build()
            .unwrap();
        let e = run_with(
            &client,
            &request("GET", "http://db.example.invalid/x"),
            Duration::from_secs(5),
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&e, HttpError::Refused(why) if why == "db.example.invalid is not for you"),
            "{e:?}"
        );

        // A redirect the policy refuses.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/\r\nContent-Length: 0\r\n\r\n",
                    )
                    .await;
            }
        });
        let client = client_builder(true)
            .redirect(reqwest::redirect::Policy::custom(|a| {
                let why = format!("no redirect to {}", a.url());
                a.error(Refused(why))
            }))
            .build()
            .unwrap();
        let e = run_with(
            &client,
            &request("GET", &format!("http://127.0.0.1:{port}/")),
            Duration::from_secs(5),
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&e, HttpError::Refused(why) if why == "no redirect to http://10.0.0.1/"),
            "{e:?}"
        );
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
