//! `config.json` of a diffusers `AutoencoderKLTemporalDecoder`.

use std::path::Path;

use kinema_core::{Error, Result};
use serde::Deserialize;

use crate::models::svd::config::check_keys;

/// Hyper-parameters, with diffusers' defaults for keys a checkpoint omits.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct TemporalVaeConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    pub down_block_types: Vec<String>,
    pub block_out_channels: Vec<usize>,
    pub layers_per_block: usize,
    pub latent_channels: usize,
    /// Latents are multiplied by this for the diffusion model (and divided before decoding).
    pub scaling_factor: f64,
    /// Half-precision (f16) VAEs are run in f32, as diffusers does when this is set.
    pub force_upcast: bool,
    /// The image size it was trained on (not used for inference).
    pub sample_size: Option<usize>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Default for TemporalVaeConfig {
    fn default() -> Self {
        TemporalVaeConfig {
            in_channels: 3,
            out_channels: 3,
            down_block_types: vec!["DownEncoderBlock2D".into()],
            block_out_channels: vec![64],
            layers_per_block: 1,
            latent_channels: 4,
            scaling_factor: 0.18215,
            force_upcast: true,
            sample_size: None,
            other: Default::default(),
        }
    }
}

impl TemporalVaeConfig {
    /// Reads `<dir>/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let config: TemporalVaeConfig = crate::weights::read_config(dir)?;
        config.validate().map_err(|e| Error {
            message: format!("{}: {}", dir.join("config.json").display(), e.message),
            ..e
        })?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        check_keys("AutoencoderKLTemporalDecoder", &self.other, &[])?;
        let n = self.block_out_channels.len();
        if n == 0 || self.down_block_types.len() != n {
            return Err(Error::model(format!(
                "{} down blocks for {n} block_out_channels",
                self.down_block_types.len()
            )));
        }
        if let Some(t) = self
            .down_block_types
            .iter()
            .find(|t| t.as_str() != "DownEncoderBlock2D")
        {
            return Err(
                Error::unsupported(format!("VAE down block `{t}` is not implemented"))
                    .with_hint("Stable Video Diffusion's VAE uses DownEncoderBlock2D"),
            );
        }
        if let Some(c) = self
            .block_out_channels
            .iter()
            .find(|c| **c == 0 || !c.is_multiple_of(32))
        {
            return Err(Error::model(format!(
                "block_out_channels {c} is not a multiple of 32 (GroupNorm's groups)"
            )));
        }
        if self.layers_per_block == 0 || self.latent_channels == 0 {
            return Err(Error::model(
                "layers_per_block and latent_channels must be positive",
            ));
        }
        if !(self.scaling_factor.is_finite() && self.scaling_factor > 0.0) {
            return Err(Error::model(format!(
                "scaling_factor {} must be a positive number",
                self.scaling_factor
            )));
        }
        Ok(())
    }

    /// Pixels per latent along each side (`2^(levels − 1)`, 8 for SVD).
    pub fn scale_factor(&self) -> usize {
        1 << self.block_out_channels.len().saturating_sub(1)
    }
}
