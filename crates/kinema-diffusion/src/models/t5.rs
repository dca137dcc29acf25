//! T5 v1.1 as a text encoder (transformers' `T5EncoderModel`): Open-Sora 2.0's T5-XXL.
//!
//! The network is [`Umt5Encoder`]'s, run with T5's one difference ([`PositionBias::
//! SharedFromFirstLayer`], chosen from `model_type: "t5"`). This file adds what Open-Sora
//! does around it: prompts padded to a fixed 512 tokens and encoded *without* an attention
//! mask, so the padding is attended (its `HFEmbedder` passes `attention_mask=None`).

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};
use tokenizers::Tokenizer;

use super::text_tokens::padded_ids;
use super::umt5::{PositionBias, Umt5Config, Umt5Encoder};

/// Open-Sora 2.0's T5 context: every prompt is padded (or truncated) to it.
pub const T5_TEXT_TOKENS: usize = 512;

/// A T5 (v1.1) encoder; refuses umT5 checkpoints, whose per-layer biases it would misread.
pub struct T5Encoder {
    inner: Umt5Encoder,
}

impl T5Encoder {
    /// Loads a transformers `text_encoder/` folder whose `config.json` says `model_type: "t5"`.
    pub fn from_dir(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        let config = Umt5Config::from_dir(dir)?;
        let vb = super::umt5::var_builder(dir, dtype, device)?;
        Self::new(config, &vb).map_err(|e| {
            Error::model(format!("{}: {}", dir.display(), e.message))
                .with_hint(e.hint.unwrap_or_default())
        })
    }

    pub fn new(config: Umt5Config, vb: &candle_nn::VarBuilder) -> Result<Self> {
        if config.position_bias() != PositionBias::SharedFromFirstLayer {
            return Err(Error::invalid(
                format!(
                    "config model_type is {:?}, not \"t5\"",
                    config.model_type.as_deref().unwrap_or("(none)")
                ),
                "load umT5 checkpoints with Umt5Encoder; T5Encoder needs a T5 v1.1 text_encoder",
            ));
        }
        Ok(T5Encoder {
            inner: Umt5Encoder::new(config, vb)?,
        })
    }

    pub fn config(&self) -> &Umt5Config {
        self.inner.config()
    }

    /// `last_hidden_state` `[B, L, d_model]` for ids `[B, L]`; `attention_mask` hides padded
    /// keys when given.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>) -> Result<Tensor> {
        self.inner.forward(input_ids, attention_mask)
    }

    /// Open-Sora's prompt encoding: each text tokenised, truncated and padded to `max_len`
    /// (use [`T5_TEXT_TOKENS`]), then encoded with the padding attended.
    /// Returns `[B, max_len, d_model]`.
    pub fn encode_padded(
        &self,
        tokenizer: &Tokenizer,
        texts: &[&str],
        max_len: usize,
    ) -> Result<Tensor> {
        let pad = tokenizer
            .token_to_id("<pad>")
            .ok_or_else(|| Error::model("the T5 tokenizer has no <pad> token"))?;
        let ids = padded_ids(tokenizer, texts, max_len, pad, "<pad>")?;
        self.forward(&ids, None)
    }
}

#[cfg(test)]
#[path = "t5_tests.rs"]
pub(crate) mod tests;
