//! One file per resource; each handler carries its OpenAPI description.

pub mod actions;
pub mod downloads;
pub mod engines;
pub mod events;
pub mod extract;
pub mod submit;
pub mod tasks;
pub mod uploads;
