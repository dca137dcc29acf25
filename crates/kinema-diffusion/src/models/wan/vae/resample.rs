//! Spatial/temporal resampling of the Wan VAE, and Wan2.2's parameter-free residual
//! shortcuts (`AvgDown3D`, `DupUp3D`) that skip over whole resolution stages.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use super::cache::{tail_frames, FeatCache, Slot};
use crate::nn::{CandleContext, CausalConv3d, Conv3d, Conv3dConfig, Pad3d};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResampleMode {
    Upsample2d,
    Upsample3d,
    Downsample2d,
    Downsample3d,
}

/// Keys: `resample.1.*` (the conv2d after upsampling / the stride-2 conv2d) and, for the
/// 3D modes, `time_conv.*`.
pub struct Resample {
    mode: ResampleMode,
    conv: Conv3d,
    time_conv: Option<CausalConv3d>,
}

impl Resample {
    /// `upsample_out_dim`: channels after an upsample (Wan2.1 halves, Wan2.2 keeps `dim`).
    pub fn load(
        vb: &VarBuilder,
        dim: usize,
        mode: ResampleMode,
        upsample_out_dim: usize,
    ) -> Result<Self> {
        use ResampleMode::*;
        let rs = vb.pp("resample.1");
        let (conv, time_conv) = match mode {
            Upsample2d | Upsample3d => {
                let conv = Conv3d::load_2d(&rs, dim, upsample_out_dim, 3, Conv3dConfig::default())?;
                let tc = if mode == Upsample3d {
                    Some(CausalConv3d::load(
                        &vb.pp("time_conv"),
                        dim,
                        dim * 2,
                        [3, 1, 1],
                        [1, 1, 1],
                        [1, 0, 0],
                    )?)
                } else {
                    None
                };
                (conv, tc)
            }
            Downsample2d | Downsample3d => {
                let config = Conv3dConfig {
                    stride: [1, 2, 2],
                    padding: Pad3d::default(),
                };
                let conv = Conv3d::load_2d(&rs, dim, dim, 3, config)?;
                let tc = if mode == Downsample3d {
                    Some(CausalConv3d::load(
                        &vb.pp("time_conv"),
                        dim,
                        dim,
                        [3, 1, 1],
                        [2, 1, 1],
                        [0, 0, 0],
                    )?)
                } else {
                    None
                };
                (conv, tc)
            }
        };
        Ok(Resample {
            mode,
            conv,
            time_conv,
        })
    }

    pub fn forward(&self, x: &Tensor, mut cache: Option<&mut FeatCache>) -> Result<Tensor> {
        let mut x = x.clone();
        if let (ResampleMode::Upsample3d, Some(tc), Some(cache)) =
            (self.mode, &self.time_conv, cache.as_deref_mut())
        {
            x = upsample_time(tc, &x, cache.next_slot())?;
        }
        x = match self.mode {
            ResampleMode::Upsample2d | ResampleMode::Upsample3d => {
                self.conv.forward_with(&x, Pad3d::symmetric(0, 1, 1), 2)?
            }
            // ZeroPad2d((0, 1, 0, 1)): one row/column after, then a stride-2 3×3 conv.
            _ => self.conv.forward_with(
                &x,
                Pad3d {
                    t: (0, 0),
                    h: (0, 1),
                    w: (0, 1),
                },
                1,
            )?,
        };
        if let (ResampleMode::Downsample3d, Some(tc), Some(cache)) =
            (self.mode, &self.time_conv, cache)
        {
            let slot = cache.next_slot();
            match slot {
                Slot::Frames(prev) => {
                    let t = x.dim(2).ctx(|| "downsample dims".into())?;
                    let pt = prev.dim(2).ctx(|| "downsample dims".into())?;
                    let last = x
                        .narrow(2, t - 1, 1)
                        .and_then(|l| l.contiguous())
                        .ctx(|| "downsample cache".into())?;
                    let prev_last = prev
                        .narrow(2, pt - 1, 1)
                        .ctx(|| "downsample cache".into())?;
                    let joined =
                        Tensor::cat(&[&prev_last, &x], 2).ctx(|| "downsample cache".into())?;
                    x = tc.forward(&joined, None)?;
                    *slot = Slot::Frames(last);
                }
                _ => *slot = Slot::Frames(x.clone()),
            }
        }
        Ok(x)
    }
}

/// Doubles the frame count with the time conv (2C channels → 2 interleaved frames), except on
/// the first chunk, which stays one frame (the causal first frame is not duplicated).
fn upsample_time(tc: &CausalConv3d, x: &Tensor, slot: &mut Slot) -> Result<Tensor> {
    let (b, c, t, h, w) = x.dims5().ctx(|| "upsample dims".into())?;
    let previous = match slot {
        Slot::Empty => {
            *slot = Slot::Repeat;
            return Ok(x.clone());
        }
        Slot::Repeat => None,
        Slot::Frames(f) => Some(f.clone()),
    };
    let tail = match &previous {
        Some(prev) => tail_frames(x, Some(prev))?,
        None if t < 2 => {
            let zeros = x.zeros_like().ctx(|| "upsample cache".into())?;
            tail_frames(
                &Tensor::cat(&[&zeros, x], 2).ctx(|| "upsample cache".into())?,
                None,
            )?
        }
        None => tail_frames(x, None)?,
    };
    let y = tc.forward(x, previous.as_ref())?;
    *slot = Slot::Frames(tail);
    y.reshape((b, 2, c, t, h, w))
        .and_then(|y| y.permute((0, 2, 3, 1, 4, 5)))
        .and_then(|y| y.reshape((b, c, t * 2, h, w)))
        .ctx(|| "upsample interleave".into())
}

/// Wan2.2's downsampling shortcut: fold `factor_t × factor_s²` neighbours into channels, then
/// average channel groups down to `out_channels`.
pub struct AvgDown3d {
    out_channels: usize,
    factor_t: usize,
    factor_s: usize,
    group: usize,
}

impl AvgDown3d {
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        factor_t: usize,
        factor_s: usize,
    ) -> Result<Self> {
        let factor = factor_t * factor_s * factor_s;
        if out_channels == 0 || !(in_channels * factor).is_multiple_of(out_channels) {
            return Err(Error::model(format!(
                "AvgDown3D: {in_channels} channels × {factor} cannot be grouped into {out_channels}"
            )));
        }
        Ok(AvgDown3d {
            out_channels,
            factor_t,
            factor_s,
            group: in_channels * factor / out_channels,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (ft, fs) = (self.factor_t, self.factor_s);
        let run = || -> candle_core::Result<Tensor> {
            let t0 = x.dim(2)?;
            let x = x.pad_with_zeros(2, (ft - t0 % ft) % ft, 0)?;
            let (b, c, t, h, w) = x.dims5()?;
            let x = x.reshape(vec![b, c, t / ft, ft, h / fs, fs, w / fs, fs])?;
            let x = x.permute(vec![0, 1, 3, 5, 7, 2, 4, 6])?.contiguous()?;
            x.reshape(vec![
                b,
                self.out_channels,
                self.group,
                t / ft,
                h / fs,
                w / fs,
            ])?
            .mean(2)
        };
        run().ctx(|| format!("AvgDown3D of {:?}", x.dims()))
    }
}

/// Wan2.2's upsampling shortcut: repeat channels, then unfold them into `factor_t × factor_s²`
/// neighbours. On the first chunk the extra leading frames are dropped (causal first frame).
pub struct DupUp3d {
    out_channels: usize,
    factor_t: usize,
    factor_s: usize,
    repeats: usize,
}

impl DupUp3d {
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        factor_t: usize,
        factor_s: usize,
    ) -> Result<Self> {
        let factor = factor_t * factor_s * factor_s;
        if in_channels == 0 || !(out_channels * factor).is_multiple_of(in_channels) {
            return Err(Error::model(format!(
                "DupUp3D: {out_channels} channels × {factor} is not a multiple of {in_channels}"
            )));
        }
        Ok(DupUp3d {
            out_channels,
            factor_t,
            factor_s,
            repeats: out_channels * factor / in_channels,
        })
    }

    pub fn forward(&self, x: &Tensor, first_chunk: bool) -> Result<Tensor> {
        let (ft, fs, r) = (self.factor_t, self.factor_s, self.repeats);
        let run = || -> candle_core::Result<Tensor> {
            let (b, c, t, h, w) = x.dims5()?;
            let x = x
                .unsqueeze(2)?
                .broadcast_as(vec![b, c, r, t, h, w])?
                .contiguous()?;
            let x = x.reshape(vec![b, self.out_channels, ft, fs, fs, t, h, w])?;
            let x = x.permute(vec![0, 1, 5, 2, 6, 3, 7, 4])?.contiguous()?;
            let x = x.reshape((b, self.out_channels, t * ft, h * fs, w * fs))?;
            if first_chunk && ft > 1 {
                x.narrow(2, ft - 1, t * ft - (ft - 1))
            } else {
                Ok(x)
            }
        };
        run().ctx(|| format!("DupUp3D of {:?}", x.dims()))
    }
}
