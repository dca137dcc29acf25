//! `kinema batch manifest.toml`: many characters × actions, in parallel, resumable.
//!
//! The manifest ([`Manifest`]) is planned into jobs ([`plan()`]), each one a
//! [`crate::Request`] run by the same code as `kinema generate`. A content hash per job
//! in `out_dir/.kinema-batch.json` lets a re-run skip what is up to date, and
//! `out_dir/index.html` shows every result with an animated preview.

mod contact;
mod diagnostics;
mod execute;
mod fingerprint;
mod journal;
mod manifest;
mod plan;
mod state;
mod summary;
mod to_request;

pub use contact::CONTACT_SHEET;
pub use execute::{estimate_batch, run_batch, BatchEvent, BatchOptions};
pub use fingerprint::fingerprint;
pub use manifest::{
    ActionEntry, ActionKind, CharacterEntry, Format, Length, Manifest, Settings, SpecOverrides,
};
pub use plan::{plan, JobWhat, PlannedClip, PlannedJob, PREVIEW_DIR};
pub use state::{BatchState, JobRecord, STATE_FILE};
pub use summary::{BatchSummary, JobResult, JobStatus};
pub use to_request::to_request;
