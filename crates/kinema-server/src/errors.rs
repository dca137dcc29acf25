//! The one error shape every endpoint answers with, and how library errors map onto it.
//!
//! Clients (the web page, scripts, schemathesis) rely on every 4xx carrying
//! `{"error":{"code","message","hint"}}`, so even axum's own extractor rejections are
//! converted here instead of leaking plain-text bodies.

use axum::extract::multipart::MultipartError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kinema_core::ErrorKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What went wrong, in a form a program can branch on (`code`) and a person can act on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case identifier, e.g. `invalid_request`, `quota_exceeded`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// The body of every error response.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// An error on its way to becoming an HTTP response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
    /// Seconds for a `Retry-After` header (429 answers).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            detail: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
                hint: hint.into(),
            },
            retry_after: None,
        }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no {what} `{id}`"),
            format!("check the id; list what you have with GET /v1/tasks (a {what} is only visible to the token that created it)"),
        )
    }

    pub fn unprocessable(code: &str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message, hint)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            message,
            "this is a bug in the Kinema server; the server log has details",
        )
    }
}

/// The error code and HTTP status a library error becomes.
pub fn code_for(kind: ErrorKind) -> (&'static str, StatusCode) {
    match kind {
        ErrorKind::InvalidInput => ("invalid_request", StatusCode::UNPROCESSABLE_ENTITY),
        ErrorKind::Image => ("invalid_image", StatusCode::UNPROCESSABLE_ENTITY),
        ErrorKind::Unsupported => ("unsupported", StatusCode::UNPROCESSABLE_ENTITY),
        ErrorKind::Model => ("model_unavailable", StatusCode::UNPROCESSABLE_ENTITY),
        ErrorKind::Output => ("output_failed", StatusCode::INTERNAL_SERVER_ERROR),
        ErrorKind::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// A library error as stored on a failed task (no HTTP status involved).
pub fn detail_of(err: &kinema_core::Error) -> ErrorDetail {
    let message = match &err.source {
        Some(src) => format!("{}: {src}", err.message),
        None => err.message.clone(),
    };
    ErrorDetail {
        code: code_for(err.kind).0.to_string(),
        message,
        hint: err.hint.clone().unwrap_or_default(),
    }
}

impl From<kinema_core::Error> for ApiError {
    fn from(err: kinema_core::Error) -> Self {
        let (_, status) = code_for(err.kind);
        ApiError {
            status,
            detail: detail_of(&err),
            retry_after: None,
        }
    }
}

/// A misspelt field answers like a misspelt batch-manifest key: its name, the field that
/// was probably meant, and the fields allowed (the same suggestion code as manifests).
fn unknown_field_error(status: StatusCode, text: &str) -> Option<ApiError> {
    let unknown = kinema_jobs::suggest::unknown_field(text)?;
    let suggestion = unknown.did_you_mean("`", "`");
    let hint = if unknown.allowed.is_empty() {
        "remove the field; the request schema is in GET /openapi.json".to_string()
    } else {
        format!("fields allowed here: {}", unknown.allowed.join(", "))
    };
    Some(ApiError::new(
        status,
        "invalid_field",
        format!("field `{}` is not known{suggestion}", unknown.field),
        hint,
    ))
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let text = rejection.body_text();
        if matches!(rejection, JsonRejection::JsonDataError(_)) {
            if let Some(e) = unknown_field_error(status, &text) {
                return e;
            }
        }
        let (code, hint) = match &rejection {
            JsonRejection::MissingJsonContentType(_) => (
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ),
            JsonRejection::JsonSyntaxError(_) => (
                "invalid_json",
                "the body is not valid JSON; check quotes, commas and brackets",
            ),
            JsonRejection::JsonDataError(_) => (
                "invalid_field",
                "fix the named field; the request schema is in GET /openapi.json",
            ),
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => (
                "body_too_large",
                "send a smaller body: upload the image with POST /v1/uploads and pass its id",
            ),
            _ => (
                "invalid_body",
                "send a JSON body as described in GET /openapi.json",
            ),
        };
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, code, text, hint)
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            rejection.body_text(),
            "check the URL against GET /openapi.json",
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
            "check the query parameters against GET /openapi.json",
        )
    }
}

impl From<MultipartError> for ApiError {
    fn from(err: MultipartError) -> Self {
        let status = err.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                status,
                "upload_too_large",
                "the upload is larger than this server accepts",
                "downscale or compress the image; GET /v1/engines lists max_upload_bytes",
            );
        }
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
            err.body_text(),
            "send multipart/form-data with the image in a field named `file`",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = %self.detail.code, "{}", self.detail.message);
        }
        let mut response =
            (self.status, axum::Json(ErrorBody { error: self.detail })).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_fields_get_a_suggestion() {
        let text = "Failed to deserialize the JSON body into the target type: unknown field \
                    `promt`, expected one of `image`, `prompt`, `actions` at line 1 column 30";
        let e = unknown_field_error(StatusCode::UNPROCESSABLE_ENTITY, text).unwrap();
        assert_eq!(e.detail.code, "invalid_field");
        assert_eq!(
            e.detail.message,
            "field `promt` is not known (did you mean `prompt`?)"
        );
        assert_eq!(e.detail.hint, "fields allowed here: image, prompt, actions");
        assert!(unknown_field_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid type").is_none());
    }

    #[test]
    fn library_errors_keep_message_and_hint() {
        let e: ApiError = kinema_core::Error::invalid("fps 0 is out of range", "use 1..=60").into();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.detail.code, "invalid_request");
        assert_eq!(e.detail.hint, "use 1..=60");
        let e: ApiError = kinema_core::Error::internal("oops").into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
