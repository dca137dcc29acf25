//! `AutoencoderKLTemporalDecoder`: Stable Video Diffusion's VAE. Images are encoded one by
//! one by a 2D encoder; latents are decoded clip by clip by a decoder whose residual blocks
//! and last convolution also mix the frames of a clip.
//!
//! What the pipeline needs from it, and what diffusers does: the conditioning image's
//! latent is the posterior's `mode()` (its mean) and is **not** multiplied by
//! `scaling_factor`; the sampled latents are divided by `scaling_factor` before decoding.

mod config;
mod decoder;
mod encoder;

pub use config::TemporalVaeConfig;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use self::decoder::TemporalDecoder;
use self::encoder::Encoder;
use crate::nn::{CandleContext, Conv2d};

/// Which halves to build (the pipeline's encode and decode stages can load them apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaeHalves {
    Both,
    EncoderOnly,
    DecoderOnly,
}

pub struct AutoencoderKLTemporalDecoder {
    config: TemporalVaeConfig,
    encoder: Option<(Encoder, Conv2d)>,
    decoder: Option<TemporalDecoder>,
}

impl AutoencoderKLTemporalDecoder {
    /// Loads a diffusers `vae/` folder.
    pub fn from_dir(dir: &Path, halves: VaeHalves, dtype: DType, device: &Device) -> Result<Self> {
        let config = TemporalVaeConfig::from_dir(dir)?;
        let vb = crate::weights::load_var_builder(dir, dtype, device)?;
        Self::new(config, &vb, halves).map_err(|e| Error {
            message: format!("{}: {}", dir.display(), e.message),
            ..e
        })
    }

    pub fn new(config: TemporalVaeConfig, vb: &VarBuilder, halves: VaeHalves) -> Result<Self> {
        config.validate()?;
        let moments = 2 * config.latent_channels;
        let encoder = if halves != VaeHalves::DecoderOnly {
            Some((
                Encoder::load(&vb.pp("encoder"), &config)?,
                Conv2d::load(&vb.pp("quant_conv"), moments, moments, 1, 1, 0)?,
            ))
        } else {
            None
        };
        let decoder = if halves != VaeHalves::EncoderOnly {
            Some(TemporalDecoder::load(&vb.pp("decoder"), &config)?)
        } else {
            None
        };
        Ok(AutoencoderKLTemporalDecoder {
            config,
            encoder,
            decoder,
        })
    }

    pub fn config(&self) -> &TemporalVaeConfig {
        &self.config
    }

    /// Images `[N, in_channels, H, W]` in `[-1, 1]` → the posterior mean (`latent_dist.mean`,
    /// which is also its `mode()`), `[N, latent, H/s, W/s]`, unscaled.
    pub fn encode(&self, images: &Tensor) -> Result<Tensor> {
        let (encoder, quant) = self
            .encoder
            .as_ref()
            .ok_or_else(|| Error::internal("this VAE was loaded without its encoder"))?;
        let (_, c, h, w) = images.dims4().map_err(|_| {
            Error::invalid(
                format!("VAE images must be [N, C, H, W], got {:?}", images.dims()),
                "pass a batch of RGB images in [-1, 1]",
            )
        })?;
        let s = self.config.scale_factor();
        if c != self.config.in_channels
            || h == 0
            || w == 0
            || !h.is_multiple_of(s)
            || !w.is_multiple_of(s)
        {
            return Err(Error::invalid(
                format!(
                    "VAE input {:?}: this VAE takes {} channels and sizes divisible by {s}",
                    images.dims(),
                    self.config.in_channels
                ),
                format!("use a width and height that are multiples of {s}"),
            ));
        }
        let moments = quant.forward(&encoder.forward(images)?)?;
        moments
            .narrow(1, 0, self.config.latent_channels)
            .ctx(|| "posterior mean".into())
    }

    /// Latents `[B·F, latent, h, w]` (already divided by `scaling_factor`), clips of
    /// `num_frames` → images `[B·F, out_channels, H, W]`.
    pub fn decode(&self, latents: &Tensor, num_frames: usize) -> Result<Tensor> {
        let decoder = self
            .decoder
            .as_ref()
            .ok_or_else(|| Error::internal("this VAE was loaded without its decoder"))?;
        let dims = latents.dims();
        let ok = dims.len() == 4
            && dims[1] == self.config.latent_channels
            && num_frames > 0
            && dims[0] > 0
            && dims[0].is_multiple_of(num_frames);
        if !ok {
            return Err(Error::invalid(
                format!(
                    "VAE latents {dims:?} are not whole clips of {num_frames} frames with {} channels",
                    self.config.latent_channels
                ),
                "decode latents shaped [B·F, 4, h, w]",
            ));
        }
        decoder.forward(latents, num_frames)
    }

    /// The pipeline's `decode_latents` after its division by `scaling_factor`: consecutive
    /// chunks of `chunk` frames, each decoded as one clip of its own length (the last chunk
    /// may be shorter). Smaller chunks use less memory; frames only mix within a chunk.
    pub fn decode_in_chunks(&self, latents: &Tensor, chunk: usize) -> Result<Tensor> {
        let n = latents.dim(0).ctx(|| "latent dims".into())?;
        if chunk == 0 {
            return Err(Error::invalid(
                "a decode chunk of 0 frames",
                "use --decode-chunk 1 or more",
            ));
        }
        let mut parts = Vec::with_capacity(n.div_ceil(chunk));
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let part = latents
                .narrow(0, start, len)
                .ctx(|| "decode chunk".into())?;
            parts.push(self.decode(&part, len)?);
            start += len;
        }
        Tensor::cat(&parts, 0).ctx(|| "joining decoded chunks".into())
    }
}
