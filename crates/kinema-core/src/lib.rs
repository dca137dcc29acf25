//! The vocabulary every Kinema crate speaks.
//!
//! Engines turn a [`Character`] plus a prompt and a [`ClipSpec`] into a [`Clip`];
//! media crates decode characters and encode clips. Keeping these types here, with
//! light dependencies, lets engines and encoders evolve without knowing each other.

mod character;
mod clip;
mod engine;
mod error;
mod frame;
mod gameplay;
mod spec;

pub use character::Character;
pub use clip::{Clip, Placement};
pub use engine::{CostEstimate, Engine, Generation, Job, Progress};
pub use error::{Error, ErrorKind, Result};
pub use frame::Frame;
pub use gameplay::{BoxPx, EventPhase, FrameEvent, FrameGameplay, Hitbox};
pub use spec::{Background, ClipSpec, Limits};
