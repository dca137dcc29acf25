//! Model architectures, laid out like diffusers' `models/`.

pub mod clip_text;
pub mod clip_vision;
pub mod hunyuan_vae;
pub mod opensora_mmdit;
pub mod svd;
pub mod t5;
pub mod text_tokens;
pub mod umt5;
pub mod wan;
