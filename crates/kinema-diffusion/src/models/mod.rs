//! Model architectures, laid out like diffusers' `models/`.

pub mod clip_vision;
pub mod opensora_mmdit;
pub mod svd;
pub mod umt5;
pub mod wan;
