//! Samplers, configured from a diffusers `scheduler/scheduler_config.json`: the flow-matching
//! ones Wan uses and the Euler sampler of the Stable Diffusion line (Stable Video Diffusion).
//!
//! The schedulers reproduce diffusers' numbers, not just its maths: the sigma schedule is
//! computed with the same float64/float32 rounding points as diffusers (numpy float64, then
//! torch float32), and the per-step scalar coefficients are evaluated in float32 like the
//! 0-dim float32 tensors diffusers uses. That keeps timesteps and sigmas equal to the
//! reference to ~1e-7 and every intermediate sample within ~1e-6 over 50 steps.

pub(crate) mod betas;
mod config;
pub mod euler_discrete;
pub mod flow_match_euler;
pub mod opensora;
mod schedule;
pub mod unipc;
mod unipc_math;

use std::path::Path;

use candle_core::{DType, Tensor};
use kinema_core::{Error, Result};

pub use betas::BetaSchedule;
pub use euler_discrete::{EulerDiscreteConfig, EulerDiscreteScheduler};
pub use flow_match_euler::{FlowMatchEulerConfig, FlowMatchEulerDiscreteScheduler};
pub use unipc::{UniPcConfig, UniPcMultistepScheduler};

/// What every sampler tracks between steps: its schedule and the next step to take.
#[derive(Clone, Debug, Default)]
pub struct StepState {
    pub(crate) timesteps: Vec<f64>,
    pub(crate) sigmas: Vec<f64>,
    pub(crate) step_index: usize,
}

/// The error for `set_timesteps` on a config whose shift depends on the latent size.
fn needs_mu(class: &str) -> Error {
    Error::invalid(
        format!("{class}: `use_dynamic_shifting` is true, so the schedule needs mu"),
        "call set_timesteps_with_mu(n, mu); FlowMatchEulerDiscreteScheduler::mu_for_image_seq_len computes mu from the latent size",
    )
}

/// A denoising sampler driven one step per model evaluation.
///
/// The pipeline calls `set_timesteps(n)`, then for each `t` in `timesteps()` evaluates the
/// model at `t` and calls `step`, which returns the sample for the next timestep. Steps are
/// counted internally (as diffusers does once its step index is set), so the pipeline never
/// passes the timestep back.
pub trait Scheduler: Send {
    /// Prepares a fresh schedule of `num_inference_steps` steps and clears all step state.
    fn set_timesteps(&mut self, num_inference_steps: usize) -> Result<()>;
    /// The schedule and how far along it the sampler is.
    fn state(&self) -> &StepState;
    /// The model's conditioning timestep for each step, in `[0, num_train_timesteps]`.
    fn timesteps(&self) -> &[f64] {
        &self.state().timesteps
    }
    /// The noise level at each step plus the terminal one (length `timesteps().len() + 1`).
    fn sigmas(&self) -> &[f64] {
        &self.state().sigmas
    }
    /// `set_timesteps` for configs with `use_dynamic_shifting`, whose shift `mu` depends on
    /// the latent size (Flux-style pipelines compute it from the token count).
    fn set_timesteps_with_mu(&mut self, num_inference_steps: usize, mu: f64) -> Result<()>;
    /// Advances `sample` by one step given the model's output at the current timestep.
    fn step(&mut self, model_output: &Tensor, sample: &Tensor) -> Result<Tensor>;
    /// How many steps have been taken since `set_timesteps`.
    fn step_index(&self) -> usize {
        self.state().step_index
    }
    /// The diffusers class this reproduces (`_class_name` in its config).
    fn class_name(&self) -> &'static str;
    /// The scale of the initial noise (1 for flow matching: x_1 is pure noise).
    fn init_noise_sigma(&self) -> f64 {
        1.0
    }
    /// What the model is given at the current step for `sample` (diffusers'
    /// `scale_model_input`): the sample itself for flow matching, `x / √(σ² + 1)` for Euler.
    fn scale_model_input(&self, sample: &Tensor) -> Result<Tensor> {
        Ok(sample.clone())
    }
}

/// Reads `dir/scheduler_config.json` and builds the scheduler its `_class_name` names.
pub fn scheduler_from_dir(dir: &Path) -> Result<Box<dyn Scheduler>> {
    let path = dir.join("scheduler_config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::model(format!("cannot read scheduler config {}", path.display()))
            .with_source(e)
            .with_hint("point at a diffusers `scheduler/` folder containing scheduler_config.json")
    })?;
    scheduler_from_json(&text).map_err(|e| Error {
        message: format!("{}: {}", path.display(), e.message),
        ..e
    })
}

/// Builds a scheduler from the text of a diffusers `scheduler_config.json`.
pub fn scheduler_from_json(text: &str) -> Result<Box<dyn Scheduler>> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::model("scheduler config is not valid JSON").with_source(e))?;
    let class = value.get("_class_name").and_then(serde_json::Value::as_str).ok_or_else(|| {
        Error::model("scheduler config has no string `_class_name`")
            .with_hint("diffusers writes it on save_pretrained; add e.g. \"_class_name\": \"UniPCMultistepScheduler\"")
    })?;
    match class {
        FlowMatchEulerDiscreteScheduler::CLASS_NAME => {
            let config = FlowMatchEulerConfig::from_value(value.clone())?;
            Ok(Box::new(FlowMatchEulerDiscreteScheduler::new(config)?))
        }
        UniPcMultistepScheduler::CLASS_NAME => {
            let config = UniPcConfig::from_value(value.clone())?;
            Ok(Box::new(UniPcMultistepScheduler::new(config)?))
        }
        EulerDiscreteScheduler::CLASS_NAME => {
            let config = EulerDiscreteConfig::from_value(value.clone())?;
            Ok(Box::new(EulerDiscreteScheduler::new(config)?))
        }
        other => Err(
            Error::unsupported(format!("scheduler class `{other}` is not implemented")).with_hint(
                format!(
                    "supported: {}, {}, {}",
                    FlowMatchEulerDiscreteScheduler::CLASS_NAME,
                    UniPcMultistepScheduler::CLASS_NAME,
                    EulerDiscreteScheduler::CLASS_NAME
                ),
            ),
        ),
    }
}

/// Checks the step inputs agree and returns them as float32 (the schedulers' working dtype)
/// together with the dtype the result must be cast back to.
fn step_inputs(
    name: &str,
    model_output: &Tensor,
    sample: &Tensor,
) -> Result<(Tensor, Tensor, DType)> {
    if model_output.dims() != sample.dims() {
        return Err(Error::invalid(
            format!(
                "{name}: model output has shape {:?} but the sample has {:?}",
                model_output.dims(),
                sample.dims()
            ),
            "the model must predict a tensor shaped like the latents it was given",
        ));
    }
    if !sample.dtype().is_float() {
        return Err(Error::invalid(
            format!(
                "{name}: sample has dtype {:?}, expected a float dtype",
                sample.dtype()
            ),
            "pass latents as f32, bf16 or f16",
        ));
    }
    let f32 = |t: &Tensor| t.to_dtype(DType::F32).map_err(tensor_err(name));
    Ok((f32(model_output)?, f32(sample)?, model_output.dtype()))
}

/// Wraps a candle failure inside a step: inputs were validated, so this is a bug or OOM.
fn tensor_err(name: &str) -> impl Fn(candle_core::Error) -> Error + '_ {
    move |e| Error::internal(format!("{name}: tensor operation failed")).with_source(e)
}

/// `t * c` in the tensor's dtype with `c` rounded to float32, as a 0-dim float32 tensor
/// multiplies in torch.
fn scale(t: &Tensor, c: f32) -> candle_core::Result<Tensor> {
    t.affine(c as f64, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn dispatches_on_class_name() {
        let s = scheduler_from_json(
            r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 3.0}"#,
        )
        .unwrap();
        assert_eq!(s.timesteps().len(), 0);
        let s = scheduler_from_json(
            r#"{"_class_name": "UniPCMultistepScheduler", "prediction_type": "flow_prediction",
                "use_flow_sigmas": true, "flow_shift": 5.0}"#,
        )
        .unwrap();
        assert_eq!(s.step_index(), 0);
    }

    #[test]
    fn unknown_class_and_bad_json_are_clear_errors() {
        let err = scheduler_from_json(r#"{"_class_name": "DDIMScheduler"}"#)
            .err()
            .unwrap();
        assert!(err.message.contains("DDIMScheduler"), "{}", err.message);
        assert!(err.hint.unwrap().contains("UniPCMultistepScheduler"));
        let err = scheduler_from_json("{}").err().unwrap();
        assert!(err.message.contains("_class_name"), "{}", err.message);
        let err = scheduler_from_json("{not json").err().unwrap();
        assert!(err.message.contains("JSON"), "{}", err.message);
    }

    #[test]
    fn missing_dir_names_the_file() {
        let err = scheduler_from_dir(Path::new("/nonexistent/scheduler"))
            .err()
            .unwrap();
        assert!(
            err.message
                .contains("/nonexistent/scheduler/scheduler_config.json"),
            "{}",
            err.message
        );
    }

    #[test]
    fn step_inputs_reject_mismatched_shapes() {
        let a = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros((3, 2), DType::F32, &Device::Cpu).unwrap();
        let err = step_inputs("x", &a, &b).err().unwrap();
        assert!(
            err.message.contains("[2, 3]") && err.message.contains("[3, 2]"),
            "{}",
            err.message
        );
    }
}
