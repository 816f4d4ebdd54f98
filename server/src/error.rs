//! The API's error type, mapped once to HTTP responses. Internal errors are logged
//! here, once, and answered with a generic body so nothing internal leaks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::dto::error::ErrorBody;
use shared::validate::{FieldError, FieldErrorCode};

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
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::auth::password::PasswordError> for AppError {
    fn from(e: crate::auth::password::PasswordError) -> Self {
        use crate::auth::password::PasswordError as P;
        match e {
            P::Busy => AppError::Busy(e.to_string()),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<crate::engine::runtime::RuntimeError> for AppError {
    fn from(e: crate::engine::runtime::RuntimeError) -> Self {
        use crate::engine::runtime::RuntimeError as R;
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
            tracing::error!(error = %format!("{e:#}"), "internal error");
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
