//! `AutoencoderKLWan`: the causal 3D VAE of Wan2.1 (z_dim 16) and Wan2.2 (z_dim 48, 2×2 pixel
//! patches, residual resampling shortcuts).
//!
//! Videos are processed causally in time, chunk by chunk, with per-layer feature caches: the
//! encoder sees the first frame alone and then chunks of 4 frames; the decoder sees one latent
//! frame at a time. Peak memory therefore does not grow with the clip length, and numbers
//! match diffusers' `encode`/`decode` exactly (same chunking, same cache contents).

mod blocks;
mod cache;
mod config;
mod decoder;
mod encoder;
mod patch;
mod resample;
mod tiling;

pub use config::WanVaeConfig;
pub use tiling::TilingConfig;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use self::cache::FeatCache;
use self::decoder::Decoder;
use self::encoder::Encoder;
use crate::nn::{CandleContext, CausalConv3d};

/// Frames per encoder chunk after the first (diffusers hard-codes 4 whatever the config).
const ENCODE_CHUNK: usize = 4;

/// The posterior `N(mean, exp(logvar))` of each latent, as diffusers'
/// `DiagonalGaussianDistribution` (logvar clamped to [-30, 20]).
#[derive(Clone, Debug)]
pub struct DiagonalGaussian {
    pub mean: Tensor,
    pub logvar: Tensor,
}

impl DiagonalGaussian {
    pub(crate) fn from_moments(moments: &Tensor) -> Result<Self> {
        let chunks = moments.chunk(2, 1).ctx(|| "splitting mean/logvar".into())?;
        let logvar = chunks[1]
            .clamp(-30f64, 20f64)
            .ctx(|| "logvar clamp".into())?;
        Ok(DiagonalGaussian {
            mean: chunks[0].clone(),
            logvar,
        })
    }

    /// The most likely latent: the mean (what pipelines use to encode a conditioning image).
    pub fn mode(&self) -> Tensor {
        self.mean.clone()
    }

    /// `mean + std · ε` with ε from a seeded normal generator, so a seed reproduces a latent.
    pub fn sample(&self, seed: u64) -> Result<Tensor> {
        let n = self.mean.elem_count();
        let noise = Tensor::from_vec(seeded_normal(n, seed), self.mean.dims(), &Device::Cpu)
            .and_then(|t| t.to_device(self.mean.device()))
            .and_then(|t| t.to_dtype(self.mean.dtype()))
            .ctx(|| "posterior noise".into())?;
        let std = (&self.logvar * 0.5)
            .and_then(|l| l.exp())
            .ctx(|| "posterior std".into())?;
        (&self.mean + (std * noise).ctx(|| "posterior sample".into())?)
            .ctx(|| "posterior sample".into())
    }
}

/// Standard normal samples from SplitMix64 + Box–Muller: deterministic on every platform.
fn seeded_normal(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u1 = next().max(f64::MIN_POSITIVE);
        let u2 = next();
        let r = (-2.0 * u1.ln()).sqrt();
        let a = 2.0 * std::f64::consts::PI * u2;
        out.push((r * a.cos()) as f32);
        out.push((r * a.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// The Wan video VAE. Either half may be left out to save memory (a text-to-video pipeline
/// only decodes).
pub struct AutoencoderKLWan {
    config: WanVaeConfig,
    encoder: Option<(Encoder, CausalConv3d)>,
    decoder: Option<(Decoder, CausalConv3d)>,
    tiling: Option<TilingConfig>,
}

/// Which halves of the VAE to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaeParts {
    Both,
    EncoderOnly,
    DecoderOnly,
}

impl AutoencoderKLWan {
    /// Loads a diffusers `vae/` folder (`config.json` + safetensors weights).
    pub fn load(dir: &Path, parts: VaeParts, dtype: DType, device: &Device) -> Result<Self> {
        let config = WanVaeConfig::from_dir(dir)?;
        let vb = crate::weights::load_var_builder(dir, dtype, device)?;
        Self::new(config, vb, parts).map_err(|e| {
            Error::model(format!("{}: {}", dir.display(), e.message))
                .with_hint(e.hint.unwrap_or_default())
        })
    }

    /// Builds from a config and weights whose paths are the state-dict keys.
    pub fn new(config: WanVaeConfig, vb: VarBuilder, parts: VaeParts) -> Result<Self> {
        config.validate()?;
        let z = config.z_dim;
        let encoder = if parts != VaeParts::DecoderOnly {
            let enc = Encoder::load(&vb.pp("encoder"), &config, config.in_channels, 2 * z)?;
            let quant = CausalConv3d::load(
                &vb.pp("quant_conv"),
                2 * z,
                2 * z,
                [1, 1, 1],
                [1, 1, 1],
                [0, 0, 0],
            )?;
            Some((enc, quant))
        } else {
            None
        };
        let decoder = if parts != VaeParts::EncoderOnly {
            let dec = Decoder::load(&vb.pp("decoder"), &config, config.out_channels)?;
            let post = CausalConv3d::load(
                &vb.pp("post_quant_conv"),
                z,
                z,
                [1, 1, 1],
                [1, 1, 1],
                [0, 0, 0],
            )?;
            Some((dec, post))
        } else {
            None
        };
        Ok(AutoencoderKLWan {
            config,
            encoder,
            decoder,
            tiling: None,
        })
    }

    pub fn config(&self) -> &WanVaeConfig {
        &self.config
    }

    /// Splits large frames into overlapping spatial tiles (diffusers' `enable_tiling`).
    pub fn enable_tiling(&mut self, tiling: TilingConfig) -> Result<()> {
        tiling.validate()?;
        self.tiling = Some(tiling);
        Ok(())
    }

    pub fn disable_tiling(&mut self) {
        self.tiling = None;
    }

    /// Encodes `video` `[B, C, T, H, W]` in [-1, 1] (C = `in_channels / patch²`, i.e. RGB) to
    /// the latent posterior.
    pub fn encode(&self, video: &Tensor) -> Result<DiagonalGaussian> {
        let (enc, quant) = self.encoder.as_ref().ok_or_else(|| {
            Error::invalid(
                "this VAE was loaded without its encoder",
                "load it with VaeParts::Both or EncoderOnly",
            )
        })?;
        let (_, c, t, h, w) = video.dims5().map_err(|_| {
            Error::invalid(
                format!("a video must be [B, C, T, H, W], got {:?}", video.dims()),
                "add the batch/time axes",
            )
        })?;
        if c != self.config.video_channels() || t == 0 {
            return Err(Error::invalid(
                format!("video has {c} channels and {t} frames; this VAE takes {} channels and ≥ 1 frame", self.config.video_channels()),
                "pass RGB frames in [-1, 1]",
            ));
        }
        let p = self.config.patch();
        if h % p != 0 || w % p != 0 {
            return Err(Error::invalid(
                format!("frame size {w}x{h} is not divisible by the VAE patch size {p}"),
                format!(
                    "use a width and height that are multiples of {}",
                    self.config.spatial_compression()
                ),
            ));
        }
        let x = patch::patchify(video, p)?;
        let moments = match &self.tiling {
            Some(tl) if tl.applies_to_pixels(h, w) => {
                let ratio = self.config.tiling_ratio() / p;
                tiling::tiled_encode(tl, &x, ratio, &|tile| self.encode_chunks(enc, quant, tile))?
            }
            _ => self.encode_chunks(enc, quant, &x)?,
        };
        DiagonalGaussian::from_moments(&moments)
    }

    /// Runs the encoder causally: the first frame, then chunks of 4, then `quant_conv`.
    fn encode_chunks(&self, enc: &Encoder, quant: &CausalConv3d, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(2).ctx(|| "video dims".into())?;
        let mut cache = FeatCache::new();
        let mut outs = Vec::new();
        let chunks = 1 + (t - 1) / ENCODE_CHUNK;
        for i in 0..chunks {
            let (start, len) = if i == 0 {
                (0, 1)
            } else {
                (1 + ENCODE_CHUNK * (i - 1), ENCODE_CHUNK)
            };
            cache.start_chunk();
            let chunk = x.narrow(2, start, len).ctx(|| "video chunk".into())?;
            outs.push(enc.forward(&chunk, Some(&mut cache))?);
        }
        let out = Tensor::cat(&outs, 2).ctx(|| "joining encoder chunks".into())?;
        quant.forward(&out, None)
    }

    /// Decodes raw (un-normalised) latents `[B, z_dim, T, h, w]` to video `[B, C, 1 + 4(T-1), H, W]`.
    pub fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        let (dec, post) = self.decoder.as_ref().ok_or_else(|| {
            Error::invalid(
                "this VAE was loaded without its decoder",
                "load it with VaeParts::Both or DecoderOnly",
            )
        })?;
        let (_, c, t, h, w) = latents.dims5().map_err(|_| {
            Error::invalid(
                format!("latents must be [B, C, T, H, W], got {:?}", latents.dims()),
                "add the batch/time axes",
            )
        })?;
        if c != self.config.z_dim || t == 0 {
            return Err(Error::invalid(
                format!("latents have {c} channels and {t} frames; this VAE takes {} channels and ≥ 1 frame", self.config.z_dim),
                "decode latents made for this VAE",
            ));
        }
        let z = post.forward(latents, None)?;
        let ratio = self.config.tiling_ratio();
        let out = match &self.tiling {
            Some(tl) if tl.applies_to_latents(h, w, ratio) => {
                tiling::tiled_decode(tl, &z, ratio, self.config.patch(), &|tile| {
                    self.decode_frames(dec, tile)
                })?
            }
            _ => self.decode_frames(dec, &z)?,
        };
        let out = patch::unpatchify(&out, self.config.patch())?;
        if self.config.clip_output {
            out.clamp(-1f32, 1f32)
                .ctx(|| "clamping the decoded video".into())
        } else {
            Ok(out)
        }
    }

    /// Runs the decoder one latent frame at a time with the feature cache.
    fn decode_frames(&self, dec: &Decoder, z: &Tensor) -> Result<Tensor> {
        let t = z.dim(2).ctx(|| "latent dims".into())?;
        let mut cache = FeatCache::new();
        let mut outs = Vec::with_capacity(t);
        for i in 0..t {
            cache.start_chunk();
            let frame = z.narrow(2, i, 1).ctx(|| "latent frame".into())?;
            outs.push(dec.forward(&frame, Some(&mut cache), i == 0)?);
        }
        Tensor::cat(&outs, 2).ctx(|| "joining decoded frames".into())
    }

    /// `(latents - mean) / std` per channel: what the diffusion model works on.
    pub fn normalize_latents(&self, latents: &Tensor) -> Result<Tensor> {
        let (mean, std) = self.latent_stats(latents)?;
        latents
            .broadcast_sub(&mean)
            .and_then(|x| x.broadcast_div(&std))
            .ctx(|| "normalising latents".into())
    }

    /// `latents · std + mean` per channel: back to what [`Self::decode`] takes.
    pub fn denormalize_latents(&self, latents: &Tensor) -> Result<Tensor> {
        let (mean, std) = self.latent_stats(latents)?;
        latents
            .broadcast_mul(&std)
            .and_then(|x| x.broadcast_add(&mean))
            .ctx(|| "denormalising latents".into())
    }

    fn latent_stats(&self, like: &Tensor) -> Result<(Tensor, Tensor)> {
        let z = self.config.z_dim;
        if self.config.latents_mean.len() != z || self.config.latents_std.len() != z {
            return Err(Error::model(format!(
                "config has {} latents_mean and {} latents_std values, z_dim is {z}",
                self.config.latents_mean.len(),
                self.config.latents_std.len()
            )));
        }
        let make = |v: &[f64]| {
            Tensor::from_vec(
                v.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                (1, z, 1, 1, 1),
                like.device(),
            )
            .and_then(|t| t.to_dtype(like.dtype()))
            .ctx(|| "latent statistics".into())
        };
        Ok((
            make(&self.config.latents_mean)?,
            make(&self.config.latents_std)?,
        ))
    }
}

#[cfg(test)]
#[path = "vae/tests.rs"]
mod tests;
