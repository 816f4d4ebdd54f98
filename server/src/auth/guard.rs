//! `Principal`: the signed-in user of a request, extracted from the session cookie.
//! Extraction fails with 401 when there is no live session and with 403 when a
//! state-changing request lacks the session's CSRF token. `require` is the one
//! permission guard every endpoint calls.

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
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(COOKIE)
            .map(|c| c.value().to_string())
            .ok_or(AppError::Unauthorized)?;
        let hash = token_hash(&token);
        let mut c = state.store.conn().await?;
        let s = sessions::get_live(&mut c, &hash)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if !is_safe(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !tokens_equal(sent, &s.csrf_token) {
                return Err(AppError::Csrf);
            }
        }
        let u = users::get(&mut c, s.company_id, s.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let permissions = groups::user_permissions(&mut c, u.id).await?;
        Ok(Principal {
            user_id: u.id,
            company_id: u.company_id,
            login: u.login,
            display_name: u.display_name,
            locale: u.locale,
            permissions,
            csrf_token: s.csrf_token,
            session_hash: hash,
        })
    }
}
