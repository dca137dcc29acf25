//! The action vocabulary, so a page can offer choices and show the words it understands.

use axum::extract::State;
use axum::Json;
use kinema_rig::MotionLibrary;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ActionEntry {
    pub name: String,
    /// English words and phrases that select this action in a prompt.
    pub english: Vec<String>,
    /// Chinese words that select it.
    pub chinese: Vec<String>,
    /// Whether the action is a cycle (idle, walk) that loops seamlessly.
    pub looping: bool,
    pub description: String,
    /// Skeleton kinds the motion has keys for (`humanoid`, `body_chain`).
    pub kinds: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActionList {
    pub actions: Vec<ActionEntry>,
}

/// Every action the rig engine understands: the built-ins and the server's `--motions`.
#[utoipa::path(get, path = "/v1/actions", tag = "capabilities",
    responses((status = 200, body = ActionList), (status = 401, body = crate::errors::ErrorBody)))]
pub async fn list_actions(State(state): State<AppState>) -> Json<ActionList> {
    let library = state
        .config
        .motions
        .clone()
        .unwrap_or_else(MotionLibrary::builtin);
    Json(ActionList {
        actions: library
            .motions()
            .iter()
            .map(|a| ActionEntry {
                name: a.name.clone(),
                english: a.english.clone(),
                chinese: a.chinese.clone(),
                looping: a.looping,
                description: a.summary.clone(),
                kinds: a.kind_names().iter().map(|k| k.to_string()).collect(),
            })
            .collect(),
    })
}
