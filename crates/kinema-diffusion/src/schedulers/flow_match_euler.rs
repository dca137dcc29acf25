//! diffusers' `FlowMatchEulerDiscreteScheduler`: first-order Euler steps along the
//! predicted velocity, `x_{i+1} = x_i + (sigma_{i+1} - sigma_i) * v`.

use candle_core::Tensor;
use kinema_core::{Error, Result};
use serde::Deserialize;

use super::config::{parse_config, unsupported_value};
use super::schedule::{
    linspace, shift_f32, shift_f64, stretch_to_terminal, time_shift, TimeShiftType,
};
use super::{needs_mu, StepState};
use super::{scale, step_inputs, tensor_err, Scheduler};

/// The scheduler's `scheduler_config.json`, defaults as in diffusers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowMatchEulerConfig {
    pub num_train_timesteps: usize,
    pub shift: f64,
    /// Resolution-dependent shifting: the schedule needs `mu` (see `set_timesteps_with_mu`).
    pub use_dynamic_shifting: bool,
    /// `base_*`/`max_*` only feed `mu_for_image_seq_len`; the schedule itself ignores them.
    pub base_shift: Option<f64>,
    pub max_shift: Option<f64>,
    pub base_image_seq_len: Option<usize>,
    pub max_image_seq_len: Option<usize>,
    pub invert_sigmas: bool,
    pub shift_terminal: Option<f64>,
    pub use_karras_sigmas: bool,
    pub use_exponential_sigmas: bool,
    pub use_beta_sigmas: bool,
    pub time_shift_type: TimeShiftType,
    pub stochastic_sampling: bool,
}

impl Default for FlowMatchEulerConfig {
    fn default() -> Self {
        FlowMatchEulerConfig {
            num_train_timesteps: 1000,
            shift: 1.0,
            use_dynamic_shifting: false,
            base_shift: Some(0.5),
            max_shift: Some(1.15),
            base_image_seq_len: Some(256),
            max_image_seq_len: Some(4096),
            invert_sigmas: false,
            shift_terminal: None,
            use_karras_sigmas: false,
            use_exponential_sigmas: false,
            use_beta_sigmas: false,
            time_shift_type: TimeShiftType::Exponential,
            stochastic_sampling: false,
        }
    }
}

impl FlowMatchEulerConfig {
    /// Parses a `scheduler_config.json` value; unknown keys are an error.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        parse_config(FlowMatchEulerDiscreteScheduler::CLASS_NAME, value)
    }

    fn validate(&self) -> Result<()> {
        let class = FlowMatchEulerDiscreteScheduler::CLASS_NAME;
        if self.num_train_timesteps == 0 {
            return Err(Error::model(format!(
                "{class}: `num_train_timesteps` must be at least 1"
            )));
        }
        if !(self.shift.is_finite() && self.shift > 0.0) {
            return Err(Error::model(format!(
                "{class}: `shift` = {} must be a positive number",
                self.shift
            )));
        }
        for (key, on) in [
            ("use_karras_sigmas", self.use_karras_sigmas),
            ("use_exponential_sigmas", self.use_exponential_sigmas),
            ("use_beta_sigmas", self.use_beta_sigmas),
            ("stochastic_sampling", self.stochastic_sampling),
        ] {
            if on {
                return Err(unsupported_value(class, key, true));
            }
        }
        if let Some(t) = self.shift_terminal.filter(|t| *t != 0.0) {
            if !(t > 0.0 && t < 1.0) {
                return Err(Error::model(format!(
                    "{class}: `shift_terminal` = {t} must lie in (0, 1)"
                )));
            }
        }
        Ok(())
    }
}

/// Euler sampler for rectified-flow models (Wan's training scheduler, and a cheap sampler).
#[derive(Clone, Debug)]
pub struct FlowMatchEulerDiscreteScheduler {
    config: FlowMatchEulerConfig,
    /// The training schedule's end points, float32 values as diffusers stores them.
    sigma_max: f64,
    sigma_min: f64,
    state: StepState,
}

impl FlowMatchEulerDiscreteScheduler {
    pub const CLASS_NAME: &'static str = "FlowMatchEulerDiscreteScheduler";

    pub fn new(config: FlowMatchEulerConfig) -> Result<Self> {
        config.validate()?;
        // The training schedule runs over t = N..1 in float32, sigma = t / N; only its ends
        // matter here: N / N = 1 exactly and 1 / N rounded to float32.
        let (mut hi, mut lo) = (1.0f32, 1.0f32 / config.num_train_timesteps as f32);
        if !config.use_dynamic_shifting {
            hi = shift_f32(config.shift, hi);
            lo = shift_f32(config.shift, lo);
        }
        Ok(FlowMatchEulerDiscreteScheduler {
            config,
            sigma_max: hi as f64,
            sigma_min: lo as f64,
            state: StepState::default(),
        })
    }

    pub fn config(&self) -> &FlowMatchEulerConfig {
        &self.config
    }

    /// The `mu` diffusers pipelines derive from the latent sequence length: a line through
    /// (`base_image_seq_len`, `base_shift`) and (`max_image_seq_len`, `max_shift`).
    pub fn mu_for_image_seq_len(&self, image_seq_len: usize) -> Result<f64> {
        let c = &self.config;
        match (c.base_shift, c.max_shift, c.base_image_seq_len, c.max_image_seq_len) {
            (Some(bs), Some(ms), Some(bl), Some(ml)) if ml != bl => {
                let m = (ms - bs) / (ml as f64 - bl as f64);
                let b = bs - m * bl as f64;
                Ok(image_seq_len as f64 * m + b)
            }
            _ => Err(Error::model(format!(
                "{}: computing mu needs base_shift, max_shift and two different base/max_image_seq_len values",
                Self::CLASS_NAME
            ))),
        }
    }

    fn dynamic_timesteps(&mut self, num_inference_steps: usize, mu: f64) -> Result<()> {
        if !self.config.use_dynamic_shifting {
            return Err(Error::invalid(
                format!(
                    "{}: mu was given but `use_dynamic_shifting` is false",
                    Self::CLASS_NAME
                ),
                "call set_timesteps(n) instead; the static `shift` applies",
            ));
        }
        if !mu.is_finite() {
            return Err(Error::invalid(
                format!("mu = {mu} is not finite"),
                "pass a finite mu",
            ));
        }
        self.build(num_inference_steps, Some(mu))
    }

    fn build(&mut self, num_inference_steps: usize, mu: Option<f64>) -> Result<()> {
        if num_inference_steps == 0 {
            return Err(Error::invalid(
                "num_inference_steps must be at least 1",
                "ask for 1 or more denoising steps",
            ));
        }
        let c = &self.config;
        let n_train = c.num_train_timesteps as f64;
        let mut sigmas: Vec<f64> = linspace(
            self.sigma_max * n_train,
            self.sigma_min * n_train,
            num_inference_steps,
        )
        .into_iter()
        .map(|t| t / n_train)
        .collect();
        for s in sigmas.iter_mut() {
            *s = match mu {
                Some(mu) => time_shift(c.time_shift_type, mu, *s),
                None => shift_f64(c.shift, *s),
            };
        }
        if let Some(t) = c.shift_terminal.filter(|t| *t != 0.0) {
            stretch_to_terminal(&mut sigmas, t);
        }
        let n32 = c.num_train_timesteps as f32;
        let mut sig32: Vec<f32> = sigmas.iter().map(|&s| s as f32).collect();
        let terminal = if c.invert_sigmas {
            sig32.iter_mut().for_each(|s| *s = 1.0 - *s);
            1.0
        } else {
            0.0
        };
        self.state.timesteps = sig32.iter().map(|&s| (s * n32) as f64).collect();
        self.state.sigmas = sig32.iter().map(|&s| s as f64).chain([terminal]).collect();
        self.state.step_index = 0;
        Ok(())
    }
}

impl Scheduler for FlowMatchEulerDiscreteScheduler {
    fn set_timesteps(&mut self, num_inference_steps: usize) -> Result<()> {
        if self.config.use_dynamic_shifting {
            return Err(needs_mu(Self::CLASS_NAME));
        }
        self.build(num_inference_steps, None)
    }

    fn set_timesteps_with_mu(&mut self, num_inference_steps: usize, mu: f64) -> Result<()> {
        self.dynamic_timesteps(num_inference_steps, mu)
    }

    fn state(&self) -> &StepState {
        &self.state
    }

    fn class_name(&self) -> &'static str {
        Self::CLASS_NAME
    }

    fn step(&mut self, model_output: &Tensor, sample: &Tensor) -> Result<Tensor> {
        let name = Self::CLASS_NAME;
        let i = self.state.step_index;
        if i >= self.state.timesteps.len() {
            return Err(Error::invalid(
                format!(
                    "{name}: step {} requested but the schedule has {} steps",
                    i + 1,
                    self.state.timesteps.len()
                ),
                "call set_timesteps(n) before stepping, and step once per timestep",
            ));
        }
        let (model_output, sample, out_dtype) = step_inputs(name, model_output, sample)?;
        let dt = self.state.sigmas[i + 1] as f32 - self.state.sigmas[i] as f32;
        let prev = scale(&model_output, dt)
            .and_then(|v| sample.add(&v))
            .and_then(|x| x.to_dtype(out_dtype))
            .map_err(tensor_err(name))?;
        self.state.step_index += 1;
        Ok(prev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    fn euler(json: &str) -> Result<FlowMatchEulerDiscreteScheduler> {
        FlowMatchEulerDiscreteScheduler::new(FlowMatchEulerConfig::from_value(
            serde_json::from_str(json).unwrap(),
        )?)
    }

    #[test]
    fn schedule_has_expected_endpoints_and_is_monotone() {
        for (shift, steps) in [(1.0, 1), (3.0, 10), (5.0, 50)] {
            let mut s = euler(&format!(r#"{{"shift": {shift}}}"#)).unwrap();
            s.set_timesteps(steps).unwrap();
            assert_eq!(s.timesteps().len(), steps);
            assert_eq!(s.sigmas().len(), steps + 1);
            assert_eq!(s.sigmas()[0], 1.0);
            assert_eq!(s.timesteps()[0], 1000.0);
            assert_eq!(*s.sigmas().last().unwrap(), 0.0);
            assert!(
                s.sigmas().windows(2).all(|w| w[0] > w[1]),
                "{:?}",
                s.sigmas()
            );
            for (t, sg) in s.timesteps().iter().zip(s.sigmas()) {
                assert!((t - sg * 1000.0).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn unshifted_schedule_is_linear_from_one_to_one_over_n() {
        let mut s = euler("{}").unwrap();
        s.set_timesteps(4).unwrap();
        let expected = [1.0, 0.667, 0.334, 0.001];
        for (a, e) in s.sigmas().iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{a} vs {e}");
        }
    }

    #[test]
    fn euler_step_moves_along_the_velocity() {
        let mut s = euler(r#"{"shift": 3.0}"#).unwrap();
        s.set_timesteps(2).unwrap();
        let x = Tensor::ones((1, 2, 3), DType::F32, &Device::Cpu).unwrap();
        let v = Tensor::full(2.0f32, (1, 2, 3), &Device::Cpu).unwrap();
        let y = s.step(&v, &x).unwrap();
        let dt = (s.sigmas()[1] - s.sigmas()[0]) as f32;
        let got = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(got.iter().all(|g| (g - (1.0 + 2.0 * dt)).abs() < 1e-6));
        s.step(&v, &y).unwrap();
        let err = s.step(&v, &y).unwrap_err();
        assert!(err.message.contains("step 3"), "{}", err.message);
    }

    #[test]
    fn bf16_inputs_come_back_as_bf16() {
        let mut s = euler("{}").unwrap();
        s.set_timesteps(3).unwrap();
        let x = Tensor::ones(4, DType::BF16, &Device::Cpu).unwrap();
        assert_eq!(s.step(&x, &x).unwrap().dtype(), DType::BF16);
    }

    #[test]
    fn refuses_unimplemented_options_by_name() {
        for key in [
            "use_karras_sigmas",
            "use_exponential_sigmas",
            "use_beta_sigmas",
            "stochastic_sampling",
        ] {
            let err = euler(&format!(r#"{{"{key}": true}}"#)).unwrap_err();
            assert!(err.message.contains(key), "{}", err.message);
        }
        let err = euler(r#"{"shift": -1}"#).unwrap_err();
        assert!(err.message.contains("shift"), "{}", err.message);
        let err = euler(r#"{"time_shift_type": "cubic"}"#).unwrap_err();
        assert!(err.message.contains("cubic"), "{}", err.message);
        let mut s = euler("{}").unwrap();
        assert!(s.set_timesteps(0).is_err());
    }

    #[test]
    fn dynamic_shifting_needs_mu() {
        let mut s = euler(r#"{"use_dynamic_shifting": true}"#).unwrap();
        let err = s.set_timesteps(10).unwrap_err();
        assert!(
            err.message.contains("use_dynamic_shifting"),
            "{}",
            err.message
        );
        let mu = s.mu_for_image_seq_len(256).unwrap();
        assert!((mu - 0.5).abs() < 1e-12);
        s.set_timesteps_with_mu(10, mu).unwrap();
        assert!(s.sigmas()[0] > 0.99 && s.sigmas().windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn invert_and_terminal_options_shape_the_schedule() {
        let mut s = euler(r#"{"shift_terminal": 0.1, "shift": 3.0}"#).unwrap();
        s.set_timesteps(5).unwrap();
        assert!((s.sigmas()[4] - 0.1).abs() < 1e-6);
        let mut s = euler(r#"{"invert_sigmas": true}"#).unwrap();
        s.set_timesteps(5).unwrap();
        assert_eq!(s.sigmas()[0], 0.0);
        assert_eq!(*s.sigmas().last().unwrap(), 1.0);
    }
}
