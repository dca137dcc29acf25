//! `UNetSpatioTemporalConditionModel`: Stable Video Diffusion's denoiser.
//!
//! Input `[B, F, C, h, w]` (noisy latents with the image latents concatenated on channels),
//! a continuous timestep per sample, the CLIP image embedding `[B, L, D]` and the
//! `added_time_ids` `[B, 3]` (fps − 1, motion bucket, noise augmentation strength), which are
//! embedded like timesteps and added to the time embedding. Frames travel in the batch axis
//! (`[B·F, C, h, w]`); the temporal layers read each run of `F` as a clip.

mod blocks;
mod config;

pub use config::{BlockType, Level, UNetConfig};

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use self::blocks::{Conditioning, DownBlock, MidBlock, UpBlock};
use super::resnet::GROUPS;
use crate::nn::timestep::{timestep_features, TimestepEmbedding};
use crate::nn::{CandleContext, Conv2d, GroupNorm};
use crate::weights;

pub struct UNetSpatioTemporalConditionModel {
    config: UNetConfig,
    dtype: DType,
    /// Width of `encoder_hidden_states` (the mid block's cross-attention input).
    context_dim: usize,
    conv_in: Conv2d,
    time_embedding: TimestepEmbedding,
    add_embedding: TimestepEmbedding,
    down: Vec<DownBlock>,
    mid: MidBlock,
    /// From the lowest level up, as diffusers lists them.
    up: Vec<UpBlock>,
    conv_norm_out: GroupNorm,
    conv_out: Conv2d,
}

/// One forward pass's inputs.
pub struct UNetInput<'a> {
    /// `[B, F, in_channels, h, w]`.
    pub sample: &'a Tensor,
    /// One continuous timestep per sample (SVD: `0.25·ln σ`).
    pub timesteps: &'a [f32],
    /// `[B, L, cross_attention_dim]`.
    pub encoder_hidden_states: &'a Tensor,
    /// `[B, K]` with `K · addition_time_embed_dim = projection_class_embeddings_input_dim`.
    pub added_time_ids: &'a Tensor,
}

impl UNetSpatioTemporalConditionModel {
    /// Loads a diffusers `unet/` folder.
    pub fn from_dir(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        let config = UNetConfig::from_dir(dir)?;
        let vb = weights::load_var_builder(dir, dtype, device)?;
        Self::new(config, &vb).map_err(|e| Error {
            message: format!("{}: {}", dir.display(), e.message),
            ..e
        })
    }

    pub fn new(config: UNetConfig, vb: &VarBuilder) -> Result<Self> {
        let levels = config.levels()?;
        let c0 = levels[0].channels;
        let temb = config.time_embed_dim();
        let n = levels.len();
        let mut down = Vec::with_capacity(n);
        let mut c_in = c0;
        for (i, level) in levels.iter().enumerate() {
            down.push(DownBlock::load(
                &vb.pp(format!("down_blocks.{i}")),
                c_in,
                level,
                temb,
                i == n - 1,
            )?);
            c_in = level.channels;
        }
        let mid = MidBlock::load(&vb.pp("mid_block"), &levels[n - 1], temb)?;
        let mut up = Vec::with_capacity(n);
        let mut prev = levels[n - 1].channels;
        for (i, j) in (0..n).rev().enumerate() {
            let skip_in = levels[j.saturating_sub(1)].channels;
            up.push(UpBlock::load(
                &vb.pp(format!("up_blocks.{i}")),
                prev,
                skip_in,
                &levels[j],
                temb,
                j == 0,
            )?);
            prev = levels[j].channels;
        }
        Ok(UNetSpatioTemporalConditionModel {
            dtype: vb.dtype(),
            context_dim: levels[n - 1].cross_attention_dim,
            conv_in: Conv2d::load(&vb.pp("conv_in"), config.in_channels, c0, 3, 1, 1)?,
            time_embedding: TimestepEmbedding::load(&vb.pp("time_embedding"), c0, temb, temb)?,
            add_embedding: TimestepEmbedding::load(
                &vb.pp("add_embedding"),
                config.projection_class_embeddings_input_dim,
                temb,
                temb,
            )?,
            down,
            mid,
            up,
            conv_norm_out: GroupNorm::load(&vb.pp("conv_norm_out"), GROUPS, c0, 1e-5)?,
            conv_out: Conv2d::load(&vb.pp("conv_out"), c0, config.out_channels, 3, 1, 1)?,
            config,
        })
    }

    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The denoiser's output `[B, F, out_channels, h, w]` in the model's dtype.
    pub fn forward(&self, input: &UNetInput) -> Result<Tensor> {
        let (b, frames, _, h, w) = self.check(input)?;
        let emb = self.embed(input, b)?;
        let temb = repeat_frames(&emb, frames).ctx(|| "repeating the time embedding".into())?;
        let context = input
            .encoder_hidden_states
            .to_dtype(self.dtype)
            .and_then(|t| repeat_frames(&t, frames))
            .ctx(|| "repeating the image embedding".into())?;
        let cond = Conditioning {
            temb: &temb,
            context: &context,
            frames,
        };
        let x = input
            .sample
            .to_dtype(self.dtype)
            .and_then(|s| s.reshape((b * frames, self.config.in_channels, h, w)))
            .ctx(|| "U-Net input".into())?;
        let mut x = self.conv_in.forward(&x)?;
        let mut skips = vec![x.clone()];
        for block in &self.down {
            x = block.forward(&x, &cond, &mut skips)?;
        }
        x = self.mid.forward(&x, &cond)?;
        // Sizes not divisible by 2^(levels−1) upsample to each skip's own size.
        let factor = self.config.downsample_factor();
        let forced = !h.is_multiple_of(factor) || !w.is_multiple_of(factor);
        let last = self.up.len() - 1;
        for (i, block) in self.up.iter().enumerate() {
            let size = if forced && i != last {
                let remaining = skips.len() - block.skips();
                let target = skips.get(remaining.wrapping_sub(1)).ok_or_else(|| {
                    Error::internal("U-Net: no skip connection to size the upsampling")
                })?;
                let (_, _, th, tw) = target.dims4().ctx(|| "skip dims".into())?;
                Some([th, tw])
            } else {
                None
            };
            x = block.forward(&x, &cond, &mut skips, size)?;
        }
        let x = self
            .conv_out
            .forward(&self.conv_norm_out.forward_silu(&x)?)?;
        x.reshape((b, frames, self.config.out_channels, h, w))
            .ctx(|| "U-Net output".into())
    }

    /// Validates shapes, returning `(B, F, C, h, w)`.
    fn check(&self, input: &UNetInput) -> Result<(usize, usize, usize, usize, usize)> {
        let bad = |msg: String| {
            Err(Error::invalid(
                format!("U-Net input: {msg}"),
                "check the latent and conditioning shapes",
            ))
        };
        let &[b, f, c, h, w] = input.sample.dims() else {
            return bad(format!(
                "sample must be [B, F, C, h, w], got {:?}",
                input.sample.dims()
            ));
        };
        if c != self.config.in_channels || b == 0 || f == 0 || h == 0 || w == 0 {
            return bad(format!(
                "sample {:?} does not have {} channels and positive sizes",
                input.sample.dims(),
                self.config.in_channels
            ));
        }
        if input.timesteps.len() != b && input.timesteps.len() != 1 {
            return bad(format!(
                "{} timesteps for a batch of {b}",
                input.timesteps.len()
            ));
        }
        match input.encoder_hidden_states.dims() {
            [eb, l, d] if *eb == b && *l > 0 && *d == self.context_dim => {}
            other => {
                return bad(format!(
                    "encoder_hidden_states must be [{b}, L, {}], got {other:?}",
                    self.context_dim
                ))
            }
        }
        let width = self.config.projection_class_embeddings_input_dim;
        match input.added_time_ids.dims() {
            [ib, k] if *ib == b && k * self.config.addition_time_embed_dim == width => {}
            other => {
                return bad(format!(
                    "added_time_ids {other:?} do not embed to {width} values ({} per id)",
                    self.config.addition_time_embed_dim
                ))
            }
        }
        Ok((b, f, c, h, w))
    }

    /// The time embedding plus the embedded `added_time_ids`, `[B, T]` in the model's dtype.
    fn embed(&self, input: &UNetInput, b: usize) -> Result<Tensor> {
        let device = input.sample.device();
        let c0 = self.config.block_out_channels[0];
        let t: Vec<f32> = if input.timesteps.len() == 1 {
            vec![input.timesteps[0]; b]
        } else {
            input.timesteps.to_vec()
        };
        let ids: Vec<f32> = input
            .added_time_ids
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1())
            .ctx(|| "added_time_ids".into())?;
        let run = || -> candle_core::Result<Tensor> {
            let t_emb = timestep_features(&t, c0, device)?.to_dtype(self.dtype)?;
            let emb = self.time_embedding.forward(&t_emb)?;
            let a = self.config.addition_time_embed_dim;
            let add = timestep_features(&ids, a, device)?
                .reshape((b, ids.len() / b * a))?
                .to_dtype(self.dtype)?;
            emb + self.add_embedding.forward(&add)?
        };
        run().ctx(|| "U-Net time embedding".into())
    }
}

/// diffusers' `repeat_interleave(frames, dim=0)`: `[B, …]` → `[B·F, …]`, each item repeated
/// for its frames.
fn repeat_frames(t: &Tensor, frames: usize) -> candle_core::Result<Tensor> {
    let dims = t.dims().to_vec();
    let mut expanded = dims.clone();
    expanded.insert(1, frames);
    let mut flat = dims;
    flat[0] *= frames;
    t.unsqueeze(1)?
        .broadcast_as(expanded)?
        .contiguous()?
        .reshape(flat)
}
