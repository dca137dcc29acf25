//! From a request to files on disk.
//!
//! The CLI, batch runs and (later) the HTTP service all do the same thing: load a
//! character, render one prompt or a set of actions on one canvas, and write clips,
//! sheets and atlases without overwriting anything the user owns. That shared path
//! lives here so each front end stays a thin layer of argument parsing.

pub mod batch;
pub mod cost;
pub mod defaults;
mod engine_list;
mod engines;
mod export;
mod mocap;
mod opensora;
mod request;
pub mod suggest;
mod suite;
mod svd;

pub use cost::{confirm, Consent};
pub use engine_list::{engine_statuses, Capabilities, EngineStatus};
pub use engines::{build_engine, build_rig_engine, engine_by_name, EngineOptions, ENGINE_NAMES};
pub use export::{export_rig, export_stem, ExportRequest, RigOnly};
pub use kinema_core::CostEstimate;
/// For the binary's first line: see `kinema_diffusion::heap`.
pub use kinema_diffusion::heap::share_one_heap;
pub use kinema_providers::{
    install_ctrl_c_handler, FileJournal, Journal, ProviderTask, TaskJournal, TaskState,
};
pub use mocap::{add_capture, Capture};
pub use request::{
    estimate, run, run_with, RenderedAction, Request, RequestReport, SheetRequest, Timings, What,
};
pub use suite::{run_suite, SuiteOutcome};
pub use svd::prompt_motion;

/// Whether `engine` is a paid video service (runway, luma, kling) rather than one that
/// runs here.
pub fn is_service_engine(engine: &str) -> bool {
    kinema_providers::is_provider(engine)
}

/// Whether a Ctrl-C asked provider tasks to stop (the CLI then exits with 130).
pub fn interrupted() -> bool {
    kinema_providers::interrupt_flag().load(std::sync::atomic::Ordering::SeqCst)
}
