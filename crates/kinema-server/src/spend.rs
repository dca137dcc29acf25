//! Per-token spend limits for paid engines: a submit whose estimated cost would take the
//! token past `--spend-limit` is refused with 402 before anything is queued or paid.
//!
//! A token's spend is the estimated cost (the providers' list prices, as in
//! `GET /v1/engines`) of its tasks that are queued, running or finished successfully;
//! failed and cancelled tasks do not count.

use std::path::Path;

use axum::http::StatusCode;

use crate::auth::Owner;
use crate::errors::{ApiError, ApiResult};
use crate::plan::{plan, ImageToVideoRequest};
use crate::state::AppState;
use crate::store::Status;

/// Held from the spend check to the insert, so two submits to this server cannot both use
/// the last dollar. (API servers sharing a PostgreSQL queue each hold their own; two
/// submits racing on different servers can overshoot the limit by one task.)
pub static SUBMITTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The estimated price of a request, 0 for engines that run here; `None` when this
/// server cannot price it (the service's key is not in its environment: an API server of
/// a cluster whose workers hold the keys).
pub fn request_cost(state: &AppState, req: &ImageToVideoRequest) -> Option<f64> {
    let engine = req.engine.as_deref().unwrap_or("rig");
    if !kinema_jobs::is_service_engine(engine) {
        return Some(0.0);
    }
    let plan = plan(req, &state.config).ok()?;
    let request = plan.to_request(Path::new("-"), Path::new("-"));
    let estimate = kinema_jobs::estimate(&request).ok()?;
    Some(estimate.map_or(0.0, |c| c.usd))
}

/// What `owner`'s queued, running and successful tasks cost, estimated.
pub async fn spent(state: &AppState, owner: &Owner) -> ApiResult<f64> {
    let mut total = 0.0;
    let mut before = None;
    loop {
        let (rows, next) = state.store.list(&owner.0, None, before, 100).await?;
        for t in &rows {
            if matches!(
                t.status,
                Status::Pending | Status::Running | Status::Succeeded
            ) {
                if let Ok(req) = serde_json::from_value::<ImageToVideoRequest>(t.request.clone()) {
                    // A task this server cannot price (its engine's key was removed since)
                    // counts as free; the new request itself is never priced that way.
                    total += request_cost(state, &req).unwrap_or(0.0);
                }
            }
        }
        match next {
            Some(n) => before = Some(n),
            None => return Ok(total),
        }
    }
}

/// Refuses `req` when it would take `owner` past the server's spend limit.
pub async fn check(state: &AppState, owner: &Owner, req: &ImageToVideoRequest) -> ApiResult<()> {
    let Some(limit) = state.config.spend_limit_usd else {
        return Ok(());
    };
    // Never let an unpriceable request through a limit: it would be a free pass.
    let Some(cost) = request_cost(state, req) else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "cannot_price",
            "this server has a spend limit but cannot price the request: the engine's key is not in its environment",
            "the operator must give the API server the same provider keys as its workers (they are needed to price tasks), or drop --spend-limit",
        ));
    };
    if cost <= 0.0 {
        return Ok(());
    }
    let spent = spent(state, owner).await?;
    if spent + cost > limit + 1e-9 {
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "spend_limit_exceeded",
            format!(
                "this task would cost about ${cost:.2}, and this token has ${:.2} of its ${limit:.2} limit left",
                (limit - spent).max(0.0)
            ),
            "ask the server's operator to raise --spend-limit, cancel queued tasks, or use a free engine (rig)",
        ));
    }
    Ok(())
}
