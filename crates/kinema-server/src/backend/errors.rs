//! Errors of the queue and the object store, split into "try again later" and the rest.
//!
//! A database restart or an S3 outage is not the client's fault and not a bug: the API
//! answers 503 with `Retry-After`, and a worker waits and retries instead of failing the
//! task. Everything else keeps its [`kinema_core::Error`] and maps as before.

use axum::http::StatusCode;

use crate::errors::ApiError;

/// A backend failure, with whether retrying later can help.
#[derive(Debug)]
pub struct BackendError {
    pub error: kinema_core::Error,
    /// The database or the object store could not be reached (or answered "busy").
    pub unavailable: bool,
}

pub type BackendResult<T> = std::result::Result<T, BackendError>;

impl BackendError {
    /// The service `what` ("the task database", "the object store") cannot be reached.
    pub fn unavailable(what: &str, hint: &str, source: impl std::fmt::Display) -> Self {
        BackendError {
            error: kinema_core::Error::internal(format!("{what} is unavailable: {source}"))
                .with_hint(hint),
            unavailable: true,
        }
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for BackendError {}

impl From<kinema_core::Error> for BackendError {
    fn from(error: kinema_core::Error) -> Self {
        BackendError {
            error,
            unavailable: false,
        }
    }
}

impl From<BackendError> for kinema_core::Error {
    fn from(e: BackendError) -> Self {
        e.error
    }
}

/// Seconds a client is told to wait when a backend is down.
const RETRY_AFTER_SECS: u64 = 5;

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        if !e.unavailable {
            return ApiError::from(e.error);
        }
        tracing::warn!(error = %e.error, "backend unavailable");
        let mut api = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            e.error.message.clone(),
            "the server's database or file store is briefly out of reach; retry after the Retry-After seconds (resubmits with the same Idempotency-Key are safe)",
        );
        api.retry_after = Some(RETRY_AFTER_SECS);
        api
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_become_503_with_retry_after_and_the_rest_keep_their_status() {
        let down = BackendError::unavailable("the task database", "start it", "refused");
        let api = ApiError::from(down);
        assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(api.retry_after, Some(RETRY_AFTER_SECS));
        assert!(
            api.detail.message.contains("refused"),
            "{}",
            api.detail.message
        );
        let bug = BackendError::from(kinema_core::Error::internal("oops"));
        assert_eq!(
            ApiError::from(bug).status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
