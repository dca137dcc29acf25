//! Wan's channel RMS norm: `F.normalize(x, dim=1) * sqrt(C) * gamma (+ bias)`.
//!
//! It is L2 normalisation over channels (with torch's `eps = 1e-12` floor on the norm), not
//! the usual mean-square RMSNorm, so it is written out here rather than taken from candle-nn.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};
use rayon::prelude::*;

use super::CandleContext;

/// Normalises each position's channel vector of a `[B, C, ...]` tensor.
pub struct ChannelRmsNorm {
    /// `gamma * sqrt(C)`, flattened to `[C]`.
    scale: Tensor,
    scale_f32: Vec<f32>,
    bias: Option<Tensor>,
    channels: usize,
}

impl ChannelRmsNorm {
    /// Loads `gamma` with the checkpoint's shape: `[C, 1, 1, 1]` for video (`images=False`),
    /// `[C, 1, 1]` for images; `bias` of the same shape when `with_bias`.
    pub fn load(vb: &VarBuilder, channels: usize, images: bool, with_bias: bool) -> Result<Self> {
        let shape: &[usize] = if images {
            &[channels, 1, 1]
        } else {
            &[channels, 1, 1, 1]
        };
        let gamma = crate::weights::get(vb, shape, "gamma")?;
        let bias = if with_bias {
            Some(crate::weights::get(vb, shape, "bias")?)
        } else {
            None
        };
        Self::new(gamma, bias)
    }

    pub fn new(gamma: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let channels = gamma.elem_count();
        let scale = gamma
            .flatten_all()
            .and_then(|g| g.affine((channels as f64).sqrt(), 0.0))
            .ctx(|| "rms norm gamma".into())?;
        let scale_f32 = scale
            .to_dtype(DType::F32)
            .and_then(|s| s.to_vec1::<f32>())
            .ctx(|| "rms norm gamma".into())?;
        let bias = match bias {
            Some(b) => Some(b.flatten_all().ctx(|| "rms norm bias".into())?),
            None => None,
        };
        Ok(ChannelRmsNorm {
            scale,
            scale_f32,
            bias,
            channels,
        })
    }

    /// The normalised tensor.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, false)
    }

    /// `silu(norm(x))`, fused on the CPU since every Wan block applies the two back to back.
    pub fn forward_silu(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, true)
    }

    fn run(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        if dims.len() < 2 || dims[1] != self.channels {
            return Err(Error::model(format!(
                "rms norm over {} channels got a tensor of shape {dims:?}",
                self.channels
            )));
        }
        if x.device().is_cpu() && self.bias.is_none() {
            return self.run_cpu(x, silu);
        }
        let mut shape = vec![1usize; dims.len()];
        shape[1] = self.channels;
        let norm = x
            .sqr()
            .and_then(|s| s.sum_keepdim(1))
            .and_then(|s| s.sqrt())
            .and_then(|n| n.maximum(1e-12))
            .ctx(|| "rms norm".into())?;
        let mut y = x
            .broadcast_div(&norm)
            .and_then(|y| y.broadcast_mul(&self.scale.to_dtype(x.dtype())?.reshape(shape.clone())?))
            .ctx(|| "rms norm".into())?;
        if let Some(b) = &self.bias {
            y = y
                .broadcast_add(
                    &b.to_dtype(x.dtype())
                        .and_then(|b| b.reshape(shape))
                        .ctx(|| "rms norm bias".into())?,
                )
                .ctx(|| "rms norm bias".into())?;
        }
        if silu {
            y = y.silu().ctx(|| "silu".into())?;
        }
        Ok(y)
    }

    fn run_cpu(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let dtype = x.dtype();
        let data = x
            .to_dtype(DType::F32)
            .and_then(|x| x.flatten_all())
            .and_then(|x| x.to_vec1::<f32>())
            .ctx(|| "rms norm input".into())?;
        let c = self.channels;
        let spatial: usize = dims[2..].iter().product();
        let mut out = vec![0f32; data.len()];
        // Per batch item, split positions into blocks so threads work on disjoint columns.
        const BLOCK: usize = 1024;
        for (src, dst) in data
            .chunks(c * spatial.max(1))
            .zip(out.chunks_mut(c * spatial.max(1)))
        {
            let blocks: Vec<usize> = (0..spatial).step_by(BLOCK).collect();
            let results: Vec<(usize, Vec<f32>)> = blocks
                .par_iter()
                .map(|&s0| {
                    let n = BLOCK.min(spatial - s0);
                    let mut sumsq = vec![0f32; n];
                    for ch in 0..c {
                        let row = &src[ch * spatial + s0..ch * spatial + s0 + n];
                        for (acc, v) in sumsq.iter_mut().zip(row) {
                            *acc += v * v;
                        }
                    }
                    let inv: Vec<f32> = sumsq.iter().map(|s| 1.0 / s.sqrt().max(1e-12)).collect();
                    let mut block = vec![0f32; c * n];
                    for ch in 0..c {
                        let g = self.scale_f32[ch];
                        let row = &src[ch * spatial + s0..ch * spatial + s0 + n];
                        let o = &mut block[ch * n..(ch + 1) * n];
                        for ((o, v), inv) in o.iter_mut().zip(row).zip(&inv) {
                            let y = v * inv * g;
                            *o = if silu { y / (1.0 + (-y).exp()) } else { y };
                        }
                    }
                    (s0, block)
                })
                .collect();
            for (s0, block) in results {
                let n = block.len() / c.max(1);
                for ch in 0..c {
                    dst[ch * spatial + s0..ch * spatial + s0 + n]
                        .copy_from_slice(&block[ch * n..(ch + 1) * n]);
                }
            }
        }
        Tensor::from_vec(out, dims, &Device::Cpu)
            .and_then(|t| t.to_dtype(dtype))
            .ctx(|| "rms norm output".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_channels_and_matches_generic_path() {
        let dev = Device::Cpu;
        let x = Tensor::arange(0f32, 2.0 * 3.0 * 2.0 * 5.0, &dev)
            .unwrap()
            .reshape((2, 3, 2, 5))
            .unwrap();
        let x = (x - 7.0).unwrap();
        let gamma = Tensor::new(&[1.0f32, 2.0, 0.5], &dev)
            .unwrap()
            .reshape((3, 1, 1))
            .unwrap();
        let norm = ChannelRmsNorm::new(gamma, None).unwrap();
        let fast = norm.forward(&x).unwrap();
        // Generic path: forcing it via a zero bias gives the same numbers.
        let zero_bias = Tensor::zeros((3, 1, 1), DType::F32, &dev).unwrap();
        let gamma = Tensor::new(&[1.0f32, 2.0, 0.5], &dev)
            .unwrap()
            .reshape((3, 1, 1))
            .unwrap();
        let generic = ChannelRmsNorm::new(gamma, Some(zero_bias))
            .unwrap()
            .forward(&x)
            .unwrap();
        let d = (&fast - &generic)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-5, "{d}");
        // Position (b=0, t=0, w=0): channels -7, 3, 13 -> unit vector times sqrt(3)*gamma.
        let v = fast.to_vec3::<f32>().ok();
        assert!(v.is_none(), "rank-4 tensor");
        let got = fast
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let n = (49.0f32 + 9.0 + 169.0).sqrt();
        assert!((got - (-7.0 / n) * 3f32.sqrt()).abs() < 1e-5);
        let s = norm.forward_silu(&x).unwrap();
        let want = generic.silu().unwrap();
        let d = (s - want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-5);
        assert!(norm
            .forward(&Tensor::zeros((1, 4, 2), DType::F32, &dev).unwrap())
            .is_err());
    }
}
