//! Extractors whose rejections use the API's error shape instead of axum's plain text.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;

use crate::errors::ApiError;

/// A JSON body; malformed JSON, wrong types and missing fields become precise 4xx errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters with the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters with the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
