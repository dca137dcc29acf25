//! transformers' `CLIPVisionModelWithProjection`, as Stable Video Diffusion's `image_encoder/`:
//! the full vision tower, `post_layernorm` of the class token, and `visual_projection` (no
//! bias) to `projection_dim`, returning `image_embeds`.

use std::path::Path;

use crate::nn::Linear;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use super::{tower, ClipDepth, ClipVisionConfig, ClipVisionEncoder};
use crate::weights::linear_no_bias;

pub struct ClipVisionModelWithProjection {
    encoder: ClipVisionEncoder,
    visual_projection: Linear,
}

impl ClipVisionModelWithProjection {
    /// Loads an `image_encoder/` folder (`config.json` + `model.safetensors` or shards).
    pub fn from_dir(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        let config = ClipVisionConfig::from_dir(dir)?;
        let vb = crate::models::umt5::var_builder(dir, dtype, device)?;
        Self::new(config, &vb).map_err(|e| Error {
            message: format!("{}: {}", dir.display(), e.message),
            ..e
        })
    }

    /// Builds from weights at the checkpoint's paths (`vision_model.*`,
    /// `visual_projection.weight`).
    pub fn new(config: ClipVisionConfig, vb: &VarBuilder<'static>) -> Result<Self> {
        let (hidden, projection) = (config.hidden_size, config.projection_dim);
        let visual_projection = linear_no_bias(&vb.pp("visual_projection"), hidden, projection)?;
        let encoder = ClipVisionEncoder::build(config, &tower(vb), ClipDepth::Full)?;
        Ok(ClipVisionModelWithProjection {
            encoder,
            visual_projection,
        })
    }

    pub fn config(&self) -> &ClipVisionConfig {
        self.encoder.config()
    }

    /// `pixel_values` `[B, 3, S, S]` (normalised, S = `image_size`) → `image_embeds`
    /// `[B, projection_dim]` in the model's dtype.
    pub fn image_embeds(&self, pixel_values: &Tensor) -> Result<Tensor> {
        let pooled = self.encoder.pooled_output(pixel_values)?;
        self.visual_projection
            .forward(&pooled)
            .map_err(|e| Error::model("CLIP vision: visual_projection failed").with_source(e))
    }
}
