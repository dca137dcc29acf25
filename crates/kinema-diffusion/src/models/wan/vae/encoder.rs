//! The Wan VAE encoder (`encoder.*` keys), both layouts: Wan2.1's flat `down_blocks` list and
//! Wan2.2's residual down blocks with `AvgDown3D` shortcuts.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use kinema_core::Result;

use super::blocks::{MidBlock, ResidualBlock};
use super::cache::{cached_conv, FeatCache};
use super::config::WanVaeConfig;
use super::resample::{AvgDown3d, Resample, ResampleMode};
use crate::nn::{CandleContext, CausalConv3d, ChannelRmsNorm};

enum FlatLayer {
    // Both boxed: the layers are hundreds of bytes each and differ widely in size.
    Res(Box<ResidualBlock>),
    Resample(Box<Resample>),
}

/// Wan2.2: `down_blocks.{i}.resnets.{j}`, `down_blocks.{i}.downsampler`, shortcut without weights.
struct ResidualDownBlock {
    resnets: Vec<ResidualBlock>,
    downsampler: Option<Resample>,
    shortcut: AvgDown3d,
}

enum DownBlocks {
    Flat(Vec<FlatLayer>),
    Residual(Vec<ResidualDownBlock>),
}

pub struct Encoder {
    conv_in: CausalConv3d,
    down: DownBlocks,
    mid: MidBlock,
    norm_out: ChannelRmsNorm,
    conv_out: CausalConv3d,
}

impl Encoder {
    /// `in_channels` after patchify; the output has `out_channels` (`2·z_dim`: mean, logvar).
    pub fn load(
        vb: &VarBuilder,
        cfg: &WanVaeConfig,
        in_channels: usize,
        out_channels: usize,
    ) -> Result<Self> {
        let dim = cfg.base_dim;
        let dims: Vec<usize> = std::iter::once(1)
            .chain(cfg.dim_mult.iter().copied())
            .map(|m| m * dim)
            .collect();
        let last = cfg.dim_mult.len() - 1;
        let conv3 =
            |vb: VarBuilder, i, o| CausalConv3d::load(&vb, i, o, [3, 3, 3], [1, 1, 1], [1, 1, 1]);
        let conv_in = conv3(vb.pp("conv_in"), in_channels, dims[0])?;
        let down_vb = vb.pp("down_blocks");
        let down = if cfg.is_residual {
            let mut blocks = Vec::new();
            for i in 0..=last {
                let (in_dim, out_dim) = (dims[i], dims[i + 1]);
                let bvb = down_vb.pp(i.to_string());
                let down_flag = i != last;
                let temporal = down_flag && cfg.temperal_downsample[i];
                let mut resnets = Vec::new();
                for j in 0..cfg.num_res_blocks {
                    let from = if j == 0 { in_dim } else { out_dim };
                    resnets.push(ResidualBlock::load(
                        &bvb.pp(format!("resnets.{j}")),
                        from,
                        out_dim,
                    )?);
                }
                let downsampler = if down_flag {
                    let mode = if temporal {
                        ResampleMode::Downsample3d
                    } else {
                        ResampleMode::Downsample2d
                    };
                    Some(Resample::load(
                        &bvb.pp("downsampler"),
                        out_dim,
                        mode,
                        out_dim,
                    )?)
                } else {
                    None
                };
                let shortcut = AvgDown3d::new(
                    in_dim,
                    out_dim,
                    if temporal { 2 } else { 1 },
                    if down_flag { 2 } else { 1 },
                )?;
                blocks.push(ResidualDownBlock {
                    resnets,
                    downsampler,
                    shortcut,
                });
            }
            DownBlocks::Residual(blocks)
        } else {
            let mut layers = Vec::new();
            for i in 0..=last {
                let (mut in_dim, out_dim) = (dims[i], dims[i + 1]);
                for _ in 0..cfg.num_res_blocks {
                    let lvb = down_vb.pp(layers.len().to_string());
                    layers.push(FlatLayer::Res(Box::new(ResidualBlock::load(
                        &lvb, in_dim, out_dim,
                    )?)));
                    in_dim = out_dim;
                }
                if i != last {
                    let mode = if cfg.temperal_downsample[i] {
                        ResampleMode::Downsample3d
                    } else {
                        ResampleMode::Downsample2d
                    };
                    let lvb = down_vb.pp(layers.len().to_string());
                    layers.push(FlatLayer::Resample(Box::new(Resample::load(
                        &lvb, out_dim, mode, out_dim,
                    )?)));
                }
            }
            DownBlocks::Flat(layers)
        };
        let top = dims[last + 1];
        Ok(Encoder {
            conv_in,
            down,
            mid: MidBlock::load(&vb.pp("mid_block"), top)?,
            norm_out: ChannelRmsNorm::load(&vb.pp("norm_out"), top, false, false)?,
            conv_out: conv3(vb.pp("conv_out"), top, out_channels)?,
        })
    }

    /// Encodes one chunk of frames, reading and updating `cache` when chunking.
    pub fn forward(&self, x: &Tensor, mut cache: Option<&mut FeatCache>) -> Result<Tensor> {
        let mut x = cached_conv(&self.conv_in, x, cache.as_deref_mut())?;
        match &self.down {
            DownBlocks::Flat(layers) => {
                for layer in layers {
                    x = match layer {
                        FlatLayer::Res(r) => r.forward(&x, cache.as_deref_mut())?,
                        FlatLayer::Resample(r) => r.forward(&x, cache.as_deref_mut())?,
                    };
                }
            }
            DownBlocks::Residual(blocks) => {
                for block in blocks {
                    let input = x.clone();
                    for r in &block.resnets {
                        x = r.forward(&x, cache.as_deref_mut())?;
                    }
                    if let Some(d) = &block.downsampler {
                        x = d.forward(&x, cache.as_deref_mut())?;
                    }
                    x = (x + block.shortcut.forward(&input)?)
                        .ctx(|| "down block shortcut".into())?;
                }
            }
        }
        let x = self.mid.forward(&x, cache.as_deref_mut())?;
        let x = self.norm_out.forward_silu(&x)?;
        cached_conv(&self.conv_out, &x, cache)
    }
}
