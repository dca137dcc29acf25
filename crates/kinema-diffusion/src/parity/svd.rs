//! Parity checkers for Stable Video Diffusion's components (made by
//! `tools/reference/make_svd_fixtures.py`; their names are fixed so that other case folders
//! can be checked with `KINEMA_PARITY_DIRS`):
//!
//! - `svd_vae_encode`: `in.image` → `out.mean`;
//! - `svd_vae_decode`: `in.latents` with `params.num_frames` (and `decode_chunk_size`) →
//!   `out.video`;
//! - `svd_unet`: `in.sample`, `in.timestep`, `in.encoder_hidden_states`,
//!   `in.added_time_ids` → `out.sample`;
//! - `clip_vision_projection`: `in.pixel_values` → `out.image_embeds`;
//! - `svd_resize_antialias`: `in.image` with `params.height`/`width` → `out.image`;
//! - `svd_pipeline`: the case folder is the pipeline; `in.image`, `in.latents`,
//!   `in.image_noise` and the call's params → `out.frames`.

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};

use super::{Case, Comparison};
use crate::models::clip_vision::projection::ClipVisionModelWithProjection;
use crate::models::svd::{
    AutoencoderKLTemporalDecoder, UNetInput, UNetSpatioTemporalConditionModel, VaeHalves,
};
use crate::pipelines::svd::{SvdNoise, SvdOptions, SvdPipeline, SvdRequest};
use crate::pipelines::svd_image::{resize_with_antialiasing, ImageInput};

/// `in.<name>` on `device` in `dtype`.
fn input(case: &Case, name: &str, dtype: DType, device: &Device) -> Result<Tensor> {
    case.input(name)?
        .to_device(device)
        .and_then(|t| t.to_dtype(dtype))
        .map_err(|e| {
            Error::model(format!("parity case {}: moving in.{name}", case.name)).with_source(e)
        })
}

pub fn check_vae_encode(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let dtype = case.dtype()?;
    let vae = AutoencoderKLTemporalDecoder::from_dir(
        &case.folder("vae")?,
        VaeHalves::EncoderOnly,
        dtype,
        device,
    )?;
    let mean = vae.encode(&input(case, "image", dtype, device)?)?;
    Ok(vec![case.compare("mean", &mean)?])
}

pub fn check_vae_decode(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let dtype = case.dtype()?;
    let vae = AutoencoderKLTemporalDecoder::from_dir(
        &case.folder("vae")?,
        VaeHalves::DecoderOnly,
        dtype,
        device,
    )?;
    let latents = input(case, "latents", dtype, device)?;
    let video = match case.params.get("decode_chunk_size") {
        Some(_) => vae.decode_in_chunks(&latents, case.param_usize("decode_chunk_size")?)?,
        None => vae.decode(&latents, case.param_usize("num_frames")?)?,
    };
    Ok(vec![case.compare("video", &video)?])
}

pub fn check_unet(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let dtype = case.dtype()?;
    let unet = UNetSpatioTemporalConditionModel::from_dir(&case.folder("unet")?, dtype, device)?;
    let timesteps: Vec<f32> = case
        .input("timestep")?
        .to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1())
        .map_err(|e| {
            Error::model(format!("parity case {}: in.timestep", case.name)).with_source(e)
        })?;
    let sample = input(case, "sample", dtype, device)?;
    let states = input(case, "encoder_hidden_states", dtype, device)?;
    let ids = input(case, "added_time_ids", dtype, device)?;
    let out = unet.forward(&UNetInput {
        sample: &sample,
        timesteps: &timesteps,
        encoder_hidden_states: &states,
        added_time_ids: &ids,
    })?;
    Ok(vec![case.compare("sample", &out)?])
}

pub fn check_clip_projection(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let dtype = case.dtype()?;
    let model =
        ClipVisionModelWithProjection::from_dir(&case.folder("image_encoder")?, dtype, device)?;
    let embeds = model.image_embeds(&input(case, "pixel_values", dtype, device)?)?;
    Ok(vec![case.compare("image_embeds", &embeds)?])
}

pub fn check_resize(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let image = input(case, "image", DType::F32, device)?;
    let out = resize_with_antialiasing(
        &image,
        case.param_usize("height")?,
        case.param_usize("width")?,
    )?;
    Ok(vec![case.compare("image", &out)?])
}

pub fn check_pipeline(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let dtype = case.dtype()?;
    let pipeline = SvdPipeline::open(
        &case.dir,
        SvdOptions {
            dtype,
            device: device.clone(),
        },
    )?;
    let image_input = match case.params.get("image_input").and_then(|v| v.as_str()) {
        None | Some("pt") => ImageInput::Tensor,
        Some("pil") => ImageInput::Pil,
        Some(other) => {
            return Err(Error::model(format!(
                "parity case {}: params.image_input `{other}` is not \"pt\" or \"pil\"",
                case.name
            )))
        }
    };
    let image = input(case, "image", DType::F32, device)?;
    let request = SvdRequest {
        image: &image,
        image_input,
        height: case.param_usize("height")?,
        width: case.param_usize("width")?,
        num_frames: case.param_usize("num_frames")?,
        num_inference_steps: case.param_usize("num_inference_steps")?,
        min_guidance_scale: case.param_f64("min_guidance_scale")?,
        max_guidance_scale: case.param_f64("max_guidance_scale")?,
        fps: case.param_usize("fps")? as u32,
        motion_bucket_id: case.param_usize("motion_bucket_id")? as u32,
        noise_aug_strength: case.param_f64("noise_aug_strength")?,
        decode_chunk_size: case.param_usize("decode_chunk_size")?,
        noise: SvdNoise::Given {
            latents: input(case, "latents", DType::F32, device)?,
            image_noise: input(case, "image_noise", DType::F32, device)?,
        },
    };
    let frames = pipeline.generate(&request, &mut |_| {})?;
    Ok(vec![case.compare("frames", &frames)?])
}
