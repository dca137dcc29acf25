//! Prompt → text embeddings, exactly as diffusers' Wan pipelines prepare them
//! (`_get_t5_prompt_embeds`): clean the text, tokenise with special tokens, truncation and
//! padding to a fixed length, run the encoder with the padding masked, then zero every
//! position past each prompt's true length. The zeros matter: Wan's cross-attention has no
//! mask and was trained seeing zero vectors there.

use std::path::Path;

use candle_core::{DType, Tensor};
use kinema_core::{Error, Result};
use tokenizers::{
    PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer, TruncationDirection,
    TruncationParams, TruncationStrategy,
};

use super::Umt5Encoder;

/// Reads a `tokenizer.json` (the fast-tokenizer file shipped in Wan's `tokenizer/` folder).
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    let file = if path.is_dir() {
        path.join("tokenizer.json")
    } else {
        path.to_path_buf()
    };
    Tokenizer::from_file(&file).map_err(|e| {
        Error::model(format!("cannot load tokenizer {}: {e}", file.display()))
            .with_hint("point at the model's tokenizer/ folder or its tokenizer.json")
    })
}

/// diffusers' `prompt_clean` without ftfy: HTML entities decoded (twice, as `html.unescape`
/// is applied twice), whitespace runs collapsed to one space, ends trimmed.
pub fn clean_prompt(text: &str) -> String {
    let unescaped = unescape_html(&unescape_html(text));
    unescaped.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let decoded = tail.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &tail[1..end];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            };
            ch.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Encodes `texts` to `(embeds [B, max_len, d_model], mask [B, max_len] u32)`.
///
/// Prompts longer than `max_len` tokens are truncated (keeping the end-of-sequence token, as
/// the tokenizer's truncation does); padded positions of `embeds` are exactly zero.
pub fn encode_prompt(
    tokenizer: &Tokenizer,
    encoder: &Umt5Encoder,
    texts: &[&str],
    max_len: usize,
) -> Result<(Tensor, Tensor)> {
    if texts.is_empty() || max_len == 0 {
        return Err(Error::invalid(
            format!("cannot encode {} prompts to {max_len} tokens", texts.len()),
            "give at least one prompt and a max length of at least 1",
        ));
    }
    let pad_id = tokenizer
        .get_padding()
        .map(|p| (p.pad_id, p.pad_token.clone()))
        .or_else(|| {
            tokenizer
                .token_to_id("<pad>")
                .map(|id| (id, "<pad>".to_string()))
        })
        .ok_or_else(|| {
            Error::model("the tokenizer has no padding token (`<pad>`)")
                .with_hint("use the umT5 tokenizer of the Wan checkpoint")
        })?;
    let mut tok = tokenizer.clone();
    tok.with_truncation(Some(TruncationParams {
        direction: TruncationDirection::Right,
        max_length: max_len,
        strategy: TruncationStrategy::LongestFirst,
        stride: 0,
    }))
    .map_err(|e| Error::model(format!("cannot set tokenizer truncation to {max_len}: {e}")))?;
    tok.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::Fixed(max_len),
        direction: PaddingDirection::Right,
        pad_to_multiple_of: None,
        pad_id: pad_id.0,
        pad_type_id: 0,
        pad_token: pad_id.1,
    }));

    let mut ids = Vec::with_capacity(texts.len() * max_len);
    let mut mask = Vec::with_capacity(texts.len() * max_len);
    for text in texts {
        let encoding = tok.encode(clean_prompt(text), true).map_err(|e| {
            Error::invalid(
                format!("cannot tokenise prompt {text:?}: {e}"),
                "check the prompt text",
            )
        })?;
        if encoding.get_ids().len() != max_len {
            return Err(Error::internal(format!(
                "tokenizer returned {} ids for a fixed length of {max_len}",
                encoding.get_ids().len()
            )));
        }
        ids.extend_from_slice(encoding.get_ids());
        mask.extend_from_slice(encoding.get_attention_mask());
    }
    let device = encoder.embed_tokens.device();
    let batch = texts.len();
    let to_tensor = |v: Vec<u32>| Tensor::from_vec(v, (batch, max_len), device);
    let ids = to_tensor(ids).map_err(|e| Error::model("token ids").with_source(e))?;
    let mask = to_tensor(mask).map_err(|e| Error::model("attention mask").with_source(e))?;
    let hidden = encoder.forward(&ids, Some(&mask))?;
    // Right padding: the true tokens are a prefix, so zeroing by the mask is diffusers'
    // "cut to seq_len, re-pad with zeros".
    let keep = mask
        .to_dtype(hidden.dtype())
        .and_then(|m| m.unsqueeze(2))
        .and_then(|m| hidden.broadcast_mul(&m))
        .map_err(|e| Error::model("zeroing padded embeddings").with_source(e))?;
    debug_assert_eq!(mask.dtype(), DType::U32);
    Ok((keep, mask))
}
