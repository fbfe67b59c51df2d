//! One error type for every page; people see a clear message, logs get the cause.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::access::decisions::DecideError;
use crate::access::grants::RevokeError;
use crate::access::requests::RequestError;
use crate::web::pages::layout;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// 400: the input is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 403: not yours to see or do.
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 409: the thing changed under you (already decided, already ended).
    #[error("{0}")]
    Conflict(String),
    /// 503: something daypass needs (the identity provider) cannot be reached now.
    #[error("{0}")]
    Unavailable(String),
    /// 429: slow down; `Retry-After` says for how long (seconds).
    #[error("Too many attempts. Please wait {0} seconds and try again.")]
    TooManyRequests(u64),
    /// 500: logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type WebResult<T> = Result<T, WebError>;

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<RequestError> for WebError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Db(e) => e.into(),
            e @ RequestError::TooLong { .. } => Self::BadRequest(e.to_string()),
            e @ (RequestError::NoApprover | RequestError::NotPending) => {
                Self::Conflict(e.to_string())
            }
        }
    }
}

impl From<DecideError> for WebError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::Db(e) => e.into(),
            DecideError::NotFound => Self::NotFound(e.to_string()),
            DecideError::NotAllowed(m) => Self::Forbidden(m.into()),
            e @ DecideError::TooLong { .. } => Self::BadRequest(e.to_string()),
            e @ (DecideError::AlreadyDecided(_)
            | DecideError::PolicyGone
            | DecideError::AlreadyApproved
            | DecideError::GrantEnded) => Self::Conflict(e.to_string()),
        }
    }
}

impl From<RevokeError> for WebError {
    fn from(e: RevokeError) -> Self {
        match e {
            RevokeError::Db(e) => e.into(),
            RevokeError::NotFound(_) => Self::NotFound("There is no such grant.".into()),
            e @ RevokeError::AlreadyEnded(_) => Self::Conflict(e.to_string()),
        }
    }
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                "Something went wrong on our side. Try again in a moment.".to_string()
            }
            other => other.to_string(),
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let mut response = (status, layout::error_page(title, &message)).into_response();
        if let Self::TooManyRequests(secs) = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}
