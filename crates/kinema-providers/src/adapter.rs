//! What differs between providers: the JSON of a create, where a task lives, and how its
//! states read. Networking, retries and waiting are shared ([`crate::http`],
//! [`crate::engine`]).

use kinema_core::Result;
use serde_json::Value;

use crate::request::ProviderRequest;

/// Where a task is, in Kinema's words.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Accepted, waiting to start (the provider's state name).
    Queued(String),
    /// Waiting because the account is at its concurrency limit (Runway's THROTTLED).
    Throttled,
    /// Generating; progress 0..1 when the provider tells.
    Running(Option<f64>),
    /// Done: where the video can be downloaded.
    Succeeded(String),
    /// The provider gave up: its code, its message, and whether it was moderation.
    Failed {
        code: Option<String>,
        message: String,
        moderation: bool,
    },
    Cancelled,
}

pub trait Adapter: Send + Sync {
    /// `POST` path of a create.
    fn create_path(&self) -> String;
    /// The create body.
    fn create_body(&self, request: &ProviderRequest) -> Value;
    /// The task id in the answer to a create.
    fn created_id(&self, answer: &Value) -> Result<String>;
    /// `GET` path of a task.
    fn task_path(&self, id: &str) -> String;
    /// `GET` path that finds a task by Kinema's external id, where the provider keeps one.
    fn lookup_path(&self, _external_id: &str) -> Option<String> {
        None
    }
    /// The task's phase, from a `GET`.
    fn phase(&self, task: &Value) -> Result<Phase>;
    /// `DELETE` path that cancels a task, where the provider has one.
    fn cancel_path(&self, id: &str) -> Option<String>;
    /// Extra headers every request carries.
    fn headers(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

/// The adapter for `provider`.
pub fn adapter_for(provider: &str) -> Option<Box<dyn Adapter>> {
    match provider {
        "runway" => Some(Box::new(crate::runway::Runway)),
        "luma" => Some(Box::new(crate::luma::Luma)),
        "kling" => Some(Box::new(crate::kling::Kling)),
        _ => None,
    }
}

/// An answer that lacks what the provider documents: the API changed, or a proxy
/// rewrote it.
pub fn unexpected(provider: &str, what: &str, answer: &Value) -> kinema_core::Error {
    let mut shown = answer.to_string();
    shown.truncate(300);
    kinema_core::Error::model(format!("{provider} answered without {what}: {shown}"))
        .with_hint("the provider's API may have changed; check for a newer Kinema, or the *_BASE_URL override if you use a proxy")
}

/// `value` as a string field, or the `unexpected` error.
pub fn str_field<'a>(provider: &str, answer: &'a Value, pointer: &str) -> Result<&'a str> {
    answer
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| unexpected(provider, pointer, answer))
}
