//! `Principal`: the signed-in user of a request, extracted from the session cookie.
//! Extraction fails with 401 when there is no live session (expired, signed out, the
//! user or the user's company disabled) and with 403 when a
//! state-changing request lacks the session's CSRF token. `require` is the one
//! permission guard every endpoint calls. `PlatformOperator` guards the platform
//! operator's endpoints and answers everybody else 404, as if they did not exist.

use super::session::{token_hash, tokens_equal, COOKIE, CSRF_HEADER};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{groups, sessions, users};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use axum_extra::extract::CookieJar;
use shared::dto::Id;
use shared::{Function, Level, Locale, PermissionMatrix};

#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Id,
    pub company_id: Id,
    pub login: String,
    pub display_name: String,
    pub locale: Locale,
    pub permissions: PermissionMatrix,
    pub csrf_token: String,
    /// SHA-256 of the session token (to end this session or keep it).
    pub session_hash: String,
    /// The user's company is the platform operator's.
    pub operator_company: bool,
}

impl Principal {
    /// The permission guard: `Ok` when the user's groups grant at least `level` on `f`.
    pub fn require(&self, f: Function, level: Level) -> Result<(), AppError> {
        if self.permissions.allows(f, level) {
            Ok(())
        } else {
            Err(AppError::Forbidden {
                function: f.key(),
                level: level.as_str(),
            })
        }
    }

    /// A platform operator: a user of the platform operator's company with the
    /// *manage* right on System › Company.
    pub fn is_platform_operator(&self) -> bool {
        self.operator_company
            && self
                .permissions
                .allows(Function::SystemCompany, Level::Manage)
    }
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The request's session user, and whether the request may change state (a safe
/// method, or the session's CSRF token sent).
async fn session_user(parts: &Parts, state: &AppState) -> Result<(Principal, bool), AppError> {
    let jar = CookieJar::from_headers(&parts.headers);
    let token = jar
        .get(COOKIE)
        .map(|c| c.value().to_string())
        .ok_or(AppError::Unauthorized)?;
    let hash = token_hash(&token);
    let mut c = state.store.conn().await?;
    // Only live sessions of enabled users of enabled companies.
    let s = sessions::get_live(&mut c, &hash)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let csrf_ok = is_safe(&parts.method) || {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tokens_equal(sent, &s.csrf_token)
    };
    let u = users::get(&mut c, s.company_id, s.user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let permissions = groups::user_permissions(&mut c, u.id).await?;
    let p = Principal {
        user_id: u.id,
        company_id: u.company_id,
        login: u.login,
        display_name: u.display_name,
        locale: u.locale,
        permissions,
        csrf_token: s.csrf_token,
        session_hash: hash,
        operator_company: s.platform_operator,
    };
    Ok((p, csrf_ok))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (p, csrf_ok) = session_user(parts, state).await?;
        if !csrf_ok {
            return Err(AppError::Csrf);
        }
        Ok(p)
    }
}

/// The signed-in platform operator ([`Principal::is_platform_operator`]). Everybody
/// else — not signed in, another company, without the right — gets the very answer
/// of an unknown endpoint (404 `endpoint not found`), so that tenants do not learn the
/// platform endpoints exist. Put it first among a handler's extractors, before the
/// path and body, so that nothing else answers first.
#[derive(Debug, Clone)]
pub struct PlatformOperator(pub Principal);

impl FromRequestParts<AppState> for PlatformOperator {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (p, csrf_ok) = match session_user(parts, state).await {
            Ok(found) => found,
            Err(e @ AppError::Internal(_)) => return Err(e),
            Err(_) => return Err(AppError::NotFound("endpoint")),
        };
        if !p.is_platform_operator() {
            return Err(AppError::NotFound("endpoint"));
        }
        if !csrf_ok {
            return Err(AppError::Csrf);
        }
        Ok(PlatformOperator(p))
    }
}
