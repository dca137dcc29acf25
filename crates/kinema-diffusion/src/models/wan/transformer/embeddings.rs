//! Conditioning inputs of the Wan transformer (`WanTimeTextImageEmbedding`): the timestep
//! embedding and its AdaLN projection, the text projection, and the CLIP image projection.

use crate::nn::Linear;
use candle_core::{DType, Module, Result as CResult, Tensor};
use candle_nn::VarBuilder;
use kinema_core::Result;

use super::config::WanTransformerConfig;
use super::layers::{linear, LayerNorm};
use crate::nn::fastmath::gelu_tanh_tensor;
pub use crate::nn::timestep::timestep_features;
use crate::weights;

/// `linear_1 → act → linear_2`, the shape of both the time and the text embedders.
struct TwoLayer {
    linear_1: Linear,
    linear_2: Linear,
}

impl TwoLayer {
    fn load(vb: &VarBuilder, input: usize, hidden: usize) -> Result<Self> {
        Ok(TwoLayer {
            linear_1: linear(&vb.pp("linear_1"), input, hidden)?,
            linear_2: linear(&vb.pp("linear_2"), hidden, hidden)?,
        })
    }
}

/// The CLIP image-token projection (`WanImageEmbedding`): LayerNorm → GELU MLP → LayerNorm,
/// plus FLF2V's learnt position embedding over the two images' tokens.
struct ImageEmbedder {
    norm1: LayerNorm,
    proj: Linear,
    out: Linear,
    norm2: LayerNorm,
    pos_embed: Option<Tensor>,
}

impl ImageEmbedder {
    fn forward(&self, image: &Tensor) -> CResult<Tensor> {
        let mut x = image.clone();
        if let Some(pos) = &self.pos_embed {
            let (b, n, d) = x.dims3()?;
            let (_, pos_len, _) = pos.dims3()?;
            if !(b * n).is_multiple_of(pos_len) || pos_len != 2 * n {
                candle_core::bail!(
                    "image tokens [{b}, {n}, {d}] do not pair up with pos_embed length {pos_len} (need 2×{n})"
                );
            }
            x = x
                .reshape((b * n / pos_len, pos_len, d))?
                .broadcast_add(&pos.to_dtype(x.dtype())?)?;
        }
        let x = self.norm1.forward(&x)?;
        let x = self.proj.forward(&x)?.gelu_erf()?;
        self.norm2.forward(&self.out.forward(&x)?)
    }
}

/// What the blocks need from the conditioning.
pub struct Conditioning {
    /// `[B, S, dim]` in the model dtype; `S` is 1, or the token count for per-token timesteps.
    pub temb: Tensor,
    /// `[B, S, 6, dim]` AdaLN shift/scale/gate inputs.
    pub timestep_proj: Tensor,
    /// `[B, L, dim]` projected text tokens.
    pub text: Tensor,
    /// `[B', Li, dim]` projected image tokens (I2V).
    pub image: Option<Tensor>,
}

pub struct ConditionEmbedder {
    freq_dim: usize,
    dim: usize,
    time_embedder: TwoLayer,
    time_proj: Linear,
    text_embedder: TwoLayer,
    image_embedder: Option<ImageEmbedder>,
}

impl ConditionEmbedder {
    /// `vb` at `condition_embedder`. The time embedder stays f32, as diffusers keeps it.
    pub fn load(vb: &VarBuilder, config: &WanTransformerConfig) -> Result<Self> {
        let dim = config.inner_dim();
        let f32_vb = vb.clone().set_dtype(DType::F32);
        let image_embedder = match config.image_dim {
            Some(image_dim) => {
                let iv = vb.pp("image_embedder");
                let pos_embed = match config.pos_embed_seq_len {
                    Some(len) => Some(weights::get(&iv, &[1, len, image_dim], "pos_embed")?),
                    None => None,
                };
                Some(ImageEmbedder {
                    norm1: LayerNorm::load(&iv.pp("norm1"), image_dim, 1e-5)?,
                    proj: linear(&iv.pp("ff.net.0.proj"), image_dim, image_dim)?,
                    out: linear(&iv.pp("ff.net.2"), image_dim, dim)?,
                    norm2: LayerNorm::load(&iv.pp("norm2"), dim, 1e-5)?,
                    pos_embed,
                })
            }
            None => None,
        };
        Ok(ConditionEmbedder {
            freq_dim: config.freq_dim,
            dim,
            time_embedder: TwoLayer::load(&f32_vb.pp("time_embedder"), config.freq_dim, dim)?,
            time_proj: linear(&vb.pp("time_proj"), dim, 6 * dim)?,
            text_embedder: TwoLayer::load(&vb.pp("text_embedder"), config.text_dim, dim)?,
            image_embedder,
        })
    }

    /// `timestep`: `[B]` or per-token `[B, S]`; `text`: `[B, L, text_dim]`.
    pub fn forward(
        &self,
        timestep: &Tensor,
        text: &Tensor,
        image: Option<&Tensor>,
        dtype: DType,
    ) -> CResult<Conditioning> {
        let (batch, per_batch) = match timestep.dims() {
            [b] => (*b, 1),
            [b, s] => (*b, *s),
            other => candle_core::bail!("timestep must be [B] or [B, tokens], got {other:?}"),
        };
        let values: Vec<f32> = timestep.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        // Per-token timesteps take few distinct values (TI2V: 0 for the conditioning frame,
        // t elsewhere); embedding each distinct value once and gathering saves the
        // [tokens × dim × 6·dim] time_proj matmul, a sixth of a 2-layer step at 5B width.
        let mut distinct: Vec<f32> = Vec::new();
        let mut index = Vec::with_capacity(values.len());
        for &v in &values {
            let at = match distinct.iter().position(|d| d.to_bits() == v.to_bits()) {
                Some(at) => at,
                None => {
                    distinct.push(v);
                    distinct.len() - 1
                }
            };
            index.push(at as u32);
        }
        let device = text.device();
        let features = timestep_features(&distinct, self.freq_dim, device)?;
        let te = &self.time_embedder;
        let temb = te
            .linear_2
            .forward(&te.linear_1.forward(&features)?.silu()?)?
            .to_dtype(dtype)?;
        let timestep_proj = self.time_proj.forward(&temb.silu()?)?;
        let (temb, timestep_proj) = if distinct.len() == values.len() {
            (temb, timestep_proj)
        } else {
            let index = Tensor::from_vec(index, values.len(), device)?;
            (
                temb.index_select(&index, 0)?,
                timestep_proj.index_select(&index, 0)?,
            )
        };
        let temb = temb.reshape((batch, per_batch, self.dim))?;
        let timestep_proj = timestep_proj.reshape((batch, per_batch, 6, self.dim))?;

        let tx = &self.text_embedder;
        let text = tx.linear_2.forward(&gelu_tanh_tensor(
            &tx.linear_1.forward(&text.to_dtype(dtype)?)?,
        )?)?;
        let image = match (image, &self.image_embedder) {
            (Some(img), Some(embedder)) => Some(embedder.forward(&img.to_dtype(dtype)?)?),
            (None, _) => None,
            (Some(_), None) => {
                candle_core::bail!("image tokens were given but this model has no image_dim")
            }
        };
        Ok(Conditioning {
            temb,
            timestep_proj,
            text,
            image,
        })
    }
}
