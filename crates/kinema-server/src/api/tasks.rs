//! `GET/DELETE /v1/tasks/{id}` and `GET /v1/tasks`: a task's state, cancelling, listing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiPath, ApiQuery};
use crate::auth::Owner;
use crate::errors::{ApiError, ApiResult, ErrorDetail};
use crate::ids::{is_valid, rfc3339, TASK};
use crate::outputs::OutputFile;
use crate::state::AppState;
use crate::store::{Cancel, Status, TaskRow};

/// A task as clients see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskBody {
    pub id: String,
    pub status: Status,
    /// 0.0 to 1.0.
    pub progress: f64,
    /// What the engine is doing (`queued`, `rig`, `render`, `done`), or null while pending.
    pub stage: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The request as submitted; an inline (data URL) image is replaced by its upload id.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    pub outputs: Vec<OutputFile>,
    /// How the prompt was read, once rendered (`hurt → die (12 + 12 frames)`), as
    /// `kinema generate` prints it; null for action sets (each output has its own) and
    /// before the task is done.
    #[serde(default)]
    pub reading: Option<String>,
    pub error: Option<ErrorDetail>,
    /// Runs started so far: more than 1 after a crash, an expired lease or a transient
    /// failure; the task fails once its server's attempt limit is used up.
    pub attempts: u32,
    /// Paid engines: the video service's tasks this task submitted (provider, model, the
    /// provider's task id, state, estimated cost).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub provider_tasks: Vec<serde_json::Value>,
}

pub fn task_body(t: &TaskRow) -> TaskBody {
    let outputs: Vec<OutputFile> = serde_json::from_value(t.outputs.clone()).unwrap_or_default();
    let reading = if t.request.get("prompt").is_some_and(|p| p.is_string()) {
        outputs.iter().find_map(|o| o.reading.clone())
    } else {
        None
    };
    TaskBody {
        id: t.id.clone(),
        status: t.status,
        progress: t.progress,
        stage: t.stage.clone(),
        created_at: rfc3339(t.created_at),
        started_at: t.started_at.map(rfc3339),
        finished_at: t.finished_at.map(rfc3339),
        request: t.request.clone(),
        outputs,
        reading,
        error: t.error.clone().and_then(|e| serde_json::from_value(e).ok()),
        attempts: t.attempts,
        provider_tasks: Vec::new(),
    }
}

/// [`task_body`] with the video-service tasks the task submitted, from the queue's record
/// (so any API server shows them, whichever worker rendered the task).
pub async fn task_view(state: &AppState, t: &TaskRow) -> ApiResult<TaskBody> {
    let mut body = task_body(t);
    let engine = t.request.get("engine").and_then(|e| e.as_str());
    if engine.is_some_and(kinema_jobs::is_service_engine) {
        let tasks = crate::provider_journal::recorded_provider_tasks(
            state.store.as_ref(),
            &state.data,
            &t.id,
        )
        .await?;
        body.provider_tasks = tasks
            .iter()
            .filter_map(|p| serde_json::to_value(p).ok())
            .collect();
    }
    Ok(body)
}

/// Loads `owner`'s task `id`; any other task, or a malformed id, is simply not found.
pub async fn owned_task(state: &AppState, owner: &Owner, id: &str) -> ApiResult<TaskRow> {
    if !is_valid(TASK, id) {
        return Err(ApiError::not_found("task", id));
    }
    state
        .store
        .task(Some(&owner.0), id)
        .await?
        .ok_or_else(|| ApiError::not_found("task", id))
}

/// One task's status, progress and outputs.
#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id (tsk_…)")),
    responses((status = 200, body = TaskBody), (status = 401, body = crate::errors::ErrorBody),
        (status = 404, body = crate::errors::ErrorBody)))]
pub async fn get_task(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskBody>> {
    let task = owned_task(&state, &owner, &id).await?;
    Ok(Json(task_view(&state, &task).await?))
}

/// Cancel a pending or running task.
#[utoipa::path(delete, path = "/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id (tsk_…)")),
    responses((status = 200, body = TaskBody, description = "Now CANCELLED"),
        (status = 401, body = crate::errors::ErrorBody),
        (status = 404, body = crate::errors::ErrorBody),
        (status = 409, body = crate::errors::ErrorBody, description = "Already finished")))]
pub async fn cancel_task(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskBody>> {
    if !is_valid(TASK, &id) {
        return Err(ApiError::not_found("task", &id));
    }
    match state.store.cancel(&owner.0, &id).await? {
        Cancel::NotFound => Err(ApiError::not_found("task", &id)),
        Cancel::AlreadyFinished(t) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_finished",
            format!("task {id} already ended as {}", t.status.as_str()),
            "nothing to cancel; submit a new task if you need another result",
        )),
        Cancel::Cancelled { task, was_running } => {
            if was_running {
                state.queue.cancel_running(&id);
            }
            state.queue.publish_change(&id);
            Ok(Json(task_view(&state, &task).await?))
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only tasks in this status (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED).
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 [default: 20].
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    /// Newest first.
    pub tasks: Vec<TaskBody>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

fn bad_query(message: String, hint: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message, hint)
}

/// The caller's tasks, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/tasks", tag = "tasks", params(ListQuery),
    responses((status = 200, body = TaskPage), (status = 400, body = crate::errors::ErrorBody),
        (status = 401, body = crate::errors::ErrorBody)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<TaskPage>> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            bad_query(
                format!("`{s}` is not a task status"),
                "use PENDING, RUNNING, SUCCEEDED, FAILED or CANCELLED",
            )
        })?),
    };
    let before = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            c.strip_prefix('c')
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    bad_query(
                        format!("`{c}` is not a cursor this server gave out"),
                        "pass `next_cursor` from the previous page unchanged, or leave it out",
                    )
                })?,
        ),
    };
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(bad_query(
            format!("limit {limit} is out of range"),
            "use a limit between 1 and 100",
        ));
    }
    let (rows, next) = state
        .store
        .list(&owner.0, status, before, limit as usize)
        .await?;
    let mut tasks = Vec::with_capacity(rows.len());
    for t in &rows {
        tasks.push(task_view(&state, t).await?);
    }
    Ok(Json(TaskPage {
        tasks,
        next_cursor: next.map(|n| format!("c{n}")),
    }))
}
