//! Wan VAE residual block, single-head spatial attention and the middle block.

use candle_core::{Tensor, D};
use candle_nn::VarBuilder;
use kinema_core::Result;

use super::cache::{cached_conv, FeatCache};
use crate::nn::{CandleContext, CausalConv3d, ChannelRmsNorm, Conv3d, Conv3dConfig};

/// `norm → silu → conv → norm → silu → conv`, plus a (1×1×1 conv when the width changes)
/// shortcut. Keys: `norm1.gamma`, `conv1.*`, `norm2.gamma`, `conv2.*`, `conv_shortcut.*`.
pub struct ResidualBlock {
    norm1: ChannelRmsNorm,
    conv1: CausalConv3d,
    norm2: ChannelRmsNorm,
    conv2: CausalConv3d,
    shortcut: Option<CausalConv3d>,
}

impl ResidualBlock {
    pub fn load(vb: &VarBuilder, in_dim: usize, out_dim: usize) -> Result<Self> {
        let conv3 = |name: &str, i: usize| {
            CausalConv3d::load(&vb.pp(name), i, out_dim, [3, 3, 3], [1, 1, 1], [1, 1, 1])
        };
        Ok(ResidualBlock {
            norm1: ChannelRmsNorm::load(&vb.pp("norm1"), in_dim, false, false)?,
            conv1: conv3("conv1", in_dim)?,
            norm2: ChannelRmsNorm::load(&vb.pp("norm2"), out_dim, false, false)?,
            conv2: conv3("conv2", out_dim)?,
            shortcut: if in_dim != out_dim {
                Some(CausalConv3d::load(
                    &vb.pp("conv_shortcut"),
                    in_dim,
                    out_dim,
                    [1, 1, 1],
                    [1, 1, 1],
                    [0, 0, 0],
                )?)
            } else {
                None
            },
        })
    }

    pub fn forward(&self, x: &Tensor, mut cache: Option<&mut FeatCache>) -> Result<Tensor> {
        let h = match &self.shortcut {
            Some(s) => s.forward(x, None)?,
            None => x.clone(),
        };
        let y = self.norm1.forward_silu(x)?;
        let y = cached_conv(&self.conv1, &y, cache.as_deref_mut())?;
        let y = self.norm2.forward_silu(&y)?;
        let y = cached_conv(&self.conv2, &y, cache)?;
        (y + h).ctx(|| "residual add".into())
    }
}

/// Single-head self-attention over the pixels of each frame (no mixing across time).
/// Keys: `norm.gamma` `[C, 1, 1]`, `to_qkv.*` (1×1 conv2d to 3C), `proj.*`.
pub struct AttentionBlock {
    norm: ChannelRmsNorm,
    to_qkv: Conv3d,
    proj: Conv3d,
    dim: usize,
}

impl AttentionBlock {
    pub fn load(vb: &VarBuilder, dim: usize) -> Result<Self> {
        Ok(AttentionBlock {
            norm: ChannelRmsNorm::load(&vb.pp("norm"), dim, true, false)?,
            to_qkv: Conv3d::load_2d(&vb.pp("to_qkv"), dim, dim * 3, 1, Conv3dConfig::default())?,
            proj: Conv3d::load_2d(&vb.pp("proj"), dim, dim, 1, Conv3dConfig::default())?,
            dim,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, t, h, w) = x.dims5().ctx(|| "attention input".into())?;
        let qkv = self.to_qkv.forward(&self.norm.forward(x)?)?;
        let attend = || -> candle_core::Result<Tensor> {
            // [B, 3C, T, H, W] -> [B·T, H·W, 3C]
            let qkv = qkv
                .permute((0, 2, 3, 4, 1))?
                .reshape((b * t, h * w, 3 * c))?;
            let q = qkv.narrow(D::Minus1, 0, c)?.contiguous()?;
            let k = qkv.narrow(D::Minus1, c, c)?.contiguous()?;
            let v = qkv.narrow(D::Minus1, 2 * c, c)?.contiguous()?;
            let scores = (q.matmul(&k.t()?)? * (1.0 / (self.dim as f64).sqrt()))?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let out = probs.matmul(&v)?; // [B·T, H·W, C]
            out.reshape((b, t, h, w, c))?
                .permute((0, 4, 1, 2, 3))?
                .contiguous()
        };
        let out = attend().ctx(|| "attention".into())?;
        (self.proj.forward(&out)? + x).ctx(|| "attention residual".into())
    }
}

/// `resnet → attention → resnet` at the lowest resolution. Keys: `resnets.{0,1}`, `attentions.0`.
pub struct MidBlock {
    resnets: Vec<ResidualBlock>,
    attention: AttentionBlock,
}

impl MidBlock {
    pub fn load(vb: &VarBuilder, dim: usize) -> Result<Self> {
        Ok(MidBlock {
            resnets: vec![
                ResidualBlock::load(&vb.pp("resnets.0"), dim, dim)?,
                ResidualBlock::load(&vb.pp("resnets.1"), dim, dim)?,
            ],
            attention: AttentionBlock::load(&vb.pp("attentions.0"), dim)?,
        })
    }

    pub fn forward(&self, x: &Tensor, mut cache: Option<&mut FeatCache>) -> Result<Tensor> {
        let x = self.resnets[0].forward(x, cache.as_deref_mut())?;
        let x = self.attention.forward(&x)?;
        self.resnets[1].forward(&x, cache)
    }
}
