//! Fixed-length token ids, as Hugging Face tokenizers write them with
//! `padding="max_length", truncation=True`: what Open-Sora feeds both its text encoders
//! (T5 at 512 tokens, CLIP at 77).

use candle_core::{Device, Tensor};
use kinema_core::{Error, Result};
use tokenizers::{PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Token ids `[B, max_len]` (u32) as a Hugging Face tokenizer called with
/// `padding="max_length", truncation=True, max_length=max_len` writes them: special tokens
/// kept within the length, right padding with `pad_id`.
pub fn padded_ids(
    tokenizer: &Tokenizer,
    texts: &[&str],
    max_len: usize,
    pad_id: u32,
    pad_token: &str,
) -> Result<Tensor> {
    if texts.is_empty() || max_len == 0 {
        return Err(Error::invalid(
            format!(
                "cannot tokenise {} prompts to {max_len} tokens",
                texts.len()
            ),
            "give at least one prompt and a length of at least 1",
        ));
    }
    let mut tok = tokenizer.clone();
    tok.with_truncation(Some(TruncationParams {
        max_length: max_len,
        ..Default::default()
    }))
    .map_err(|e| Error::model(format!("tokenizer truncation: {e}")))?;
    tok.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::Fixed(max_len),
        direction: PaddingDirection::Right,
        pad_id,
        pad_token: pad_token.to_string(),
        ..Default::default()
    }));
    let encodings = tok
        .encode_batch(texts.to_vec(), true)
        .map_err(|e| Error::model(format!("tokenising prompts: {e}")))?;
    let mut flat = Vec::with_capacity(texts.len() * max_len);
    for e in &encodings {
        if e.get_ids().len() != max_len {
            return Err(Error::internal(format!(
                "tokenizer returned {} ids, expected {max_len}",
                e.get_ids().len()
            )));
        }
        flat.extend_from_slice(e.get_ids());
    }
    Tensor::from_vec(flat, (texts.len(), max_len), &Device::Cpu)
        .map_err(|e| Error::model("token id tensor").with_source(e))
}
