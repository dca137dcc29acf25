//! Parity check for `clip_vision`: transformers' `CLIPVisionModel` as the Wan I2V pipeline
//! uses it, `hidden_states[-2]` for given `pixel_values`.

use candle_core::Device;
use kinema_core::{Error, Result};

use super::{Case, Comparison};
use crate::models::clip_vision::ClipVisionEncoder;

/// `in.pixel_values` `[B, 3, S, S]` → `out.hidden_states` (the second-to-last layer's output).
pub fn check(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let dtype = case.dtype()?;
    let encoder = ClipVisionEncoder::from_dir(&case.folder("image_encoder")?, dtype, device)?;
    let pixels = case
        .input("pixel_values")?
        .to_device(device)
        .and_then(|t| t.to_dtype(dtype))
        .map_err(|e| {
            Error::model(format!("parity case {}: moving in.pixel_values", case.name))
                .with_source(e)
        })?;
    let hidden = encoder.penultimate_hidden_states(&pixels)?;
    Ok(vec![case.compare("hidden_states", &hidden)?])
}
