//! Signing in: company lookup, lock-out after repeated failures, password check and
//! session creation. Unknown users and wrong passwords get the same answer.

use super::{password, session};
use crate::error::{AppError, AppResult};
use crate::store::{companies, now_millis, sessions, users, Store};
use shared::dto::auth::LoginRequest;
use shared::dto::Id;

/// Consecutive failures after which an account is locked.
pub const MAX_FAILURES: i64 = 5;
/// How long a lock lasts.
pub const LOCK_MILLIS: i64 = 5 * 60 * 1000;

/// A new session: the cookie token (to set) and the ids it belongs to.
pub struct NewSession {
    pub token: String,
    pub user_id: Id,
    pub company_id: Id,
}

pub async fn login(store: &Store, req: &LoginRequest, session_hours: u64) -> AppResult<NewSession> {
    let company = match req
        .company_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(code) => companies::by_code(&mut *store.conn().await?, code).await?,
        None => {
            let all = companies::list(&mut *store.conn().await?).await?;
            if all.len() == 1 {
                all.into_iter().next()
            } else {
                None
            }
        }
    };
    let u = check_password(store, company.map(|co| co.id), &req.login, &req.password).await?;
    let now = now_millis();
    let token = session::new_token();
    let csrf = session::new_token();
    let mut tx = store.begin().await?;
    sessions::insert(
        &mut tx,
        &session::token_hash(&token),
        u.id,
        u.company_id,
        &csrf,
        now + session_hours as i64 * 3_600_000,
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    tracing::info!(user_id = u.id, company_id = u.company_id, "signed in");
    Ok(NewSession {
        token,
        user_id: u.id,
        company_id: u.company_id,
    })
}

/// Checks a login name and password in a company: the same answer for an unknown user
/// and a wrong password, a lock after [`MAX_FAILURES`] failures, disabled users
/// refused. Used by the sign-in form and by the Sub Manager's local page.
pub async fn check_password(
    store: &Store,
    company_id: Option<Id>,
    login: &str,
    password: &str,
) -> AppResult<users::UserRow> {
    let mut c = store.conn().await?;
    let user = match company_id {
        Some(id) => users::by_login(&mut c, id, login.trim()).await?,
        None => None,
    };
    let now = now_millis();
    if let Some(u) = &user {
        if u.locked_until > now {
            return Err(AppError::Locked((u.locked_until - now + 999) / 1000));
        }
    }
    let ok = password::verify(user.as_ref().map(|u| u.password_hash.clone()), password).await;
    match user {
        Some(u) if ok && u.enabled => {
            if u.failed_logins > 0 {
                users::reset_failed_logins(&mut c, u.id).await?;
            }
            Ok(u)
        }
        Some(u) => {
            let lock = (u.failed_logins + 1 >= MAX_FAILURES).then_some(now + LOCK_MILLIS);
            users::record_failed_login(&mut c, u.id, lock).await?;
            tracing::info!(user_id = u.id, locked = lock.is_some(), "failed sign-in");
            Err(AppError::BadCredentials)
        }
        None => Err(AppError::BadCredentials),
    }
}
