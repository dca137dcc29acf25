//! Parity checkers for the Wan VAE: `wan_vae_encode` (posterior mean) and `wan_vae_decode`.
//!
//! An optional `params.tiling` (`{"tile_sample_min_height", "tile_sample_min_width",
//! "tile_sample_stride_height", "tile_sample_stride_width"}`) turns on spatial tiling, as
//! diffusers' `enable_tiling(...)` did when the reference was made.

use candle_core::{DType, Device};
use kinema_core::Result;

use super::{Case, Comparison};
use crate::models::wan::{AutoencoderKLWan, TilingConfig, VaeParts};

/// `in.video` → `out.mean` (`encode(video).latent_dist.mean`, un-normalised).
pub fn check_encode(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let mut vae = AutoencoderKLWan::load(
        &case.folder("vae")?,
        VaeParts::EncoderOnly,
        case.dtype()?,
        device,
    )?;
    apply_tiling(case, &mut vae)?;
    let video = to_device(case.input("video")?, case.dtype()?, device)?;
    let mean = vae.encode(&video)?.mean;
    Ok(vec![case.compare("mean", &mean)?])
}

/// `in.latents` → `out.video` (`decode(latents).sample`).
pub fn check_decode(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let mut vae = AutoencoderKLWan::load(
        &case.folder("vae")?,
        VaeParts::DecoderOnly,
        case.dtype()?,
        device,
    )?;
    apply_tiling(case, &mut vae)?;
    let latents = to_device(case.input("latents")?, case.dtype()?, device)?;
    let video = vae.decode(&latents)?;
    Ok(vec![case.compare("video", &video)?])
}

fn to_device(
    t: &candle_core::Tensor,
    dtype: DType,
    device: &Device,
) -> Result<candle_core::Tensor> {
    t.to_device(device)
        .and_then(|t| t.to_dtype(dtype))
        .map_err(|e| {
            kinema_core::Error::model("cannot move a parity input to the device").with_source(e)
        })
}

fn apply_tiling(case: &Case, vae: &mut AutoencoderKLWan) -> Result<()> {
    let Some(t) = case.params.get("tiling") else {
        return Ok(());
    };
    let field = |k: &str| {
        t.get(k)
            .and_then(serde_json::Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| {
                kinema_core::Error::model(format!(
                    "parity case {}: params.tiling.{k} is missing or not an integer",
                    case.name
                ))
            })
    };
    vae.enable_tiling(TilingConfig {
        tile_sample_min_height: field("tile_sample_min_height")?,
        tile_sample_min_width: field("tile_sample_min_width")?,
        tile_sample_stride_height: field("tile_sample_stride_height")?,
        tile_sample_stride_width: field("tile_sample_stride_width")?,
    })
}
