//! Parity checks for the `flow_match_euler`, `unipc_flow`, `euler_karras` and
//! `euler_discrete` components: the schedule (timesteps, sigmas) and the sample after every
//! step, fed the recorded model outputs. The Euler components also record the scaled model
//! input before each step (`out.scaled`) and `out.init_noise_sigma`.

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};

use super::{Case, Comparison};
use crate::schedulers::{
    scheduler_from_dir, EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler,
    UniPcMultistepScheduler,
};

pub(super) fn check(case: &Case, device: &Device) -> Result<Vec<Comparison>> {
    let wanted_class = match case.component.as_str() {
        "flow_match_euler" => FlowMatchEulerDiscreteScheduler::CLASS_NAME,
        "euler_karras" | "euler_discrete" => EulerDiscreteScheduler::CLASS_NAME,
        _ => UniPcMultistepScheduler::CLASS_NAME,
    };
    let euler = wanted_class == EulerDiscreteScheduler::CLASS_NAME;
    let dir = case.folder("scheduler")?;
    let mut scheduler = scheduler_from_dir(&dir)?;
    if scheduler.class_name() != wanted_class {
        return Err(Error::model(format!(
            "parity case {}: component {} expects a {wanted_class}, scheduler/ holds a {}",
            case.name,
            case.component,
            scheduler.class_name()
        )));
    }
    let steps = case.param_usize("num_inference_steps")?;
    match case.params.get("mu") {
        None => scheduler.set_timesteps(steps)?,
        Some(mu) => {
            let mu = mu.as_f64().ok_or_else(|| {
                Error::model(format!(
                    "parity case {}: params.mu must be a number",
                    case.name
                ))
            })?;
            scheduler.set_timesteps_with_mu(steps, mu)?
        }
    }

    let tensor_err = |what: &'static str| {
        move |e: candle_core::Error| {
            Error::model(format!("parity case {}: {what}", case.name)).with_source(e)
        }
    };
    let mut sample = case
        .input("sample")?
        .to_device(device)
        .map_err(tensor_err("moving in.sample"))?;
    let model_outputs = case.input("model_outputs")?;
    if model_outputs.dims().first() != Some(&steps) || model_outputs.dims()[1..] != *sample.dims() {
        return Err(Error::model(format!(
            "parity case {}: in.model_outputs has shape {:?}, expected [{steps}] + the sample's {:?}",
            case.name,
            model_outputs.dims(),
            sample.dims()
        )));
    }
    let mut samples = Vec::with_capacity(steps);
    let mut scaled = Vec::with_capacity(steps);
    for i in 0..steps {
        let output = model_outputs
            .get(i)
            .and_then(|t| t.to_device(device))
            .map_err(tensor_err("slicing in.model_outputs"))?;
        if euler {
            scaled.push(scheduler.scale_model_input(&sample)?);
        }
        sample = scheduler.step(&output, &sample)?;
        samples.push(sample.clone());
    }
    let samples = Tensor::stack(&samples, 0).map_err(tensor_err("stacking samples"))?;
    let as_tensor = |values: &[f64]| {
        Tensor::new(values, &Device::Cpu)
            .and_then(|t| t.to_dtype(DType::F32))
            .map_err(tensor_err("schedule tensor"))
    };
    let mut comparisons = vec![
        case.compare("timesteps", &as_tensor(scheduler.timesteps())?)?,
        case.compare("sigmas", &as_tensor(scheduler.sigmas())?)?,
        case.compare("samples", &samples)?,
    ];
    if euler {
        let scaled = Tensor::stack(&scaled, 0).map_err(tensor_err("stacking scaled inputs"))?;
        comparisons.push(case.compare("scaled", &scaled)?);
        comparisons.push(case.compare(
            "init_noise_sigma",
            &as_tensor(&[scheduler.init_noise_sigma()])?,
        )?);
    }
    Ok(comparisons)
}
