//! `HunyuanVideoEncoder3D` and `HunyuanVideoDecoder3D`: stages of ResNet blocks with causal
//! resampling between them, a mid-block with attention, and norm–SiLU–conv heads.

use candle_core::Tensor;
use candle_nn::{GroupNorm, Module, VarBuilder};
use kinema_core::Result;

use super::blocks::{CausalConv, MidBlock, ResnetBlock, Upsample};
use super::config::Config;
use crate::nn::CandleContext;
use crate::weights;

fn head_norm(vb: &VarBuilder, channels: usize, groups: usize) -> Result<GroupNorm> {
    GroupNorm::new(
        weights::get(vb, &[channels], "weight")?,
        weights::get(vb, &[channels], "bias")?,
        channels,
        groups,
        1e-6,
    )
    .ctx(|| "conv_norm_out".into())
}

struct DownStage {
    resnets: Vec<ResnetBlock>,
    downsample: Option<CausalConv>,
}

/// Video `[B, 3, F, H, W]` → moments `[B, 2·latent, 1 + (F-1)/4, H/8, W/8]` (before
/// `quant_conv`).
pub struct Encoder {
    conv_in: CausalConv,
    stages: Vec<DownStage>,
    mid: MidBlock,
    norm_out: GroupNorm,
    conv_out: CausalConv,
}

impl Encoder {
    pub fn load(vb: &VarBuilder, cfg: &Config) -> Result<Self> {
        let ch = &cfg.block_out_channels;
        let g = cfg.norm_num_groups;
        let conv_in = CausalConv::load(&vb.pp("conv_in"), cfg.in_channels, ch[0], 3, [1; 3])?;
        let mut stages = Vec::with_capacity(ch.len());
        let mut c_prev = ch[0];
        for (i, &c) in ch.iter().enumerate() {
            let s = vb.pp(format!("down_blocks.{i}"));
            let mut resnets = Vec::with_capacity(cfg.layers_per_block);
            for j in 0..cfg.layers_per_block {
                let c_in = if j == 0 { c_prev } else { c };
                resnets.push(ResnetBlock::load(
                    &s.pp(format!("resnets.{j}")),
                    c_in,
                    c,
                    g,
                )?);
            }
            let r = cfg.stage_resample(i);
            let downsample = if r.any() {
                let stride = [r.time, r.space, r.space];
                Some(CausalConv::load(
                    &s.pp("downsamplers.0.conv"),
                    c,
                    c,
                    3,
                    stride,
                )?)
            } else {
                None
            };
            stages.push(DownStage {
                resnets,
                downsample,
            });
            c_prev = c;
        }
        let top = *ch.last().unwrap_or(&ch[0]);
        Ok(Encoder {
            conv_in,
            stages,
            mid: MidBlock::load(&vb.pp("mid_block"), top, g, cfg.mid_block_add_attention)?,
            norm_out: head_norm(&vb.pp("conv_norm_out"), top, g)?,
            conv_out: CausalConv::load(
                &vb.pp("conv_out"),
                top,
                2 * cfg.latent_channels,
                3,
                [1; 3],
            )?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.conv_in.forward(x)?;
        for stage in &self.stages {
            for r in &stage.resnets {
                x = r.forward(&x)?;
            }
            if let Some(d) = &stage.downsample {
                x = d.forward(&x)?;
            }
        }
        let x = self.mid.forward(&x)?;
        let x = self
            .norm_out
            .forward(&x)
            .and_then(|x| x.silu())
            .ctx(|| "encoder head".into())?;
        self.conv_out.forward(&x)
    }
}

struct UpStage {
    resnets: Vec<ResnetBlock>,
    upsample: Option<Upsample>,
}

/// Latents `[B, latent, T, h, w]` (after `post_quant_conv`) → video `[B, 3, 1 + 4(T-1), 8h, 8w]`.
pub struct Decoder {
    conv_in: CausalConv,
    mid: MidBlock,
    stages: Vec<UpStage>,
    norm_out: GroupNorm,
    conv_out: CausalConv,
}

impl Decoder {
    pub fn load(vb: &VarBuilder, cfg: &Config) -> Result<Self> {
        let rev: Vec<usize> = cfg.block_out_channels.iter().rev().copied().collect();
        let g = cfg.norm_num_groups;
        let top = rev[0];
        let conv_in = CausalConv::load(&vb.pp("conv_in"), cfg.latent_channels, top, 3, [1; 3])?;
        let mid = MidBlock::load(&vb.pp("mid_block"), top, g, cfg.mid_block_add_attention)?;
        let mut stages = Vec::with_capacity(rev.len());
        let mut c_prev = top;
        for (i, &c) in rev.iter().enumerate() {
            let s = vb.pp(format!("up_blocks.{i}"));
            // The decoder has one more resnet per stage than the encoder.
            let mut resnets = Vec::with_capacity(cfg.layers_per_block + 1);
            for j in 0..=cfg.layers_per_block {
                let c_in = if j == 0 { c_prev } else { c };
                resnets.push(ResnetBlock::load(
                    &s.pp(format!("resnets.{j}")),
                    c_in,
                    c,
                    g,
                )?);
            }
            let r = cfg.stage_resample(i);
            let upsample = if r.any() {
                Some(Upsample::load(&s.pp("upsamplers.0"), c, r)?)
            } else {
                None
            };
            stages.push(UpStage { resnets, upsample });
            c_prev = c;
        }
        let bottom = cfg.block_out_channels[0];
        Ok(Decoder {
            conv_in,
            mid,
            stages,
            norm_out: head_norm(&vb.pp("conv_norm_out"), bottom, g)?,
            conv_out: CausalConv::load(&vb.pp("conv_out"), bottom, cfg.out_channels, 3, [1; 3])?,
        })
    }

    pub fn forward(&self, z: &Tensor) -> Result<Tensor> {
        let x = self.conv_in.forward(z)?;
        let mut x = self.mid.forward(&x)?;
        for stage in &self.stages {
            for r in &stage.resnets {
                x = r.forward(&x)?;
            }
            if let Some(u) = &stage.upsample {
                x = u.forward(&x)?;
            }
        }
        let x = self
            .norm_out
            .forward(&x)
            .and_then(|x| x.silu())
            .ctx(|| "decoder head".into())?;
        self.conv_out.forward(&x)
    }
}
