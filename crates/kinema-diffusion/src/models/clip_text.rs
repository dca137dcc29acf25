//! The pooled CLIP text embedding (transformers' `CLIPTextModel`, `pooler_output`), which
//! Open-Sora 2.0 feeds its MMDiT as the global text vector (CLIP-L/14, 77 tokens).
//!
//! Token and position embeddings, causally masked pre-norm layers (shared with the vision
//! tower in [`super::clip_vision`]), the final layer norm, then one token per row: the eos
//! token. Which one is the eos token follows transformers exactly: with the legacy
//! `eos_token_id == 2` (what CLIP-L's released config says) it is the position of the
//! largest id, since the real eos id 49407 is the largest in the vocabulary; otherwise the
//! first position holding `eos_token_id`. Weight paths mirror the checkpoint
//! (`text_model.*` from transformers 4 and full `CLIPModel`s; transformers 5 drops the prefix).

use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use kinema_core::{Error, Result};
use serde::Deserialize;

use super::clip_vision::{layer_norm, Activation, EncoderLayer};
use crate::weights;

/// CLIP-L/14's text context: Open-Sora pads every prompt to it.
pub const CLIP_TEXT_TOKENS: usize = 77;

/// transformers' legacy default eos id, which switches pooling to "argmax of the ids".
const LEGACY_EOS_TOKEN_ID: u32 = 2;

/// `config.json` of a `CLIPTextModel` (top level), or of a `CLIPModel` (`text_config`).
#[derive(Clone, Debug, Deserialize)]
pub struct ClipTextConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// transformers' `CLIPTextConfig` default is 2 (the legacy rule).
    #[serde(default = "default_eos")]
    pub eos_token_id: u32,
}

fn default_act() -> String {
    "quick_gelu".into()
}
fn default_eps() -> f64 {
    1e-5
}
fn default_eos() -> u32 {
    LEGACY_EOS_TOKEN_ID
}

impl ClipTextConfig {
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let raw: serde_json::Value = weights::read_config(dir)?;
        let fields = raw.get("text_config").cloned().unwrap_or(raw);
        let config: ClipTextConfig = serde_json::from_value(fields).map_err(|e| {
            Error::model(format!(
                "{}: not a CLIP text config: {e}",
                dir.join("config.json").display()
            ))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(Error::model(format!(
                "CLIP text: hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if self.vocab_size == 0 || self.max_position_embeddings == 0 {
            return Err(Error::model(
                "CLIP text: vocab_size and max_position_embeddings must be positive",
            ));
        }
        Activation::parse(&self.hidden_act)?;
        Ok(())
    }
}

/// The CLIP text tower up to its pooled output.
pub struct ClipTextEncoder {
    config: ClipTextConfig,
    activation: Activation,
    token_embedding: Tensor,
    position_embedding: Tensor,
    layers: Vec<EncoderLayer>,
    final_layer_norm: LayerNorm,
}

fn model_err(what: &'static str) -> impl FnOnce(candle_core::Error) -> Error {
    move |e| Error::model(format!("CLIP text encoder: {what} failed")).with_source(e)
}

impl ClipTextEncoder {
    /// Loads a transformers `text_encoder/` folder (`config.json` + safetensors).
    pub fn from_dir(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        let config = ClipTextConfig::from_dir(dir)?;
        let vb = crate::models::umt5::var_builder(dir, dtype, device)?;
        let vb = if vb.contains_tensor("text_model.embeddings.token_embedding.weight") {
            vb.pp("text_model")
        } else {
            vb
        };
        Self::new(config, &vb)
    }

    /// Builds from weights at the text tower's own paths (`embeddings.*`, `encoder.*`).
    pub fn new(config: ClipTextConfig, vb: &VarBuilder) -> Result<Self> {
        config.validate()?;
        let (d, eps) = (config.hidden_size, config.layer_norm_eps);
        let emb = vb.pp("embeddings");
        let token_embedding = weights::get(
            &emb.pp("token_embedding"),
            &[config.vocab_size, d],
            "weight",
        )?;
        let position_embedding = weights::get(
            &emb.pp("position_embedding"),
            &[config.max_position_embeddings, d],
            "weight",
        )?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                EncoderLayer::load(
                    &vb.pp(format!("encoder.layers.{i}")),
                    d,
                    config.intermediate_size,
                    eps,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ClipTextEncoder {
            activation: Activation::parse(&config.hidden_act)?,
            final_layer_norm: layer_norm(&vb.pp("final_layer_norm"), d, eps)?,
            config,
            token_embedding,
            position_embedding,
            layers,
        })
    }

    pub fn config(&self) -> &ClipTextConfig {
        &self.config
    }

    /// `pooler_output` `[B, hidden]` for token ids `[B, L]` (no attention mask, as Open-Sora
    /// passes none; L at most `max_position_embeddings`).
    pub fn pooled(&self, input_ids: &Tensor) -> Result<Tensor> {
        let (b, len) = input_ids.dims2().map_err(|_| {
            Error::invalid(
                format!(
                    "CLIP input_ids must be [batch, tokens], got {:?}",
                    input_ids.dims()
                ),
                "tokenise each prompt into one row of ids",
            )
        })?;
        if len == 0 || len > self.config.max_position_embeddings {
            return Err(Error::invalid(
                format!(
                    "{len} tokens do not fit CLIP's {} positions",
                    self.config.max_position_embeddings
                ),
                format!("pad or truncate prompts to {CLIP_TEXT_TOKENS} tokens"),
            ));
        }
        let rows: Vec<Vec<u32>> = (0..b)
            .map(|i| {
                input_ids
                    .get(i)
                    .and_then(|r| r.to_dtype(DType::F64))
                    .and_then(|r| r.to_vec1::<f64>())
                    .map(|r| r.into_iter().map(|v| v as u32).collect())
            })
            .collect::<candle_core::Result<_>>()
            .map_err(model_err("reading input_ids"))?;
        if let Some(bad) = rows
            .iter()
            .flatten()
            .find(|&&v| v as usize >= self.config.vocab_size)
        {
            return Err(Error::invalid(
                format!(
                    "token id {bad} is outside the CLIP vocabulary (0..{})",
                    self.config.vocab_size
                ),
                "use the tokenizer that ships with this text encoder",
            ));
        }
        let eos: Vec<usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| self.eos_position(r, i))
            .collect::<Result<_>>()?;
        let device = self.token_embedding.device();
        let hidden = self
            .hidden_states(&rows, len, device)
            .map_err(model_err("encoder"))?;
        let picked = (0..b)
            .map(|i| hidden.get(i)?.get(eos[i]))
            .collect::<candle_core::Result<Vec<_>>>()
            .and_then(|v| Tensor::stack(&v, 0))
            .map_err(model_err("pooling"))?;
        Ok(picked)
    }

    /// The pooled token's position in one row (see the module docs for the two rules).
    fn eos_position(&self, row: &[u32], index: usize) -> Result<usize> {
        let found = if self.config.eos_token_id == LEGACY_EOS_TOKEN_ID {
            // torch's argmax returns the first maximum.
            row.iter()
                .enumerate()
                .fold(None, |best: Option<(usize, u32)>, (i, &v)| match best {
                    Some((_, m)) if m >= v => best,
                    _ => Some((i, v)),
                })
                .map(|(i, _)| i)
        } else {
            row.iter().position(|&v| v == self.config.eos_token_id)
        };
        found.ok_or_else(|| {
            Error::invalid(
                format!(
                    "prompt row {index} has no end-of-text token (id {})",
                    self.config.eos_token_id
                ),
                "tokenise with the CLIP tokenizer, which appends it",
            )
        })
    }

    fn hidden_states(
        &self,
        rows: &[Vec<u32>],
        len: usize,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let b = rows.len();
        let d = self.config.hidden_size;
        let flat: Vec<u32> = rows.iter().flatten().copied().collect();
        let ids = Tensor::from_vec(flat, b * len, device)?;
        let x = self
            .token_embedding
            .index_select(&ids, 0)?
            .reshape((b, len, d))?
            .broadcast_add(&self.position_embedding.narrow(0, 0, len)?.unsqueeze(0)?)?;
        let mask = causal_bias(len, device)?;
        let mut x = x;
        for layer in &self.layers {
            x = layer.forward(
                &x,
                self.config.num_attention_heads,
                self.activation,
                Some(&mask),
            )?;
        }
        self.final_layer_norm.forward(&x)
    }
}

/// `[1, 1, L, L]` additive mask: 0 on and below the diagonal, `f32::MIN` above (transformers'
/// causal mask value).
fn causal_bias(len: usize, device: &Device) -> candle_core::Result<Tensor> {
    let values: Vec<f32> = (0..len)
        .flat_map(|q| (0..len).map(move |k| if k <= q { 0.0 } else { f32::MIN }))
        .collect();
    Tensor::from_vec(values, (1, 1, len, len), device)
}

#[cfg(test)]
#[path = "clip_text_tests.rs"]
mod tests;
