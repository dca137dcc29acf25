//! The VAE's temporal decoder (diffusers' `TemporalDecoder`): spatio-temporal residual
//! blocks mixing each clip's frames, and a final `(3, 1, 1)` convolution over time
//! (`time_conv_out`).
//!
//! The mid block (`MidBlockTemporalDecoder`) is easy to get wrong: it holds `layers`
//! residual blocks and one attention, but runs only `resnets[0]`, then — when there is a
//! second residual block — the attention and `resnets[1]`. With one layer per block the
//! attention is saved in the checkpoint and never applied; from the third block on, the
//! residual blocks are saved and never applied. Unused blocks are not loaded.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use kinema_core::Result;

use super::TemporalVaeConfig;
use crate::models::svd::attention::VaeAttention;
use crate::models::svd::resnet::{BlockKind, SpatioTemporalResBlock, Upsample2D, GROUPS};
use crate::nn::{Conv2d, GroupNorm, TemporalConv};

/// The decoder's blocks: no time embedding, 1e-6 for the 2D norms and 1e-5 for the temporal
/// ones, and the switched blend.
const KIND: BlockKind = BlockKind {
    temb: None,
    eps: 1e-6,
    temporal_eps: 1e-5,
    switched: true,
};

struct Level {
    resnets: Vec<SpatioTemporalResBlock>,
    upsample: Option<Upsample2D>,
}

pub struct TemporalDecoder {
    conv_in: Conv2d,
    mid_first: SpatioTemporalResBlock,
    /// The attention and second residual block, when the mid block has two layers or more.
    mid_rest: Option<(VaeAttention, SpatioTemporalResBlock)>,
    levels: Vec<Level>,
    conv_norm_out: GroupNorm,
    conv_out: Conv2d,
    time_conv_out: TemporalConv,
}

impl TemporalDecoder {
    /// Keys under `decoder.`: `conv_in`, `mid_block.{resnets.{i},attentions.0}`,
    /// `up_blocks.{i}.resnets.{j}`, `up_blocks.{i}.upsamplers.0.conv`, `conv_norm_out`,
    /// `conv_out`, `time_conv_out`.
    pub fn load(vb: &VarBuilder, config: &TemporalVaeConfig) -> Result<Self> {
        let widths: Vec<usize> = config.block_out_channels.iter().rev().copied().collect();
        let top = widths[0];
        let mid = vb.pp("mid_block");
        let mid_first = SpatioTemporalResBlock::load(&mid.pp("resnets.0"), top, top, KIND)?;
        let mid_rest = if config.layers_per_block >= 2 {
            Some((
                VaeAttention::load(&mid.pp("attentions.0"), top, 1e-6)?,
                SpatioTemporalResBlock::load(&mid.pp("resnets.1"), top, top, KIND)?,
            ))
        } else {
            None
        };
        let mut levels = Vec::new();
        let mut prev = top;
        for (i, &c) in widths.iter().enumerate() {
            let vb = vb.pp(format!("up_blocks.{i}"));
            let resnets = (0..config.layers_per_block + 1)
                .map(|j| {
                    let input = if j == 0 { prev } else { c };
                    SpatioTemporalResBlock::load(&vb.pp(format!("resnets.{j}")), input, c, KIND)
                })
                .collect::<Result<Vec<_>>>()?;
            let upsample = if i + 1 < widths.len() {
                Some(Upsample2D::load(&vb.pp("upsamplers.0"), c)?)
            } else {
                None
            };
            levels.push(Level { resnets, upsample });
            prev = c;
        }
        let bottom = *widths.last().unwrap_or(&top);
        let out = config.out_channels;
        Ok(TemporalDecoder {
            conv_in: Conv2d::load(&vb.pp("conv_in"), config.latent_channels, top, 3, 1, 1)?,
            mid_first,
            mid_rest,
            levels,
            conv_norm_out: GroupNorm::load(&vb.pp("conv_norm_out"), GROUPS, bottom, 1e-6)?,
            conv_out: Conv2d::load(&vb.pp("conv_out"), bottom, out, 3, 1, 1)?,
            time_conv_out: TemporalConv::load(&vb.pp("time_conv_out"), out, out, 3)?,
        })
    }

    /// `z` `[B·F, latent, h, w]` (frame-major clips of `frames`) → `[B·F, out, H, W]`.
    pub fn forward(&self, z: &Tensor, frames: usize) -> Result<Tensor> {
        let mut h = self.conv_in.forward(z)?;
        h = self.mid_first.forward(&h, None, frames)?;
        if let Some((attention, resnet)) = &self.mid_rest {
            h = attention.forward(&h)?;
            h = resnet.forward(&h, None, frames)?;
        }
        for level in &self.levels {
            for resnet in &level.resnets {
                h = resnet.forward(&h, None, frames)?;
            }
            if let Some(up) = &level.upsample {
                h = up.forward(&h, None)?;
            }
        }
        let h = self
            .conv_out
            .forward(&self.conv_norm_out.forward_silu(&h)?)?;
        self.time_conv_out.forward(&h, frames)
    }
}
