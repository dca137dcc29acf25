//! Parity checkers for Open-Sora 2.0's autoencoder (diffusers `AutoencoderKLHunyuanVideo`):
//! `hunyuan_vae_encode` (`in.video` → `out.mean`) and `hunyuan_vae_decode`
//! (`in.latents` → `out.video`).
//!
//! An optional `params.tiling` (`{"tile_sample_min_height", "tile_sample_min_width",
//! "tile_sample_stride_height", "tile_sample_stride_width"}`) turns on spatial tiling, as
//! diffusers' `enable_tiling(...)` did; diffusers' framewise (temporal) tiling stays on.

use candle_core::{Device, Tensor};
use kinema_core::{Error, Result};

use super::{Case, Comparison};
use crate::models::hunyuan_vae::{AutoencoderKLHunyuanVideo, SpatialTiling, Tiling, VaeParts};

fn load(case: &Case, parts: VaeParts, device: &Device) -> Result<AutoencoderKLHunyuanVideo> {
    let mut vae =
        AutoencoderKLHunyuanVideo::load(&case.folder("vae")?, parts, case.dtype()?, device)?;
    if let Some(t) = case.params.get("tiling") {
        let field = |k: &str| {
            t.get(k)
                .and_then(serde_json::Value::as_u64)
                .map(|v| v as usize)
                .ok_or_else(|| {
                    Error::model(format!(
                        "parity case {}: params.tiling.{k} is missing or not an integer",
                        case.name
                    ))
                })
        };
        vae.set_tiling(Tiling {
            spatial: Some(SpatialTiling {
                min_height: field("tile_sample_min_height")?,
                min_width: field("tile_sample_min_width")?,
                stride_height: field("tile_sample_stride_height")?,
                stride_width: field("tile_sample_stride_width")?,
            }),
            ..Tiling::diffusers()
        })?;
    }
    Ok(vae)
}

fn input(case: &Case, name: &str, device: &Device) -> Result<Tensor> {
    let dtype = case.dtype()?;
    case.input(name)?
        .to_device(device)
        .and_then(|t| t.to_dtype(dtype))
        .map_err(|e| {
            Error::model(format!("parity case {}: moving in.{name}", case.name)).with_source(e)
        })
}

pub fn check_encode(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let vae = load(case, VaeParts::EncoderOnly, device)?;
    let mean = vae.encode(&input(case, "video", device)?)?.mean;
    Ok(vec![case.compare("mean", &mean)?])
}

pub fn check_decode(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let vae = load(case, VaeParts::DecoderOnly, device)?;
    let video = vae.decode(&input(case, "latents", device)?)?;
    Ok(vec![case.compare("video", &video)?])
}
