//! One `WanTransformerBlock`: AdaLN-modulated self-attention with 3D RoPE, cross-attention to
//! the text (and, for I2V, separately to the image tokens), and a GELU feed-forward.

use crate::nn::Linear;
use candle_core::{DType, Module, Result as CResult, Tensor};
use candle_nn::VarBuilder;
use kinema_core::Result;

use super::layers::{linear, LayerNorm};
use super::rope::Rope3d;
use crate::nn::attention::{attention, AttentionChunks};
use crate::nn::fastmath::gelu_tanh_tensor;
use crate::weights;

/// `WanAttention` with its RMS norms over all heads' channels of q and k.
pub struct WanAttention {
    heads: usize,
    eps: f32,
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
    norm_q: Tensor,
    norm_k: Tensor,
    /// I2V: separate key/value projections for the image tokens, and the key's RMS norm.
    added_kv: Option<(Linear, Linear, Tensor)>,
}

impl WanAttention {
    pub fn load(
        vb: &VarBuilder,
        dim: usize,
        heads: usize,
        eps: f64,
        added_kv_proj_dim: Option<usize>,
    ) -> Result<Self> {
        let added_kv = match added_kv_proj_dim {
            Some(added) => Some((
                linear(&vb.pp("add_k_proj"), added, dim)?,
                linear(&vb.pp("add_v_proj"), added, dim)?,
                weights::get(&vb.pp("norm_added_k"), &[dim], "weight")?,
            )),
            None => None,
        };
        Ok(WanAttention {
            heads,
            eps: eps as f32,
            to_q: linear(&vb.pp("to_q"), dim, dim)?,
            to_k: linear(&vb.pp("to_k"), dim, dim)?,
            to_v: linear(&vb.pp("to_v"), dim, dim)?,
            to_out: linear(&vb.pp("to_out.0"), dim, dim)?,
            norm_q: weights::get(&vb.pp("norm_q"), &[dim], "weight")?,
            norm_k: weights::get(&vb.pp("norm_k"), &[dim], "weight")?,
            added_kv,
        })
    }

    /// `[B, N, dim]` → `[B, heads, N, head_dim]`, contiguous.
    fn split_heads(&self, x: &Tensor) -> CResult<Tensor> {
        let (b, n, dim) = x.dims3()?;
        x.reshape((b, n, self.heads, dim / self.heads))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn merge_heads(&self, x: &Tensor) -> CResult<Tensor> {
        let (b, h, n, d) = x.dims4()?;
        x.transpose(1, 2)?.reshape((b, n, h * d))
    }

    fn rms(&self, x: &Tensor, weight: &Tensor) -> CResult<Tensor> {
        candle_nn::ops::rms_norm(x, weight, self.eps)
    }

    /// Self-attention when `context` is `None` (with `rope`), else cross-attention to it;
    /// `image` tokens go through the added projections and their output is summed.
    pub fn forward(
        &self,
        x: &Tensor,
        context: Option<&Tensor>,
        image: Option<&Tensor>,
        rope: Option<&Rope3d>,
        chunks: AttentionChunks,
    ) -> CResult<Tensor> {
        let ctx = context.unwrap_or(x);
        let mut q = self.split_heads(&self.rms(&self.to_q.forward(x)?, &self.norm_q)?)?;
        let mut k = self.split_heads(&self.rms(&self.to_k.forward(ctx)?, &self.norm_k)?)?;
        let v = self.split_heads(&self.to_v.forward(ctx)?)?;
        if let Some(rope) = rope {
            q = rope.apply(&q)?;
            k = rope.apply(&k)?;
        }
        let scale = 1.0 / ((q.dim(3)?) as f64).sqrt();
        let mut out = attention(&q, &k, &v, None, scale, chunks)?;
        if let (Some(img), Some((add_k, add_v, norm_added_k))) = (image, &self.added_kv) {
            let k_img = self.split_heads(&self.rms(&add_k.forward(img)?, norm_added_k)?)?;
            let v_img = self.split_heads(&add_v.forward(img)?)?;
            out = (out + attention(&q, &k_img, &v_img, None, scale, chunks)?)?;
        }
        self.to_out.forward(&self.merge_heads(&out)?)
    }
}

/// The six AdaLN inputs, each `[B, S, dim]` in f32 (`S` = 1 or the token count).
struct Modulation {
    shift_msa: Tensor,
    scale_msa: Tensor,
    gate_msa: Tensor,
    c_shift_msa: Tensor,
    c_scale_msa: Tensor,
    c_gate_msa: Tensor,
}

/// `norm(x)·(1 + scale) + shift` in f32, back to `dtype`.
fn modulate(normed_f32: &Tensor, scale: &Tensor, shift: &Tensor, dtype: DType) -> CResult<Tensor> {
    normed_f32
        .broadcast_mul(&(scale + 1.0)?)?
        .broadcast_add(shift)?
        .to_dtype(dtype)
}

pub struct WanBlock {
    norm1: LayerNorm,
    attn1: WanAttention,
    norm2: Option<LayerNorm>,
    attn2: WanAttention,
    norm3: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    /// `[1, 1, 6, dim]` f32.
    scale_shift_table: Tensor,
    /// Image tokens join the text context when there are no added projections.
    image_in_context: bool,
}

impl WanBlock {
    pub fn load(vb: &VarBuilder, config: &super::WanTransformerConfig) -> Result<Self> {
        let dim = config.inner_dim();
        let heads = config.num_attention_heads;
        let device = vb.device();
        let sst = weights::get(
            &vb.clone().set_dtype(DType::F32),
            &[1, 6, dim],
            "scale_shift_table",
        )?;
        let sst = sst
            .reshape((1, 1, 6, dim))
            .map_err(|e| kinema_core::Error::model("scale_shift_table").with_source(e))?;
        Ok(WanBlock {
            norm1: LayerNorm::plain(dim, config.eps, device)?,
            attn1: WanAttention::load(&vb.pp("attn1"), dim, heads, config.eps, None)?,
            norm2: if config.cross_attn_norm {
                Some(LayerNorm::load(&vb.pp("norm2"), dim, config.eps)?)
            } else {
                None
            },
            attn2: WanAttention::load(
                &vb.pp("attn2"),
                dim,
                heads,
                config.eps,
                config.added_kv_proj_dim,
            )?,
            norm3: LayerNorm::plain(dim, config.eps, device)?,
            ffn_in: linear(&vb.pp("ffn.net.0.proj"), dim, config.ffn_dim)?,
            ffn_out: linear(&vb.pp("ffn.net.2"), config.ffn_dim, dim)?,
            scale_shift_table: sst,
            image_in_context: config.image_dim.is_some() && config.added_kv_proj_dim.is_none(),
        })
    }

    fn modulation(&self, timestep_proj: &Tensor) -> CResult<Modulation> {
        let m = self
            .scale_shift_table
            .broadcast_add(&timestep_proj.to_dtype(DType::F32)?)?;
        let part = |i: usize| m.narrow(2, i, 1)?.squeeze(2);
        Ok(Modulation {
            shift_msa: part(0)?,
            scale_msa: part(1)?,
            gate_msa: part(2)?,
            c_shift_msa: part(3)?,
            c_scale_msa: part(4)?,
            c_gate_msa: part(5)?,
        })
    }

    /// `x: [B, N, dim]`, `text: [B, L, dim]`, `timestep_proj: [B, S, 6, dim]`.
    pub fn forward(
        &self,
        x: &Tensor,
        text: &Tensor,
        image: Option<&Tensor>,
        timestep_proj: &Tensor,
        rope: &Rope3d,
        chunks: AttentionChunks,
    ) -> CResult<Tensor> {
        let dtype = x.dtype();
        let m = self.modulation(timestep_proj)?;

        let normed = modulate(
            &self.norm1.forward_f32(x)?,
            &m.scale_msa,
            &m.shift_msa,
            dtype,
        )?;
        let attn = self
            .attn1
            .forward(&normed, None, None, Some(rope), chunks)?;
        let x = x
            .to_dtype(DType::F32)?
            .add(&attn.to_dtype(DType::F32)?.broadcast_mul(&m.gate_msa)?)?
            .to_dtype(dtype)?;

        let normed = match &self.norm2 {
            Some(norm) => norm.forward(&x)?,
            None => x.clone(),
        };
        let joined;
        let (context, image_kv) = match image {
            Some(img) if self.image_in_context => {
                joined = Tensor::cat(&[img, text], 1)?;
                (&joined, None)
            }
            other => (text, other),
        };
        let x = (&x
            + self
                .attn2
                .forward(&normed, Some(context), image_kv, None, chunks)?)?;

        let normed = modulate(
            &self.norm3.forward_f32(&x)?,
            &m.c_scale_msa,
            &m.c_shift_msa,
            dtype,
        )?;
        let ff = self
            .ffn_out
            .forward(&gelu_tanh_tensor(&self.ffn_in.forward(&normed)?)?)?;
        x.to_dtype(DType::F32)?
            .add(&ff.to_dtype(DType::F32)?.broadcast_mul(&m.c_gate_msa)?)?
            .to_dtype(dtype)
    }
}
