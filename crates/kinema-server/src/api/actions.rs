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
    let strings = |words: &[&str]| words.iter().map(|w| w.to_string()).collect();
    Json(ActionList {
        actions: kinema_rig::actions()
            .iter()
            .map(|a| ActionEntry {
                name: a.name.to_string(),
                english: strings(a.english),
                chinese: strings(a.chinese),
                looping: a.looping,
                description: a.summary.to_string(),
            })
            .collect(),
    })
}
