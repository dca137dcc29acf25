//! The layers of the HunyuanVideo VAE: a causal conv with *replicate* padding, the ResNet
//! block, the causally masked mid-block attention, and the resamplers.
//!
//! Unlike the Wan VAE, diffusers runs this one over the whole clip at once (no feature
//! cache), so the causal padding is the first frame repeated, never zeros or a cache.

use crate::nn::Linear;
use candle_core::{Module, Tensor};
use candle_nn::{GroupNorm, VarBuilder};
use kinema_core::Result;

use super::config::Resample;
use crate::nn::attention::{attention, AttentionChunks};
use crate::nn::{CandleContext, Conv3d, Conv3dConfig};
use crate::weights;

/// `HunyuanVideoCausalConv3d`: replicate-pads `k-1` frames before the clip and `k/2` pixels
/// on each spatial side, then runs an unpadded `nn.Conv3d` (weights under `conv`).
pub struct CausalConv {
    conv: Conv3d,
    kernel: usize,
}

impl CausalConv {
    pub fn load(
        vb: &VarBuilder,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: [usize; 3],
    ) -> Result<Self> {
        let config = Conv3dConfig {
            stride,
            ..Default::default()
        };
        let conv = Conv3d::load(&vb.pp("conv"), c_in, c_out, [kernel; 3], config, true)?;
        Ok(CausalConv { conv, kernel })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let k = self.kernel;
        let x = replicate_pad(x, 2, k - 1, 0)?;
        let x = replicate_pad(&x, 3, k / 2, k / 2)?;
        let x = replicate_pad(&x, 4, k / 2, k / 2)?;
        self.conv.forward(&x)
    }
}

/// Pads `dim` by repeating its first slice `before` times and its last slice `after` times
/// (torch's `F.pad(mode="replicate")` on one axis).
fn replicate_pad(x: &Tensor, dim: usize, before: usize, after: usize) -> Result<Tensor> {
    if before == 0 && after == 0 {
        return Ok(x.clone());
    }
    let pad = || -> candle_core::Result<Tensor> {
        let n = x.dim(dim)?;
        let mut parts = Vec::with_capacity(before + after + 1);
        let first = x.narrow(dim, 0, 1)?;
        let last = x.narrow(dim, n - 1, 1)?;
        parts.extend(std::iter::repeat_n(first, before));
        parts.push(x.clone());
        parts.extend(std::iter::repeat_n(last, after));
        Tensor::cat(&parts, dim)
    };
    pad().ctx(|| format!("replicate padding on axis {dim}"))
}

fn group_norm(vb: &VarBuilder, channels: usize, groups: usize) -> Result<GroupNorm> {
    GroupNorm::new(
        weights::get(vb, &[channels], "weight")?,
        weights::get(vb, &[channels], "bias")?,
        channels,
        groups,
        1e-6,
    )
    .ctx(|| format!("group norm at {}", vb.prefix()))
}

fn norm_silu(norm: &GroupNorm, x: &Tensor) -> Result<Tensor> {
    norm.forward(x)
        .and_then(|x| x.silu())
        .ctx(|| "group norm + silu".into())
}

/// `HunyuanVideoResnetBlockCausal3D`: two norm–SiLU–conv steps plus a (1×1×1 conv when the
/// width changes) shortcut.
pub struct ResnetBlock {
    norm1: GroupNorm,
    conv1: CausalConv,
    norm2: GroupNorm,
    conv2: CausalConv,
    shortcut: Option<CausalConv>,
}

impl ResnetBlock {
    pub fn load(vb: &VarBuilder, c_in: usize, c_out: usize, groups: usize) -> Result<Self> {
        let shortcut = if c_in != c_out {
            Some(CausalConv::load(
                &vb.pp("conv_shortcut"),
                c_in,
                c_out,
                1,
                [1; 3],
            )?)
        } else {
            None
        };
        Ok(ResnetBlock {
            norm1: group_norm(&vb.pp("norm1"), c_in, groups)?,
            conv1: CausalConv::load(&vb.pp("conv1"), c_in, c_out, 3, [1; 3])?,
            norm2: group_norm(&vb.pp("norm2"), c_out, groups)?,
            conv2: CausalConv::load(&vb.pp("conv2"), c_out, c_out, 3, [1; 3])?,
            shortcut,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.conv1.forward(&norm_silu(&self.norm1, x)?)?;
        let h = self.conv2.forward(&norm_silu(&self.norm2, &h)?)?;
        let residual = match &self.shortcut {
            Some(s) => s.forward(x)?,
            None => x.clone(),
        };
        (h + residual).ctx(|| "resnet residual".into())
    }
}

/// The mid-block's single-head self-attention over every latent pixel of every frame, with
/// diffusers' causal frame mask: a token sees all tokens of its own and earlier frames.
///
/// The mask is block-lower-triangular, so instead of an `N×N` bias each frame's queries
/// attend to the keys of frames `0..=f` directly: the same numbers without the mask tensor.
pub struct MidAttention {
    norm: GroupNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
}

impl MidAttention {
    pub fn load(vb: &VarBuilder, channels: usize, groups: usize) -> Result<Self> {
        let c = channels;
        Ok(MidAttention {
            norm: group_norm(&vb.pp("group_norm"), c, groups)?,
            q: weights::linear(&vb.pp("to_q"), c, c)?,
            k: weights::linear(&vb.pp("to_k"), c, c)?,
            v: weights::linear(&vb.pp("to_v"), c, c)?,
            out: weights::linear(&vb.pp("to_out.0"), c, c)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let run = || -> candle_core::Result<Tensor> {
            let (b, c, t, h, w) = x.dims5()?;
            let hw = h * w;
            // [B, C, T, H, W] → tokens [B, T·H·W, C], frame-major.
            let tokens = |y: &Tensor| y.flatten_from(2)?.transpose(1, 2)?.contiguous();
            let normed = tokens(&self.norm.forward(x)?)?;
            let heads = |y: Tensor| y.unsqueeze(1)?.contiguous();
            let q = heads(self.q.forward(&normed)?)?;
            let k = heads(self.k.forward(&normed)?)?;
            let v = heads(self.v.forward(&normed)?)?;
            let scale = 1.0 / (c as f64).sqrt();
            let mut outs = Vec::with_capacity(t);
            for f in 0..t {
                let qf = q.narrow(2, f * hw, hw)?;
                let kf = k.narrow(2, 0, (f + 1) * hw)?;
                let vf = v.narrow(2, 0, (f + 1) * hw)?;
                outs.push(attention(
                    &qf,
                    &kf,
                    &vf,
                    None,
                    scale,
                    AttentionChunks::default(),
                )?);
            }
            let a = Tensor::cat(&outs, 2)?.squeeze(1)?;
            let a = self.out.forward(&a)?;
            let a = a.transpose(1, 2)?.reshape((b, c, t, h, w))?;
            x + a
        };
        run().ctx(|| "VAE mid-block attention".into())
    }
}

/// `HunyuanVideoMidBlock3D`: resnet, then (attention, resnet) once.
pub struct MidBlock {
    first: ResnetBlock,
    attention: Option<MidAttention>,
    second: ResnetBlock,
}

impl MidBlock {
    pub fn load(
        vb: &VarBuilder,
        channels: usize,
        groups: usize,
        with_attention: bool,
    ) -> Result<Self> {
        let attention = if with_attention {
            Some(MidAttention::load(
                &vb.pp("attentions.0"),
                channels,
                groups,
            )?)
        } else {
            None
        };
        Ok(MidBlock {
            first: ResnetBlock::load(&vb.pp("resnets.0"), channels, channels, groups)?,
            attention,
            second: ResnetBlock::load(&vb.pp("resnets.1"), channels, channels, groups)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.first.forward(x)?;
        if let Some(a) = &self.attention {
            x = a.forward(&x)?;
        }
        self.second.forward(&x)
    }
}

/// `HunyuanVideoUpsampleCausal3D`: nearest-neighbour upsampling (the first frame only in
/// space, so a 1+4k clip stays 1+4k), then a causal conv.
pub struct Upsample {
    conv: CausalConv,
    factor: Resample,
}

impl Upsample {
    pub fn load(vb: &VarBuilder, channels: usize, factor: Resample) -> Result<Self> {
        Ok(Upsample {
            conv: CausalConv::load(&vb.pp("conv"), channels, channels, 3, [1; 3])?,
            factor,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let up = || -> candle_core::Result<Tensor> {
            let (b, c, t, h, w) = x.dims5()?;
            let s = self.factor.space;
            let x = if s > 1 {
                let frames = x.permute((0, 2, 1, 3, 4))?.reshape((b * t, c, h, w))?;
                frames
                    .upsample_nearest2d(h * s, w * s)?
                    .reshape((b, t, c, h * s, w * s))?
                    .permute((0, 2, 1, 3, 4))?
            } else {
                x.clone()
            };
            if self.factor.time > 1 && t > 1 {
                // Frame 0 stays single; every later frame is repeated `time` times.
                let mut index: Vec<u32> = vec![0];
                for f in 1..t as u32 {
                    index.extend(std::iter::repeat_n(f, self.factor.time));
                }
                let index = Tensor::new(index, x.device())?;
                x.contiguous()?.index_select(&index, 2)
            } else {
                Ok(x)
            }
        };
        let x = up().ctx(|| "VAE upsampling".into())?;
        self.conv.forward(&x)
    }
}
