//! Runway, Luma and Kling as Kinema engines.
//!
//! Each provider is an [`Adapter`](adapter::Adapter) over one request shape
//! ([`ProviderRequest`]) and a capability table per model (`data/models.toml`,
//! [`catalog`]). A request is checked against the table before any network call
//! ([`plan`]); the character is padded, never stretched, to a shape the model makes and
//! composed on a key colour ([`canvas`]); the task is submitted once and remembered
//! ([`journal`]) so an interrupted run resumes it instead of paying again; polling follows
//! each provider's documented intervals with back-off, jitter, `Retry-After` and a
//! deadline ([`http`], [`wait`]); the video is streamed to disk, checked, and brought back
//! to the character's size with alpha, at the requested rate, trimmed or cut at its best
//! loop point ([`finish`]).

pub mod adapter;
pub mod canvas;
pub mod catalog;
mod download;
pub mod engine;
pub mod finish;
pub mod http;
pub mod journal;
pub mod jwt;
pub mod keys;
mod kling;
mod luma;
pub mod picture;
pub mod plan;
pub mod request;
mod runway;
mod task;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upload;
pub mod wait;

pub use catalog::{provider, providers, ModelSpec, ProviderSpec};
pub use engine::{ProviderEngine, ProviderOptions};
pub use journal::{FileJournal, Journal, ProviderTask, TaskJournal, TaskState};
pub use request::{ImageRef, ProviderRequest};
pub use wait::{install_ctrl_c_handler, interrupt_flag, tasks_in_flight};

/// Whether `name` is a provider engine.
pub fn is_provider(name: &str) -> bool {
    provider(name).is_some()
}
