//! The API's error type, mapped once to HTTP responses. Internal errors are logged
//! here, once, with their chain of causes, and answered with a generic body so nothing
//! internal leaks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::dto::error::ErrorBody;
use shared::validate::{FieldError, FieldErrorCode};

use crate::agents::reach::ReachError;
use crate::auth::password::PasswordError;
use crate::crypto::SecretError;
use crate::engine::runtime::RuntimeError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Validation(#[from] FieldError),
    #[error("not signed in")]
    Unauthorized,
    #[error("wrong company code, login name or password")]
    BadCredentials,
    #[error("too many failed sign-ins; try again in {0} seconds")]
    Locked(i64),
    #[error("missing or wrong X-CSRF-Token header")]
    Csrf,
    #[error("you need the {level} right on {function}")]
    Forbidden {
        function: &'static str,
        level: &'static str,
    },
    #[error("{0}")]
    NotAllowed(String),
    /// Sign-in to a disabled company (its code).
    #[error("company {0} is disabled")]
    CompanyDisabled(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    #[error("request body: {0}")]
    BadRequest(String),
    /// Too many sign-ins at once, or from one address: try again later.
    #[error("{0}")]
    Busy(String),
    #[error("internal error")]
    Internal(#[source] InternalError),
}

/// What failed inside the server while answering: logged with its causes, answered
/// as a generic 500.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Reach(#[from] ReachError),
    /// A stored secret that does not open (its name).
    #[error("{0} does not open")]
    Secret(&'static str, #[source] SecretError),
    /// Stored data that no longer reads (what, why).
    #[error("stored {0} does not read: {1}")]
    Corrupt(String, String),
    #[error("a blocking task ended abnormally")]
    Join(#[from] tokio::task::JoinError),
}

/// An error and each of its causes, `: `-separated (for the log).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<PasswordError> for AppError {
    fn from(e: PasswordError) -> Self {
        use PasswordError as P;
        match e {
            P::Busy => AppError::Busy(e.to_string()),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<RuntimeError> for AppError {
    fn from(e: RuntimeError) -> Self {
        use RuntimeError as R;
        match e {
            R::NotFound(what) => AppError::NotFound(what),
            R::Refused(m) => AppError::NotAllowed(m),
            e @ R::Conflict => AppError::NotAllowed(e.to_string()),
            other => AppError::Internal(other.into()),
        }
    }
}

/// A store result where a unique-constraint violation means `field` is taken.
pub fn unique<T>(r: Result<T, StoreError>, field: &str, what: &str) -> AppResult<T> {
    match r {
        Err(e) if e.is_unique_violation() => Err(AppError::duplicate(field, what)),
        other => Ok(other?),
    }
}

impl AppError {
    pub fn duplicate(field: &str, what: &str) -> Self {
        AppError::Conflict {
            field: Some(field.to_string()),
            message: format!("{field}: {what} is already taken"),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, Option<String>) {
        match self {
            AppError::Validation(f) => {
                let status = if f.code == FieldErrorCode::Duplicate {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                (status, "validation", Some(f.field.clone()))
            }
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            AppError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials", None),
            AppError::Locked(_) => (StatusCode::TOO_MANY_REQUESTS, "locked", None),
            AppError::Csrf => (StatusCode::FORBIDDEN, "csrf", None),
            AppError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden", None),
            AppError::NotAllowed(_) => (StatusCode::CONFLICT, "not_allowed", None),
            AppError::CompanyDisabled(_) => (StatusCode::FORBIDDEN, "company_disabled", None),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            AppError::Conflict { field, .. } => (StatusCode::CONFLICT, "conflict", field.clone()),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request", None),
            AppError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy", None),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, field) = self.parts();
        if let AppError::Internal(e) = &self {
            tracing::error!(error = %chain(e), "internal error");
        }
        let body = ErrorBody {
            error: code.to_string(),
            message: self.to_string(),
            field,
        };
        (status, Json(body)).into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_logs_its_causes_and_answers_nothing_of_them() {
        let cause = SecretError::Malformed;
        let e = AppError::Internal(InternalError::Secret("host credential", cause));
        let logged = chain(&e);
        assert_eq!(
            logged,
            "internal error: host credential does not open: stored secret is malformed"
        );
        assert_eq!(e.to_string(), "internal error");
        assert_eq!(e.parts().0, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
