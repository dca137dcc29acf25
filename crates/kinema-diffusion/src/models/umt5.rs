//! The umT5 text encoder of Wan (transformers' `UMT5EncoderModel`), and T5 v1.1 (transformers'
//! `T5EncoderModel`, Open-Sora's text encoder) through the same code.
//!
//! The two differ in one place, chosen from `model_type` ([`PositionBias`]): umT5 gives every
//! layer its own relative position bias; T5 computes it in layer 0 and shares it. Pre-norm blocks with T5's RMS norm
//! (no mean subtraction, variance in f32), unscaled attention logits (the scaling is folded
//! into the initialisation), and a gated-GELU feed-forward. Weight paths mirror the checkpoint
//! (`shared`, `encoder.block.{i}.layer.{0,1}…`, `encoder.final_layer_norm`).

mod config;
mod prompt;

pub use config::{Activation, PositionBias, Umt5Config, INERT_KEYS};
pub use prompt::{clean_prompt, encode_prompt, load_tokenizer};

use std::path::{Path, PathBuf};

use crate::nn::Linear;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use crate::nn::attention::{attention, AttentionChunks};
use crate::nn::fastmath::gelu_tanh_tensor;
use crate::weights;

/// The single-file weights name transformers writes.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The shard index transformers writes for large models (umT5-XXL is sharded).
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// The umT5 encoder stack with its token embedding.
pub struct Umt5Encoder {
    config: Umt5Config,
    embed_tokens: Tensor,
    blocks: Vec<Umt5Block>,
    final_layer_norm: Tensor,
    chunks: AttentionChunks,
}

struct Umt5Block {
    attn_norm: Tensor,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    /// `[num_buckets, num_heads]`; T5 has it in block 0 only.
    relative_attention_bias: Option<Tensor>,
    ff_norm: Tensor,
    wi_0: Linear,
    wi_1: Option<Linear>,
    wo: Linear,
}

fn linear_no_bias(vb: &VarBuilder, in_dim: usize, out_dim: usize, name: &str) -> Result<Linear> {
    Ok(Linear::new(
        weights::get(vb, &[out_dim, in_dim], &format!("{name}.weight"))?,
        None,
    ))
}

fn model_err(what: &str) -> impl FnOnce(candle_core::Error) -> Error + '_ {
    move |e| Error::model(format!("umT5 encoder: {what} failed")).with_source(e)
}

impl Umt5Encoder {
    /// Loads a transformers `text_encoder/` folder: `config.json` plus `model.safetensors`
    /// or its shards.
    pub fn from_dir(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        let config = Umt5Config::from_dir(dir)?;
        let vb = var_builder(dir, dtype, device)?;
        Self::new(config, &vb)
    }

    /// Builds the encoder from weights at the checkpoint's own key paths.
    pub fn new(config: Umt5Config, vb: &VarBuilder) -> Result<Self> {
        config.validate()?;
        let (gated, _) = config.activation()?;
        let (dm, inner, ff) = (config.d_model, config.inner_dim(), config.d_ff);
        // Tied checkpoints store only `shared`; untied ones may store the encoder's copy.
        let embed_name = if vb.contains_tensor("shared.weight")
            || !vb.contains_tensor("encoder.embed_tokens.weight")
        {
            "shared.weight"
        } else {
            "encoder.embed_tokens.weight"
        };
        let embed_tokens = weights::get(vb, &[config.vocab_size, dm], embed_name)?;
        let enc = vb.pp("encoder");
        let per_layer = config.position_bias() == PositionBias::PerLayer;
        let mut blocks = Vec::with_capacity(config.num_layers);
        for i in 0..config.num_layers {
            let b = enc.pp(format!("block.{i}"));
            let sa = b.pp("layer.0");
            let att = sa.pp("SelfAttention");
            let ffl = b.pp("layer.1");
            let dense = ffl.pp("DenseReluDense");
            let (wi_0, wi_1) = if gated {
                (
                    linear_no_bias(&dense, dm, ff, "wi_0")?,
                    Some(linear_no_bias(&dense, dm, ff, "wi_1")?),
                )
            } else {
                (linear_no_bias(&dense, dm, ff, "wi")?, None)
            };
            blocks.push(Umt5Block {
                attn_norm: weights::get(&sa, &[dm], "layer_norm.weight")?,
                q: linear_no_bias(&att, dm, inner, "q")?,
                k: linear_no_bias(&att, dm, inner, "k")?,
                v: linear_no_bias(&att, dm, inner, "v")?,
                o: linear_no_bias(&att, inner, dm, "o")?,
                relative_attention_bias: if per_layer || i == 0 {
                    Some(weights::get(
                        &att,
                        &[config.relative_attention_num_buckets, config.num_heads],
                        "relative_attention_bias.weight",
                    )?)
                } else {
                    None
                },
                ff_norm: weights::get(&ffl, &[dm], "layer_norm.weight")?,
                wi_0,
                wi_1,
                wo: linear_no_bias(&dense, ff, dm, "wo")?,
            });
        }
        let final_layer_norm = weights::get(&enc, &[dm], "final_layer_norm.weight")?;
        Ok(Umt5Encoder {
            config,
            embed_tokens,
            blocks,
            final_layer_norm,
            chunks: AttentionChunks::default(),
        })
    }

    pub fn config(&self) -> &Umt5Config {
        &self.config
    }

    /// Overrides the attention work split (memory budget).
    pub fn with_attention_chunks(mut self, chunks: AttentionChunks) -> Self {
        self.chunks = chunks;
        self
    }

    /// `last_hidden_state` `[B, N, d_model]` for token ids `[B, N]` (any integer dtype, or
    /// integral floats); `attention_mask` `[B, N]` (1 = token, 0 = padding) hides padded keys.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>) -> Result<Tensor> {
        let (batch, len) = input_ids.dims2().map_err(|_| {
            Error::invalid(
                format!(
                    "umT5 input_ids must be [batch, tokens], got {:?}",
                    input_ids.dims()
                ),
                "tokenise each prompt into one row of ids",
            )
        })?;
        let ids = self.checked_ids(input_ids)?;
        let device = self.embed_tokens.device();
        let mask_bias = match attention_mask {
            Some(mask) => Some(mask_to_bias(mask, batch, len, device)?),
            None => None,
        };
        let buckets = self.position_buckets(len, device)?;
        let mut hidden = self
            .embed_tokens
            .index_select(&ids.flatten_all().map_err(model_err("ids"))?, 0)
            .and_then(|x| x.reshape((batch, len, self.config.d_model)))
            .map_err(model_err("token embedding"))?;
        let shared_bias = match self.blocks.first() {
            Some(first) if self.config.position_bias() == PositionBias::SharedFromFirstLayer => {
                Some(
                    first
                        .bias_from(&buckets, len)
                        .map_err(model_err("position bias"))?,
                )
            }
            _ => None,
        };
        for (i, block) in self.blocks.iter().enumerate() {
            let position_bias = match &shared_bias {
                Some(b) => b.clone(),
                None => block
                    .bias_from(&buckets, len)
                    .map_err(model_err("position bias"))?,
            };
            hidden = self
                .block_forward(block, &hidden, &position_bias, mask_bias.as_ref())
                .map_err(|e| {
                    Error::model(format!("umT5 encoder block {i} failed")).with_source(e)
                })?;
        }
        self.rms_norm(&hidden, &self.final_layer_norm)
            .map_err(model_err("final_layer_norm"))
    }

    fn checked_ids(&self, input_ids: &Tensor) -> Result<Tensor> {
        let as_i64 = input_ids
            .to_dtype(DType::F64)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f64>());
        let values = as_i64.map_err(model_err("reading input_ids"))?;
        if let Some(bad) = values
            .iter()
            .find(|&&v| !(v >= 0.0 && v.fract() == 0.0 && v < self.config.vocab_size as f64))
        {
            return Err(Error::invalid(
                format!(
                    "token id {bad} is outside the umT5 vocabulary (0..{})",
                    self.config.vocab_size
                ),
                "use the tokenizer that ships with this text encoder",
            ));
        }
        input_ids
            .to_dtype(DType::U32)
            .and_then(|t| t.to_device(self.embed_tokens.device()))
            .map_err(model_err("converting input_ids"))
    }

    /// T5's bidirectional relative-position buckets `[N·N]` (query-major), shared by all
    /// layers; each layer looks up its own bias table with them.
    fn position_buckets(&self, len: usize, device: &Device) -> Result<Tensor> {
        let mut buckets = Vec::with_capacity(len * len);
        for q in 0..len {
            for k in 0..len {
                buckets.push(relative_position_bucket(
                    k as i64 - q as i64,
                    self.config.relative_attention_num_buckets,
                    self.config.relative_attention_max_distance,
                ));
            }
        }
        Tensor::from_vec(buckets, len * len, device).map_err(model_err("position buckets"))
    }

    fn rms_norm(&self, x: &Tensor, weight: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::rms_norm(x, weight, self.config.layer_norm_epsilon as f32)
    }

    fn block_forward(
        &self,
        block: &Umt5Block,
        x: &Tensor,
        position_bias: &Tensor,
        mask_bias: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (b, n, _) = x.dims3()?;
        let (h, dk) = (self.config.num_heads, self.config.d_kv);
        let normed = self.rms_norm(x, &block.attn_norm)?;
        let heads = |t: Tensor| t.reshape((b, n, h, dk))?.transpose(1, 2)?.contiguous();
        let q = heads(block.q.forward(&normed)?)?;
        let k = heads(block.k.forward(&normed)?)?;
        let v = heads(block.v.forward(&normed)?)?;
        let bias = match mask_bias {
            Some(m) => position_bias.broadcast_add(m)?,
            None => position_bias.clone(),
        };
        let attn = attention(&q, &k, &v, Some(&bias), 1.0, self.chunks)?;
        let attn = attn.transpose(1, 2)?.reshape((b, n, h * dk))?;
        let x = (x + block.o.forward(&attn)?)?;

        let normed = self.rms_norm(&x, &block.ff_norm)?;
        let (_, act) = self
            .config
            .activation()
            .map_err(|e| candle_core::Error::Msg(e.message))?;
        let gate = activate(&block.wi_0.forward(&normed)?, act)?;
        let hidden = match &block.wi_1 {
            Some(wi_1) => (gate * wi_1.forward(&normed)?)?,
            None => gate,
        };
        x + block.wo.forward(&hidden)?
    }
}

impl Umt5Block {
    /// This block's bias table looked up for every (query, key) pair: `[1, H, N, N]` f32.
    fn bias_from(&self, buckets: &Tensor, n: usize) -> candle_core::Result<Tensor> {
        let Some(table) = &self.relative_attention_bias else {
            candle_core::bail!("this block has no relative_attention_bias table");
        };
        let h = table.dim(1)?;
        table
            .index_select(buckets, 0)?
            .reshape((n, n, h))?
            .permute((2, 0, 1))?
            .unsqueeze(0)?
            .to_dtype(DType::F32)
    }
}

fn activate(x: &Tensor, act: Activation) -> candle_core::Result<Tensor> {
    match act {
        Activation::GeluTanh => gelu_tanh_tensor(x),
        Activation::Gelu => x.gelu_erf(),
        Activation::Relu => x.relu(),
        Activation::Silu => x.silu(),
    }
}

/// `[B, N]` 1/0 mask → additive f32 bias `[B, 1, 1, N]`: 0 for tokens, `f32::MIN` (as
/// transformers' eager path) for padding.
fn mask_to_bias(mask: &Tensor, batch: usize, len: usize, device: &Device) -> Result<Tensor> {
    if mask.dims() != [batch, len] {
        return Err(Error::invalid(
            format!(
                "attention_mask has shape {:?}, input_ids {:?}",
                mask.dims(),
                [batch, len]
            ),
            "pass one mask value per token",
        ));
    }
    let keep = mask
        .to_dtype(DType::F32)
        .and_then(|m| m.to_device(device))
        .and_then(|m| m.ne(0f32))
        .map_err(model_err("attention mask"))?;
    let zeros =
        Tensor::zeros((batch, len), DType::F32, device).map_err(model_err("attention mask"))?;
    let mins = Tensor::full(f32::MIN, (batch, len), device).map_err(model_err("attention mask"))?;
    keep.where_cond(&zeros, &mins)
        .and_then(|b| b.reshape((batch, 1, 1, len)))
        .map_err(model_err("attention mask"))
}

/// T5's bucket for `relative_position = key - query` in the bidirectional (encoder) case:
/// half the buckets per direction, exact for small distances, logarithmic up to
/// `max_distance`. The log runs in f32 like transformers so boundary cases land alike.
pub fn relative_position_bucket(
    relative_position: i64,
    num_buckets: usize,
    max_distance: usize,
) -> u32 {
    let half = (num_buckets / 2) as i64;
    let mut bucket = if relative_position > 0 { half } else { 0 };
    let distance = relative_position.abs();
    let max_exact = half / 2;
    if distance < max_exact {
        bucket += distance;
    } else {
        let denom = (max_distance as f64 / max_exact as f64).ln() as f32;
        let ratio =
            ((distance as f32) / (max_exact as f32)).ln() / denom * ((half - max_exact) as f32);
        bucket += (max_exact + ratio as i64).min(half - 1);
    }
    bucket as u32
}

/// The safetensors files of a transformers model folder (single file or shards).
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join(WEIGHTS_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join(INDEX_FILE);
    let text = std::fs::read_to_string(&index).map_err(|e| {
        Error::model(format!(
            "no text encoder weights in {}: expected {WEIGHTS_FILE} or {INDEX_FILE}",
            dir.display()
        ))
        .with_source(e)
        .with_hint("download the text_encoder folder completely")
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::model(format!("{} is not valid JSON: {e}", index.display())))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| Error::model(format!("{} has no \"weight_map\" object", index.display())))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for (key, file) in map {
        let name = file
            .as_str()
            .filter(|f| !f.contains('/') && !f.contains('\\') && !f.starts_with('.'))
            .ok_or_else(|| {
                Error::model(format!("{}: bad shard name for `{key}`", index.display()))
            })?;
        let path = dir.join(name);
        if !files.contains(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Validates every weight file's header, then memory-maps them.
pub fn var_builder(dir: &Path, dtype: DType, device: &Device) -> Result<VarBuilder<'static>> {
    let files = weight_files(dir)?;
    for f in &files {
        weights::validate_safetensors(f)?;
    }
    // SAFETY: the files must stay unmodified while mapped (documented on `from_dir`); each
    // header was validated above so candle's parser only sees well-formed files.
    unsafe { VarBuilder::from_mmaped_safetensors(&files, dtype, device) }.map_err(|e| {
        Error::model(format!("cannot map the weights in {}", dir.display())).with_source(e)
    })
}

#[cfg(test)]
#[path = "umt5/tests.rs"]
mod tests;
