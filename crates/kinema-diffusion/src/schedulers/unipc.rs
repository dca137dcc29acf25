//! diffusers' `UniPCMultistepScheduler` in its flow-matching form (`prediction_type =
//! "flow_prediction"`, `use_flow_sigmas = true`), the default sampler of the Wan checkpoints.
//!
//! UniPC (Zhao et al., 2023) is a multistep exponential-integrator solver in lambda =
//! log(alpha/sigma) space: each step first *corrects* the current sample with the model
//! output just computed (UniC), then *predicts* the next sample from the last `order` data
//! predictions (UniP). With flow sigmas alpha = 1 - sigma and the data prediction is
//! x0 = x - sigma * v.

use candle_core::Tensor;
use kinema_core::{Error, Result};
use serde::Deserialize;

use super::config::{parse_config, unsupported_value};
use super::schedule::{linspace, shift_f64, stretch_to_terminal, time_shift, TimeShiftType};
use super::unipc_math::{lambda, solve, update_coefficients};
use super::{needs_mu, StepState};
use super::{scale, step_inputs, tensor_err, Scheduler};

/// `solver_type`: the B(h) of the UniPC paper. diffusers maps the DPM-Solver names
/// `midpoint`, `heun` and `logrho` to `bh2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum SolverType {
    #[serde(rename = "bh1")]
    Bh1,
    #[serde(rename = "bh2", alias = "midpoint", alias = "heun", alias = "logrho")]
    Bh2,
}

/// `final_sigmas_type`: the noise level after the last step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalSigmas {
    /// Denoise fully (sigma 0).
    Zero,
    /// Stop at the last schedule sigma.
    SigmaMin,
}

/// The scheduler's `scheduler_config.json`, defaults as in diffusers. The `beta_*`,
/// `trained_betas`, `rescale_betas_zero_snr`, `steps_offset`, `timestep_spacing`,
/// `sigma_min`/`sigma_max` and thresholding-ratio keys only matter for the non-flow
/// schedules (or with options we refuse), so they are accepted and have no effect.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UniPcConfig {
    pub num_train_timesteps: usize,
    pub beta_start: f64,
    pub beta_end: f64,
    pub beta_schedule: String,
    pub trained_betas: Option<Vec<f64>>,
    pub solver_order: usize,
    pub prediction_type: String,
    pub thresholding: bool,
    pub dynamic_thresholding_ratio: f64,
    pub sample_max_value: f64,
    pub predict_x0: bool,
    pub solver_type: SolverType,
    pub lower_order_final: bool,
    /// Step indices after which the corrector is skipped.
    pub disable_corrector: Vec<usize>,
    pub solver_p: Option<serde_json::Value>,
    pub use_karras_sigmas: bool,
    pub use_exponential_sigmas: bool,
    pub use_beta_sigmas: bool,
    pub use_flow_sigmas: bool,
    pub flow_shift: f64,
    pub timestep_spacing: String,
    pub steps_offset: usize,
    pub final_sigmas_type: FinalSigmas,
    pub rescale_betas_zero_snr: bool,
    pub use_dynamic_shifting: bool,
    pub time_shift_type: TimeShiftType,
    pub sigma_min: Option<f64>,
    pub sigma_max: Option<f64>,
    pub shift_terminal: Option<f64>,
}

impl Default for UniPcConfig {
    fn default() -> Self {
        UniPcConfig {
            num_train_timesteps: 1000,
            beta_start: 0.0001,
            beta_end: 0.02,
            beta_schedule: "linear".into(),
            trained_betas: None,
            solver_order: 2,
            prediction_type: "epsilon".into(),
            thresholding: false,
            dynamic_thresholding_ratio: 0.995,
            sample_max_value: 1.0,
            predict_x0: true,
            solver_type: SolverType::Bh2,
            lower_order_final: true,
            disable_corrector: Vec::new(),
            solver_p: None,
            use_karras_sigmas: false,
            use_exponential_sigmas: false,
            use_beta_sigmas: false,
            use_flow_sigmas: false,
            flow_shift: 1.0,
            timestep_spacing: "linspace".into(),
            steps_offset: 0,
            final_sigmas_type: FinalSigmas::Zero,
            rescale_betas_zero_snr: false,
            use_dynamic_shifting: false,
            time_shift_type: TimeShiftType::Exponential,
            sigma_min: None,
            sigma_max: None,
            shift_terminal: None,
        }
    }
}

impl UniPcConfig {
    /// Parses a `scheduler_config.json` value; unknown keys are an error.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        parse_config(UniPcMultistepScheduler::CLASS_NAME, value)
    }

    fn validate(&self) -> Result<()> {
        let class = UniPcMultistepScheduler::CLASS_NAME;
        if self.prediction_type != "flow_prediction" {
            return Err(unsupported_value(class, "prediction_type", &self.prediction_type)
                .with_hint("only the flow-matching form is implemented: set prediction_type \"flow_prediction\" and use_flow_sigmas true"));
        }
        if !self.use_flow_sigmas {
            return Err(unsupported_value(class, "use_flow_sigmas", false)
                .with_hint("flow_prediction needs use_flow_sigmas true (as in Wan's configs)"));
        }
        if !self.predict_x0 {
            return Err(unsupported_value(class, "predict_x0", false)
                .with_hint("diffusers itself rejects flow_prediction with predict_x0 false"));
        }
        for (key, on) in [
            ("thresholding", self.thresholding),
            ("use_karras_sigmas", self.use_karras_sigmas),
            ("use_exponential_sigmas", self.use_exponential_sigmas),
            ("use_beta_sigmas", self.use_beta_sigmas),
        ] {
            if on {
                return Err(unsupported_value(class, key, true));
            }
        }
        if self.solver_p.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(unsupported_value(class, "solver_p", self.solver_p.as_ref()));
        }
        if self.num_train_timesteps == 0 {
            return Err(Error::model(format!(
                "{class}: `num_train_timesteps` must be at least 1"
            )));
        }
        if !(1..=8).contains(&self.solver_order) {
            return Err(Error::model(format!(
                "{class}: `solver_order` = {} must be between 1 and 8 (Wan uses 2)",
                self.solver_order
            )));
        }
        if !(self.flow_shift.is_finite() && self.flow_shift > 0.0) {
            return Err(Error::model(format!(
                "{class}: `flow_shift` = {} must be a positive number",
                self.flow_shift
            )));
        }
        if !["linspace", "leading", "trailing"].contains(&self.timestep_spacing.as_str()) {
            return Err(unsupported_value(
                class,
                "timestep_spacing",
                &self.timestep_spacing,
            ));
        }
        if !["linear", "scaled_linear", "squaredcos_cap_v2"].contains(&self.beta_schedule.as_str())
        {
            return Err(unsupported_value(
                class,
                "beta_schedule",
                &self.beta_schedule,
            ));
        }
        if let Some(t) = self.shift_terminal.filter(|t| *t != 0.0) {
            if !(t > 0.0 && t < 1.0) {
                return Err(Error::model(format!(
                    "{class}: `shift_terminal` = {t} must lie in (0, 1)"
                )));
            }
        }
        if !self.lower_order_final
            && self.solver_order > 1
            && self.final_sigmas_type == FinalSigmas::Zero
        {
            // The multistep update divides by rk = (lambda_s1 - lambda_s0) / h with h infinite
            // at sigma 0, so diffusers returns inf/NaN latents; refuse instead of copying that.
            return Err(unsupported_value(class, "lower_order_final", false).with_hint(
                "with final_sigmas_type \"zero\" the last step must be first order: set lower_order_final true",
            ));
        }
        if self.solver_type == SolverType::Bh1 && self.final_sigmas_type == FinalSigmas::Zero {
            // B(h) = hh is -inf on the step to sigma 0 and diffusers multiplies it by a zero
            // residual, so its last sample is NaN; refuse rather than disagree or copy it.
            return Err(unsupported_value(class, "solver_type", "bh1").with_hint(
                "bh1 needs final_sigmas_type \"sigma_min\"; or use solver_type \"bh2\" (Wan's default)",
            ));
        }
        Ok(())
    }
}

/// UniPC multistep sampler for flow-matching models.
#[derive(Clone, Debug)]
pub struct UniPcMultistepScheduler {
    config: UniPcConfig,
    state: StepState,
    /// The last `solver_order` data predictions (x0), oldest first, float32.
    model_outputs: Vec<Option<Tensor>>,
    /// The sample the previous predictor started from, for the corrector.
    last_sample: Option<Tensor>,
    lower_order_nums: usize,
    /// The order the previous predictor used; the corrector reuses it.
    this_order: usize,
}

impl UniPcMultistepScheduler {
    pub const CLASS_NAME: &'static str = "UniPCMultistepScheduler";

    pub fn new(config: UniPcConfig) -> Result<Self> {
        config.validate()?;
        let order = config.solver_order;
        Ok(UniPcMultistepScheduler {
            config,
            state: StepState::default(),
            model_outputs: vec![None; order],
            last_sample: None,
            lower_order_nums: 0,
            this_order: 0,
        })
    }

    pub fn config(&self) -> &UniPcConfig {
        &self.config
    }

    fn dynamic_timesteps(&mut self, num_inference_steps: usize, mu: f64) -> Result<()> {
        if !self.config.use_dynamic_shifting {
            return Err(Error::invalid(
                format!(
                    "{}: mu was given but `use_dynamic_shifting` is false",
                    Self::CLASS_NAME
                ),
                "call set_timesteps(n) instead; `flow_shift` applies",
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
        let mut sigmas = linspace(1.0, 1.0 / n_train, num_inference_steps + 1);
        sigmas.truncate(num_inference_steps);
        for s in sigmas.iter_mut() {
            *s = match mu {
                Some(mu) => time_shift(c.time_shift_type, mu, *s),
                None => shift_f64(c.flow_shift, *s),
            };
        }
        if let Some(t) = c.shift_terminal.filter(|t| *t != 0.0) {
            stretch_to_terminal(&mut sigmas, t);
        }
        // Keeps the first lambda = log((1 - sigma) / sigma) finite.
        if (sigmas[0] - 1.0).abs() < 1e-6 {
            sigmas[0] -= 1e-6;
        }
        // diffusers stores integer timesteps (truncated toward zero).
        self.state.timesteps = sigmas.iter().map(|s| (s * n_train) as i64 as f64).collect();
        let last = match c.final_sigmas_type {
            FinalSigmas::Zero => 0.0,
            FinalSigmas::SigmaMin => sigmas[sigmas.len() - 1],
        };
        self.state.sigmas = sigmas
            .iter()
            .chain([&last])
            .map(|&s| s as f32 as f64)
            .collect();
        self.state.step_index = 0;
        self.model_outputs = vec![None; c.solver_order];
        self.last_sample = None;
        self.lower_order_nums = 0;
        self.this_order = 0;
        Ok(())
    }

    fn sigma(&self, i: usize) -> f32 {
        self.state.sigmas[i] as f32
    }

    /// The k-th most recent data prediction (k = 0 is the newest).
    fn recent(&self, k: usize) -> Result<&Tensor> {
        let n = self.model_outputs.len();
        self.model_outputs
            .get(n.wrapping_sub(1 + k))
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                Error::internal(format!("UniPC: model output {k} steps back is missing"))
            })
    }

    /// The divided differences D1_k = (m_k - m0) / r_k of the `order - 1` older predictions.
    /// `first_back` is how many steps before `s0` the first older sigma lies.
    fn differences(
        &self,
        order: usize,
        s0: usize,
        lambda_s0: f32,
        h: f32,
    ) -> Result<(Vec<f32>, Vec<Tensor>)> {
        let name = Self::CLASS_NAME;
        let m0 = self.recent(0)?;
        let mut rks = Vec::with_capacity(order);
        let mut d1s = Vec::with_capacity(order);
        for k in 1..order {
            let rk = (lambda(self.sigma(s0 - k)) - lambda_s0) / h;
            let mk = self.recent(k)?;
            let rk_t = Tensor::new(rk, m0.device()).map_err(tensor_err(name))?;
            d1s.push(
                mk.sub(m0)
                    .and_then(|d| d.broadcast_div(&rk_t))
                    .map_err(tensor_err(name))?,
            );
            rks.push(rk);
        }
        rks.push(1.0);
        Ok((rks, d1s))
    }

    /// UniC: refines the sample the previous predictor produced, using the new prediction.
    fn correct(&self, model_t: &Tensor) -> Result<Tensor> {
        let name = Self::CLASS_NAME;
        let order = self.this_order;
        let i = self.state.step_index;
        let last_sample = self
            .last_sample
            .as_ref()
            .ok_or_else(|| Error::internal("UniC without a previous sample"))?;
        let (sigma_t, sigma_s0) = (self.sigma(i), self.sigma(i - 1));
        let (alpha_t, lambda_s0) = (1.0 - sigma_t, lambda(sigma_s0));
        let h = lambda(sigma_t) - lambda_s0;
        // The older predictions sit one step further back than for the predictor.
        let (rks, d1s) = self.differences(order, i - 1, lambda_s0, h)?;
        let co = update_coefficients(h, order, self.config.solver_type);
        let rhos_c = if order == 1 {
            vec![0.5]
        } else {
            solve(&rks, &co.b, order)?
        };
        let m0 = self.recent(0)?;
        (|| {
            let x_t_ =
                scale(last_sample, sigma_t / sigma_s0)?.sub(&scale(m0, alpha_t * co.h_phi_1)?)?;
            let d1_t = model_t.sub(m0)?;
            let mut res = scale(&d1_t, rhos_c[order - 1])?;
            if let Some(corr) = weighted_sum(&rhos_c[..order - 1], &d1s)? {
                res = corr.add(&res)?;
            }
            x_t_.sub(&scale(&res, alpha_t * co.b_h)?)
        })()
        .map_err(tensor_err(name))
    }

    /// UniP: the multistep prediction of the next sample.
    fn predict(&self, sample: &Tensor, order: usize) -> Result<Tensor> {
        let name = Self::CLASS_NAME;
        let i = self.state.step_index;
        let (sigma_t, sigma_s0) = (self.sigma(i + 1), self.sigma(i));
        let (alpha_t, lambda_s0) = (1.0 - sigma_t, lambda(sigma_s0));
        let h = lambda(sigma_t) - lambda_s0;
        let (rks, d1s) = self.differences(order, i, lambda_s0, h)?;
        let co = update_coefficients(h, order, self.config.solver_type);
        let rhos_p = match order {
            1 => Vec::new(),
            2 => vec![0.5],
            _ => solve(&rks[..order - 1], &co.b[..order - 1], order - 1)?,
        };
        let m0 = self.recent(0)?;
        (|| {
            let x_t_ = scale(sample, sigma_t / sigma_s0)?.sub(&scale(m0, alpha_t * co.h_phi_1)?)?;
            match weighted_sum(&rhos_p, &d1s)? {
                Some(pred_res) => x_t_.sub(&scale(&pred_res, alpha_t * co.b_h)?),
                None => Ok(x_t_),
            }
        })()
        .map_err(tensor_err(name))
    }
}

/// `einsum("k,bkc...->bc...", weights, D1s)`: sum_k w_k * D1_k, or None when empty.
fn weighted_sum(weights: &[f32], terms: &[Tensor]) -> candle_core::Result<Option<Tensor>> {
    let mut acc: Option<Tensor> = None;
    for (w, d) in weights.iter().zip(terms) {
        let term = scale(d, *w)?;
        acc = Some(match acc {
            Some(a) => a.add(&term)?,
            None => term,
        });
    }
    Ok(acc)
}

impl Scheduler for UniPcMultistepScheduler {
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
        let n = self.state.timesteps.len();
        if i >= n {
            return Err(Error::invalid(
                format!(
                    "{name}: step {} requested but the schedule has {n} steps",
                    i + 1
                ),
                "call set_timesteps(n) before stepping, and step once per timestep",
            ));
        }
        let (model_output, mut sample, out_dtype) = step_inputs(name, model_output, sample)?;
        if let Some(prev) = &self.last_sample {
            if prev.dims() != sample.dims() {
                return Err(Error::invalid(
                    format!(
                        "{name}: sample shape changed from {:?} to {:?} mid-schedule",
                        prev.dims(),
                        sample.dims()
                    ),
                    "call set_timesteps again before sampling a differently shaped latent",
                ));
            }
        }
        // Flow prediction: x0 = x - sigma * v.
        let x0 = scale(&model_output, self.sigma(i))
            .and_then(|sv| sample.sub(&sv))
            .map_err(tensor_err(name))?;
        let use_corrector = i > 0
            && !self.config.disable_corrector.contains(&(i - 1))
            && self.last_sample.is_some();
        if use_corrector {
            sample = self.correct(&x0)?;
        }
        self.model_outputs.rotate_left(1);
        if let Some(newest) = self.model_outputs.last_mut() {
            *newest = Some(x0);
        }
        let order = self.config.solver_order;
        let this_order = if self.config.lower_order_final {
            order.min(n - i)
        } else {
            order
        };
        // Warm-up: the first steps have too few past predictions for the full order.
        self.this_order = this_order.min(self.lower_order_nums + 1);
        let prev = self.predict(&sample, self.this_order)?;
        self.last_sample = Some(sample);
        if self.lower_order_nums < order {
            self.lower_order_nums += 1;
        }
        self.state.step_index += 1;
        prev.to_dtype(out_dtype).map_err(tensor_err(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    const WAN22: &str = r#"{"_class_name": "UniPCMultistepScheduler", "_diffusers_version": "0.35.0.dev0",
        "beta_end": 0.02, "beta_schedule": "linear", "beta_start": 0.0001, "disable_corrector": [],
        "dynamic_thresholding_ratio": 0.995, "final_sigmas_type": "zero", "flow_shift": 5.0,
        "lower_order_final": true, "num_train_timesteps": 1000, "predict_x0": true,
        "prediction_type": "flow_prediction", "rescale_betas_zero_snr": false, "sample_max_value": 1.0,
        "solver_order": 2, "solver_p": null, "solver_type": "bh2", "steps_offset": 0,
        "thresholding": false, "time_shift_type": "exponential", "timestep_spacing": "linspace",
        "trained_betas": null, "use_beta_sigmas": false, "use_dynamic_shifting": false,
        "use_exponential_sigmas": false, "use_flow_sigmas": true, "use_karras_sigmas": false}"#;

    fn unipc(json: &str) -> Result<UniPcMultistepScheduler> {
        UniPcMultistepScheduler::new(UniPcConfig::from_value(
            serde_json::from_str(json).unwrap(),
        )?)
    }

    /// The Wan2.2 config with one key overridden (`"key": value` JSON text).
    fn with(key_value: &str) -> String {
        let mut base: serde_json::Value = serde_json::from_str(WAN22).unwrap();
        let patch: serde_json::Value = serde_json::from_str(&format!("{{{key_value}}}")).unwrap();
        for (k, v) in patch.as_object().unwrap() {
            base[k] = v.clone();
        }
        base.to_string()
    }

    #[test]
    fn wan22_schedule_endpoints() {
        let mut s = unipc(WAN22).unwrap();
        s.set_timesteps(50).unwrap();
        assert_eq!(s.timesteps().len(), 50);
        assert_eq!(s.sigmas().len(), 51);
        assert_eq!(s.timesteps()[0], 999.0);
        assert!((s.sigmas()[0] - 0.999999).abs() < 1e-7);
        assert_eq!(s.sigmas()[50], 0.0);
        assert!(s.sigmas().windows(2).all(|w| w[0] > w[1]));
        assert!(s.timesteps().windows(2).all(|w| w[0] > w[1]));
        assert!(s.timesteps().iter().all(|t| t.fract() == 0.0));
    }

    #[test]
    fn one_step_returns_the_data_prediction() {
        // With one step the predictor is first order towards sigma 0: x = x0 = x - sigma*v.
        let mut s = unipc(WAN22).unwrap();
        s.set_timesteps(1).unwrap();
        let dev = Device::Cpu;
        let x = Tensor::new(&[1.0f32, -2.0, 0.5], &dev).unwrap();
        let v = Tensor::new(&[0.25f32, 1.0, -1.0], &dev).unwrap();
        let y = s.step(&v, &x).unwrap().to_vec1::<f32>().unwrap();
        let sigma = s.sigmas()[0] as f32;
        for ((y, x), v) in y.iter().zip([1.0f32, -2.0, 0.5]).zip([0.25f32, 1.0, -1.0]) {
            assert!((y - (x - sigma * v)).abs() < 1e-6, "{y}");
        }
        assert!(s.step(&v, &x).is_err());
    }

    #[test]
    fn recovers_a_straight_flow_exactly() {
        // For x_t = (1 - t) x0 + t n the true velocity is n - x0 everywhere; any consistent
        // solver must land on x0.
        let dev = Device::Cpu;
        let x0 = Tensor::new(&[0.3f32, -0.7, 1.2, 0.0], &dev).unwrap();
        let noise = Tensor::new(&[-1.0f32, 0.5, 0.2, 2.0], &dev).unwrap();
        let v = noise.sub(&x0).unwrap();
        for steps in [2, 5, 20] {
            let mut s = unipc(WAN22).unwrap();
            s.set_timesteps(steps).unwrap();
            let mut x = noise.clone();
            for _ in 0..steps {
                x = s.step(&v, &x).unwrap();
            }
            let err = x
                .sub(&x0)
                .unwrap()
                .abs()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(err < 1e-4, "{steps} steps: error {err}");
        }
    }

    #[test]
    fn refuses_non_flow_and_unimplemented_options_by_name() {
        let err = unipc(r#"{"use_flow_sigmas": true}"#).unwrap_err();
        assert!(err.message.contains("prediction_type"), "{}", err.message);
        for (kv, key) in [
            (r#""use_flow_sigmas": false"#, "use_flow_sigmas"),
            (r#""thresholding": true"#, "thresholding"),
            (r#""use_karras_sigmas": true"#, "use_karras_sigmas"),
            (r#""predict_x0": false"#, "predict_x0"),
            (r#""solver_p": {"x": 1}"#, "solver_p"),
            (r#""solver_order": 0"#, "solver_order"),
            (r#""lower_order_final": false"#, "lower_order_final"),
            (r#""timestep_spacing": "odd""#, "timestep_spacing"),
            (r#""solver_type": "bh1""#, "solver_type"),
            (r#""new_knob": 1"#, "new_knob"),
        ] {
            let err = unipc(&with(kv)).unwrap_err();
            assert!(err.message.contains(key), "{kv}: {}", err.message);
        }
        let s = unipc(&with(r#""solver_type": "midpoint""#)).unwrap();
        assert_eq!(s.config().solver_type, SolverType::Bh2);
    }

    #[test]
    fn shape_change_mid_schedule_is_an_error() {
        let mut s = unipc(WAN22).unwrap();
        s.set_timesteps(3).unwrap();
        let a = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros(5, DType::F32, &Device::Cpu).unwrap();
        s.step(&a, &a).unwrap();
        let err = s.step(&b, &b).unwrap_err();
        assert!(err.message.contains("shape changed"), "{}", err.message);
    }
}
