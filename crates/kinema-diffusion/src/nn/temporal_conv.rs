//! A convolution along time only (kernel `(kt, 1, 1)`), on frame-major activations.
//!
//! Stable Video Diffusion keeps its activations as `[B·F, C, H, W]` (frames in the batch
//! axis) for the 2D layers, and its temporal layers are `nn.Conv3d` with kernel `(3, 1, 1)`
//! over the permuted `[B, C, F, H, W]`. A time-only kernel never mixes pixels, so output frame
//! `f` is `Σ_k W_k · x[f + k − pad]` with `W_k` an `[O, C]` matrix and each frame an
//! `[C, H·W]` matrix: one GEMM per (frame, tap), accumulated in place, directly on the
//! frame-major tensor. diffusers permutes, convolves and permutes back (two full copies of
//! the activation); here there is none. Zero padding frames are skipped, not multiplied.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};
use rayon::prelude::*;

use super::{with_cpu_f32, CandleContext};

enum Weights {
    /// `[kt][O][C]` f32, for the GEMM kernel.
    Cpu {
        taps: Vec<f32>,
        bias: Option<Vec<f32>>,
    },
    /// Per tap `[O, C]`, for candle's matmul on other devices.
    Device {
        taps: Vec<Tensor>,
        bias: Option<Tensor>,
    },
}

/// `nn.Conv3d(c_in, c_out, kernel_size=(kt, 1, 1), padding=(kt // 2, 0, 0))`.
pub struct TemporalConv {
    weights: Weights,
    c_in: usize,
    c_out: usize,
    kt: usize,
}

impl TemporalConv {
    /// Loads `weight` `[O, C, kt, 1, 1]` and `bias` `[O]` under `vb`.
    pub fn load(vb: &VarBuilder, c_in: usize, c_out: usize, kt: usize) -> Result<Self> {
        let weight = crate::weights::get(vb, &[c_out, c_in, kt, 1, 1], "weight")?;
        let bias = crate::weights::get(vb, &[c_out], "bias")?;
        Self::new(weight, Some(bias))
    }

    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let (c_out, c_in, kt, kh, kw) = weight.dims5().map_err(|_| {
            Error::model(format!(
                "a temporal conv weight must be [O, C, kt, 1, 1], got {:?}",
                weight.dims()
            ))
        })?;
        if (kh, kw) != (1, 1) || kt.is_multiple_of(2) {
            return Err(Error::model(format!(
                "temporal conv kernel ({kt}, {kh}, {kw}) is not an odd (kt, 1, 1)"
            )));
        }
        let taps = weight
            .squeeze(4)
            .and_then(|w| w.squeeze(3))
            .and_then(|w| w.permute((2, 0, 1)))
            .ctx(|| "temporal conv weight".into())?;
        let weights = if weight.device().is_cpu() {
            let bias = match bias {
                Some(b) => Some(
                    b.to_dtype(DType::F32)
                        .and_then(|b| b.to_vec1::<f32>())
                        .ctx(|| "temporal conv bias".into())?,
                ),
                None => None,
            };
            let taps = taps
                .to_dtype(DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .ctx(|| "temporal conv weight".into())?;
            Weights::Cpu { taps, bias }
        } else {
            let taps = (0..kt)
                .map(|k| taps.get(k).and_then(|t| t.contiguous()))
                .collect::<candle_core::Result<Vec<_>>>()
                .ctx(|| "temporal conv weight".into())?;
            Weights::Device { taps, bias }
        };
        Ok(TemporalConv {
            weights,
            c_in,
            c_out,
            kt,
        })
    }

    /// Convolves `x` `[B·frames, C, H, W]` (frame-major) along time, with zero padding
    /// `kt / 2` at both ends of every clip; returns `[B·frames, O, H, W]`.
    pub fn forward(&self, x: &Tensor, frames: usize) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4().map_err(|_| {
            Error::model(format!(
                "temporal conv input must be [B·F, C, H, W], got {:?}",
                x.dims()
            ))
        })?;
        if c != self.c_in || frames == 0 || !n.is_multiple_of(frames) {
            return Err(Error::model(format!(
                "temporal conv over {} channels and {frames} frames got {:?}",
                self.c_in,
                x.dims()
            )));
        }
        match &self.weights {
            Weights::Cpu { taps, bias } => {
                let dtype = x.dtype();
                let out = with_cpu_f32(x, |data| {
                    self.cpu(data, taps, bias.as_deref(), n, frames, h * w)
                })
                .ctx(|| "temporal conv input".into())?;
                Tensor::from_vec(out, (n, self.c_out, h, w), &Device::Cpu)
                    .and_then(|t| t.to_dtype(dtype))
                    .ctx(|| "temporal conv output".into())
            }
            Weights::Device { taps, bias } => self
                .device(x, taps, bias.as_ref(), frames)
                .ctx(|| "temporal conv".into()),
        }
    }

    fn cpu(
        &self,
        x: &[f32],
        taps: &[f32],
        bias: Option<&[f32]>,
        n: usize,
        frames: usize,
        p: usize,
    ) -> Vec<f32> {
        let (c, o, pad) = (self.c_in, self.c_out, self.kt / 2);
        let mut out = vec![0f32; n * o * p];
        if out.is_empty() {
            return out;
        }
        let threads = rayon::current_num_threads().max(1);
        // Enough output frames to keep every thread busy: one GEMM each; otherwise let the
        // GEMM itself use the threads.
        let outer_parallel = n >= 2 * threads;
        let par = if outer_parallel || threads == 1 {
            gemm::Parallelism::None
        } else {
            gemm::Parallelism::Rayon(threads)
        };
        let frame = |(i, dst): (usize, &mut [f32])| {
            if let Some(bias) = bias {
                for (row, &b) in dst.chunks_exact_mut(p).zip(bias) {
                    row.fill(b);
                }
            }
            let (clip, f) = (i / frames, i % frames);
            for k in 0..self.kt {
                let src_f = f as isize + k as isize - pad as isize;
                if src_f < 0 || src_f >= frames as isize {
                    continue;
                }
                let src = &x[(clip * frames + src_f as usize) * c * p..][..c * p];
                let lhs = &taps[k * o * c..(k + 1) * o * c];
                // SAFETY: dst is O×P row-major, lhs O×C row-major, src C×P row-major, each
                // entirely inside its slice.
                unsafe {
                    gemm::gemm(
                        o,
                        p,
                        c,
                        dst.as_mut_ptr(),
                        1,
                        p as isize,
                        true,
                        lhs.as_ptr(),
                        1,
                        c as isize,
                        src.as_ptr(),
                        1,
                        p as isize,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        par,
                    );
                }
            }
        };
        if outer_parallel {
            out.par_chunks_mut(o * p).enumerate().for_each(frame);
        } else {
            out.chunks_mut(o * p).enumerate().for_each(frame);
        }
        out
    }

    fn device(
        &self,
        x: &Tensor,
        taps: &[Tensor],
        bias: Option<&Tensor>,
        frames: usize,
    ) -> candle_core::Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let clips = n / frames;
        let pad = self.kt / 2;
        let x = x.reshape((clips, frames, c, h * w))?;
        let padded = x.pad_with_zeros(1, pad, pad)?;
        let mut acc: Option<Tensor> = None;
        for (k, wk) in taps.iter().enumerate() {
            let xs = padded
                .narrow(1, k, frames)?
                .contiguous()?
                .reshape((n, c, h * w))?;
            let y = wk.to_dtype(x.dtype())?.broadcast_matmul(&xs)?;
            acc = Some(match acc {
                Some(a) => (a + y)?,
                None => y,
            });
        }
        let mut y = match acc {
            Some(a) => a,
            None => candle_core::bail!("temporal conv has no taps"),
        };
        if let Some(b) = bias {
            y = y.broadcast_add(&b.to_dtype(y.dtype())?.reshape((1, (), 1))?)?;
        }
        y.reshape((n, self.c_out, h, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Conv3d, Conv3dConfig, Pad3d};

    fn tensor(shape: &[usize], seed: u64) -> Tensor {
        crate::nn::xorshift_tensor(shape, seed | 1, -1.0, 2.0)
    }

    /// Frame-major temporal conv equals Conv3d on the permuted video, for one and several
    /// clips, with the CPU kernel and the portable path.
    #[test]
    fn matches_conv3d_on_the_permuted_video() {
        let weight = tensor(&[5, 4, 3, 1, 1], 1);
        let bias = tensor(&[5], 2);
        let conv = TemporalConv::new(weight.clone(), Some(bias.clone())).unwrap();
        let reference = Conv3d::new(
            weight,
            Some(bias),
            Conv3dConfig {
                stride: [1, 1, 1],
                padding: Pad3d::symmetric(1, 0, 0),
            },
        )
        .unwrap();
        for (clips, frames) in [(1, 1), (1, 4), (2, 3), (8, 2)] {
            let x = tensor(&[clips * frames, 4, 3, 2], 3 + frames as u64);
            let video = x
                .reshape((clips, frames, 4, 3, 2))
                .unwrap()
                .permute((0, 2, 1, 3, 4))
                .unwrap()
                .contiguous()
                .unwrap();
            let want = reference
                .forward(&video)
                .unwrap()
                .permute((0, 2, 1, 3, 4))
                .unwrap()
                .reshape((clips * frames, 5, 3, 2))
                .unwrap();
            let got = conv.forward(&x, frames).unwrap();
            let Weights::Cpu { .. } = &conv.weights else {
                panic!("CPU weights expected")
            };
            let generic = {
                let taps: Vec<Tensor> = (0..3)
                    .map(|k| {
                        tensor(&[5, 4, 3, 1, 1], 1)
                            .squeeze(4)
                            .unwrap()
                            .squeeze(3)
                            .unwrap()
                            .permute((2, 0, 1))
                            .unwrap()
                            .get(k)
                            .unwrap()
                            .contiguous()
                            .unwrap()
                    })
                    .collect();
                conv.device(&x, &taps, Some(&tensor(&[5], 2)), frames)
                    .unwrap()
            };
            for t in [&got, &generic] {
                let d = (t - &want).unwrap().abs().unwrap().max_all().unwrap();
                assert!(d.to_scalar::<f32>().unwrap() < 1e-5, "{clips}x{frames}");
            }
        }
        assert!(conv.forward(&tensor(&[5, 4, 3, 2], 1), 2).is_err());
        assert!(TemporalConv::new(tensor(&[5, 4, 2, 1, 1], 1), None).is_err());
    }
}
