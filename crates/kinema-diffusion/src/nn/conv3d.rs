//! 3D convolution over `[B, C, T, H, W]` video tensors, and Wan's causal variant.
//!
//! candle has no conv3d. On the CPU we run our own kernels: Winograd F(2×2, 3×3) for the
//! 3×3 stride-1 layers that dominate the Wan VAEs (`conv3d_winograd`, 2.25× fewer
//! multiplies), and im2col + GEMM for every other geometry (`conv3d_cpu`). On other devices
//! the convolution is a sum of candle conv2d calls over the temporal taps, which needs
//! nothing beyond what candle offers on every backend.

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use super::conv3d_cpu::{conv3d_f32, Geometry};
use super::conv3d_winograd;
use super::{with_cpu_f32, CandleContext};

/// Zero padding (before, after) on each axis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pad3d {
    pub t: (usize, usize),
    pub h: (usize, usize),
    pub w: (usize, usize),
}

impl Pad3d {
    /// The same padding on both sides of each axis, as torch's `padding=(pt, ph, pw)`.
    pub fn symmetric(t: usize, h: usize, w: usize) -> Self {
        Pad3d {
            t: (t, t),
            h: (h, h),
            w: (w, w),
        }
    }
}

/// Stride and padding of a [`Conv3d`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv3dConfig {
    pub stride: [usize; 3],
    pub padding: Pad3d,
}

impl Default for Conv3dConfig {
    fn default() -> Self {
        Conv3dConfig {
            stride: [1, 1, 1],
            padding: Pad3d::default(),
        }
    }
}

/// Which CPU algorithm a [`Conv3d`] runs. `Auto` picks per call from the geometry; the
/// others exist so benchmarks and tests can compare the two on the same layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CpuConvKernel {
    /// Winograd F(2×2, 3×3) for 3×3 spatial kernels at spatial stride 1 with enough channels
    /// and pixels to pay for its transforms; im2col + GEMM otherwise.
    #[default]
    Auto,
    /// Column matrix per input frame, one GEMM per temporal tap (every geometry).
    Im2col,
    /// Winograd wherever the geometry allows it (3×3 spatial, spatial stride 1), whatever
    /// the size; im2col for the rest.
    Winograd,
}

enum Weights {
    /// CPU: weights re-laid out once as `[kt][O][C·kh·kw]` f32 for the GEMM kernel.
    Cpu {
        taps: Vec<f32>,
        bias: Option<Vec<f32>>,
    },
    /// Other devices: the checkpoint tensors, used through candle's conv2d.
    Device {
        weight: Tensor,
        bias: Option<Tensor>,
    },
}

/// A 3D convolution with weight `[O, C, kt, kh, kw]` and optional bias `[O]`.
pub struct Conv3d {
    weights: Weights,
    c_in: usize,
    c_out: usize,
    kernel: [usize; 3],
    config: Conv3dConfig,
    cpu_kernel: CpuConvKernel,
}

impl Conv3d {
    /// Builds from tensors. A 4D weight `[O, C, kh, kw]` (a conv2d) becomes a 1-frame kernel,
    /// so 2D convolutions over every frame need no reshuffling of the video.
    pub fn new(weight: Tensor, bias: Option<Tensor>, config: Conv3dConfig) -> Result<Self> {
        let weight = match weight.rank() {
            5 => weight,
            4 => weight.unsqueeze(2).ctx(|| "conv weight unsqueeze".into())?,
            r => {
                return Err(Error::model(format!(
                    "a conv3d weight must have rank 5 (or 4 for a conv2d), got rank {r}"
                )))
            }
        };
        let (c_out, c_in, kt, kh, kw) = weight.dims5().ctx(|| "conv weight dims".into())?;
        if let Some(b) = &bias {
            if b.dims() != [c_out] {
                return Err(Error::model(format!(
                    "conv bias has shape {:?}, expected [{c_out}]",
                    b.dims()
                )));
            }
        }
        if config.stride.contains(&0) {
            return Err(Error::model("conv3d stride must be at least 1"));
        }
        let weights = if weight.device().is_cpu() {
            let taps = weight
                .to_dtype(DType::F32)
                .and_then(|w| w.permute((2, 0, 1, 3, 4)))
                .and_then(|w| w.flatten_all())
                .and_then(|w| w.to_vec1::<f32>())
                .ctx(|| "conv weight re-layout".into())?;
            let bias = match bias {
                Some(b) => Some(
                    b.to_dtype(DType::F32)
                        .and_then(|b| b.to_vec1::<f32>())
                        .ctx(|| "conv bias".into())?,
                ),
                None => None,
            };
            Weights::Cpu { taps, bias }
        } else {
            Weights::Device { weight, bias }
        };
        Ok(Conv3d {
            weights,
            c_in,
            c_out,
            kernel: [kt, kh, kw],
            config,
            cpu_kernel: CpuConvKernel::Auto,
        })
    }

    /// Forces a CPU algorithm (benchmarks and tests); layers use [`CpuConvKernel::Auto`].
    pub fn with_cpu_kernel(mut self, kernel: CpuConvKernel) -> Self {
        self.cpu_kernel = kernel;
        self
    }

    /// Loads `weight` (and `bias` when `with_bias`) under `vb` with the given shape.
    pub fn load(
        vb: &VarBuilder,
        c_in: usize,
        c_out: usize,
        kernel: [usize; 3],
        config: Conv3dConfig,
        with_bias: bool,
    ) -> Result<Self> {
        let weight = crate::weights::get(
            vb,
            &[c_out, c_in, kernel[0], kernel[1], kernel[2]],
            "weight",
        )?;
        let bias = if with_bias {
            Some(crate::weights::get(vb, &[c_out], "bias")?)
        } else {
            None
        };
        Conv3d::new(weight, bias, config)
    }

    /// Loads a checkpoint `nn.Conv2d` (`[O, C, kh, kw]`) as a 1-frame 3D kernel.
    pub fn load_2d(
        vb: &VarBuilder,
        c_in: usize,
        c_out: usize,
        k: usize,
        config: Conv3dConfig,
    ) -> Result<Self> {
        let weight = crate::weights::get(vb, &[c_out, c_in, k, k], "weight")?;
        let bias = crate::weights::get(vb, &[c_out], "bias")?;
        Conv3d::new(weight, Some(bias), config)
    }

    pub fn in_channels(&self) -> usize {
        self.c_in
    }

    pub fn out_channels(&self) -> usize {
        self.c_out
    }

    pub fn kernel(&self) -> [usize; 3] {
        self.kernel
    }

    pub fn config(&self) -> Conv3dConfig {
        self.config
    }

    /// Convolves `x` `[B, C, T, H, W]` with the configured padding.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, self.config.padding, 1)
    }

    /// Convolves with an explicit padding, after nearest-neighbour spatial upsampling of `x`
    /// by `upsample` (1 = none). Folding the upsample in avoids building the bigger tensor.
    pub fn forward_with(&self, x: &Tensor, pad: Pad3d, upsample: usize) -> Result<Tensor> {
        let (b, c, t, h, w) = x.dims5().map_err(|_| {
            Error::model(format!(
                "conv3d input must be [B, C, T, H, W], got shape {:?}",
                x.dims()
            ))
        })?;
        if c != self.c_in {
            return Err(Error::model(format!(
                "conv3d expects {} input channels, the input has {c} (shape {:?})",
                self.c_in,
                x.dims()
            )));
        }
        let g = Geometry {
            batch: b,
            c_in: c,
            t_in: t,
            h_in: h,
            w_in: w,
            c_out: self.c_out,
            kernel: self.kernel,
            stride: self.config.stride,
            pad: [pad.t, pad.h, pad.w],
            upsample: upsample.max(1),
        };
        let [to, ho, wo] = g.out_dims().ok_or_else(|| {
            Error::model(format!(
                "conv3d kernel {:?} does not fit input {:?} with padding {pad:?}",
                self.kernel,
                x.dims()
            ))
        })?;
        match &self.weights {
            Weights::Cpu { taps, bias } => {
                let dtype = x.dtype();
                let winograd = match self.cpu_kernel {
                    CpuConvKernel::Auto => conv3d_winograd::worthwhile(&g),
                    CpuConvKernel::Im2col => false,
                    CpuConvKernel::Winograd => conv3d_winograd::supports(&g),
                };
                let out = with_cpu_f32(x, |data| {
                    if winograd {
                        conv3d_winograd::conv3d_winograd_f32(data, taps, bias.as_deref(), &g)
                    } else {
                        conv3d_f32(data, taps, bias.as_deref(), &g)
                    }
                })
                .ctx(|| "conv3d input".into())?;
                Tensor::from_vec(out, (b, self.c_out, to, ho, wo), &Device::Cpu)
                    .and_then(|t| t.to_dtype(dtype))
                    .ctx(|| "conv3d output".into())
            }
            Weights::Device { weight, bias } => {
                conv3d_by_conv2d(x, weight, bias.as_ref(), &g).ctx(|| "conv3d (conv2d path)".into())
            }
        }
    }
}

/// Portable conv3d: for each output frame, the sum over temporal taps of a conv2d.
fn conv3d_by_conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    g: &Geometry,
) -> candle_core::Result<Tensor> {
    let [to, _, _] = g.out_dims().unwrap_or([0, 0, 0]);
    let mut x = x.clone();
    if g.upsample > 1 {
        let (b, c, t, h, w) = x.dims5()?;
        let frames = x.permute((0, 2, 1, 3, 4))?.reshape((b * t, c, h, w))?;
        let up = frames.upsample_nearest2d(h * g.upsample, w * g.upsample)?;
        x = up
            .reshape((b, t, c, h * g.upsample, w * g.upsample))?
            .permute((0, 2, 1, 3, 4))?;
    }
    let x = x
        .pad_with_zeros(3, g.pad[1].0, g.pad[1].1)?
        .pad_with_zeros(4, g.pad[2].0, g.pad[2].1)?;
    let (b, c, t, h, w) = x.dims5()?;
    let frames = x.permute((0, 2, 1, 3, 4))?.contiguous()?;
    let mut outs = Vec::with_capacity(to);
    for t_out in 0..to {
        let mut acc: Option<Tensor> = None;
        for k in 0..g.kernel[0] {
            let padded_t = t_out * g.stride[0] + k;
            if padded_t < g.pad[0].0 || padded_t - g.pad[0].0 >= t {
                continue;
            }
            let frame = frames
                .narrow(1, padded_t - g.pad[0].0, 1)?
                .reshape((b, c, h, w))?;
            let wk = weight.narrow(2, k, 1)?.squeeze(2)?.contiguous()?;
            let y = conv2d_strided(&frame, &wk, g.stride[1], g.stride[2])?;
            acc = Some(match acc {
                Some(a) => (a + y)?,
                None => y,
            });
        }
        let y = match acc {
            Some(a) => a,
            None => {
                let probe = frames.narrow(1, 0, 1)?.reshape((b, c, h, w))?;
                let wk = weight.narrow(2, 0, 1)?.squeeze(2)?.contiguous()?;
                conv2d_strided(&probe, &wk, g.stride[1], g.stride[2])?.zeros_like()?
            }
        };
        outs.push(y.unsqueeze(2)?);
    }
    let mut out = Tensor::cat(&outs, 2)?;
    if let Some(bias) = bias {
        out = out.broadcast_add(&bias.reshape((1, (), 1, 1, 1))?)?;
    }
    Ok(out)
}

/// candle's conv2d has one stride for both axes; subsample when they differ.
fn conv2d_strided(x: &Tensor, w: &Tensor, sh: usize, sw: usize) -> candle_core::Result<Tensor> {
    if sh == sw {
        return x.conv2d(w, 0, sh, 1, 1);
    }
    let y = x.conv2d(w, 0, 1, 1, 1)?;
    let (_, _, h, wd) = y.dims4()?;
    let rows: Vec<u32> = (0..h).step_by(sh).map(|i| i as u32).collect();
    let cols: Vec<u32> = (0..wd).step_by(sw).map(|i| i as u32).collect();
    let dev = y.device().clone();
    y.index_select(&Tensor::new(rows, &dev)?, D::Minus2)?
        .index_select(&Tensor::new(cols, &dev)?, D::Minus1)
}

/// Number of past frames a causal conv keeps between chunks (Wan's `CACHE_T`).
pub const CACHE_T: usize = 2;

/// Wan's causal 3D convolution: all temporal padding on the past side, so frame `t` of the
/// output depends only on input frames `≤ t`, and the previous chunk's last frames (the
/// feature cache) can stand in for that padding when a video is processed in chunks.
pub struct CausalConv3d {
    conv: Conv3d,
    /// Frames of zero padding before the first frame (`2 * padding_t`).
    time_pad: usize,
}

impl CausalConv3d {
    /// `padding` is torch's symmetric `(pt, ph, pw)`; time becomes `(2·pt, 0)`.
    pub fn load(
        vb: &VarBuilder,
        c_in: usize,
        c_out: usize,
        kernel: [usize; 3],
        stride: [usize; 3],
        padding: [usize; 3],
    ) -> Result<Self> {
        let config = Conv3dConfig {
            stride,
            padding: Pad3d::symmetric(0, padding[1], padding[2]),
        };
        let conv = Conv3d::load(vb, c_in, c_out, kernel, config, true)?;
        Ok(CausalConv3d {
            conv,
            time_pad: 2 * padding[0],
        })
    }

    pub fn from_conv(conv: Conv3d, time_pad: usize) -> Self {
        CausalConv3d { conv, time_pad }
    }

    pub fn out_channels(&self) -> usize {
        self.conv.out_channels()
    }

    /// Convolves `x`, using `cache` (earlier frames of the same stream) instead of zeros for
    /// as much of the past padding as it covers.
    pub fn forward(&self, x: &Tensor, cache: Option<&Tensor>) -> Result<Tensor> {
        let mut pad = self.conv.config().padding;
        let input = match cache {
            Some(c) if self.time_pad > 0 => {
                let cached = c.dim(2).ctx(|| "cache dims".into())?;
                pad.t = (self.time_pad.saturating_sub(cached), 0);
                Tensor::cat(&[c, x], 2).ctx(|| "concatenating the feature cache".into())?
            }
            _ => {
                pad.t = (self.time_pad, 0);
                x.clone()
            }
        };
        self.conv.forward_with(&input, pad, 1)
    }
}

impl Module for Conv3d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        Conv3d::forward(self, x).map_err(candle_core::Error::wrap)
    }
}

#[cfg(test)]
#[path = "conv3d_tests.rs"]
mod tests;
