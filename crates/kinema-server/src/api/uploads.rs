//! `POST /v1/uploads`: images checked on arrival, so a bad file fails here, not in a task.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Owner;
use crate::errors::{ApiError, ApiResult};
use crate::ids::{new_id, UPLOAD};
use crate::state::AppState;
use crate::store::UploadRow;

/// A stored, validated image.
#[derive(Serialize, ToSchema)]
pub struct UploadInfo {
    /// Pass this as `image` to POST /v1/image_to_video.
    pub id: String,
    pub width: u32,
    pub height: u32,
    /// Whether the image was recognised as pixel art (scaled with nearest-neighbour).
    pub pixel_art: bool,
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The character image: PNG, JPEG, WebP, BMP or GIF.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// What an upload's answer reports about the image.
struct UploadFacts {
    width: u32,
    height: u32,
    pixel_art: bool,
}

impl From<&kinema_core::Character> for UploadFacts {
    fn from(c: &kinema_core::Character) -> Self {
        UploadFacts {
            width: c.width(),
            height: c.height(),
            pixel_art: c.pixel_art,
        }
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload_too_large",
        format!("the image is larger than {limit} bytes"),
        "downscale or compress it; a character needs a few hundred pixels per side",
    )
}

/// Decodes and checks `bytes` (pixel budget from the header first), then stores them
/// under a new upload id for `owner`.
pub async fn store_image(state: &AppState, owner: &Owner, bytes: Vec<u8>) -> ApiResult<UploadInfo> {
    if bytes.len() > state.config.max_upload_bytes {
        return Err(too_large(state.config.max_upload_bytes));
    }
    let id = new_id(UPLOAD)?;
    let max_pixels = state.config.max_pixels;
    let (character, bytes) = tokio::task::spawn_blocking(move || {
        let opts = kinema_media::LoadOptions {
            max_pixels,
            ..Default::default()
        };
        let character = match kinema_media::decode_character(&bytes, "the uploaded image", &opts) {
            Ok(c) => UploadFacts::from(&c),
            // A photo whose subject the automatic cut cannot find is still a good upload:
            // the task may point at the character with `box`, and is refused if it does not.
            Err(e) if kinema_media::is_separation_failure(&e) => {
                let img = kinema_media::decode_rgba(&bytes, "the uploaded image", max_pixels)?;
                UploadFacts {
                    width: img.width(),
                    height: img.height(),
                    pixel_art: false,
                }
            }
            Err(e) => return Err(e),
        };
        Ok((character, bytes))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the image check crashed: {e}")))?
    .map_err(|e: kinema_core::Error| {
        let mut api = ApiError::from(e);
        if api.detail.code == "invalid_image" {
            api.detail.code = "not_an_image".into();
        }
        api
    })?;
    let len = bytes.len();
    state.files.put_upload(&id, bytes.into()).await?;
    let row = UploadRow {
        id: id.clone(),
        owner: owner.0.clone(),
        width: character.width,
        height: character.height,
        pixel_art: character.pixel_art,
        bytes: len as u64,
    };
    state.store.insert_upload(&row).await?;
    Ok(UploadInfo {
        id,
        width: row.width,
        height: row.height,
        pixel_art: row.pixel_art,
    })
}

/// Upload a character image (multipart field `file`).
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = UploadInfo, description = "Stored and validated"),
        (status = 400, body = crate::errors::ErrorBody, description = "Not a multipart form with a `file` field"),
        (status = 401, body = crate::errors::ErrorBody),
        (status = 413, body = crate::errors::ErrorBody, description = "Larger than max_upload_bytes"),
        (status = 422, body = crate::errors::ErrorBody, description = "Not an image Kinema reads, or over the pixel budget"),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<UploadInfo>)> {
    let mut multipart = multipart.map_err(|r| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
            r.body_text(),
            "send multipart/form-data with the image in a field named `file`",
        )
    })?;
    let limit = state.config.max_upload_bytes;
    while let Some(mut field) = multipart.next_field().await? {
        if field.name() != Some("file") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        let info = store_image(&state, &owner, bytes).await?;
        return Ok((StatusCode::CREATED, Json(info)));
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "missing_file",
        "the form has no field named `file`",
        "send the image as multipart/form-data field `file`, e.g. curl -F file=@hero.png",
    ))
}
