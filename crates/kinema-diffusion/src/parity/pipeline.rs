//! Parity check for `wan_pipeline`: a whole `WanImageToVideoPipeline` call from prompt
//! embeddings and given initial latents to the `[1, F, 3, H, W]` video in `[0, 1]`.
//!
//! The case directory is itself the pipeline folder (`model_index.json`, `transformer/`,
//! `vae/`, `scheduler/`, saved without text encoder or tokenizer). Params: `height`, `width`,
//! `num_frames`, `num_inference_steps`, `guidance_scale`, and `expand_timesteps`, which must
//! agree with `model_index.json`. Inputs: `in.image`, `in.prompt_embeds`,
//! `in.negative_prompt_embeds`, `in.latents`, and for Wan2.1 I2V `in.image_embeds`.

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};

use super::{Case, Comparison};
use crate::pipelines::{I2vRequest, InitialNoise, LoadOptions, WanI2vPipeline};

pub fn check(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let mut pipeline = WanI2vPipeline::load(
        &case.dir,
        &LoadOptions {
            dtype: DType::F32,
            device: device.clone(),
            shift: None,
        },
    )?;
    let guidance_scale = case.param_f64("guidance_scale")?;
    if let Some(expand) = case
        .params
        .get("expand_timesteps")
        .and_then(|v| v.as_bool())
    {
        if expand != pipeline.expand_timesteps() {
            return Err(Error::model(format!(
                "parity case {}: params.expand_timesteps is {expand} but model_index.json says {}",
                case.name,
                pipeline.expand_timesteps()
            )));
        }
    }
    let on_device = |name: &str| -> Result<Tensor> {
        case.input(name)?
            .to_device(device)
            .and_then(|t| t.to_dtype(DType::F32))
            .map_err(|e| {
                Error::model(format!("parity case {}: moving in.{name}", case.name)).with_source(e)
            })
    };
    let image = on_device("image")?;
    let prompt = on_device("prompt_embeds")?;
    let negative = on_device("negative_prompt_embeds")?;
    let image_embeds = if case.input("image_embeds").is_ok() {
        Some(on_device("image_embeds")?)
    } else {
        None
    };
    let request = I2vRequest {
        image: &image,
        prompt_embeds: &prompt,
        negative_prompt_embeds: Some(&negative),
        image_embeds: image_embeds.as_ref(),
        height: case.param_usize("height")?,
        width: case.param_usize("width")?,
        num_frames: case.param_usize("num_frames")?,
        num_inference_steps: case.param_usize("num_inference_steps")?,
        guidance_scale,
        noise: InitialNoise::Latents(on_device("latents")?),
    };
    let video = pipeline.generate(&request, &mut |_, _| {})?;
    Ok(vec![case.compare("video", &video)?])
}
