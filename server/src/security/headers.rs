//! Security headers on every response: a Content-Security-Policy (scripts, styles,
//! frames, connections only from this origin; no plugins; no framing by others),
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` for older browsers, and a
//! `Referrer-Policy` that never sends paths to other sites.
//!
//! No `eval` of any kind: the designer's bpmn-js bridge is a real script
//! (`public/lwams-diagram.js`); only WebAssembly compilation (`'wasm-unsafe-eval'`) is
//! allowed. The policy still allows inline scripts (Leptos' hydration bootstrap); a
//! per-response nonce for them is open work.

use axum::http::{HeaderName, HeaderValue};

/// The Content-Security-Policy of every page and answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
     connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

const HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
];

/// Adds the headers a handler did not set itself.
pub async fn add(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in HEADERS {
        let name = HeaderName::from_static(name);
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    res
}
