//! `POST /auth/login`: the login page's plain HTML form (no JavaScript needed). Success
//! sets the session and language cookies and redirects into the app; failure redirects
//! back to the login page with an error code (`bad_credentials`, `locked`,
//! `company_required`, `company_disabled`; the company code typed is kept as
//! `company=`). Cross-site posts are refused (the `Origin`, or else `Referer`, must
//! name this host), so no one can sign a visitor in to an account of theirs.

use crate::auth::{login, session};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::users;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use shared::dto::auth::LoginRequest;
use shared::Locale;

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub company_code: String,
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub lang: String,
    /// Where to go after signing in (a local path).
    #[serde(default)]
    pub next: String,
}

/// True when the request comes from a page of this server.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match from {
        Some(url) => url
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next() == Some(host))
            .unwrap_or(false),
        // Non-browser clients send neither; browsers always send Origin on POST.
        None => true,
    }
}

/// A local path to continue to; anything else (other hosts, `//x`) becomes `/`.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/"
    }
}

fn back_to_login(code: &str, form: &LoginForm) -> Response {
    let mut url = format!("/login?error={code}");
    if let Some(l) = Locale::from_tag(&form.lang) {
        url.push_str(&format!("&lang={}", l.tag()));
    }
    if shared::validate::identifier("login", &form.login, shared::validate::LOGIN_MAX).is_ok() {
        url.push_str(&format!("&login={}", form.login.trim()));
    }
    // Only characters that need no escaping in a URL pass these two checks.
    if let Ok(code) = shared::validate::company_code("company_code", &form.company_code) {
        url.push_str(&format!("&company={code}"));
    }
    Redirect::to(&url).into_response()
}

pub async fn form_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site sign-in refused").into_response();
    }
    if form.login.trim().is_empty() || form.password.is_empty() {
        return back_to_login("bad_credentials", &form);
    }
    let req = LoginRequest {
        company_code: Some(form.company_code.clone()).filter(|c| !c.trim().is_empty()),
        login: form.login.clone(),
        password: form.password.clone(),
    };
    let s = match login::login(&state.store, &req, state.config.session_hours).await {
        Ok(s) => s,
        Err(AppError::Locked(_)) => return back_to_login("locked", &form),
        Err(AppError::BadCredentials) => return back_to_login("bad_credentials", &form),
        Err(AppError::CompanyDisabled(_)) => return back_to_login("company_disabled", &form),
        Err(AppError::Validation(f)) if f.field == "company_code" => {
            return back_to_login("company_required", &form)
        }
        Err(e) => return e.into_response(),
    };
    let locale = match state.store.conn().await {
        Ok(mut c) => users::get(&mut c, s.company_id, s.user_id)
            .await
            .ok()
            .flatten()
            .map(|u| u.locale),
        Err(e) => return AppError::from(e).into_response(),
    }
    .unwrap_or_default();
    let secure = state.config.cookie_secure;
    let max_age = state.config.session_hours as i64 * 3600;
    let jar = jar
        .add(session::cookie(s.token, secure, max_age))
        .add(session::lang_cookie(locale, secure));
    (jar, Redirect::to(safe_next(&form.next))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next("/system/users"), "/system/users");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil"), "/");
        assert_eq!(safe_next(""), "/");
    }

    #[test]
    fn cross_site_posts_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "lwams.local:3000".parse().unwrap());
        h.insert(header::ORIGIN, "http://lwams.local:3000".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
