//! Model architectures, laid out like diffusers' `models/`.

pub mod umt5;
pub mod wan;
