//! The U-Net's down, mid and up blocks (diffusers' `unet_3d_blocks.py`,
//! `*SpatioTemporal`): residual blocks, optionally each followed by a spatio-temporal
//! transformer, and a 2× resampling at the end of every level but the last.
//!
//! diffusers gives these blocks different norm epsilons, and it is easy to miss: plain down
//! blocks and the mid block use 1e-5, cross-attention down blocks and every up block 1e-6
//! (the U-Net passes `resnet_eps=1e-5` but most constructors never read it).

use candle_core::Tensor;
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use super::config::{BlockType, Level};
use crate::models::svd::resnet::{BlockKind, Downsample2D, SpatioTemporalResBlock, Upsample2D};
use crate::models::svd::transformer::TransformerSpatioTemporalModel;
use crate::nn::CandleContext;

fn kind(temb: usize, eps: f64) -> BlockKind {
    BlockKind {
        temb: Some(temb),
        eps,
        temporal_eps: eps,
        switched: false,
    }
}

fn transformer(vb: &VarBuilder, i: usize, level: &Level) -> Result<TransformerSpatioTemporalModel> {
    TransformerSpatioTemporalModel::load(
        &vb.pp(format!("attentions.{i}")),
        level.channels,
        level.heads,
        level.transformer_layers,
        level.cross_attention_dim,
    )
}

/// What every block needs besides its input.
pub struct Conditioning<'a> {
    /// `[B·F, T]`.
    pub temb: &'a Tensor,
    /// `[B·F, L, D]`.
    pub context: &'a Tensor,
    pub frames: usize,
}

/// `DownBlockSpatioTemporal` / `CrossAttnDownBlockSpatioTemporal`.
pub struct DownBlock {
    resnets: Vec<SpatioTemporalResBlock>,
    attentions: Vec<TransformerSpatioTemporalModel>,
    downsample: Option<Downsample2D>,
}

impl DownBlock {
    pub fn load(
        vb: &VarBuilder,
        c_in: usize,
        level: &Level,
        temb: usize,
        last: bool,
    ) -> Result<Self> {
        let eps = match level.down {
            BlockType::Plain => 1e-5,
            BlockType::CrossAttention => 1e-6,
        };
        let mut resnets = Vec::new();
        let mut attentions = Vec::new();
        for i in 0..level.layers {
            let input = if i == 0 { c_in } else { level.channels };
            resnets.push(SpatioTemporalResBlock::load(
                &vb.pp(format!("resnets.{i}")),
                input,
                level.channels,
                kind(temb, eps),
            )?);
            if level.down == BlockType::CrossAttention {
                attentions.push(transformer(vb, i, level)?);
            }
        }
        let downsample = if last {
            None
        } else {
            Some(Downsample2D::load(
                &vb.pp("downsamplers.0"),
                level.channels,
                1,
            )?)
        };
        Ok(DownBlock {
            resnets,
            attentions,
            downsample,
        })
    }

    /// Runs the block, appending every output the up path will take as a skip connection.
    pub fn forward(&self, x: &Tensor, c: &Conditioning, skips: &mut Vec<Tensor>) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, resnet) in self.resnets.iter().enumerate() {
            h = resnet.forward(&h, Some(c.temb), c.frames)?;
            if let Some(attn) = self.attentions.get(i) {
                h = attn.forward(&h, c.context, c.frames)?;
            }
            skips.push(h.clone());
        }
        if let Some(down) = &self.downsample {
            h = down.forward(&h)?;
            skips.push(h.clone());
        }
        Ok(h)
    }
}

/// `UNetMidBlockSpatioTemporal`: a residual block, then (transformer, residual block) pairs.
pub struct MidBlock {
    first: SpatioTemporalResBlock,
    pairs: Vec<(TransformerSpatioTemporalModel, SpatioTemporalResBlock)>,
}

impl MidBlock {
    /// The mid block always has one transformer (with the last level's settings).
    pub fn load(vb: &VarBuilder, level: &Level, temb: usize) -> Result<Self> {
        let k = kind(temb, 1e-5);
        let c = level.channels;
        Ok(MidBlock {
            first: SpatioTemporalResBlock::load(&vb.pp("resnets.0"), c, c, k)?,
            pairs: vec![(
                transformer(vb, 0, level)?,
                SpatioTemporalResBlock::load(&vb.pp("resnets.1"), c, c, k)?,
            )],
        })
    }

    pub fn forward(&self, x: &Tensor, c: &Conditioning) -> Result<Tensor> {
        let mut h = self.first.forward(x, Some(c.temb), c.frames)?;
        for (attn, resnet) in &self.pairs {
            h = attn.forward(&h, c.context, c.frames)?;
            h = resnet.forward(&h, Some(c.temb), c.frames)?;
        }
        Ok(h)
    }
}

/// `UpBlockSpatioTemporal` / `CrossAttnUpBlockSpatioTemporal`: `layers + 1` residual blocks,
/// each on the concatenation of the running features and one skip connection.
pub struct UpBlock {
    resnets: Vec<SpatioTemporalResBlock>,
    attentions: Vec<TransformerSpatioTemporalModel>,
    upsample: Option<Upsample2D>,
}

impl UpBlock {
    /// `prev` is the width coming from below, `skip_in` the width of this level's input (the
    /// last skip it takes).
    pub fn load(
        vb: &VarBuilder,
        prev: usize,
        skip_in: usize,
        level: &Level,
        temb: usize,
        top: bool,
    ) -> Result<Self> {
        let out = level.channels;
        let count = level.layers + 1;
        let mut resnets = Vec::new();
        let mut attentions = Vec::new();
        for i in 0..count {
            let skip = if i == count - 1 { skip_in } else { out };
            let input = if i == 0 { prev } else { out };
            resnets.push(SpatioTemporalResBlock::load(
                &vb.pp(format!("resnets.{i}")),
                input + skip,
                out,
                kind(temb, 1e-6),
            )?);
            if level.up == BlockType::CrossAttention {
                attentions.push(transformer(vb, i, level)?);
            }
        }
        let upsample = if top {
            None
        } else {
            Some(Upsample2D::load(&vb.pp("upsamplers.0"), out)?)
        };
        Ok(UpBlock {
            resnets,
            attentions,
            upsample,
        })
    }

    /// How many skip connections the block takes.
    pub fn skips(&self) -> usize {
        self.resnets.len()
    }

    /// `skips` are taken from the end; `upsample_size` forces the output size of the
    /// upsampling (diffusers' `forward_upsample_size` for sizes not divisible by 2^levels).
    pub fn forward(
        &self,
        x: &Tensor,
        c: &Conditioning,
        skips: &mut Vec<Tensor>,
        upsample_size: Option<[usize; 2]>,
    ) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, resnet) in self.resnets.iter().enumerate() {
            let skip = skips
                .pop()
                .ok_or_else(|| Error::internal("U-Net: ran out of skip connections"))?;
            h = Tensor::cat(&[&h, &skip], 1).ctx(|| "skip connection".into())?;
            h = resnet.forward(&h, Some(c.temb), c.frames)?;
            if let Some(attn) = self.attentions.get(i) {
                h = attn.forward(&h, c.context, c.frames)?;
            }
        }
        if let Some(up) = &self.upsample {
            h = up.forward(&h, upsample_size)?;
        }
        Ok(h)
    }
}
