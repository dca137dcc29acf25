//! The VAE's 2D encoder (diffusers' `Encoder` with `DownEncoderBlock2D`s and a
//! `UNetMidBlock2D` with attention): every frame is encoded on its own.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use kinema_core::Result;

use super::TemporalVaeConfig;
use crate::models::svd::attention::VaeAttention;
use crate::models::svd::resnet::{Downsample2D, ResnetBlock2D, GROUPS};
use crate::nn::{Conv2d, GroupNorm};

/// Every norm of the encoder uses this epsilon.
const EPS: f64 = 1e-6;

struct Level {
    resnets: Vec<ResnetBlock2D>,
    downsample: Option<Downsample2D>,
}

pub struct Encoder {
    conv_in: Conv2d,
    levels: Vec<Level>,
    mid_resnets: [ResnetBlock2D; 2],
    mid_attention: VaeAttention,
    conv_norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl Encoder {
    /// Keys under `encoder.`: `conv_in`, `down_blocks.{i}.resnets.{j}`,
    /// `down_blocks.{i}.downsamplers.0.conv`, `mid_block.{resnets.{0,1},attentions.0}`,
    /// `conv_norm_out`, `conv_out` (to twice the latent channels: mean and log-variance).
    pub fn load(vb: &VarBuilder, config: &TemporalVaeConfig) -> Result<Self> {
        let widths = &config.block_out_channels;
        let last = *widths.last().unwrap_or(&32);
        let mut levels = Vec::new();
        let mut c_in = widths[0];
        for (i, &c) in widths.iter().enumerate() {
            let vb = vb.pp(format!("down_blocks.{i}"));
            let resnets = (0..config.layers_per_block)
                .map(|j| {
                    let input = if j == 0 { c_in } else { c };
                    ResnetBlock2D::load(&vb.pp(format!("resnets.{j}")), input, c, None, EPS)
                })
                .collect::<Result<Vec<_>>>()?;
            let downsample = if i + 1 < widths.len() {
                Some(Downsample2D::load(&vb.pp("downsamplers.0"), c, 0)?)
            } else {
                None
            };
            levels.push(Level {
                resnets,
                downsample,
            });
            c_in = c;
        }
        let mid = vb.pp("mid_block");
        Ok(Encoder {
            conv_in: Conv2d::load(&vb.pp("conv_in"), config.in_channels, widths[0], 3, 1, 1)?,
            levels,
            mid_resnets: [
                ResnetBlock2D::load(&mid.pp("resnets.0"), last, last, None, EPS)?,
                ResnetBlock2D::load(&mid.pp("resnets.1"), last, last, None, EPS)?,
            ],
            mid_attention: VaeAttention::load(&mid.pp("attentions.0"), last, EPS)?,
            conv_norm_out: GroupNorm::load(&vb.pp("conv_norm_out"), GROUPS, last, EPS)?,
            conv_out: Conv2d::load(
                &vb.pp("conv_out"),
                last,
                2 * config.latent_channels,
                3,
                1,
                1,
            )?,
        })
    }

    /// `x` `[N, C, H, W]` → moments `[N, 2·latent, H/s, W/s]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = self.conv_in.forward(x)?;
        for level in &self.levels {
            for resnet in &level.resnets {
                h = resnet.forward(&h, None)?;
            }
            if let Some(down) = &level.downsample {
                h = down.forward(&h)?;
            }
        }
        h = self.mid_resnets[0].forward(&h, None)?;
        h = self.mid_attention.forward(&h)?;
        h = self.mid_resnets[1].forward(&h, None)?;
        self.conv_out.forward(&self.conv_norm_out.forward_silu(&h)?)
    }
}
