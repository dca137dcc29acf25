//! Attention and transformer blocks of Stable Video Diffusion (diffusers'
//! `attention_processor.Attention`, `attention.BasicTransformerBlock`,
//! `TemporalBasicTransformerBlock`, `FeedForward` with GEGLU), and the VAE's single-head
//! spatial attention.

use crate::nn::Linear;
use candle_core::{Module, Result as CResult, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use kinema_core::Result;

use super::resnet::GROUPS;
use crate::nn::activations::geglu_tensor;
use crate::nn::attention::attention_tokens;
use crate::nn::{CandleContext, GroupNorm};
use crate::weights::{self, linear, linear_no_bias};

/// `nn.LayerNorm(dim)` with its weights (eps 1e-5, diffusers' default for these blocks).
pub fn layer_norm(vb: &VarBuilder, dim: usize) -> Result<LayerNorm> {
    Ok(LayerNorm::new(
        weights::get(vb, &[dim], "weight")?,
        weights::get(vb, &[dim], "bias")?,
        1e-5,
    ))
}

/// Multi-head attention with `to_q`, `to_k`, `to_v` (biased or not) and `to_out.0`.
pub struct Attention {
    heads: usize,
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
}

impl Attention {
    /// `context_dim` is the key/value input width (`None`: self-attention).
    pub fn load(
        vb: &VarBuilder,
        query_dim: usize,
        context_dim: Option<usize>,
        heads: usize,
        head_dim: usize,
        qkv_bias: bool,
    ) -> Result<Self> {
        let inner = heads * head_dim;
        let ctx = context_dim.unwrap_or(query_dim);
        let proj = |name: &str, input: usize| {
            if qkv_bias {
                linear(&vb.pp(name), input, inner)
            } else {
                linear_no_bias(&vb.pp(name), input, inner)
            }
        };
        Ok(Attention {
            heads,
            to_q: proj("to_q", query_dim)?,
            to_k: proj("to_k", ctx)?,
            to_v: proj("to_v", ctx)?,
            to_out: linear(&vb.pp("to_out.0"), inner, query_dim)?,
        })
    }

    /// `x` `[B, N, C]` attends to `context` `[B, L, D]` (itself when `None`). The result
    /// broadcasts to `[B, N, C]`: with a single context token every query's softmax is
    /// exactly 1, so the output is that token's value projection, returned as `[B, 1, C]`
    /// without computing queries or scores.
    pub fn forward(&self, x: &Tensor, context: Option<&Tensor>) -> CResult<Tensor> {
        if let Some(ctx) = context {
            if ctx.dim(1)? == 1 {
                return self.to_out.forward(&self.to_v.forward(ctx)?);
            }
        }
        self.to_out.forward(&self.heads_output(x, context)?)
    }

    /// `residual + self-attention of x`, the residual added inside the output projection.
    pub fn forward_add(&self, x: &Tensor, residual: &Tensor) -> CResult<Tensor> {
        self.to_out
            .forward_add(&self.heads_output(x, None)?, residual)
    }

    /// The attention of every head, merged to `[B, N, inner]` (before `to_out`).
    fn heads_output(&self, x: &Tensor, context: Option<&Tensor>) -> CResult<Tensor> {
        let ctx = context.unwrap_or(x);
        let q = self.to_q.forward(x)?;
        let k = self.to_k.forward(ctx)?;
        let v = self.to_v.forward(ctx)?;
        let scale = 1.0 / ((q.dim(2)? / self.heads) as f64).sqrt();
        attention_tokens(&q, &k, &v, self.heads, scale)
    }
}

/// `FeedForward(dim, dim_out, activation_fn="geglu")`: `net.0.proj` to twice the inner width
/// (4·dim), `hidden · gelu(gate)`, `net.2` to `dim_out`.
pub struct FeedForward {
    proj: Linear,
    out: Linear,
}

impl FeedForward {
    pub fn load(vb: &VarBuilder, dim: usize, dim_out: usize) -> Result<Self> {
        let inner = 4 * dim;
        Ok(FeedForward {
            proj: linear(&vb.pp("net.0.proj"), dim, 2 * inner)?,
            out: linear(&vb.pp("net.2"), inner, dim_out)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        self.out.forward(&geglu_tensor(&self.proj.forward(x)?)?)
    }

    /// `residual + forward(x)`, the residual added inside the output projection.
    pub fn forward_add(&self, x: &Tensor, residual: &Tensor) -> CResult<Tensor> {
        self.out
            .forward_add(&geglu_tensor(&self.proj.forward(x)?)?, residual)
    }
}

/// `BasicTransformerBlock` as SVD configures it: pre-LayerNorm self-attention,
/// cross-attention to the image embedding, GEGLU feed-forward, each residual.
pub struct BasicTransformerBlock {
    norm1: LayerNorm,
    attn1: Attention,
    norm2: LayerNorm,
    attn2: Attention,
    norm3: LayerNorm,
    ff: FeedForward,
}

impl BasicTransformerBlock {
    pub fn load(vb: &VarBuilder, dim: usize, heads: usize, context_dim: usize) -> Result<Self> {
        let head_dim = dim / heads;
        Ok(BasicTransformerBlock {
            norm1: layer_norm(&vb.pp("norm1"), dim)?,
            attn1: Attention::load(&vb.pp("attn1"), dim, None, heads, head_dim, false)?,
            norm2: layer_norm(&vb.pp("norm2"), dim)?,
            attn2: Attention::load(
                &vb.pp("attn2"),
                dim,
                Some(context_dim),
                heads,
                head_dim,
                false,
            )?,
            norm3: layer_norm(&vb.pp("norm3"), dim)?,
            ff: FeedForward::load(&vb.pp("ff"), dim, dim)?,
        })
    }

    /// `x` `[B·F, N, C]` (tokens of each frame), `context` `[B·F, L, D]`.
    pub fn forward(&self, x: &Tensor, context: &Tensor) -> CResult<Tensor> {
        let x = self.attn1.forward_add(&self.norm1.forward(x)?, x)?;
        let x = x.broadcast_add(
            &self
                .attn2
                .forward(&self.norm2.forward(&x)?, Some(context))?,
        )?;
        self.ff.forward_add(&self.norm3.forward(&x)?, &x)
    }
}

/// `TemporalBasicTransformerBlock`: the same along time, for every pixel of every clip,
/// with a GEGLU feed-forward in front (`ff_in`, residual since its width is unchanged).
pub struct TemporalBasicTransformerBlock {
    norm_in: LayerNorm,
    ff_in: FeedForward,
    norm1: LayerNorm,
    attn1: Attention,
    norm2: LayerNorm,
    attn2: Attention,
    norm3: LayerNorm,
    ff: FeedForward,
}

impl TemporalBasicTransformerBlock {
    pub fn load(vb: &VarBuilder, dim: usize, heads: usize, context_dim: usize) -> Result<Self> {
        let head_dim = dim / heads;
        Ok(TemporalBasicTransformerBlock {
            norm_in: layer_norm(&vb.pp("norm_in"), dim)?,
            ff_in: FeedForward::load(&vb.pp("ff_in"), dim, dim)?,
            norm1: layer_norm(&vb.pp("norm1"), dim)?,
            attn1: Attention::load(&vb.pp("attn1"), dim, None, heads, head_dim, false)?,
            norm2: layer_norm(&vb.pp("norm2"), dim)?,
            attn2: Attention::load(
                &vb.pp("attn2"),
                dim,
                Some(context_dim),
                heads,
                head_dim,
                false,
            )?,
            norm3: layer_norm(&vb.pp("norm3"), dim)?,
            ff: FeedForward::load(&vb.pp("ff"), dim, dim)?,
        })
    }

    /// `x` `[B·F, N, C]`; `context` `[B, L, D]` is each clip's first-frame context, which
    /// diffusers broadcasts to every pixel (`time_context`). Returns `[B·F, N, C]`.
    pub fn forward(&self, x: &Tensor, frames: usize, context: &Tensor) -> CResult<Tensor> {
        let (bf, n, c) = x.dims3()?;
        let b = bf / frames;
        // [B, F, N, C] → [B·N, F, C]: every pixel's sequence of frames.
        let x = x
            .reshape((b, frames, n, c))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b * n, frames, c))?;
        let h = self.ff_in.forward_add(&self.norm_in.forward(&x)?, &x)?;
        let h = self.attn1.forward_add(&self.norm1.forward(&h)?, &h)?;
        // Cross-attention: every query of a clip sees the same context, so the clip's
        // pixels and frames are one query sequence.
        let q = self.norm2.forward(&h)?.reshape((b, n * frames, c))?;
        let cross = self.attn2.forward(&q, Some(context))?;
        let h = h
            .reshape((b, n * frames, c))?
            .broadcast_add(&cross)?
            .reshape((b * n, frames, c))?;
        let h = self.ff.forward_add(&self.norm3.forward(&h)?, &h)?;
        h.reshape((b, n, frames, c))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((bf, n, c))
    }
}

/// The VAE's spatial self-attention (diffusers `Attention` with `norm_num_groups=32`,
/// biases, one head of the full width, residual): `x + to_out(attn(group_norm(x)))` over the
/// pixels of each image. Keys `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0`; checkpoints
/// from before diffusers renamed them use `query`, `key`, `value`, `proj_attn`, also read.
pub struct VaeAttention {
    norm: GroupNorm,
    attn: Attention,
}

impl VaeAttention {
    pub fn load(vb: &VarBuilder, channels: usize, eps: f64) -> Result<Self> {
        let norm = GroupNorm::load(&vb.pp("group_norm"), GROUPS, channels, eps)?;
        let attn = if vb.contains_tensor("query.weight") {
            Attention {
                heads: 1,
                to_q: linear(&vb.pp("query"), channels, channels)?,
                to_k: linear(&vb.pp("key"), channels, channels)?,
                to_v: linear(&vb.pp("value"), channels, channels)?,
                to_out: linear(&vb.pp("proj_attn"), channels, channels)?,
            }
        } else {
            Attention::load(vb, channels, None, 1, channels, true)?
        };
        Ok(VaeAttention { norm, attn })
    }

    /// `x` `[N, C, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4().ctx(|| "VAE attention input".into())?;
        let normed = self.norm.forward(x)?;
        let run = || -> CResult<Tensor> {
            let tokens = normed
                .reshape((n, c, h * w))?
                .transpose(1, 2)?
                .contiguous()?;
            let out = self.attn.forward(&tokens, None)?;
            let out = out.transpose(1, 2)?.reshape((n, c, h, w))?;
            out + x
        };
        run().ctx(|| "VAE attention".into())
    }
}
