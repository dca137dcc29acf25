//! The residual blocks of Stable Video Diffusion's U-Net and temporal VAE (diffusers'
//! `models/resnet.py`, `downsampling.py`, `upsampling.py`).
//!
//! Activations are frame-major `[B·F, C, H, W]` throughout: the 2D layers see frames as
//! batch items, and the temporal layers read runs of `F` items as one clip (see
//! [`crate::nn::TemporalConv`] and [`GroupNorm::forward_frames`]), so the block never
//! permutes to `[B, C, F, H, W]` and back as diffusers does.

use crate::nn::Linear;
use candle_core::{DType, Module, Tensor};
use candle_nn::VarBuilder;
use kinema_core::Result;

use crate::nn::activations::{silu_tensor, weighted_sum};
use crate::nn::conv2d::resize_nearest;
use crate::nn::{CandleContext, Conv2d, GroupNorm, TemporalConv};
use crate::weights::{self, linear};

/// Every norm in these models has 32 groups, whatever the config says elsewhere.
pub const GROUPS: usize = 32;

/// `silu(temb) → Linear` as `[N, O, 1, 1]`, ready to add to a feature map.
fn project_temb(proj: &Linear, temb: &Tensor) -> candle_core::Result<Tensor> {
    let t = proj.forward(&silu_tensor(temb)?)?;
    let (n, o) = t.dims2()?;
    t.reshape((n, o, 1, 1))
}

/// diffusers' `ResnetBlock2D` with the default time embedding (added after `conv1`) and
/// output scale 1. Keys: `norm1`, `conv1`, `time_emb_proj` (when `temb`), `norm2`, `conv2`,
/// `conv_shortcut` (when the width changes).
pub struct ResnetBlock2D {
    norm1: GroupNorm,
    conv1: Conv2d,
    time_emb_proj: Option<Linear>,
    norm2: GroupNorm,
    conv2: Conv2d,
    shortcut: Option<Conv2d>,
}

impl ResnetBlock2D {
    pub fn load(
        vb: &VarBuilder,
        c_in: usize,
        c_out: usize,
        temb: Option<usize>,
        eps: f64,
    ) -> Result<Self> {
        Ok(ResnetBlock2D {
            norm1: GroupNorm::load(&vb.pp("norm1"), GROUPS, c_in, eps)?,
            conv1: Conv2d::load(&vb.pp("conv1"), c_in, c_out, 3, 1, 1)?,
            time_emb_proj: match temb {
                Some(t) => Some(linear(&vb.pp("time_emb_proj"), t, c_out)?),
                None => None,
            },
            norm2: GroupNorm::load(&vb.pp("norm2"), GROUPS, c_out, eps)?,
            conv2: Conv2d::load(&vb.pp("conv2"), c_out, c_out, 3, 1, 1)?,
            shortcut: if c_in != c_out {
                Some(Conv2d::load(&vb.pp("conv_shortcut"), c_in, c_out, 1, 1, 0)?)
            } else {
                None
            },
        })
    }

    /// `x` `[N, C, H, W]`, `temb` `[N, T]` (required when the block has `time_emb_proj`).
    pub fn forward(&self, x: &Tensor, temb: Option<&Tensor>) -> Result<Tensor> {
        let mut h = self.conv1.forward(&self.norm1.forward_silu(x)?)?;
        if let (Some(proj), Some(temb)) = (&self.time_emb_proj, temb) {
            h = project_temb(proj, temb)
                .and_then(|t| h.broadcast_add(&t))
                .ctx(|| "resnet time embedding".into())?;
        }
        let h = self.conv2.forward(&self.norm2.forward_silu(&h)?)?;
        let skip = match &self.shortcut {
            Some(s) => s.forward(x)?,
            None => x.clone(),
        };
        (skip + h).ctx(|| "resnet residual".into())
    }
}

/// diffusers' `TemporalResnetBlock`: the same shape along time, with `(3, 1, 1)` kernels and
/// norms whose statistics span every frame of a clip. Keys as [`ResnetBlock2D`] (`conv1` and
/// `conv2` are `[C, C, 3, 1, 1]`); input and output widths are equal in every SVD block.
pub struct TemporalResnetBlock {
    norm1: GroupNorm,
    conv1: TemporalConv,
    time_emb_proj: Option<Linear>,
    norm2: GroupNorm,
    conv2: TemporalConv,
}

impl TemporalResnetBlock {
    pub fn load(vb: &VarBuilder, channels: usize, temb: Option<usize>, eps: f64) -> Result<Self> {
        Ok(TemporalResnetBlock {
            norm1: GroupNorm::load(&vb.pp("norm1"), GROUPS, channels, eps)?,
            conv1: TemporalConv::load(&vb.pp("conv1"), channels, channels, 3)?,
            time_emb_proj: match temb {
                Some(t) => Some(linear(&vb.pp("time_emb_proj"), t, channels)?),
                None => None,
            },
            norm2: GroupNorm::load(&vb.pp("norm2"), GROUPS, channels, eps)?,
            conv2: TemporalConv::load(&vb.pp("conv2"), channels, channels, 3)?,
        })
    }

    /// `x` `[B·F, C, H, W]` (frame-major clips of `frames`), `temb` `[B·F, T]`.
    pub fn forward(&self, x: &Tensor, temb: Option<&Tensor>, frames: usize) -> Result<Tensor> {
        let h = self.norm1.forward_frames(x, frames, true)?;
        let mut h = self.conv1.forward(&h, frames)?;
        if let (Some(proj), Some(temb)) = (&self.time_emb_proj, temb) {
            h = project_temb(proj, temb)
                .and_then(|t| h.broadcast_add(&t))
                .ctx(|| "temporal resnet time embedding".into())?;
        }
        let h = self.norm2.forward_frames(&h, frames, true)?;
        let h = self.conv2.forward(&h, frames)?;
        (x + h).ctx(|| "temporal resnet residual".into())
    }
}

/// diffusers' `AlphaBlender` as SVD uses it: `α·spatial + (1 − α)·temporal`, with
/// coefficients rounded to the activations' dtype as torch does.
///
/// The two models set it up the opposite way round: the U-Net's (`learned_with_images`, every
/// frame a video frame) has `α = σ(m)`; the VAE decoder's (`learned`,
/// `switch_spatial_to_temporal_mix`) has `α = 1 − σ(m)`. With the default `m = 0` both are
/// ½, which is why only a re-randomised `mix_factor` tells them apart.
pub struct AlphaBlender {
    /// σ(m) in float32.
    sigmoid: f32,
    switched: bool,
}

impl AlphaBlender {
    /// Loads `mix_factor` (`[1]`) under `vb`; `switched` for the VAE decoder.
    pub fn load(vb: &VarBuilder, switched: bool) -> Result<Self> {
        let m = weights::get(vb, &[1], "mix_factor")?
            .to_dtype(DType::F32)
            .and_then(|t| t.to_vec1::<f32>())
            .ctx(|| "mix_factor".into())?[0];
        Ok(AlphaBlender {
            sigmoid: 1.0 / (1.0 + (-m).exp()),
            switched,
        })
    }

    /// `(α, 1 − α)` as the activations' dtype holds them.
    fn coefficients(&self, dtype: DType) -> (f64, f64) {
        let round = |v: f32| -> f32 {
            match dtype {
                DType::BF16 => half::bf16::from_f32(v).to_f32(),
                DType::F16 => half::f16::from_f32(v).to_f32(),
                _ => v,
            }
        };
        let mut alpha = round(self.sigmoid);
        if self.switched {
            alpha = round(1.0 - alpha);
        }
        (alpha as f64, round(1.0 - alpha) as f64)
    }

    pub fn blend(&self, spatial: &Tensor, temporal: &Tensor) -> Result<Tensor> {
        let (a, b) = self.coefficients(spatial.dtype());
        weighted_sum(spatial, a, temporal, b).ctx(|| "alpha blend".into())
    }
}

/// diffusers' `SpatioTemporalResBlock`: a 2D resnet on every frame, a temporal resnet on
/// its output, the two blended. Keys: `spatial_res_block.*`, `temporal_res_block.*`,
/// `time_mixer.mix_factor`. The temporal block's norms use `temporal_eps`.
pub struct SpatioTemporalResBlock {
    spatial: ResnetBlock2D,
    temporal: TemporalResnetBlock,
    mixer: AlphaBlender,
}

/// The settings that differ between the U-Net's and the VAE's blocks.
#[derive(Clone, Copy, Debug)]
pub struct BlockKind {
    /// Time-embedding width (`None` in the VAE).
    pub temb: Option<usize>,
    pub eps: f64,
    pub temporal_eps: f64,
    /// The VAE's switched blend.
    pub switched: bool,
}

impl SpatioTemporalResBlock {
    pub fn load(vb: &VarBuilder, c_in: usize, c_out: usize, kind: BlockKind) -> Result<Self> {
        Ok(SpatioTemporalResBlock {
            spatial: ResnetBlock2D::load(
                &vb.pp("spatial_res_block"),
                c_in,
                c_out,
                kind.temb,
                kind.eps,
            )?,
            temporal: TemporalResnetBlock::load(
                &vb.pp("temporal_res_block"),
                c_out,
                kind.temb,
                kind.temporal_eps,
            )?,
            mixer: AlphaBlender::load(&vb.pp("time_mixer"), kind.switched)?,
        })
    }

    pub fn forward(&self, x: &Tensor, temb: Option<&Tensor>, frames: usize) -> Result<Tensor> {
        let spatial = self.spatial.forward(x, temb)?;
        let temporal = self.temporal.forward(&spatial, temb, frames)?;
        self.mixer.blend(&spatial, &temporal)
    }
}

/// diffusers' `Downsample2D(use_conv=True)`: a 3×3 convolution with stride 2 (key `conv`).
/// `padding = 1` pads every side; `padding = 0` (the VAE encoder) pads only the bottom and
/// the right by one, as diffusers does before its unpadded convolution.
pub struct Downsample2D {
    conv: Conv2d,
}

impl Downsample2D {
    pub fn load(vb: &VarBuilder, channels: usize, padding: usize) -> Result<Self> {
        let pad = if padding == 0 {
            ((0, 1), (0, 1))
        } else {
            ((padding, padding), (padding, padding))
        };
        Ok(Downsample2D {
            conv: Conv2d::load_padded(&vb.pp("conv"), channels, channels, 3, 2, pad)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.conv.forward(x)
    }
}

/// diffusers' `Upsample2D(use_conv=True)`: nearest-neighbour ×2 (or to a given size) and a
/// 3×3 convolution (key `conv`).
pub struct Upsample2D {
    conv: Conv2d,
}

impl Upsample2D {
    pub fn load(vb: &VarBuilder, channels: usize) -> Result<Self> {
        Ok(Upsample2D {
            conv: Conv2d::load(&vb.pp("conv"), channels, channels, 3, 1, 1)?,
        })
    }

    /// Upsamples to `size` (`[H, W]`), or by 2 when `None`.
    pub fn forward(&self, x: &Tensor, size: Option<[usize; 2]>) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4().ctx(|| "upsample input".into())?;
        match size {
            Some([th, tw]) if [th, tw] != [2 * h, 2 * w] => {
                self.conv.forward(&resize_nearest(x, th, tw)?)
            }
            _ => self.conv.forward_upsampled(x, 2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn blender(m: f32, switched: bool) -> AlphaBlender {
        AlphaBlender {
            sigmoid: 1.0 / (1.0 + (-m).exp()),
            switched,
        }
    }

    /// The trap the default m = 0 hides: the U-Net and the VAE weigh the two paths the
    /// other way round.
    #[test]
    fn the_two_blends_are_mirror_images() {
        let dev = Device::Cpu;
        let s = Tensor::new(&[1f32, 1.0], &dev).unwrap();
        let t = Tensor::new(&[0f32, 0.0], &dev).unwrap();
        let unet = blender(2.0, false)
            .blend(&s, &t)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let vae = blender(2.0, true)
            .blend(&s, &t)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let sig = 1.0 / (1.0 + (-2f32).exp());
        assert!((unet[0] - sig).abs() < 1e-6, "{unet:?}");
        assert!((vae[0] - (1.0 - sig)).abs() < 1e-6, "{vae:?}");
        let half = blender(0.0, false)
            .blend(&s, &t)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let half_vae = blender(0.0, true)
            .blend(&s, &t)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(half, half_vae);
    }
}
