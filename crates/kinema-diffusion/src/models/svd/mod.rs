//! Stable Video Diffusion (diffusers' `StableVideoDiffusionPipeline` components): the
//! spatio-temporal U-Net, the VAE with a temporal decoder, and their shared blocks. The
//! image encoder is [`crate::models::clip_vision::projection`].
//!
//! Both networks keep activations frame-major, `[B·F, C, H, W]`: the 2D layers treat frames
//! as images, the temporal layers treat each run of `F` items as one clip.

pub mod attention;
pub mod config;
pub mod resnet;
pub mod transformer;
pub mod unet;
pub mod vae;

pub use unet::{UNetConfig, UNetInput, UNetSpatioTemporalConditionModel};
pub use vae::{AutoencoderKLTemporalDecoder, TemporalVaeConfig, VaeHalves};
