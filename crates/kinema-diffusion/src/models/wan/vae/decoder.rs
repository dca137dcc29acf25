//! The Wan VAE decoder (`decoder.*` keys): Wan2.1's `up_blocks.{i}.upsamplers.0` layout and
//! Wan2.2's residual up blocks (`upsampler`, `DupUp3D` shortcut).

use candle_core::Tensor;
use candle_nn::VarBuilder;
use kinema_core::Result;

use super::blocks::{MidBlock, ResidualBlock};
use super::cache::{cached_conv, FeatCache};
use super::config::WanVaeConfig;
use super::resample::{DupUp3d, Resample, ResampleMode};
use crate::nn::{CandleContext, CausalConv3d, ChannelRmsNorm};

struct UpBlock {
    resnets: Vec<ResidualBlock>,
    upsampler: Option<Resample>,
    /// Wan2.2 only.
    shortcut: Option<DupUp3d>,
}

pub struct Decoder {
    conv_in: CausalConv3d,
    mid: MidBlock,
    up_blocks: Vec<UpBlock>,
    norm_out: ChannelRmsNorm,
    conv_out: CausalConv3d,
}

impl Decoder {
    /// `out_channels` before unpatchify (`out_channels · patch²`).
    pub fn load(vb: &VarBuilder, cfg: &WanVaeConfig, out_channels: usize) -> Result<Self> {
        let dim = cfg.decoder_dim();
        let mults = std::iter::once(cfg.dim_mult[cfg.dim_mult.len() - 1])
            .chain(cfg.dim_mult.iter().rev().copied());
        let dims: Vec<usize> = mults.map(|m| m * dim).collect();
        let temporal_up = cfg.temperal_upsample();
        let last = cfg.dim_mult.len() - 1;
        let conv3 =
            |vb: VarBuilder, i, o| CausalConv3d::load(&vb, i, o, [3, 3, 3], [1, 1, 1], [1, 1, 1]);
        let conv_in = conv3(vb.pp("conv_in"), cfg.z_dim, dims[0])?;
        let mid = MidBlock::load(&vb.pp("mid_block"), dims[0])?;
        let mut up_blocks = Vec::new();
        for i in 0..=last {
            let (mut in_dim, out_dim) = (dims[i], dims[i + 1]);
            if i > 0 && !cfg.is_residual {
                in_dim /= 2;
            }
            let up_flag = i != last;
            // The encoder list may be longer than dim_mult needs; diffusers indexes the reversed list.
            let temporal = up_flag && temporal_up.get(i).copied().unwrap_or(false);
            let mode = if temporal {
                ResampleMode::Upsample3d
            } else {
                ResampleMode::Upsample2d
            };
            let bvb = vb.pp(format!("up_blocks.{i}"));
            let mut resnets = Vec::new();
            for j in 0..=cfg.num_res_blocks {
                let from = if j == 0 { in_dim } else { out_dim };
                resnets.push(ResidualBlock::load(
                    &bvb.pp(format!("resnets.{j}")),
                    from,
                    out_dim,
                )?);
            }
            let block = if cfg.is_residual {
                UpBlock {
                    resnets,
                    upsampler: if up_flag {
                        Some(Resample::load(
                            &bvb.pp("upsampler"),
                            out_dim,
                            mode,
                            out_dim,
                        )?)
                    } else {
                        None
                    },
                    shortcut: if up_flag {
                        Some(DupUp3d::new(
                            in_dim,
                            out_dim,
                            if temporal { 2 } else { 1 },
                            2,
                        )?)
                    } else {
                        None
                    },
                }
            } else {
                UpBlock {
                    resnets,
                    upsampler: if up_flag {
                        Some(Resample::load(
                            &bvb.pp("upsamplers.0"),
                            out_dim,
                            mode,
                            out_dim / 2,
                        )?)
                    } else {
                        None
                    },
                    shortcut: None,
                }
            };
            up_blocks.push(block);
        }
        let top = dims[last + 1];
        Ok(Decoder {
            conv_in,
            mid,
            up_blocks,
            norm_out: ChannelRmsNorm::load(&vb.pp("norm_out"), top, false, false)?,
            conv_out: conv3(vb.pp("conv_out"), top, out_channels)?,
        })
    }

    /// Decodes one latent frame (or a whole clip without cache). `first_chunk` marks the
    /// first latent frame, which decodes to a single video frame.
    pub fn forward(
        &self,
        x: &Tensor,
        mut cache: Option<&mut FeatCache>,
        first_chunk: bool,
    ) -> Result<Tensor> {
        let x = cached_conv(&self.conv_in, x, cache.as_deref_mut())?;
        let mut x = self.mid.forward(&x, cache.as_deref_mut())?;
        for block in &self.up_blocks {
            let input = x.clone();
            for r in &block.resnets {
                x = r.forward(&x, cache.as_deref_mut())?;
            }
            if let Some(u) = &block.upsampler {
                x = u.forward(&x, cache.as_deref_mut())?;
            }
            if let Some(s) = &block.shortcut {
                x = (x + s.forward(&input, first_chunk)?).ctx(|| "up block shortcut".into())?;
            }
        }
        let x = self.norm_out.forward_silu(&x)?;
        cached_conv(&self.conv_out, &x, cache)
    }
}
