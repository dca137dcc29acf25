//! From a request to files on disk.
//!
//! The CLI, batch runs and (later) the HTTP service all do the same thing: load a
//! character, render one prompt or a set of actions on one canvas, and write clips,
//! sheets and atlases without overwriting anything the user owns. That shared path
//! lives here so each front end stays a thin layer of argument parsing.

pub mod batch;
pub mod defaults;
mod engines;
mod export;
mod mocap;
mod opensora;
mod request;
pub mod suggest;
mod suite;
mod svd;

pub use engines::{build_engine, build_rig_engine, engine_by_name, EngineOptions, ENGINE_NAMES};
pub use export::{export_rig, export_stem, ExportRequest, RigOnly};
pub use mocap::{add_capture, Capture};
pub use request::{run, RenderedAction, Request, RequestReport, SheetRequest, Timings, What};
pub use suite::{run_suite, SuiteOutcome};
pub use svd::prompt_motion;
