//! `GET /v1/outputs/{task}/{file}`: finished files, with HTTP range support for players.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::extract::ApiPath;
use super::tasks::owned_task;
use crate::auth::Owner;
use crate::errors::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::Status;

/// Whether `file` is a plain relative path of the shape outputs have: a few components
/// of letters, digits, `.`, `_`, `-`, none hidden, none `..`.
pub fn is_safe_relative(file: &str) -> bool {
    let parts: Vec<&str> = file.split('/').collect();
    parts.len() <= 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 100
                && !p.starts_with('.')
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

/// Download one output file; supports `Range` (206) for video players and resumes.
#[utoipa::path(get, path = "/v1/outputs/{task}/{file}", tag = "outputs",
    params(("task" = String, Path, description = "Task id (tsk_…)"),
        ("file" = String, Path, description = "File name from the task's `outputs` (may contain `/`)"),
        ("access_token" = Option<String>, Query, description = "Token, for clients that cannot send headers")),
    responses(
        (status = 200, content_type = "application/octet-stream", body = Vec<u8>, description = "The file, typed by its extension"),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>, description = "The requested byte range"),
        (status = 401, body = crate::errors::ErrorBody),
        (status = 404, body = crate::errors::ErrorBody),
        (status = 416, description = "The range is outside the file")))]
pub async fn download(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    ApiPath((task, file)): ApiPath<(String, String)>,
    request: Request,
) -> ApiResult<Response> {
    let row = owned_task(&state, &owner, &task)?;
    if row.status != Status::Succeeded {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_ready",
            format!("task {task} has no outputs: it is {}", row.status.as_str()),
            "wait for status SUCCEEDED (GET /v1/tasks/{id} or /v1/events/{id})",
        ));
    }
    let missing = || ApiError::not_found("output file", &file);
    if !is_safe_relative(&file) {
        return Err(missing());
    }
    let path = state.data.task_outputs(&task).join(&file);
    if !path.is_file() {
        return Err(missing());
    }
    let response = ServeFile::new(&path)
        .oneshot(request)
        .await
        .map_err(|e| ApiError::internal(format!("cannot read {file}: {e}")))?;
    Ok(response.map(Body::new).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_pass() {
        for ok in ["clip.mp4", "frames/walk/frame_0001.png", "sheet.png.meta"] {
            assert!(is_safe_relative(ok), "{ok}");
        }
        for bad in [
            "../x",
            "a/../../b",
            "/etc/passwd",
            "",
            "a//b",
            ".hidden",
            "a\\b",
            "%2e%2e",
            "a/b/c/d/e",
        ] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }
}
