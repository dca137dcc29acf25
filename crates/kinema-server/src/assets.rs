//! The web page: every file of `crates/kinema-server/web/`, embedded at compile time so
//! the binary is all a user needs to copy.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::errors::ApiError;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Web;

fn serve(file: &str) -> Response {
    let Some(asset) = Web::get(file) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no asset `{file}`"),
            "the page's files are under /assets/; the API is under /v1/ (see /openapi.json)",
        )
        .into_response();
    };
    let mime = asset.metadata.mimetype();
    let mut response = (StatusCode::OK, asset.data.into_owned()).into_response();
    if let Ok(v) = HeaderValue::from_str(mime) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /`: the page, or a hint when this build has no page.
pub async fn index() -> Response {
    if Web::get("index.html").is_none() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "no_web_page",
            "this build of the Kinema server has no web page",
            "the API works without it: see /openapi.json, or rebuild with crates/kinema-server/web/index.html present",
        )
        .into_response();
    }
    serve("index.html")
}

/// `GET /assets/{file}`: one embedded file, typed by its extension.
pub async fn asset(Path(file): Path<String>) -> Response {
    serve(&file)
}
