//! Kinema's model store: diffusion models in the Hugging Face cache.
//!
//! The `wan` engine loads a diffusers pipeline folder. Users name it with `--model`,
//! either as a folder or as a hub id such as `Wan-AI/Wan2.2-TI2V-5B-Diffusers`. This
//! crate turns the id into a folder ([`resolve`], never networked), downloads it
//! ([`pull`], resumable and verified), shows what is cached ([`list`]) and describes a
//! pipeline from its configs and safetensors headers ([`info`]).
//!
//! Models live in the cache the Python `huggingface_hub` uses (`HF_HUB_CACHE`, else
//! `HF_HOME/hub`, else `~/.cache/huggingface/hub`), in its layout, so a model
//! downloaded by either tool serves both. `HF_ENDPOINT` picks the hub or a mirror,
//! `HF_TOKEN` (or the token file) opens gated repos, and `HF_HUB_OFFLINE=1` keeps
//! everything off the network. See `docs/MODELS.md`.
//!
//! ```no_run
//! let model = kinema_models::resolve("Wan-AI/Wan2.2-TI2V-5B-Diffusers", None)?;
//! println!("load the pipeline from {}", model.dir.display());
//! # Ok::<(), kinema_core::Error>(())
//! ```
//!
//! The free functions read the environment; [`Store`] takes it explicitly, for
//! services and tests.

mod download;
mod hub;
mod info;
mod layout;
mod licence;
mod list;
pub mod pattern;
mod pipeline;
mod pull;
pub mod release;
mod resolve;
mod store;
mod weights;

#[cfg(feature = "testing")]
pub mod testing;

pub use download::{sha256_file, FileStatus};
pub use info::{human_count, ComponentInfo, ModelInfo};
pub use layout::{Manifest, ManifestFile};
pub use licence::{licence_for, Acceptance, Licence};
pub use list::{human_bytes, list_table, CachedModel, CachedRevision};
pub use pipeline::{weight_files, ComponentRef, PipelineIndex, MODEL_INDEX};
pub use pull::{PullOptions, PullProgress, PullReport, PulledFile};
pub use resolve::{pull_command, ModelSource, ResolvedModel};
pub use store::{check_revision, RepoId, Store, DEFAULT_ENDPOINT, DEFAULT_MODEL};
pub use weights::{read_header, WeightSummary};

use kinema_core::Result;

/// A `--model` value (folder or hub id) as a pipeline folder, using only the cache.
/// `revision` defaults to `main`. Fails with the exact `kinema models pull` command
/// when the model is not downloaded or its download is unfinished.
pub fn resolve(model: &str, revision: Option<&str>) -> Result<ResolvedModel> {
    Store::from_env()?.resolve(model, revision)
}

/// Downloads a hub repo into the cache (see [`Store::pull`]).
pub fn pull(repo: &str, options: &PullOptions<'_>) -> Result<PullReport> {
    Store::from_env()?.pull(repo, options)
}

/// Every model repo in the cache (see [`Store::list`]).
pub fn list() -> Result<Vec<CachedModel>> {
    Store::from_env()?.list()
}

/// Describes a pipeline folder or cached model (see [`Store::info`]).
pub fn info(model: &str, revision: Option<&str>) -> Result<ModelInfo> {
    Store::from_env()?.info(model, revision)
}
