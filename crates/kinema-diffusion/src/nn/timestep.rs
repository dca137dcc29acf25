//! Timestep conditioning shared by the diffusion models: diffusers' `Timesteps` (sinusoidal
//! features) and `TimestepEmbedding` (the two-layer MLP that follows it).

use crate::nn::Linear;
use candle_core::{Module, Result as CResult, Tensor};
use candle_nn::VarBuilder;
use kinema_core::Result;

use crate::weights::linear;

/// Sinusoidal features as diffusers' `Timesteps(dim, flip_sin_to_cos=True,
/// downscale_freq_shift=0)`: `[cos(t·f_i), sin(t·f_i)]` with `f_i = exp(−ln(10⁴)·i/half)`,
/// all in f32 (diffusers computes them in f32, so large `t` rounds alike). An odd `dim` gets
/// a zero last column, as diffusers pads it.
pub fn timestep_features(
    timesteps: &[f32],
    dim: usize,
    device: &candle_core::Device,
) -> CResult<Tensor> {
    let half = dim / 2;
    let log_max = -(10000f64.ln() as f32);
    let freqs: Vec<f32> = (0..half)
        .map(|i| ((log_max * i as f32) / half as f32).exp())
        .collect();
    let mut out = Vec::with_capacity(timesteps.len() * dim);
    for &t in timesteps {
        let args: Vec<f32> = freqs.iter().map(|f| t * f).collect();
        out.extend(args.iter().map(|a| a.cos()));
        out.extend(args.iter().map(|a| a.sin()));
        if !dim.is_multiple_of(2) {
            out.push(0.0);
        }
    }
    Tensor::from_vec(out, (timesteps.len(), dim), device)
}

/// diffusers' `TimestepEmbedding`: `linear_2(silu(linear_1(x)))`.
pub struct TimestepEmbedding {
    linear_1: Linear,
    linear_2: Linear,
}

impl TimestepEmbedding {
    /// `linear_1: input → hidden`, `linear_2: hidden → output`.
    pub fn load(vb: &VarBuilder, input: usize, hidden: usize, output: usize) -> Result<Self> {
        Ok(TimestepEmbedding {
            linear_1: linear(&vb.pp("linear_1"), input, hidden)?,
            linear_2: linear(&vb.pp("linear_2"), hidden, output)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        self.linear_2.forward(&self.linear_1.forward(x)?.silu()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn features_are_cos_then_sin_and_odd_dims_pad() {
        let t = timestep_features(&[0.0, 2.0], 5, &Device::Cpu).unwrap();
        let v = t.to_vec2::<f32>().unwrap();
        assert_eq!(v[0], vec![1.0, 1.0, 0.0, 0.0, 0.0]);
        // f_0 = 1, f_1 = 10^-2: cos(2), cos(0.02), sin(2), sin(0.02), pad.
        let want = [2f32.cos(), 0.02f32.cos(), 2f32.sin(), 0.02f32.sin(), 0.0];
        for (a, b) in v[1].iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", v[1]);
        }
    }
}
