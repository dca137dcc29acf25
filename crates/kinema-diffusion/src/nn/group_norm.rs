//! `torch.nn.GroupNorm`, optionally fused with SiLU, and the "frames" variant the Stable
//! Video Diffusion temporal blocks need.
//!
//! Why our own: the U-Net and the temporal VAE normalise every activation (a norm, usually
//! followed by SiLU, before each of their convolutions). candle's ops would make five passes
//! over a tensor of hundreds of MiB on one thread; here statistics and the normalised output
//! are two parallel passes, with SiLU folded into the second.
//!
//! Layout: the input is `[N, C, ...]`. With `frames = T > 1` the leading axis is read as
//! `N/T` groups of `T` consecutive items (`[B·F, C, H, W]` with frame-major batches), and the
//! statistics of a channel group span all `T` items: that is `GroupNorm` over
//! `[B, C, F, H, W]` without building that permuted tensor. Statistics are accumulated in
//! f64, the output is written in the input's dtype.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};
use rayon::prelude::*;

use super::{with_cpu_f32, CandleContext};

/// `GroupNorm(groups, channels, eps, affine=True)`.
pub struct GroupNorm {
    groups: usize,
    channels: usize,
    eps: f64,
    weight: Vec<f32>,
    bias: Vec<f32>,
    weight_t: Tensor,
    bias_t: Tensor,
}

impl GroupNorm {
    /// Loads `weight` and `bias` (`[channels]`) under `vb`.
    pub fn load(vb: &VarBuilder, groups: usize, channels: usize, eps: f64) -> Result<Self> {
        let weight = crate::weights::get(vb, &[channels], "weight")?;
        let bias = crate::weights::get(vb, &[channels], "bias")?;
        Self::new(groups, eps, weight, bias)
    }

    pub fn new(groups: usize, eps: f64, weight: Tensor, bias: Tensor) -> Result<Self> {
        let channels = weight.elem_count();
        if groups == 0 || !channels.is_multiple_of(groups) {
            return Err(Error::model(format!(
                "GroupNorm: {channels} channels cannot be split into {groups} groups"
            ))
            .with_hint(
                "diffusers' U-Net and VAE blocks use 32 groups: widths must be multiples of 32",
            ));
        }
        if bias.elem_count() != channels {
            return Err(Error::model(format!(
                "GroupNorm: weight has {channels} values, bias {}",
                bias.elem_count()
            )));
        }
        let read = |t: &Tensor| {
            t.to_dtype(DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .ctx(|| "group norm parameters".into())
        };
        Ok(GroupNorm {
            groups,
            channels,
            eps,
            weight: read(&weight)?,
            bias: read(&bias)?,
            weight_t: weight.flatten_all().ctx(|| "group norm weight".into())?,
            bias_t: bias.flatten_all().ctx(|| "group norm bias".into())?,
        })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Normalises each item of `[N, C, ...]` on its own.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, 1, false)
    }

    /// `silu(norm(x))`.
    pub fn forward_silu(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, 1, true)
    }

    /// Normalises `[N·frames, C, ...]` with statistics shared by each run of `frames`
    /// consecutive items (see the module notes); `silu` applies SiLU afterwards.
    pub fn forward_frames(&self, x: &Tensor, frames: usize, silu: bool) -> Result<Tensor> {
        self.run(x, frames, silu)
    }

    fn run(&self, x: &Tensor, frames: usize, silu: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        if dims.len() < 2 || dims[1] != self.channels {
            return Err(Error::model(format!(
                "GroupNorm over {} channels got a tensor of shape {dims:?}",
                self.channels
            )));
        }
        let frames = frames.max(1);
        if !dims[0].is_multiple_of(frames) {
            return Err(Error::model(format!(
                "GroupNorm: {} items are not whole runs of {frames} frames",
                dims[0]
            )));
        }
        if x.device().is_cpu() {
            self.run_cpu(x, frames, silu)
        } else {
            self.run_generic(x, frames, silu)
        }
    }

    fn run_cpu(&self, x: &Tensor, frames: usize, silu: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let out = with_cpu_f32(x, |data| self.normalise(data, &dims, frames, silu))
            .ctx(|| "group norm input".into())?;
        Tensor::from_vec(out, dims, &Device::Cpu)
            .and_then(|t| t.to_dtype(x.dtype()))
            .ctx(|| "group norm output".into())
    }

    /// Statistics per (item run, group), then the normalised (and activated) rows.
    fn normalise(&self, data: &[f32], dims: &[usize], frames: usize, silu: bool) -> Vec<f32> {
        let (c, g) = (self.channels, self.groups);
        let cg = c / g;
        let spatial: usize = dims[2..].iter().product();
        let item = c * spatial;
        let outer = dims[0] / frames;
        // Mean and 1/std per (outer, group).
        let stats: Vec<(f32, f32)> = (0..outer * g)
            .into_par_iter()
            .map(|i| {
                let (n, grp) = (i / g, i % g);
                let (mut sum, mut sq) = (0f64, 0f64);
                for t in 0..frames {
                    let base = (n * frames + t) * item + grp * cg * spatial;
                    for &v in &data[base..base + cg * spatial] {
                        let v = v as f64;
                        sum += v;
                        sq += v * v;
                    }
                }
                let count = (frames * cg * spatial).max(1) as f64;
                let mean = sum / count;
                let var = (sq / count - mean * mean).max(0.0);
                (mean as f32, (1.0 / (var + self.eps).sqrt()) as f32)
            })
            .collect();
        // SAFETY: equal-length rows of data and out, each written in full.
        unsafe {
            super::unzeroed_f32(data.len(), |out| {
                out.par_chunks_mut(spatial.max(1))
                    .zip(data.par_chunks(spatial.max(1)))
                    .enumerate()
                    .for_each(|(row, (dst, src))| {
                        let ch = row % c;
                        let n = row / c / frames;
                        let (mean, inv) = stats[n * g + ch / cg];
                        let scale = self.weight[ch] * inv;
                        let shift = self.bias[ch] - mean * scale;
                        normalise_row(src, dst, scale, shift, silu);
                    })
            })
        }
    }

    fn run_generic(&self, x: &Tensor, frames: usize, silu: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let (c, g) = (self.channels, self.groups);
        let spatial: usize = dims[2..].iter().product();
        let outer = dims[0] / frames;
        let compute = || -> candle_core::Result<Tensor> {
            let dtype = x.dtype();
            let xf = x
                .to_dtype(DType::F32)?
                .reshape((outer, frames, g, c / g, spatial))?;
            let mean = xf.mean_keepdim((1, 3, 4))?;
            let centred = xf.broadcast_sub(&mean)?;
            let var = centred.sqr()?.mean_keepdim((1, 3, 4))?;
            let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
            let shape = (1, 1, g, c / g, 1);
            let w = self.weight_t.to_dtype(DType::F32)?.reshape(shape)?;
            let b = self.bias_t.to_dtype(DType::F32)?.reshape(shape)?;
            let mut y = normed.broadcast_mul(&w)?.broadcast_add(&b)?;
            if silu {
                y = y.silu()?;
            }
            y.reshape(dims.clone())?.to_dtype(dtype)
        };
        compute().ctx(|| "group norm".into())
    }
}

/// `dst = src·scale + shift`, then SiLU when asked; vectorised for AVX2 where available.
fn normalise_row(
    src: &[f32],
    dst: &mut [std::mem::MaybeUninit<f32>],
    scale: f32,
    shift: f32,
    silu: bool,
) {
    if silu {
        super::activations::affine_silu_into(src, dst, scale, shift);
    } else {
        for (d, &v) in dst.iter_mut().zip(src) {
            d.write(v * scale + shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::max_abs_diff;

    fn tensor(shape: &[usize], seed: u64) -> Tensor {
        crate::nn::xorshift_tensor(shape, seed | 1, -2.0, 6.0)
    }

    fn norm(channels: usize, groups: usize) -> GroupNorm {
        let w = tensor(&[channels], 5);
        let b = tensor(&[channels], 6);
        GroupNorm::new(groups, 1e-5, w, b).unwrap()
    }

    /// The CPU kernel and the generic (device) path agree, plain, fused and across frames.
    #[test]
    fn cpu_kernel_matches_generic_path() {
        let gn = norm(12, 4);
        let x = tensor(&[6, 12, 3, 5], 1);
        for (frames, silu) in [(1, false), (1, true), (3, false), (2, true)] {
            let fast = gn.run_cpu(&x, frames, silu).unwrap();
            let slow = gn.run_generic(&x, frames, silu).unwrap();
            assert!(max_abs_diff(&fast, &slow) < 1e-5, "{frames} {silu}");
        }
    }

    /// Frames share statistics: normalising `[B·F, C, H, W]` by runs of F equals normalising
    /// the permuted `[B, C, F, H, W]` item by item.
    #[test]
    fn frame_runs_equal_the_permuted_video() {
        let gn = norm(8, 2);
        let x = tensor(&[6, 8, 2, 3], 3);
        let video = x
            .reshape((2, 3, 8, 2, 3))
            .unwrap()
            .permute((0, 2, 1, 3, 4))
            .unwrap()
            .contiguous()
            .unwrap();
        let want = gn
            .forward(&video)
            .unwrap()
            .permute((0, 2, 1, 3, 4))
            .unwrap()
            .reshape((6, 8, 2, 3))
            .unwrap();
        let got = gn.forward_frames(&x, 3, false).unwrap();
        assert!(max_abs_diff(&got, &want) < 1e-5);
        // Each normalised group has mean ≈ bias-weighted, i.e. before the affine: 0 and 1.
        let plain = GroupNorm::new(
            2,
            0.0,
            Tensor::ones(8, DType::F32, &Device::Cpu).unwrap(),
            Tensor::zeros(8, DType::F32, &Device::Cpu).unwrap(),
        )
        .unwrap();
        let y = plain.forward(&x).unwrap();
        let group = y.narrow(0, 0, 1).unwrap().narrow(1, 0, 4).unwrap();
        let mean = group.mean_all().unwrap().to_scalar::<f32>().unwrap();
        let var = group
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{mean} {var}"
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        let zeros = |n| Tensor::zeros(n, DType::F32, &Device::Cpu).unwrap();
        assert!(GroupNorm::new(32, 1e-6, zeros(48), zeros(48)).is_err());
        let gn = norm(8, 2);
        assert!(gn.forward(&tensor(&[2, 6, 3], 1)).is_err());
        assert!(gn.forward_frames(&tensor(&[5, 8, 3], 1), 2, false).is_err());
    }
}
