//! diffusers' `TransformerSpatioTemporalModel`: spatial transformer blocks over the pixels of
//! every frame, each followed by a temporal block over the frames of every pixel (given a
//! learnt frame-position embedding), the two blended by a learnt `AlphaBlender`.

use crate::nn::Linear;
use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use super::attention::{BasicTransformerBlock, TemporalBasicTransformerBlock};
use super::resnet::{AlphaBlender, GROUPS};
use crate::nn::timestep::{timestep_features, TimestepEmbedding};
use crate::nn::{CandleContext, GroupNorm};
use crate::weights::linear;

/// Keys: `norm`, `proj_in`, `transformer_blocks.{i}`, `temporal_transformer_blocks.{i}`,
/// `time_pos_embed`, `time_mixer.mix_factor`, `proj_out`.
pub struct TransformerSpatioTemporalModel {
    channels: usize,
    norm: GroupNorm,
    proj_in: Linear,
    blocks: Vec<(BasicTransformerBlock, TemporalBasicTransformerBlock)>,
    time_pos_embed: TimestepEmbedding,
    mixer: AlphaBlender,
    proj_out: Linear,
}

impl TransformerSpatioTemporalModel {
    /// `channels` = heads × head dim (diffusers builds it with `channels / heads`).
    pub fn load(
        vb: &VarBuilder,
        channels: usize,
        heads: usize,
        layers: usize,
        context_dim: usize,
    ) -> Result<Self> {
        if heads == 0 || !channels.is_multiple_of(heads) {
            return Err(Error::model(format!(
                "spatio-temporal transformer: {channels} channels are not a multiple of {heads} heads"
            )));
        }
        let blocks = (0..layers)
            .map(|i| {
                Ok((
                    BasicTransformerBlock::load(
                        &vb.pp(format!("transformer_blocks.{i}")),
                        channels,
                        heads,
                        context_dim,
                    )?,
                    TemporalBasicTransformerBlock::load(
                        &vb.pp(format!("temporal_transformer_blocks.{i}")),
                        channels,
                        heads,
                        context_dim,
                    )?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TransformerSpatioTemporalModel {
            channels,
            norm: GroupNorm::load(&vb.pp("norm"), GROUPS, channels, 1e-6)?,
            proj_in: linear(&vb.pp("proj_in"), channels, channels)?,
            blocks,
            time_pos_embed: TimestepEmbedding::load(
                &vb.pp("time_pos_embed"),
                channels,
                4 * channels,
                channels,
            )?,
            mixer: AlphaBlender::load(&vb.pp("time_mixer"), false)?,
            proj_out: linear(&vb.pp("proj_out"), channels, channels)?,
        })
    }

    /// `x` `[B·F, C, H, W]` (frame-major clips of `frames`), `context` `[B·F, L, D]` (each
    /// frame's copy of its clip's image embedding). Returns `x` plus the blocks' output.
    pub fn forward(&self, x: &Tensor, context: &Tensor, frames: usize) -> Result<Tensor> {
        let (bf, c, h, w) = x
            .dims4()
            .ctx(|| "spatio-temporal transformer input".into())?;
        let b = bf / frames;
        let normed = self.norm.forward(x)?;
        let frame_emb = self.frame_embedding(b, frames, x)?;
        let run = || -> candle_core::Result<Tensor> {
            let (_, l, d) = context.dims3()?;
            // The first frame's context of every clip: diffusers' `time_context`.
            let time_context = context
                .reshape((b, frames, l, d))?
                .narrow(1, 0, 1)?
                .squeeze(1)?;
            let tokens = normed
                .reshape((bf, c, h * w))?
                .transpose(1, 2)?
                .contiguous()?;
            let mut hidden = self.proj_in.forward(&tokens)?;
            for (spatial, temporal) in &self.blocks {
                hidden = spatial.forward(&hidden, context)?;
                let mixed_in = hidden.broadcast_add(&frame_emb)?;
                let mixed = temporal.forward(&mixed_in, frames, &time_context)?;
                hidden = self
                    .mixer
                    .blend(&hidden, &mixed)
                    .map_err(candle_core::Error::wrap)?;
            }
            let out = self.proj_out.forward(&hidden)?;
            out.transpose(1, 2)?.reshape((bf, c, h, w))? + x
        };
        run().ctx(|| "spatio-temporal transformer".into())
    }

    /// `time_pos_embed(Timesteps(arange(frames)))` per frame, `[B·F, 1, C]` in `like`'s dtype.
    fn frame_embedding(&self, clips: usize, frames: usize, like: &Tensor) -> Result<Tensor> {
        let positions: Vec<f32> = (0..clips)
            .flat_map(|_| (0..frames).map(|f| f as f32))
            .collect();
        let embed = || -> candle_core::Result<Tensor> {
            let features = timestep_features(&positions, self.channels, like.device())?
                .to_dtype(like.dtype())?;
            self.time_pos_embed.forward(&features)?.unsqueeze(1)
        };
        embed().ctx(|| "frame position embedding".into())
    }
}
