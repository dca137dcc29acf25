//! End-to-end pipelines, laid out like diffusers' `pipelines/`: they own the order of
//! operations between the text encoder, the transformer, the scheduler and the VAE.
//!
//! - [`wan_i2v`]: diffusers' `WanImageToVideoPipeline` (Wan2.2 TI2V-5B, and Wan2.1 I2V given
//!   CLIP image embeddings).
//! - [`clip_image`]: the CLIP image preprocessing Wan2.1 I2V's image encoder expects.
//! - [`opensora_i2v`]: Open-Sora 2.0's image-to-video sampling loop (three-way guidance over
//!   text and image); [`opensora_prompt`]: the FPS and motion-score prompt suffix it expects.
//! - [`noise`]: the documented seeded Gaussian generator for the initial latents.
//! - [`model_index`]: what a pipeline folder holds and how it must be run.
//! - [`svd`]: diffusers' `StableVideoDiffusionPipeline`; [`svd_image`]: what it does to the
//!   image before CLIP.
//! - [`image`]: frames ↔ tensors and resampling; [`memory`]: the peak-memory estimate.

pub mod clip_image;
pub mod image;
pub mod memory;
pub mod model_index;
pub mod noise;
pub mod opensora_i2v;
pub mod opensora_prompt;
pub mod svd;
pub mod svd_image;
pub mod svd_memory;
pub mod wan_i2v;

pub use model_index::ModelIndex;
pub use wan_i2v::{I2vRequest, InitialNoise, LoadOptions, WanI2vPipeline};
