//! The double-stream (separate text and image weights, joint attention) and single-stream
//! (one sequence, attention and MLP in parallel) blocks of `layers.py`, in both of its key
//! layouts: fused (`qkv`, `linear1`) and split (`q_proj`/`k_proj`/`v_proj`, and `q_proj`/
//! `k_proj`/`v_mlp` in the single blocks, as the released checkpoint has them).

use crate::nn::Linear;
use candle_core::{Module, Result as CResult, Tensor, D};
use candle_nn::VarBuilder;
use kinema_core::Result;

use super::config::MmditConfig;
use super::layers::{layer_norm, linear, Modulation, QkNorm};
use super::rope::RopeTable;
use crate::nn::attention::{attention, AttentionChunks};
use crate::nn::fastmath::gelu_tanh_tensor;

/// `[B, L, H·D]` → `[B, H, L, D]`.
fn heads(x: &Tensor, num_heads: usize) -> CResult<Tensor> {
    let (b, l, width) = x.dims3()?;
    x.reshape((b, l, num_heads, width / num_heads))?
        .transpose(1, 2)?
        .contiguous()
}

/// Rotary embedding, attention over the whole joint sequence, back to `[B, L, H·D]`.
fn joint_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    rope: &RopeTable,
    chunks: AttentionChunks,
) -> CResult<Tensor> {
    let (b, h, l, d) = q.dims4()?;
    let q = rope.apply(q)?;
    let k = rope.apply(k)?;
    let out = attention(&q, &k, v, None, 1.0 / (d as f64).sqrt(), chunks)?;
    out.transpose(1, 2)?.reshape((b, l, h * d))
}

/// The query/key/value projections of one stream of a double block.
enum Qkv {
    Fused(Linear),
    Split { q: Linear, k: Linear, v: Linear },
}

impl Qkv {
    fn load(vb: &VarBuilder, hidden: usize, config: &MmditConfig) -> Result<Self> {
        let bias = config.qkv_bias;
        Ok(if config.fused_qkv {
            Qkv::Fused(linear(&vb.pp("qkv"), hidden, 3 * hidden, bias)?)
        } else {
            Qkv::Split {
                q: linear(&vb.pp("q_proj"), hidden, hidden, bias)?,
                k: linear(&vb.pp("k_proj"), hidden, hidden, bias)?,
                v: linear(&vb.pp("v_proj"), hidden, hidden, bias)?,
            }
        })
    }

    /// `(q, k, v)`, each `[B, L, hidden]`; the fused output is laid out `(K H D)`.
    fn forward(&self, x: &Tensor) -> CResult<(Tensor, Tensor, Tensor)> {
        match self {
            Qkv::Fused(lin) => {
                let out = lin.forward(x)?;
                let hidden = out.dim(D::Minus1)? / 3;
                Ok((
                    out.narrow(D::Minus1, 0, hidden)?,
                    out.narrow(D::Minus1, hidden, hidden)?,
                    out.narrow(D::Minus1, 2 * hidden, hidden)?,
                ))
            }
            Qkv::Split { q, k, v } => Ok((q.forward(x)?, k.forward(x)?, v.forward(x)?)),
        }
    }
}

/// The weights one stream (image or text) of a double block owns.
struct Stream {
    modulation: Modulation,
    qkv: Qkv,
    norm: QkNorm,
    proj: Linear,
    mlp_in: Linear,
    mlp_out: Linear,
}

impl Stream {
    /// `prefix` is `img` or `txt`: `{prefix}_mod`, `{prefix}_attn`, `{prefix}_mlp`.
    fn load(vb: &VarBuilder, prefix: &str, config: &MmditConfig) -> Result<Self> {
        let hidden = config.hidden_size;
        let mlp = config.mlp_hidden();
        let attn = vb.pp(format!("{prefix}_attn"));
        Ok(Stream {
            modulation: Modulation::load(&vb.pp(format!("{prefix}_mod")), hidden, true)?,
            qkv: Qkv::load(&attn, hidden, config)?,
            norm: QkNorm::load(&attn.pp("norm"), config.head_dim())?,
            proj: linear(&attn.pp("proj"), hidden, hidden, true)?,
            mlp_in: linear(&vb.pp(format!("{prefix}_mlp.0")), hidden, mlp, true)?,
            mlp_out: linear(&vb.pp(format!("{prefix}_mlp.2")), mlp, hidden, true)?,
        })
    }
}

/// Heads-first, normed queries, keys and values of one stream.
struct StreamQkv {
    q: Tensor,
    k: Tensor,
    v: Tensor,
}

pub struct DoubleStreamBlock {
    img: Stream,
    txt: Stream,
    num_heads: usize,
}

impl DoubleStreamBlock {
    pub fn load(vb: &VarBuilder, config: &MmditConfig) -> Result<Self> {
        Ok(DoubleStreamBlock {
            img: Stream::load(vb, "img", config)?,
            txt: Stream::load(vb, "txt", config)?,
            num_heads: config.num_heads,
        })
    }

    fn project(
        &self,
        stream: &Stream,
        x: &Tensor,
        first: &super::layers::ModulationOut,
    ) -> CResult<StreamQkv> {
        let modulated = first.modulate(&layer_norm(x)?)?;
        let (q, k, v) = stream.qkv.forward(&modulated)?;
        let (q, k, v) = (
            heads(&q, self.num_heads)?,
            heads(&k, self.num_heads)?,
            heads(&v, self.num_heads)?,
        );
        let (q, k) = stream.norm.forward(&q, &k)?;
        Ok(StreamQkv { q, k, v })
    }

    /// One block: `img [B, N, hidden]`, `txt [B, L, hidden]`, `vec [B, hidden]`; the rotary
    /// table covers the text tokens first, then the image tokens.
    pub fn forward(
        &self,
        img: &Tensor,
        txt: &Tensor,
        vec: &Tensor,
        rope: &RopeTable,
        chunks: AttentionChunks,
    ) -> CResult<(Tensor, Tensor)> {
        let img_mod = self.img.modulation.forward(vec)?;
        let txt_mod = self.txt.modulation.forward(vec)?;
        let i = self.project(&self.img, img, &img_mod[0])?;
        let t = self.project(&self.txt, txt, &txt_mod[0])?;
        let q = Tensor::cat(&[&t.q, &i.q], 2)?;
        let k = Tensor::cat(&[&t.k, &i.k], 2)?;
        let v = Tensor::cat(&[&t.v, &i.v], 2)?;
        let joint = joint_attention(&q, &k, &v, rope, chunks)?;
        let text_len = txt.dim(1)?;
        let txt_attn = joint.narrow(1, 0, text_len)?;
        let img_attn = joint.narrow(1, text_len, img.dim(1)?)?;
        let img = Self::residual(&self.img, img, &img_attn, &img_mod)?;
        let txt = Self::residual(&self.txt, txt, &txt_attn, &txt_mod)?;
        Ok((img, txt))
    }

    /// The gated attention output, then the gated MLP under the second modulation.
    fn residual(
        stream: &Stream,
        x: &Tensor,
        attn: &Tensor,
        m: &[super::layers::ModulationOut],
    ) -> CResult<Tensor> {
        let x = (x + m[0].gate.broadcast_mul(&stream.proj.forward(attn)?)?)?;
        let hidden = m[1].modulate(&layer_norm(&x)?)?;
        let mlp = stream
            .mlp_out
            .forward(&gelu_tanh_tensor(&stream.mlp_in.forward(&hidden)?)?)?;
        x + m[1].gate.broadcast_mul(&mlp)?
    }
}

/// The first projection of a single block: queries, keys, values and the MLP input at once.
enum SingleProj {
    /// `linear1`: `[q | k | v | mlp]`.
    Fused(Linear),
    /// `q_proj`, `k_proj`, and `v_mlp`: `[v | mlp]`.
    Split { q: Linear, k: Linear, v_mlp: Linear },
}

pub struct SingleStreamBlock {
    modulation: Modulation,
    proj: SingleProj,
    norm: QkNorm,
    linear2: Linear,
    hidden: usize,
    num_heads: usize,
}

impl SingleStreamBlock {
    pub fn load(vb: &VarBuilder, config: &MmditConfig) -> Result<Self> {
        let hidden = config.hidden_size;
        let mlp = config.mlp_hidden();
        // Single blocks always have biased projections, whatever `qkv_bias` says.
        let proj = if config.fused_qkv {
            SingleProj::Fused(linear(&vb.pp("linear1"), hidden, 3 * hidden + mlp, true)?)
        } else {
            SingleProj::Split {
                q: linear(&vb.pp("q_proj"), hidden, hidden, true)?,
                k: linear(&vb.pp("k_proj"), hidden, hidden, true)?,
                v_mlp: linear(&vb.pp("v_mlp"), hidden, hidden + mlp, true)?,
            }
        };
        Ok(SingleStreamBlock {
            modulation: Modulation::load(&vb.pp("modulation"), hidden, false)?,
            proj,
            norm: QkNorm::load(&vb.pp("norm"), config.head_dim())?,
            linear2: linear(&vb.pp("linear2"), hidden + mlp, hidden, true)?,
            hidden,
            num_heads: config.num_heads,
        })
    }

    /// One block over the joint sequence `x [B, L+N, hidden]` (text first).
    pub fn forward(
        &self,
        x: &Tensor,
        vec: &Tensor,
        rope: &RopeTable,
        chunks: AttentionChunks,
    ) -> CResult<Tensor> {
        let m = self.modulation.forward(vec)?;
        let x_mod = m[0].modulate(&layer_norm(x)?)?;
        let h = self.hidden;
        let (q, k, v, mlp) = match &self.proj {
            SingleProj::Fused(lin) => {
                let out = lin.forward(&x_mod)?;
                let mlp_len = out.dim(D::Minus1)? - 3 * h;
                (
                    out.narrow(D::Minus1, 0, h)?,
                    out.narrow(D::Minus1, h, h)?,
                    out.narrow(D::Minus1, 2 * h, h)?,
                    out.narrow(D::Minus1, 3 * h, mlp_len)?,
                )
            }
            SingleProj::Split { q, k, v_mlp } => {
                let vm = v_mlp.forward(&x_mod)?;
                let mlp_len = vm.dim(D::Minus1)? - h;
                (
                    q.forward(&x_mod)?,
                    k.forward(&x_mod)?,
                    vm.narrow(D::Minus1, 0, h)?,
                    vm.narrow(D::Minus1, h, mlp_len)?,
                )
            }
        };
        let (q, k, v) = (
            heads(&q, self.num_heads)?,
            heads(&k, self.num_heads)?,
            heads(&v, self.num_heads)?,
        );
        let (q, k) = self.norm.forward(&q, &k)?;
        let attn = joint_attention(&q, &k, &v, rope, chunks)?;
        let mlp = gelu_tanh_tensor(&mlp.contiguous()?)?;
        let out = self
            .linear2
            .forward(&Tensor::cat(&[&attn, &mlp], D::Minus1)?)?;
        x + m[0].gate.broadcast_mul(&out)?
    }
}
