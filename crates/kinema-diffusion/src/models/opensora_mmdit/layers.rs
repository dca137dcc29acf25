//! The MMDiT's small parts (`opensora/models/mmdit/layers.py`): timestep features, the MLP
//! embedders, AdaLN modulation, the query/key RMS norm and the final layer.

use crate::nn::Linear;
use candle_core::{DType, Device, Module, Result as CResult, Tensor, D};
use candle_nn::VarBuilder;
use kinema_core::Result;

use crate::weights;

/// `nn.Linear(input, output, bias)` at `vb`, shape-checked.
pub fn linear(vb: &VarBuilder, input: usize, output: usize, bias: bool) -> Result<Linear> {
    if bias {
        weights::linear(vb, input, output)
    } else {
        Ok(Linear::new(
            weights::get(vb, &[output, input], "weight")?,
            None,
        ))
    }
}

/// Sinusoidal features of `t · 1000` (`timestep_embedding`, 256 wide): `[cos | sin]` of
/// `t · 1000 · 10000^(-i / half)`. As in Open-Sora, `t · 1000` is rounded in `t`'s own dtype
/// (bf16 times in a bf16 run), the rest is computed in f32.
pub fn timestep_embedding(t: &Tensor, dim: usize, dtype: DType) -> CResult<Tensor> {
    let device = t.device().clone();
    let values = (t * 1000.0)?
        .to_device(&Device::Cpu)?
        .to_dtype(DType::F32)?
        .to_vec1::<f32>()?;
    let half = dim / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|i| (-(10000f32.ln()) * i as f32 / half as f32).exp())
        .collect();
    let mut out = Vec::with_capacity(values.len() * dim);
    for &v in &values {
        out.extend(freqs.iter().map(|f| (v * f).cos()));
        out.extend(freqs.iter().map(|f| (v * f).sin()));
        if dim % 2 == 1 {
            out.push(0.0);
        }
    }
    Tensor::from_vec(out, (values.len(), dim), &device)?.to_dtype(dtype)
}

/// `MLPEmbedder`: `out_layer(silu(in_layer(x)))`.
pub struct MlpEmbedder {
    in_layer: Linear,
    out_layer: Linear,
}

impl MlpEmbedder {
    pub fn load(vb: &VarBuilder, input: usize, hidden: usize) -> Result<Self> {
        Ok(MlpEmbedder {
            in_layer: linear(&vb.pp("in_layer"), input, hidden, true)?,
            out_layer: linear(&vb.pp("out_layer"), hidden, hidden, true)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        self.out_layer
            .forward(&candle_nn::ops::silu(&self.in_layer.forward(x)?)?)
    }
}

/// One (shift, scale, gate) triple, each `[B, 1, hidden]`.
pub struct ModulationOut {
    pub shift: Tensor,
    pub scale: Tensor,
    pub gate: Tensor,
}

impl ModulationOut {
    /// `(1 + scale) · x + shift`.
    pub fn modulate(&self, x: &Tensor) -> CResult<Tensor> {
        x.broadcast_mul(&(&self.scale + 1.0)?)?
            .broadcast_add(&self.shift)
    }
}

/// `Modulation`: `lin(silu(vec))` split into one triple, or two for the double blocks.
pub struct Modulation {
    lin: Linear,
    triples: usize,
}

impl Modulation {
    pub fn load(vb: &VarBuilder, hidden: usize, double: bool) -> Result<Self> {
        let triples = if double { 2 } else { 1 };
        Ok(Modulation {
            lin: linear(&vb.pp("lin"), hidden, 3 * triples * hidden, true)?,
            triples,
        })
    }

    pub fn forward(&self, vec: &Tensor) -> CResult<Vec<ModulationOut>> {
        let out = self
            .lin
            .forward(&candle_nn::ops::silu(vec)?)?
            .unsqueeze(1)?;
        let parts = out.chunk(3 * self.triples, D::Minus1)?;
        Ok(parts
            .chunks_exact(3)
            .map(|p| ModulationOut {
                shift: p[0].clone(),
                scale: p[1].clone(),
                gate: p[2].clone(),
            })
            .collect())
    }
}

/// `QKNorm`: RMS norm (eps 1e-6) of each head's queries and keys, in f32, cast back to the
/// activations' dtype before the learnt `scale`, as liger-kernel's "llama" casting does.
pub struct QkNorm {
    query_scale: Tensor,
    key_scale: Tensor,
}

const RMS_EPS: f64 = 1e-6;

impl QkNorm {
    pub fn load(vb: &VarBuilder, head_dim: usize) -> Result<Self> {
        Ok(QkNorm {
            query_scale: weights::get(&vb.pp("query_norm"), &[head_dim], "scale")?,
            key_scale: weights::get(&vb.pp("key_norm"), &[head_dim], "scale")?,
        })
    }

    fn rms(x: &Tensor, scale: &Tensor) -> CResult<Tensor> {
        let dtype = x.dtype();
        let xf = x.to_dtype(DType::F32)?;
        let rrms = (xf.sqr()?.mean_keepdim(D::Minus1)? + RMS_EPS)?
            .sqrt()?
            .recip()?;
        xf.broadcast_mul(&rrms)?
            .to_dtype(dtype)?
            .broadcast_mul(&scale.to_dtype(dtype)?)
    }

    pub fn forward(&self, q: &Tensor, k: &Tensor) -> CResult<(Tensor, Tensor)> {
        Ok((
            Self::rms(q, &self.query_scale)?,
            Self::rms(k, &self.key_scale)?,
        ))
    }
}

/// `nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)`, computed in f32.
pub fn layer_norm(x: &Tensor) -> CResult<Tensor> {
    let dtype = x.dtype();
    let xf = x.to_dtype(DType::F32)?;
    let mean = xf.mean_keepdim(D::Minus1)?;
    let centred = xf.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    centred
        .broadcast_div(&(var + 1e-6)?.sqrt()?)?
        .to_dtype(dtype)
}

/// `LastLayer`: AdaLN (its modulation yields shift, *then* scale) and the output projection.
pub struct LastLayer {
    modulation: Linear,
    linear: Linear,
}

impl LastLayer {
    pub fn load(vb: &VarBuilder, hidden: usize, out: usize) -> Result<Self> {
        Ok(LastLayer {
            modulation: linear(&vb.pp("adaLN_modulation.1"), hidden, 2 * hidden, true)?,
            linear: linear(&vb.pp("linear"), hidden, out, true)?,
        })
    }

    pub fn forward(&self, x: &Tensor, vec: &Tensor) -> CResult<Tensor> {
        let m = self
            .modulation
            .forward(&candle_nn::ops::silu(vec)?)?
            .unsqueeze(1)?;
        let parts = m.chunk(2, D::Minus1)?;
        let (shift, scale) = (&parts[0], &parts[1]);
        let x = layer_norm(x)?
            .broadcast_mul(&(scale + 1.0)?)?
            .broadcast_add(shift)?;
        self.linear.forward(&x)
    }
}
