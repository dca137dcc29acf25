//! `GET /v1/outputs/{task}/{file}`: finished files from the file store, with HTTP range
//! support for players, or a redirect to a presigned URL (`--presign`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use object_store::{GetOptions, GetRange, ObjectMeta};

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
    let row = owned_task(&state, &owner, &task).await?;
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
    // Shared queues keep each attempt's files apart; the row says which one succeeded.
    let attempt = state.store.is_shared().then_some(row.attempts);
    let Some(meta) = state.files.output_meta(&task, attempt, &file).await? else {
        return Err(missing());
    };
    if let Some(ttl) = state.config.presign {
        let url = state
            .files
            .presigned_output(&task, attempt, &file, ttl)
            .await?;
        let location = HeaderValue::from_str(&url).map_err(|e| {
            ApiError::internal(format!("the presigned URL is not a header value: {e}"))
        })?;
        return Ok((
            StatusCode::TEMPORARY_REDIRECT,
            [
                (header::LOCATION, location),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                ),
            ],
        )
            .into_response());
    }
    serve(
        &state,
        &task,
        attempt,
        &file,
        &meta,
        request.method(),
        request.headers(),
    )
    .await
}

/// What a `Range` header asks of a file of `size` bytes: everything, one range, or
/// nothing this server serves (unparsable, out of bounds, or several ranges).
fn requested_range(
    headers: &HeaderMap,
    size: u64,
) -> Result<Option<std::ops::RangeInclusive<u64>>, ()> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?;
    let ranges = http_range_header::parse_range_header(text)
        .and_then(|r| r.validate(size))
        .map_err(|_| ())?;
    match ranges.as_slice() {
        [one] => Ok(Some(one.clone())),
        _ => Err(()),
    }
}

fn unsatisfiable(size: u64) -> Response {
    let mut r = ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
        format!("the requested range is outside the file's {size} bytes, or names several ranges"),
        "ask for one range within the file, e.g. `Range: bytes=0-1023`",
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
        r.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    r
}

/// Streams the file (or the asked-for range) from the store, typed by its extension.
async fn serve(
    state: &AppState,
    task: &str,
    attempt: Option<u32>,
    file: &str,
    meta: &ObjectMeta,
    method: &Method,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let size = meta.size;
    let Ok(range) = requested_range(headers, size) else {
        return Ok(unsatisfiable(size));
    };
    let mut response = Response::builder()
        .header(
            header::CONTENT_TYPE,
            mime_guess::from_path(file)
                .first_or_octet_stream()
                .essence_str(),
        )
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(std::time::SystemTime::from(meta.last_modified)),
        );
    if let Some(etag) = &meta.e_tag {
        response = response.header(header::ETAG, etag);
    }
    let (status, len) = match &range {
        Some(r) => {
            response = response.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", r.start(), r.end()),
            );
            (StatusCode::PARTIAL_CONTENT, r.end() - r.start() + 1)
        }
        None => (StatusCode::OK, size),
    };
    let response = response.status(status).header(header::CONTENT_LENGTH, len);
    let built = |r: axum::http::response::Builder, body: Body| {
        r.body(body)
            .map_err(|e| ApiError::internal(format!("cannot build the response: {e}")))
    };
    if *method == Method::HEAD || len == 0 {
        return built(response, Body::empty());
    }
    let options = GetOptions {
        range: range.map(|r| GetRange::Bounded(*r.start()..*r.end() + 1)),
        ..GetOptions::default()
    };
    let result = match state.files.output(task, attempt, file, options).await {
        Ok(r) => r,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(ApiError::not_found("output file", file))
        }
        Err(e) => {
            return Err(crate::backend::BackendError::unavailable(
                "the object store",
                "retry shortly",
                format!("cannot read {file}: {e}"),
            )
            .into())
        }
    };
    built(response, Body::from_stream(result.into_stream()))
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
