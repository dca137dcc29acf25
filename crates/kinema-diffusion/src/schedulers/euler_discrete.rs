//! diffusers' `EulerDiscreteScheduler`, the sampler Stable Video Diffusion ships with:
//! Karras sigmas between the config's `sigma_min`/`sigma_max`, `v_prediction`, continuous
//! timesteps `0.25·ln σ`, `leading` spacing with `steps_offset`, and the input scaling
//! `x / √(σ² + 1)` before every model call.
//!
//! Also implemented: `linspace`/`trailing` spacing, discrete timesteps (Karras sigmas mapped
//! back to training timesteps by log-sigma interpolation), `epsilon` and `sample` prediction,
//! `final_sigmas_type = "sigma_min"`, the linear/scaled-linear/cosine beta schedules.
//! Refused by name: exponential and beta sigmas, `log_linear` interpolation, zero-SNR
//! rescaling. Stochastic churn (`s_churn`) is 0, as every diffusers pipeline calls it.
//!
//! Rounding follows diffusers: the schedule is float64 numpy arithmetic on float32 training
//! sigmas, stored as float32; every per-step coefficient is a float32 0-dim tensor operation,
//! and divisions by them are true divisions.

use candle_core::Tensor;
use kinema_core::{Error, Result};
use serde::Deserialize;

use super::betas::{alphas_cumprod, betas, sigma_of, BetaSchedule};
use super::config::{parse_config, unsupported_value};
use super::schedule::linspace;
use super::{step_inputs, tensor_err, Scheduler, StepState};

/// `prediction_type`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    Epsilon,
    VPrediction,
    Sample,
    /// diffusers' older spelling of `sample`.
    OriginalSample,
}

/// `timestep_spacing`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    Linspace,
    Leading,
    Trailing,
}

/// `timestep_type`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TimestepType {
    Discrete,
    Continuous,
}

/// `final_sigmas_type`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FinalSigma {
    Zero,
    SigmaMin,
}

/// `scheduler_config.json` of an `EulerDiscreteScheduler`, defaults as in diffusers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EulerDiscreteConfig {
    pub num_train_timesteps: usize,
    pub beta_start: f64,
    pub beta_end: f64,
    pub beta_schedule: BetaSchedule,
    pub trained_betas: Option<Vec<f64>>,
    pub prediction_type: Prediction,
    pub interpolation_type: String,
    pub use_karras_sigmas: Option<bool>,
    pub use_exponential_sigmas: Option<bool>,
    pub use_beta_sigmas: Option<bool>,
    pub sigma_min: Option<f64>,
    pub sigma_max: Option<f64>,
    pub timestep_spacing: Spacing,
    pub timestep_type: TimestepType,
    pub steps_offset: usize,
    pub rescale_betas_zero_snr: bool,
    pub final_sigmas_type: FinalSigma,
}

impl Default for EulerDiscreteConfig {
    fn default() -> Self {
        EulerDiscreteConfig {
            num_train_timesteps: 1000,
            beta_start: 0.0001,
            beta_end: 0.02,
            beta_schedule: BetaSchedule::Linear,
            trained_betas: None,
            prediction_type: Prediction::Epsilon,
            interpolation_type: "linear".into(),
            use_karras_sigmas: Some(false),
            use_exponential_sigmas: Some(false),
            use_beta_sigmas: Some(false),
            sigma_min: None,
            sigma_max: None,
            timestep_spacing: Spacing::Linspace,
            timestep_type: TimestepType::Discrete,
            steps_offset: 0,
            rescale_betas_zero_snr: false,
            final_sigmas_type: FinalSigma::Zero,
        }
    }
}

/// Keys other schedulers read that Stable Video Diffusion's config carries and
/// `EulerDiscreteScheduler` ignores (diffusers logs and drops them).
const IGNORED_KEYS: &[&str] = &["clip_sample", "set_alpha_to_one", "skip_prk_steps"];

impl EulerDiscreteConfig {
    /// Parses a `scheduler_config.json` value; unknown keys are an error.
    pub fn from_value(mut value: serde_json::Value) -> Result<Self> {
        if let Some(map) = value.as_object_mut() {
            for key in IGNORED_KEYS {
                map.remove(*key);
            }
        }
        parse_config(EulerDiscreteScheduler::CLASS_NAME, value)
    }

    fn karras(&self) -> bool {
        self.use_karras_sigmas.unwrap_or(false)
    }

    fn validate(&self) -> Result<()> {
        let class = EulerDiscreteScheduler::CLASS_NAME;
        if self.num_train_timesteps < 2 {
            return Err(Error::model(format!(
                "{class}: `num_train_timesteps` must be at least 2"
            )));
        }
        for (key, on) in [
            ("use_exponential_sigmas", self.use_exponential_sigmas),
            ("use_beta_sigmas", self.use_beta_sigmas),
        ] {
            if on == Some(true) {
                return Err(unsupported_value(class, key, true));
            }
        }
        if self.rescale_betas_zero_snr {
            return Err(unsupported_value(class, "rescale_betas_zero_snr", true));
        }
        if self.interpolation_type != "linear" {
            return Err(unsupported_value(
                class,
                "interpolation_type",
                &self.interpolation_type,
            ));
        }
        for (key, v) in [("sigma_min", self.sigma_min), ("sigma_max", self.sigma_max)] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    return Err(Error::model(format!(
                        "{class}: `{key}` = {v} must be a positive number"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Euler sampler over the sigmas of a DDPM-trained model (see the module docs).
#[derive(Clone, Debug)]
pub struct EulerDiscreteScheduler {
    config: EulerDiscreteConfig,
    /// Training sigmas, ascending in training time (index = timestep), float32.
    train_sigmas: Vec<f32>,
    state: StepState,
}

impl EulerDiscreteScheduler {
    pub const CLASS_NAME: &'static str = "EulerDiscreteScheduler";

    pub fn new(config: EulerDiscreteConfig) -> Result<Self> {
        config.validate()?;
        let betas = betas(
            config.beta_schedule,
            config.beta_start,
            config.beta_end,
            config.num_train_timesteps,
            config.trained_betas.as_deref(),
        )?;
        let train_sigmas = alphas_cumprod(&betas).into_iter().map(sigma_of).collect();
        Ok(EulerDiscreteScheduler {
            config,
            train_sigmas,
            state: StepState::default(),
        })
    }

    pub fn config(&self) -> &EulerDiscreteConfig {
        &self.config
    }

    /// The spaced training timesteps before any sigma conversion (numpy float32 values).
    fn spaced_timesteps(&self, steps: usize) -> Vec<f32> {
        let n = self.config.num_train_timesteps;
        match self.config.timestep_spacing {
            Spacing::Linspace => linspace(0.0, (n - 1) as f64, steps)
                .into_iter()
                .rev()
                .map(|t| t as f32)
                .collect(),
            Spacing::Leading => {
                let ratio = n / steps;
                (0..steps)
                    .rev()
                    .map(|i| (i * ratio) as f32 + self.config.steps_offset as f32)
                    .collect()
            }
            Spacing::Trailing => {
                // np.arange(N, 0, -N/steps): start + i·step, ceil(N / ratio) values.
                let ratio = n as f64 / steps as f64;
                let len = (n as f64 / ratio).ceil() as usize;
                (0..len)
                    .map(|i| (n as f64 - i as f64 * ratio).round_ties_even() as f32 - 1.0)
                    .collect()
            }
        }
    }

    /// `np.interp(t, arange(N), train_sigmas)` in float64.
    fn interp_sigma(&self, t: f64) -> f64 {
        let s = &self.train_sigmas;
        let last = s.len() - 1;
        if t <= 0.0 {
            return s[0] as f64;
        }
        if t >= last as f64 {
            return s[last] as f64;
        }
        let i = t.floor() as usize;
        let frac = t - i as f64;
        let (a, b) = (s[i] as f64, s[i + 1] as f64);
        frac * (b - a) + a
    }

    /// diffusers' `_sigma_to_t`: the (fractional) training timestep of a sigma, by linear
    /// interpolation of log sigmas (float32 logs, float64 arithmetic).
    fn sigma_to_t(&self, sigma: f64) -> f64 {
        let logs: Vec<f64> = self.train_sigmas.iter().map(|s| s.ln() as f64).collect();
        let log_sigma = sigma.max(1e-10).ln();
        // The last index whose log sigma is ≤ log_sigma, clipped to len − 2.
        let count = logs.iter().filter(|&&l| log_sigma - l >= 0.0).count();
        let mut low = if count == 0 {
            0
        } else {
            // cumsum(...).argmax() is the first index reaching the maximum count.
            let mut seen = 0;
            let mut idx = 0;
            for (i, &l) in logs.iter().enumerate() {
                if log_sigma - l >= 0.0 {
                    seen += 1;
                    if seen == count {
                        idx = i;
                        break;
                    }
                }
            }
            idx
        };
        low = low.min(logs.len() - 2);
        let (lo, hi) = (logs[low], logs[low + 1]);
        let w = ((lo - log_sigma) / (lo - hi)).clamp(0.0, 1.0);
        (1.0 - w) * low as f64 + w * (low + 1) as f64
    }

    /// Karras et al.'s schedule `(max^(1/7) + ramp·(min^(1/7) − max^(1/7)))^7`.
    fn karras_sigmas(&self, in_sigmas: &[f64], steps: usize) -> Vec<f64> {
        let sigma_min = self
            .config
            .sigma_min
            .unwrap_or(*in_sigmas.last().unwrap_or(&0.0));
        let sigma_max = self.config.sigma_max.unwrap_or(in_sigmas[0]);
        let rho = 7.0;
        let (min_inv, max_inv) = (sigma_min.powf(1.0 / rho), sigma_max.powf(1.0 / rho));
        linspace(0.0, 1.0, steps)
            .into_iter()
            .map(|r| (max_inv + r * (min_inv - max_inv)).powf(rho))
            .collect()
    }

    /// The scale of the initial noise: σ_max for `linspace`/`trailing` spacing,
    /// `√(σ_max² + 1)` otherwise (float32, as diffusers' tensor property).
    pub fn init_noise_sigma_f32(&self) -> f32 {
        let max = self
            .state
            .sigmas
            .iter()
            .map(|&s| s as f32)
            .fold(f32::NEG_INFINITY, f32::max);
        match self.config.timestep_spacing {
            Spacing::Linspace | Spacing::Trailing => max,
            Spacing::Leading => (max * max + 1.0).sqrt(),
        }
    }

    /// The current step's sigma, or an error after the last step.
    fn current_sigma(&self) -> Result<f32> {
        let i = self.state.step_index;
        if i + 1 >= self.state.sigmas.len() {
            return Err(Error::invalid(
                format!(
                    "{}: step {} called but the schedule has {} steps",
                    Self::CLASS_NAME,
                    i + 1,
                    self.state.sigmas.len().saturating_sub(1)
                ),
                "call set_timesteps before sampling again",
            ));
        }
        Ok(self.state.sigmas[i] as f32)
    }
}

/// `t / c` elementwise with a true float32 division, as torch divides by a 0-dim tensor.
fn div_scalar(t: &Tensor, c: f32) -> candle_core::Result<Tensor> {
    t.broadcast_div(&Tensor::new(&[c], t.device())?)
}

impl Scheduler for EulerDiscreteScheduler {
    fn set_timesteps(&mut self, steps: usize) -> Result<()> {
        if steps == 0 || steps > self.config.num_train_timesteps {
            return Err(Error::invalid(
                format!(
                    "{}: {steps} inference steps (the model was trained with {})",
                    Self::CLASS_NAME,
                    self.config.num_train_timesteps
                ),
                "use between 1 and num_train_timesteps steps",
            ));
        }
        let spaced = self.spaced_timesteps(steps);
        let mut sigmas: Vec<f64> = spaced
            .iter()
            .map(|&t| self.interp_sigma(t as f64))
            .collect();
        let mut timesteps: Vec<f64> = spaced.iter().map(|&t| t as f64).collect();
        if self.config.karras() {
            sigmas = self.karras_sigmas(&sigmas, steps);
            timesteps = sigmas.iter().map(|&s| self.sigma_to_t(s)).collect();
        }
        let last = match self.config.final_sigmas_type {
            FinalSigma::Zero => 0.0,
            FinalSigma::SigmaMin => self.train_sigmas[0] as f64,
        };
        sigmas.push(last);
        let sigmas: Vec<f32> = sigmas.into_iter().map(|s| s as f32).collect();
        let continuous = self.config.timestep_type == TimestepType::Continuous
            && self.config.prediction_type == Prediction::VPrediction;
        self.state.timesteps = if continuous {
            sigmas[..steps]
                .iter()
                .map(|s| (0.25f32 * s.ln()) as f64)
                .collect()
        } else {
            timesteps.iter().map(|&t| t as f32 as f64).collect()
        };
        self.state.sigmas = sigmas.into_iter().map(f64::from).collect();
        self.state.step_index = 0;
        Ok(())
    }

    fn state(&self) -> &StepState {
        &self.state
    }

    fn set_timesteps_with_mu(&mut self, _steps: usize, _mu: f64) -> Result<()> {
        Err(Error::invalid(
            format!(
                "{} has no resolution-dependent shift (mu)",
                Self::CLASS_NAME
            ),
            "call set_timesteps(n)",
        ))
    }

    fn scale_model_input(&self, sample: &Tensor) -> Result<Tensor> {
        let sigma = self.current_sigma()?;
        div_scalar(sample, (sigma * sigma + 1.0).sqrt()).map_err(tensor_err(Self::CLASS_NAME))
    }

    fn step(&mut self, model_output: &Tensor, sample: &Tensor) -> Result<Tensor> {
        let name = Self::CLASS_NAME;
        let (output, sample, dtype) = step_inputs(name, model_output, sample)?;
        let sigma = self.current_sigma()?;
        let next = self.state.sigmas[self.state.step_index + 1] as f32;
        // s_churn = 0: gamma = 0, sigma_hat = sigma.
        let sigma_hat = sigma;
        let compute = || -> candle_core::Result<Tensor> {
            let denoised = match self.config.prediction_type {
                Prediction::Sample | Prediction::OriginalSample => output.clone(),
                Prediction::Epsilon => (&sample - output.affine(sigma_hat as f64, 0.0)?)?,
                Prediction::VPrediction => {
                    let c_out = -sigma / (sigma * sigma + 1.0).sqrt();
                    let skip = div_scalar(&sample, sigma * sigma + 1.0)?;
                    (output.affine(c_out as f64, 0.0)? + skip)?
                }
            };
            let derivative = div_scalar(&(&sample - denoised)?, sigma_hat)?;
            let dt = next - sigma_hat;
            (&sample + derivative.affine(dt as f64, 0.0)?)?.to_dtype(dtype)
        };
        let out = compute().map_err(tensor_err(name))?;
        self.state.step_index += 1;
        Ok(out)
    }

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }

    fn init_noise_sigma(&self) -> f64 {
        self.init_noise_sigma_f32() as f64
    }
}

/// The SVD-XT `scheduler_config.json` values (stabilityai/stable-video-diffusion-img2vid-xt),
/// for tests and benchmarks that need the real schedule without the download.
pub const SVD_XT_SCHEDULER: &str = r#"{"_class_name": "EulerDiscreteScheduler",
  "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
  "clip_sample": false, "interpolation_type": "linear", "num_train_timesteps": 1000,
  "prediction_type": "v_prediction", "set_alpha_to_one": false, "sigma_max": 700.0,
  "sigma_min": 0.002, "skip_prk_steps": true, "steps_offset": 1, "timestep_spacing": "leading",
  "timestep_type": "continuous", "trained_betas": null, "use_karras_sigmas": true}"#;

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn svd() -> EulerDiscreteScheduler {
        let v: serde_json::Value = serde_json::from_str(SVD_XT_SCHEDULER).unwrap();
        EulerDiscreteScheduler::new(EulerDiscreteConfig::from_value(v).unwrap()).unwrap()
    }

    #[test]
    fn svd_schedule_spans_the_configured_sigmas() {
        let mut s = svd();
        s.set_timesteps(25).unwrap();
        let sig = s.sigmas();
        assert_eq!(sig.len(), 26);
        assert!((sig[0] - 700.0).abs() < 1e-3 && (sig[24] - 0.002).abs() < 1e-6);
        assert_eq!(sig[25], 0.0);
        // Continuous timesteps are 0.25·ln σ.
        assert!((s.timesteps()[0] - 0.25 * 700f64.ln()).abs() < 1e-5);
        // Leading spacing: init noise sigma is √(σ_max² + 1).
        assert!((s.init_noise_sigma() - (700f64 * 700.0 + 1.0).sqrt()).abs() < 1e-2);
    }

    #[test]
    fn v_prediction_of_the_clean_sample_lands_on_it() {
        // With model output v = (σ·x − ε... ) the exact v for a clean x0 and noise n at σ is
        // v = (x0·(−σ) + n)/√(σ²+1) when x = x0 + σ·n; one step to σ = 0 must give x0.
        let mut s = svd();
        s.set_timesteps(1).unwrap();
        let sigma = s.sigmas()[0] as f32;
        let dev = Device::Cpu;
        let x0 = Tensor::new(&[0.5f32, -1.0, 2.0], &dev).unwrap();
        let n = Tensor::new(&[1.0f32, 0.3, -0.7], &dev).unwrap();
        let x = (&x0 + n.affine(sigma as f64, 0.0).unwrap()).unwrap();
        let norm = (sigma * sigma + 1.0).sqrt() as f64;
        let v = ((n - x0.affine(sigma as f64, 0.0).unwrap())
            .unwrap()
            .affine(1.0 / norm, 0.0))
        .unwrap();
        let out = s.step(&v, &x).unwrap();
        let d = (out - x0).unwrap().abs().unwrap().max_all().unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-3);
        assert!(s.step(&v, &x).is_err(), "no step past the schedule");
    }

    #[test]
    fn unsupported_options_and_ignored_keys() {
        let with = |extra: &str| {
            let text = SVD_XT_SCHEDULER.replace("\"use_karras_sigmas\": true", extra);
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            EulerDiscreteConfig::from_value(v).and_then(EulerDiscreteScheduler::new)
        };
        assert!(with("\"use_karras_sigmas\": true").is_ok());
        let err = with("\"use_beta_sigmas\": true").unwrap_err();
        assert!(err.message.contains("use_beta_sigmas"), "{}", err.message);
        let err = with("\"interpolation_type\": \"log_linear\"").unwrap_err();
        assert!(err.message.contains("log_linear"), "{}", err.message);
        let err = with("\"magic\": 1").unwrap_err();
        assert!(err.message.contains("magic"), "{}", err.message);
    }

    #[test]
    fn discrete_karras_maps_sigmas_back_to_timesteps() {
        let v = serde_json::json!({"use_karras_sigmas": true, "beta_schedule": "scaled_linear",
            "beta_start": 0.00085, "beta_end": 0.012});
        let mut s =
            EulerDiscreteScheduler::new(EulerDiscreteConfig::from_value(v).unwrap()).unwrap();
        s.set_timesteps(10).unwrap();
        let t = s.timesteps();
        assert!((t[0] - 999.0).abs() < 1e-3, "{t:?}");
        assert!(t.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(s.init_noise_sigma(), s.sigmas()[0] as f32 as f64);
    }
}
