//! The action vocabulary, so a page can offer choices and show the words it understands.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

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
}

#[derive(Serialize, ToSchema)]
pub struct ActionList {
    pub actions: Vec<ActionEntry>,
}

/// Every action the rig engine understands.
#[utoipa::path(get, path = "/v1/actions", tag = "capabilities",
    responses((status = 200, body = ActionList), (status = 401, body = crate::errors::ErrorBody)))]
pub async fn list_actions() -> Json<ActionList> {
    Json(ActionList {
        actions: kinema_rig::MotionLibrary::builtin()
            .motions()
            .iter()
            .map(|a| ActionEntry {
                name: a.name.clone(),
                english: a.english.clone(),
                chinese: a.chinese.clone(),
                looping: a.looping,
                description: a.summary.clone(),
            })
            .collect(),
    })
}
