//! `GET /v1/events/{id}`: a task's progress as server-sent events, ending with `done`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use super::extract::ApiPath;
use super::tasks::{owned_task, task_body};
use crate::auth::Owner;
use crate::errors::ApiResult;
use crate::state::AppState;

struct Watch {
    state: AppState,
    owner: Owner,
    id: String,
    changes: Receiver<String>,
    last_sent: Option<String>,
    finished: bool,
}

impl Watch {
    /// The next event: the task body whenever it changes, then `done` once it ends.
    async fn next(&mut self) -> Option<Event> {
        if self.finished {
            return None;
        }
        loop {
            let task = self
                .state
                .store
                .task(Some(&self.owner.0), &self.id)
                .await
                .ok()??;
            let text = serde_json::to_string(&task_body(&task)).ok()?;
            if task.status.is_terminal() {
                self.finished = true;
                return Some(Event::default().event("done").data(text));
            }
            if self.last_sent.as_deref() != Some(text.as_str()) {
                self.last_sent = Some(text.clone());
                return Some(Event::default().event("progress").data(text));
            }
            loop {
                if self.state.queue.is_stopping() {
                    // Let a graceful shutdown finish; clients reconnect to the next process.
                    return None;
                }
                match tokio::time::timeout(Duration::from_millis(500), self.changes.recv()).await {
                    Ok(Ok(id)) if id == self.id => break,
                    Ok(Ok(_)) => continue,
                    // A shared queue's notifications can be lost while its connection is
                    // re-established: re-read now and then instead of waiting forever.
                    Err(_) if self.state.store.is_shared() => break,
                    Err(_) => continue,
                    // Missed some changes: re-read the task, which is all we need.
                    Ok(Err(RecvError::Lagged(_))) => break,
                    Ok(Err(RecvError::Closed)) => return None,
                }
            }
        }
    }
}

/// Live progress of one task (`progress` events, then one `done`; data is the task body).
/// Browsers' EventSource cannot send headers, so `?access_token=` is accepted here.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id (tsk_…)"),
        ("access_token" = Option<String>, Query, description = "Token, for clients that cannot send headers")),
    responses(
        (status = 200, content_type = "text/event-stream", body = String,
            description = "`event: progress` / `event: done`, data = the task body as JSON"),
        (status = 401, body = crate::errors::ErrorBody),
        (status = 404, body = crate::errors::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // Subscribe before the first read so no change can slip between the two.
    let changes = state.queue.subscribe();
    owned_task(&state, &owner, &id).await?;
    let watch = Watch {
        state,
        owner,
        id,
        changes,
        last_sent: None,
        finished: false,
    };
    let stream =
        futures_util::stream::unfold(
            watch,
            |mut w| async move { w.next().await.map(|e| (Ok(e), w)) },
        );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
