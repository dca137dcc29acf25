//! Parity checks for the umT5 text encoder: `umt5_encoder` (ids + mask → last hidden state)
//! and `umt5_prompt` (prompt strings → the Wan pipelines' zero-padded prompt embeddings).

use candle_core::{DType, Device};
use kinema_core::{Error, Result};

use super::{Case, Comparison};
use crate::models::umt5::{encode_prompt, load_tokenizer, Umt5Encoder};

/// Dispatches on the component name (`umt5_encoder` or `umt5_prompt`).
pub fn check(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let encoder = Umt5Encoder::from_dir(&case.folder("text_encoder")?, DType::F32, device)?;
    match case.component.as_str() {
        "umt5_encoder" => {
            let ids = case.input("input_ids")?;
            let mask = case.input("attention_mask")?;
            let out = encoder.forward(ids, Some(mask))?;
            Ok(vec![case.compare("last_hidden_state", &out)?])
        }
        "umt5_prompt" => {
            let tokenizer = load_tokenizer(&case.folder("tokenizer")?)?;
            let prompts: Vec<String> = case
                .params
                .get("prompts")
                .and_then(|p| p.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .filter(|v: &Vec<String>| !v.is_empty())
                .ok_or_else(|| {
                    Error::model(format!(
                        "parity case {}: params.prompts must be a list of strings",
                        case.name
                    ))
                })?;
            let max_len = case.param_usize("max_sequence_length")?;
            let texts: Vec<&str> = prompts.iter().map(String::as_str).collect();
            let (embeds, mask) = encode_prompt(&tokenizer, &encoder, &texts, max_len)?;
            Ok(vec![
                case.compare("prompt_embeds", &embeds)?,
                case.compare("mask", &mask)?,
            ])
        }
        other => Err(Error::internal(format!(
            "text encoder checker got component `{other}`"
        ))),
    }
}
