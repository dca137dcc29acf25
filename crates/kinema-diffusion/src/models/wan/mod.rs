//! The Wan family (Wan2.1, Wan2.2).

pub mod transformer;
pub mod vae;

pub use vae::{AutoencoderKLWan, DiagonalGaussian, TilingConfig, VaeParts, WanVaeConfig};
