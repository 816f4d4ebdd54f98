//! Signing in: company lookup (the code is required once several companies exist; a
//! disabled company is refused by name), lock-out after repeated failures, password
//! check and session creation. Unknown companies, unknown users and wrong passwords
//! get the same answer.

use super::{password, session};
use crate::error::{AppError, AppResult};
use crate::store::{companies, now_millis, sessions, users, Store};
use shared::dto::auth::{LoginOptions, LoginRequest};
use shared::dto::Id;
use shared::validate::{FieldError, FieldErrorCode};

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

/// What the sign-in page asks for: the company code when more than one company uses
/// the server.
pub async fn options(store: &Store) -> AppResult<LoginOptions> {
    let n = companies::count(&mut *store.conn().await?).await?;
    Ok(LoginOptions {
        company_code_required: n > 1,
    })
}

/// Signs in: the company by its code (required when there are several; the only one
/// otherwise), refused while the company is disabled, then the password.
pub async fn login(store: &Store, req: &LoginRequest, session_hours: u64) -> AppResult<NewSession> {
    let company = match req
        .company_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(code) => companies::by_code(&mut *store.conn().await?, code).await?,
        None => {
            let mut all = companies::list(&mut *store.conn().await?).await?;
            if all.len() > 1 {
                return Err(FieldError::new(
                    "company_code",
                    FieldErrorCode::Required,
                    "is required: several companies use this server",
                )
                .into());
            }
            all.pop()
        }
    };
    if let Some(co) = company.as_ref().filter(|co| co.disabled) {
        return Err(AppError::CompanyDisabled(co.code.clone()));
    }
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
        // Counted before the check, atomically: concurrent guesses cannot exceed the
        // limit (the attempt that reaches it locks the account).
        if !users::claim_login_attempt(&mut c, u.id, now, MAX_FAILURES, now + LOCK_MILLIS).await? {
            return Err(AppError::Locked(LOCK_MILLIS / 1000));
        }
    }
    let ok = password::verify(user.as_ref().map(|u| u.password_hash.clone()), password).await?;
    match user {
        Some(u) if ok && u.enabled => {
            users::reset_failed_logins(&mut c, u.id).await?;
            Ok(u)
        }
        Some(u) => {
            tracing::info!(user_id = u.id, "failed sign-in");
            Err(AppError::BadCredentials)
        }
        None => Err(AppError::BadCredentials),
    }
}
