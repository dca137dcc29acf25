//! `AutoencoderKLHunyuanVideo`: HunyuanVideo's causal 3D VAE (16 latent channels, 4× in time,
//! 8× in space), which Open-Sora 2.0 uses as its autoencoder.
//!
//! A port of diffusers' model: weight paths mirror its state-dict keys (`encoder.down_blocks.
//! {i}.resnets.{j}.conv1.conv.weight`, …), the clip runs through the network whole (causal
//! convs pad with the first frame repeated), and tiling follows diffusers' blend rules. The
//! Wan VAE's posterior type and our Conv3d kernels are shared.

mod blocks;
mod coder;
mod config;
mod tiling;

pub use config::{Config, Resample};
pub use tiling::{SpatialTiling, TemporalTiling, Tiling};

/// The posterior and the half-loading switch are the Wan VAE's: the maths is the same.
pub use crate::models::wan::{DiagonalGaussian, VaeParts};

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use self::coder::{Decoder, Encoder};
use crate::nn::{CandleContext, Conv3d, Conv3dConfig};

/// The factor Open-Sora 2.0 multiplies VAE latents by (the released config's
/// `scaling_factor`); kept as a constant for checkpoints whose config omits it.
pub const OPEN_SORA_SCALING_FACTOR: f64 = 0.476986;

/// The HunyuanVideo VAE. Either half can be left out.
pub struct AutoencoderKLHunyuanVideo {
    config: Config,
    encoder: Option<(Encoder, Conv3d)>,
    decoder: Option<(Decoder, Conv3d)>,
    tiling: Tiling,
}

impl AutoencoderKLHunyuanVideo {
    /// Loads a diffusers `vae/` folder (`config.json` + safetensors), with diffusers'
    /// default tiling ([`Tiling::diffusers`]); Open-Sora's is [`Tiling::open_sora`].
    pub fn load(dir: &Path, parts: VaeParts, dtype: DType, device: &Device) -> Result<Self> {
        let config = Config::from_dir(dir)?;
        let vb = crate::weights::load_var_builder(dir, dtype, device)?;
        Self::new(config, vb, parts).map_err(|e| {
            Error::model(format!("{}: {}", dir.display(), e.message))
                .with_hint(e.hint.unwrap_or_default())
        })
    }

    /// Loads one safetensors file under `config`: Open-Sora's released
    /// `hunyuan_vae.safetensors` has no config beside it. Its module tree
    /// (`opensora/models/hunyuan_vae`, HunyuanVideo's original code) names every weight as
    /// diffusers does (`encoder.down_blocks.{i}.resnets.{j}.conv1.conv.weight`,
    /// `…mid_block.attentions.0.to_q.weight`, `quant_conv.weight`), so no renaming is needed.
    pub fn from_file(
        config: Config,
        file: &Path,
        parts: VaeParts,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        crate::weights::validate_safetensors(file)?;
        // SAFETY: the mapped file must not change while the model lives; its header was
        // validated above.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[file], dtype, device) }.map_err(
            |e| {
                Error::model(format!("cannot map the weights in {}", file.display())).with_source(e)
            },
        )?;
        Self::new(config, vb, parts).map_err(|e| {
            Error::model(format!("{}: {}", file.display(), e.message))
                .with_hint(e.hint.unwrap_or_default())
        })
    }

    /// Builds from a config and weights at diffusers' key paths.
    pub fn new(config: Config, vb: VarBuilder, parts: VaeParts) -> Result<Self> {
        config.validate()?;
        let z = config.latent_channels;
        let pointwise = |name: &str, c: usize| {
            Conv3d::load(&vb.pp(name), c, c, [1, 1, 1], Conv3dConfig::default(), true)
        };
        let encoder = if parts != VaeParts::DecoderOnly {
            let enc = Encoder::load(&vb.pp("encoder"), &config)?;
            Some((enc, pointwise("quant_conv", 2 * z)?))
        } else {
            None
        };
        let decoder = if parts != VaeParts::EncoderOnly {
            let dec = Decoder::load(&vb.pp("decoder"), &config)?;
            Some((dec, pointwise("post_quant_conv", z)?))
        } else {
            None
        };
        Ok(AutoencoderKLHunyuanVideo {
            config,
            encoder,
            decoder,
            tiling: Tiling::diffusers(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn tiling(&self) -> Tiling {
        self.tiling
    }

    /// Replaces the tiling (validated against the compression ratios).
    pub fn set_tiling(&mut self, tiling: Tiling) -> Result<()> {
        tiling.validate(
            self.config.spatial_compression_ratio,
            self.config.temporal_compression_ratio,
        )?;
        self.tiling = tiling;
        Ok(())
    }

    /// Encodes `video` `[B, 3, F, H, W]` in [-1, 1] (H and W multiples of 8) to the latent
    /// posterior, `[B, 16, 1 + (F-1)/4, H/8, W/8]`.
    pub fn encode(&self, video: &Tensor) -> Result<DiagonalGaussian> {
        let (enc, quant) = self.encoder.as_ref().ok_or_else(|| {
            Error::invalid(
                "this VAE was loaded without its encoder",
                "load it with VaeParts::Both or EncoderOnly",
            )
        })?;
        let (_, c, f, h, w) = video.dims5().map_err(|_| {
            Error::invalid(
                format!("a video must be [B, C, F, H, W], got {:?}", video.dims()),
                "add the batch and frame axes",
            )
        })?;
        let s = self.config.spatial_compression_ratio;
        if c != self.config.in_channels || f == 0 {
            return Err(Error::invalid(
                format!(
                    "video has {c} channels and {f} frames; this VAE takes {} channels and at least 1 frame",
                    self.config.in_channels
                ),
                "pass RGB frames in [-1, 1]",
            ));
        }
        if h % s != 0 || w % s != 0 {
            return Err(Error::invalid(
                format!("frame size {w}x{h} is not a multiple of the VAE's {s}x compression"),
                format!("use a width and height that are multiples of {s}"),
            ));
        }
        let whole = |x: &Tensor| -> Result<Tensor> { quant.forward(&enc.forward(x)?) };
        let spatial = |x: &Tensor| -> Result<Tensor> {
            let (xh, xw) = (
                x.dim(3).ctx(|| "dims".into())?,
                x.dim(4).ctx(|| "dims".into())?,
            );
            match &self.tiling.spatial {
                Some(t) if t.applies(xh, xw) => tiling::spatial(
                    x,
                    (t.min_height, t.min_width),
                    (t.stride_height, t.stride_width),
                    (t.stride_height / s, t.stride_width / s),
                    (
                        (t.min_height - t.stride_height) / s,
                        (t.min_width - t.stride_width) / s,
                    ),
                    (xh / s, xw / s),
                    &whole,
                ),
                _ => whole(x),
            }
        };
        let moments = match &self.tiling.temporal {
            Some(t) if f > t.min_frames => {
                let r = self.config.temporal_compression_ratio;
                tiling::temporal(
                    video,
                    t.min_frames,
                    t.stride_frames,
                    t.stride_frames / r,
                    (t.min_frames - t.stride_frames) / r,
                    self.config.latent_frames(f),
                    &spatial,
                )?
            }
            _ => spatial(video)?,
        };
        DiagonalGaussian::from_moments(&moments)
    }

    /// Decodes raw (unscaled) latents `[B, 16, T, h, w]` to video `[B, 3, 1 + 4(T-1), 8h, 8w]`
    /// (not clamped, as diffusers returns it).
    pub fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        let (dec, post) = self.decoder.as_ref().ok_or_else(|| {
            Error::invalid(
                "this VAE was loaded without its decoder",
                "load it with VaeParts::Both or DecoderOnly",
            )
        })?;
        let (_, c, t, _, _) = latents.dims5().map_err(|_| {
            Error::invalid(
                format!("latents must be [B, C, T, h, w], got {:?}", latents.dims()),
                "add the batch and frame axes",
            )
        })?;
        if c != self.config.latent_channels || t == 0 {
            return Err(Error::invalid(
                format!(
                    "latents have {c} channels and {t} frames; this VAE takes {} channels and at least 1 frame",
                    self.config.latent_channels
                ),
                "decode latents made for this VAE",
            ));
        }
        let s = self.config.spatial_compression_ratio;
        let r = self.config.temporal_compression_ratio;
        let whole = |z: &Tensor| -> Result<Tensor> { dec.forward(&post.forward(z)?) };
        let spatial = |z: &Tensor| -> Result<Tensor> {
            let (zh, zw) = (
                z.dim(3).ctx(|| "dims".into())?,
                z.dim(4).ctx(|| "dims".into())?,
            );
            match &self.tiling.spatial {
                Some(t) if zh > t.min_height / s || zw > t.min_width / s => tiling::spatial(
                    z,
                    (t.min_height / s, t.min_width / s),
                    (t.stride_height / s, t.stride_width / s),
                    (t.stride_height, t.stride_width),
                    (t.min_height - t.stride_height, t.min_width - t.stride_width),
                    (zh * s, zw * s),
                    &whole,
                ),
                _ => whole(z),
            }
        };
        match &self.tiling.temporal {
            Some(tt) if t > tt.min_frames / r => tiling::temporal(
                latents,
                tt.min_frames / r,
                tt.stride_frames / r,
                tt.stride_frames,
                tt.min_frames - tt.stride_frames,
                (t - 1) * r + 1,
                &spatial,
            ),
            _ => spatial(latents),
        }
    }

    /// Open-Sora's conditioning latent for a reference frame: a *sample* of the posterior
    /// (seeded, so a seed reproduces it) times `scaling_factor`. This is what
    /// `vae.encode(x)` returns in Open-Sora's `hunyuan_vae` wrapper, which samples and scales.
    pub fn reference_latent(&self, frames: &Tensor, seed: u64) -> Result<Tensor> {
        let sample = self.encode(frames)?.sample(seed)?;
        (sample * self.config.scaling_factor).ctx(|| "scaling the reference latent".into())
    }

    /// Undoes the scaling the denoiser works in, before [`Self::decode`].
    pub fn unscale_latents(&self, latents: &Tensor) -> Result<Tensor> {
        (latents / self.config.scaling_factor).ctx(|| "unscaling latents".into())
    }
}

#[cfg(test)]
#[path = "hunyuan_vae/tests.rs"]
mod tests;
