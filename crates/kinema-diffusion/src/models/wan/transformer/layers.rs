//! Small layers shared by the Wan transformer's parts, loaded with shape-checked keys.

use candle_core::{DType, Device, Result as CResult, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use crate::weights;
pub use crate::weights::linear;

/// diffusers' `FP32LayerNorm`: normalised in f32 whatever the activations' dtype.
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    /// With learnt `weight` and `bias` at `vb`.
    pub fn load(vb: &VarBuilder, dim: usize, eps: f64) -> Result<Self> {
        let get = |name| {
            weights::get(vb, &[dim], name)?
                .to_dtype(DType::F32)
                .map_err(|e| {
                    Error::model(format!("layer norm `{}.{name}`", vb.prefix())).with_source(e)
                })
        };
        Ok(LayerNorm {
            weight: get("weight")?,
            bias: get("bias")?,
            eps: eps as f32,
        })
    }

    /// `elementwise_affine=False`: unit scale, zero shift.
    pub fn plain(dim: usize, eps: f64, device: &Device) -> Result<Self> {
        let make = |v: f32| {
            Tensor::full(v, dim, device).map_err(|e| Error::model("layer norm").with_source(e))
        };
        Ok(LayerNorm {
            weight: make(1.0)?,
            bias: make(0.0)?,
            eps: eps as f32,
        })
    }

    /// The normalised `x` in f32.
    pub fn forward_f32(&self, x: &Tensor) -> CResult<Tensor> {
        candle_nn::ops::layer_norm(&x.to_dtype(DType::F32)?, &self.weight, &self.bias, self.eps)
    }

    /// The normalised `x` in `x`'s dtype.
    pub fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        self.forward_f32(x)?.to_dtype(x.dtype())
    }
}
