//! Parity checks against Open-Sora 2.0's own code (`tools/reference/opensora_reference.py`):
//!
//! - `opensora_mmdit`: one forward of `MMDiTModel` from `transformer/` (`config.json` with
//!   every `MMDiTConfig` field, weights under Open-Sora's key names). Inputs `in.img`,
//!   `in.img_ids`, `in.txt`, `in.txt_ids`, `in.timesteps`, `in.y_vec`, `in.cond`, and
//!   `in.guidance` when the config has `guidance_embed`; output `out.sample`.
//! - `opensora_sampling`: the i2v sampling loop with that model. Inputs `in.noise`,
//!   `in.ref_latents`, `in.txt`, `in.txt_neg`, `in.y_vec`, `in.y_vec_neg`; params
//!   `num_steps`, `guidance`, `guidance_img`, `text_osci`, `image_osci`,
//!   `scale_temporal_osci`, `shift`, `flow_shift` (null: resolution-based), `patch_size`,
//!   `cond_type` ("i2v_head"); outputs `out.timesteps`, `out.latents`.

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};

use super::{Case, Comparison};
use crate::models::opensora_mmdit::{MmditInput, MmditModel};
use crate::pipelines::opensora_i2v::{sample, I2vInputs, I2vSampling};
use crate::schedulers::opensora::ScheduleShift;

fn load_model(case: &Case, device: &Device) -> Result<MmditModel> {
    MmditModel::from_dir(&case.folder("transformer")?, case.dtype()?, device)
}

fn input_on(case: &Case, name: &str, device: &Device) -> Result<Tensor> {
    case.input(name)?
        .to_dtype(DType::F32)
        .and_then(|t| t.to_device(device))
        .map_err(|e| {
            Error::model(format!("parity case {}: moving in.{name}", case.name)).with_source(e)
        })
}

pub fn check_mmdit(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let model = load_model(case, device)?;
    let get = |name| input_on(case, name, device);
    let (img, img_ids, txt, txt_ids) = (get("img")?, get("img_ids")?, get("txt")?, get("txt_ids")?);
    // Open-Sora passes times and guidance in the model's dtype (rounded to bf16 in bf16 cases).
    let in_model_dtype = |t: Tensor| {
        t.to_dtype(model.dtype()).map_err(|e| {
            Error::model(format!("parity case {}: casting inputs", case.name)).with_source(e)
        })
    };
    let (timesteps, y_vec) = (in_model_dtype(get("timesteps")?)?, get("y_vec")?);
    let cond = if model.config().cond_embed {
        Some(get("cond")?)
    } else {
        None
    };
    let guidance = if model.config().guidance_embed {
        Some(in_model_dtype(get("guidance")?)?)
    } else {
        None
    };
    let out = model.forward(&MmditInput {
        img: &img,
        img_ids: &img_ids,
        txt: &txt,
        txt_ids: &txt_ids,
        timesteps: &timesteps,
        y_vec: &y_vec,
        cond: cond.as_ref(),
        guidance: guidance.as_ref(),
    })?;
    Ok(vec![case.compare("sample", &out)?])
}

pub fn check_sampling(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let model = load_model(case, device)?;
    let cond_type = case.params.get("cond_type").and_then(|v| v.as_str());
    if cond_type != Some("i2v_head") {
        return Err(Error::model(format!(
            "parity case {}: params.cond_type is {cond_type:?}; only \"i2v_head\" is implemented",
            case.name
        )));
    }
    let patch = case.param_usize("patch_size")?;
    if patch != model.config().patch_size {
        return Err(Error::model(format!(
            "parity case {}: params.patch_size {patch} disagrees with the config's {}",
            case.name,
            model.config().patch_size
        )));
    }
    let flow_shift = match case.params.get("flow_shift") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some(case.param_f64("flow_shift")?),
    };
    let options = I2vSampling {
        num_steps: case.param_usize("num_steps")?,
        guidance: case.param_f64("guidance")?,
        guidance_img: case.param_f64("guidance_img")?,
        text_osci: case.param_bool("text_osci")?,
        image_osci: case.param_bool("image_osci")?,
        scale_temporal_osci: case.param_bool("scale_temporal_osci")?,
        shift: ScheduleShift {
            enabled: case.param_bool("shift")?,
            flow_shift,
        },
    };
    let get = |name| input_on(case, name, device);
    let (noise, ref_latents) = (get("noise")?, get("ref_latents")?);
    let (txt, txt_neg, y_vec, y_vec_neg) = (
        get("txt")?,
        get("txt_neg")?,
        get("y_vec")?,
        get("y_vec_neg")?,
    );
    let out = sample(
        &model,
        &I2vInputs {
            noise: &noise,
            ref_latents: &ref_latents,
            txt: &txt,
            txt_neg: &txt_neg,
            y_vec: &y_vec,
            y_vec_neg: &y_vec_neg,
        },
        &options,
        &mut |_, _| {},
    )?;
    let n = out.timesteps.len();
    let timesteps = Tensor::from_vec(out.timesteps, n, &Device::Cpu)
        .map_err(|e| Error::internal("timesteps tensor").with_source(e))?;
    Ok(vec![
        case.compare("timesteps", &timesteps)?,
        case.compare("latents", &out.latents)?,
    ])
}
