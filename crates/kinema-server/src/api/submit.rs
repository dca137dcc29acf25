//! `POST /v1/image_to_video`: check a request up front, queue it, answer at once.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use super::uploads::store_image;
use crate::auth::Owner;
use crate::errors::{ApiError, ApiResult};
use crate::ids::{is_valid, new_id, TASK, UPLOAD};
use crate::plan::{plan, ImageToVideoRequest};
use crate::state::AppState;
use crate::store::{NewTask, Status, Submitted};

/// The answer to a submit.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    pub id: String,
    pub status: Status,
}

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "the Idempotency-Key header must be 1 to 200 visible ASCII characters",
            "use a random value per logical submit, e.g. a UUID",
        ));
    }
    Ok(Some(key.to_string()))
}

/// Bytes of a `data:image/…;base64,…` URL.
fn data_url_bytes(url: &str) -> ApiResult<Vec<u8>> {
    let bad = |message: &str| {
        ApiError::unprocessable(
            "invalid_image",
            message.to_string(),
            "send `data:image/png;base64,…`, or upload with POST /v1/uploads and pass the id",
        )
    };
    let rest = url
        .strip_prefix("data:")
        .ok_or_else(|| bad("not a data URL"))?;
    let (meta, payload) = rest
        .split_once(',')
        .ok_or_else(|| bad("the data URL has no `,` before its data"))?;
    if !meta.ends_with(";base64") {
        return Err(bad("the data URL is not base64-encoded"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .map_err(|e| bad(&format!("the data URL's base64 is invalid: {e}")))
}

/// Turns the `image` field into an upload id the caller owns.
async fn resolve_image(state: &AppState, owner: &Owner, image: &str) -> ApiResult<String> {
    if image.starts_with("data:") {
        let bytes = data_url_bytes(image)?;
        return Ok(store_image(state, owner, bytes).await?.id);
    }
    if is_valid(UPLOAD, image) && state.store.upload(&owner.0, image).await?.is_some() {
        return Ok(image.to_string());
    }
    Err(ApiError::unprocessable(
        "unknown_image",
        format!("`{}` is not an upload of yours", image.chars().take(60).collect::<String>()),
        "upload the image with POST /v1/uploads and pass the returned id (upl_…), or send a data:image/…;base64 URL",
    ))
}

/// Queue a clip of the character doing what the prompt says.
#[utoipa::path(post, path = "/v1/image_to_video", tag = "tasks",
    request_body = ImageToVideoRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Retrying a submit with the same key returns the first task instead of a new one")),
    responses(
        (status = 202, body = Accepted, description = "Queued"),
        (status = 200, body = Accepted, description = "A task with this Idempotency-Key exists already"),
        (status = 400, body = crate::errors::ErrorBody, description = "Malformed JSON or header"),
        (status = 401, body = crate::errors::ErrorBody),
        (status = 402, body = crate::errors::ErrorBody, description = "Over this token's spend limit for paid engines"),
        (status = 413, body = crate::errors::ErrorBody),
        (status = 415, body = crate::errors::ErrorBody),
        (status = 422, body = crate::errors::ErrorBody, description = "Impossible request; the message says why"),
        (status = 429, body = crate::errors::ErrorBody, description = "Too many unfinished tasks; see Retry-After"),
        (status = 503, body = crate::errors::ErrorBody, description = "A paid engine this API server cannot price under its spend limit (its key is only on the workers)"),
    ))]
pub async fn image_to_video(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    headers: HeaderMap,
    ApiJson(mut req): ApiJson<ImageToVideoRequest>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let planned = plan(&req, &state.config)?;
    crate::spend::check(&state, &owner, &req).await?;
    let inline_image = req.image.starts_with("data:");
    req.image = resolve_image(&state, &owner, &req.image).await?;
    let stored = serde_json::to_value(&req)
        .map_err(|e| ApiError::internal(format!("cannot store the request: {e}")))?;
    let id = new_id(TASK)?;
    let submitted = {
        // Checked again under the lock: concurrent submits to this server cannot share
        // the last dollar.
        let _one_at_a_time = crate::spend::SUBMITTING.lock().await;
        if key.is_none() {
            crate::spend::check(&state, &owner, &req).await?;
        }
        state
            .store
            .submit(
                NewTask {
                    id: &id,
                    owner: &owner.0,
                    engine: &planned.engine,
                    idempotency_key: key.as_deref(),
                    request: &stored,
                },
                state.config.quota,
            )
            .await?
    };
    match submitted {
        Submitted::Created(task) => {
            state.queue.notify();
            state.queue.publish_change(&task.id);
            let body = Accepted {
                id: task.id,
                status: task.status,
            };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
        Submitted::Existing(task) => {
            if !same_request(&task.request, &stored, inline_image) {
                return Err(ApiError::unprocessable(
                    "idempotency_key_reused",
                    format!(
                        "this Idempotency-Key was already used for a different request (task {})",
                        task.id
                    ),
                    "send a new Idempotency-Key for a new request; reuse a key only to retry the very same one",
                ));
            }
            let body = Accepted {
                id: task.id,
                status: task.status,
            };
            Ok((StatusCode::OK, Json(body)).into_response())
        }
        Submitted::QuotaFull(n) => {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
                format!("you have {n} unfinished tasks, the most this server allows"),
                "wait for some to finish (or cancel some) and retry after the Retry-After seconds",
            );
            e.retry_after = Some(5);
            Err(e)
        }
    }
}

/// Whether a retried submit asks for what the first one did. An inline image becomes a
/// fresh upload id on every try, so its id cannot be compared; every other field must match.
fn same_request(first: &serde_json::Value, retry: &serde_json::Value, inline_image: bool) -> bool {
    if !inline_image {
        return first == retry;
    }
    let without_image = |v: &serde_json::Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("image");
        }
        v
    };
    without_image(first) == without_image(retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_must_repeat_the_request() {
        let a = serde_json::json!({"image": "upl_1", "prompt": "wave", "frames": 8});
        let b = serde_json::json!({"image": "upl_2", "prompt": "wave", "frames": 8});
        let c = serde_json::json!({"image": "upl_1", "prompt": "jump", "frames": 8});
        assert!(same_request(&a, &a, false));
        assert!(
            !same_request(&a, &b, false),
            "another upload is another request"
        );
        assert!(
            same_request(&a, &b, true),
            "inline images get new ids per try"
        );
        assert!(!same_request(&a, &c, true));
    }

    #[test]
    fn data_urls_decode_or_say_why_not() {
        assert_eq!(
            data_url_bytes("data:image/png;base64,AAEC").unwrap(),
            vec![0, 1, 2]
        );
        assert!(data_url_bytes("data:image/png,AAEC").is_err());
        assert!(data_url_bytes("data:image/png;base64").is_err());
        assert!(data_url_bytes("data:image/png;base64,@@@").is_err());
    }
}
