//! A per-address limit on failed sign-ins, beside the per-account lock-out: one client
//! address may fail [`MAX_FAILURES_PER_ADDRESS`] sign-ins in [`WINDOW`]; after that its
//! sign-ins are refused (429) until the window passes, whichever accounts it tries.
//! Applies to the JSON sign-in, the login form and nothing else. The address is the
//! TCP peer (behind a reverse proxy every client shares the proxy's address: the limit
//! then guards the whole server, so keep it generous).

use axum::extract::{ConnectInfo, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES_PER_ADDRESS: u32 = 30;
pub const WINDOW: Duration = Duration::from_secs(300);
/// Addresses remembered at most (the oldest windows are dropped first).
const REMEMBERED: usize = 10_000;

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seconds until `ip` may try again, when it is over its limit.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let m = self.lock();
        let (since, n) = m.get(&ip)?;
        let left = WINDOW
            .checked_sub(now.duration_since(*since))
            .filter(|d| !d.is_zero())?;
        (*n >= MAX_FAILURES_PER_ADDRESS).then(|| left.as_secs().max(1))
    }

    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut m = self.lock();
        if m.len() >= REMEMBERED && !m.contains_key(&ip) {
            m.retain(|_, (since, _)| now.duration_since(*since) < WINDOW);
            if m.len() >= REMEMBERED {
                if let Some(oldest) = m.iter().min_by_key(|(_, (s, _))| *s).map(|(k, _)| *k) {
                    m.remove(&oldest);
                }
            }
        }
        let entry = m.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

fn throttle() -> &'static Throttle {
    static T: std::sync::OnceLock<Throttle> = std::sync::OnceLock::new();
    T.get_or_init(Throttle::default)
}

fn is_sign_in(req: &Request) -> bool {
    req.method() == Method::POST && matches!(req.uri().path(), "/api/v1/auth/login" | "/auth/login")
}

/// The middleware: refuses sign-ins from an address over its limit, and counts the
/// failed ones (401 from the API; the form answers a redirect back with an error).
pub async fn sign_ins(req: Request, next: Next) -> Response {
    if !is_sign_in(&req) {
        return next.run(req).await;
    }
    let Some(ip) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(req).await;
    };
    let form = req.uri().path() == "/auth/login";
    if let Some(secs) = throttle().blocked(ip, Instant::now()) {
        tracing::warn!(%ip, "sign-ins refused: too many failures from this address");
        if form {
            return axum::response::Redirect::to("/login?error=locked").into_response();
        }
        let message =
            format!("too many failed sign-ins from your address; try again in {secs} seconds");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(shared::dto::error::ErrorBody {
                error: "locked".into(),
                message,
                field: None,
            }),
        )
            .into_response();
    }
    let res = next.run(req).await;
    let failed = if form {
        res.headers()
            .get(axum::http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.contains("error=bad_credentials"))
    } else {
        res.status() == StatusCode::UNAUTHORIZED
    };
    if failed {
        throttle().failed(ip, Instant::now());
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_failures_until_the_window_passes() {
        let t = Throttle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES_PER_ADDRESS - 1 {
            t.failed(ip, start);
        }
        assert_eq!(t.blocked(ip, start), None);
        t.failed(ip, start);
        assert!(t.blocked(ip, start).is_some());
        assert_eq!(t.blocked(other, start), None, "other addresses are not");
        assert_eq!(t.blocked(ip, start + WINDOW), None, "the window passes");
    }
}
