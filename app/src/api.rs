//! The browser's client of the REST API (`/api/v1`). Typed with the `shared` DTOs;
//! state-changing calls carry the session's CSRF token. On the server (SSR) these
//! calls are never made: pages fetch after hydration. Pages call the typed functions
//! of their domain (`api/<domain>.rs`); the generic calls below are what those use.

pub mod flows;
pub mod groups;
pub mod users;

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::dto::error::ErrorBody;

/// An API call that did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiError {
    fn network(message: String) -> Self {
        ApiError {
            status: 0,
            body: ErrorBody {
                error: "network".into(),
                message,
                field: None,
            },
        }
    }

    pub fn is_unauthorized(&self) -> bool {
        self.status == 401
    }

    pub fn message(&self) -> &str {
        &self.body.message
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

/// The CSRF token of the current session, kept by `session.rs` after `/auth/me`.
pub fn set_csrf(token: &str) {
    csrf::set(token)
}

mod csrf {
    use std::sync::Mutex;
    static TOKEN: Mutex<String> = Mutex::new(String::new());
    pub fn set(t: &str) {
        if let Ok(mut g) = TOKEN.lock() {
            *g = t.to_string();
        }
    }
    #[allow(dead_code)]
    pub fn get() -> String {
        TOKEN.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

/// What a request carries: JSON, or a file's bytes as they are.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Body {
    Json(String),
    Bytes(Vec<u8>),
}

#[cfg(feature = "hydrate")]
async fn send(method: Method, url: &str, body: Option<Body>) -> ApiResult<(u16, String)> {
    use gloo_net::http::RequestBuilder;
    let b = match method {
        Method::Get => RequestBuilder::new(url).method(gloo_net::http::Method::GET),
        Method::Post => RequestBuilder::new(url).method(gloo_net::http::Method::POST),
        Method::Put => RequestBuilder::new(url).method(gloo_net::http::Method::PUT),
        Method::Delete => RequestBuilder::new(url).method(gloo_net::http::Method::DELETE),
    };
    let b = b.header("Accept", "application/json");
    let b = if method == Method::Get {
        b
    } else {
        b.header("X-CSRF-Token", &csrf::get())
    };
    let req = match body {
        Some(Body::Json(json)) => b.header("Content-Type", "application/json").body(json),
        Some(Body::Bytes(bytes)) => b
            .header("Content-Type", "application/octet-stream")
            .body(js_sys::Uint8Array::from(bytes.as_slice())),
        None => b.build(),
    }
    .map_err(|e| ApiError::network(e.to_string()))?;
    let resp = req
        .send()
        .await
        .map_err(|e| ApiError::network(e.to_string()))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    Ok((status, text))
}

#[cfg(not(feature = "hydrate"))]
async fn send(_method: Method, _url: &str, _body: Option<Body>) -> ApiResult<(u16, String)> {
    Err(ApiError::network(
        "the API is called from the browser only".into(),
    ))
}

async fn call<T: DeserializeOwned>(method: Method, path: &str, body: Option<Body>) -> ApiResult<T> {
    let url = format!("/api/v1{path}");
    let (status, text) = send(method, &url, body).await?;
    if (200..300).contains(&status) {
        let text = if text.is_empty() {
            "null"
        } else {
            text.as_str()
        };
        serde_json::from_str(text).map_err(|e| ApiError::network(format!("unexpected answer: {e}")))
    } else {
        let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or(ErrorBody {
            error: "http".into(),
            message: format!("HTTP {status}"),
            field: None,
        });
        Err(ApiError { status, body })
    }
}

/// A GET whose answer is text (the BPMN XML of an instance's diagram).
pub async fn get_text(path: &str) -> ApiResult<String> {
    let (status, text) = send(Method::Get, &format!("/api/v1{path}"), None).await?;
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(ApiError {
            status,
            body: serde_json::from_str::<ErrorBody>(&text).unwrap_or(ErrorBody {
                error: "http".into(),
                message: format!("HTTP {status}"),
                field: None,
            }),
        })
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    call(Method::Get, path, None).await
}

pub async fn send_json<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: &B,
) -> ApiResult<T> {
    let json = serde_json::to_string(body).map_err(|e| ApiError::network(e.to_string()))?;
    call(method, path, Some(Body::Json(json))).await
}

/// A POST of a file's bytes as they are (`application/octet-stream`).
pub async fn post_bytes<T: DeserializeOwned>(path: &str, bytes: Vec<u8>) -> ApiResult<T> {
    call(Method::Post, path, Some(Body::Bytes(bytes))).await
}

/// A call whose answer has no body (204).
pub async fn send_empty<B: Serialize>(
    method: Method,
    path: &str,
    body: Option<&B>,
) -> ApiResult<()> {
    let json = match body {
        Some(b) => Some(Body::Json(
            serde_json::to_string(b).map_err(|e| ApiError::network(e.to_string()))?,
        )),
        None => None,
    };
    call::<serde_json::Value>(method, path, json)
        .await
        .map(|_| ())
}

/// `path` with a list's search and paging as its query (`?q=&offset=&limit=`);
/// `extra` (already encoded, `&`-separated) is appended.
pub fn list_path(path: &str, q: &shared::dto::ListQuery, extra: &str) -> String {
    let mut parts = vec![];
    if let Some(text) = q.filter() {
        parts.push(format!("q={}", encode(text)));
    }
    if let Some(offset) = q.offset {
        parts.push(format!("offset={offset}"));
    }
    if let Some(limit) = q.limit {
        parts.push(format!("limit={limit}"));
    }
    if !extra.is_empty() {
        parts.push(extra.to_string());
    }
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use shared::dto::ListQuery;

    #[test]
    fn list_paths_carry_the_search_and_paging_that_are_set() {
        assert_eq!(
            super::list_path("/users", &ListQuery::default(), ""),
            "/users"
        );
        let q = ListQuery {
            q: Some(" a&b ".into()),
            offset: Some(50),
            limit: Some(50),
        };
        assert_eq!(
            super::list_path("/hosts", &q, "group=3"),
            "/hosts?q=a%26b&offset=50&limit=50&group=3"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::encode("a b&c=中"), "a%20b%26c%3D%E4%B8%AD");
    }
}
