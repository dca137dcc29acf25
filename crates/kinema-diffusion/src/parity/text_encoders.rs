//! Parity checks for Open-Sora 2.0's text encoders: `t5_encoder` (transformers
//! `T5EncoderModel`: ids + mask → `last_hidden_state`) and `clip_text_pooled`
//! (`CLIPTextModel`: ids → `pooler_output`, no mask).

use candle_core::{DType, Device};
use kinema_core::Result;

use super::{Case, Comparison};
use crate::models::clip_text::ClipTextEncoder;
use crate::models::t5::T5Encoder;

pub fn check_t5(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let encoder = T5Encoder::from_dir(&case.folder("text_encoder")?, DType::F32, device)?;
    let out = encoder.forward(
        case.input("input_ids")?,
        Some(case.input("attention_mask")?),
    )?;
    Ok(vec![case.compare("last_hidden_state", &out)?])
}

pub fn check_clip(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let encoder = ClipTextEncoder::from_dir(&case.folder("text_encoder")?, DType::F32, device)?;
    let out = encoder.pooled(case.input("input_ids")?)?;
    Ok(vec![case.compare("pooler_output", &out)?])
}
