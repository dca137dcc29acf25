//! Sigma-schedule arithmetic shared by the flow schedulers, rounded where diffusers rounds.
//!
//! diffusers builds schedules with numpy in float64 and then stores them as float32 torch
//! tensors; some intermediate values (the training schedule's end points) are float32.
//! These helpers do the same operations in the same order so the results agree bit for bit
//! in the common case and to an ulp otherwise.

/// `numpy.linspace(start, stop, n)` (endpoint included) in float64.
pub(crate) fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// The flow-matching shift `s' = shift*s / (1 + (shift-1)*s)` in float64 (numpy).
/// It keeps 0 and 1 fixed and, for shift > 1, spends more steps at high noise.
pub(crate) fn shift_f64(shift: f64, s: f64) -> f64 {
    shift * s / (1.0 + (shift - 1.0) * s)
}

/// The same shift on a float32 tensor with a Python float `shift` (torch rounds the scalar
/// operands to float32 and every intermediate result too).
pub(crate) fn shift_f32(shift: f64, s: f32) -> f32 {
    let a = shift as f32 * s;
    let b = 1.0f32 + (shift - 1.0) as f32 * s;
    a / b
}

/// How resolution-dependent shifting maps `mu` onto the schedule (`time_shift_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeShiftType {
    Exponential,
    Linear,
}

/// diffusers' `time_shift(mu, 1.0, t)`; with exponent 1.0 the power is the identity.
pub(crate) fn time_shift(kind: TimeShiftType, mu: f64, t: f64) -> f64 {
    match kind {
        TimeShiftType::Exponential => mu.exp() / (mu.exp() + (1.0 / t - 1.0)),
        TimeShiftType::Linear => mu / (mu + (1.0 / t - 1.0)),
    }
}

/// Stretches a decreasing schedule so that its last value becomes `terminal`, keeping 1 fixed
/// (diffusers' `stretch_shift_to_terminal`, from LTX-Video).
pub(crate) fn stretch_to_terminal(sigmas: &mut [f64], terminal: f64) {
    let Some(&last) = sigmas.last() else { return };
    let scale = (1.0 - last) / (1.0 - terminal);
    for s in sigmas.iter_mut() {
        *s = 1.0 - (1.0 - *s) / scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_numpy_endpoints_and_spacing() {
        assert_eq!(linspace(1.0, 0.0, 1), vec![1.0]);
        let v = linspace(1.0, 0.001, 5);
        assert_eq!(v.len(), 5);
        assert_eq!(v[0], 1.0);
        assert_eq!(v[4], 0.001);
        assert!((v[2] - 0.5005).abs() < 1e-15);
        assert!(v.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn shift_keeps_endpoints_and_raises_the_middle() {
        for shift in [1.0, 3.0, 5.0, 12.0] {
            assert_eq!(shift_f64(shift, 1.0), 1.0);
            assert_eq!(shift_f64(shift, 0.0), 0.0);
            assert_eq!(shift_f32(shift, 1.0), 1.0);
        }
        assert!((shift_f64(3.0, 0.5) - 0.75).abs() < 1e-15);
        assert_eq!(shift_f64(1.0, 0.3), 0.3);
    }

    #[test]
    fn terminal_stretch_hits_the_terminal_value() {
        let mut s = vec![1.0, 0.6, 0.2];
        stretch_to_terminal(&mut s, 0.1);
        assert!((s[0] - 1.0).abs() < 1e-15);
        assert!((s[2] - 0.1).abs() < 1e-15);
    }

    #[test]
    fn time_shift_at_mu_zero_is_identity_for_exponential() {
        for t in [0.1, 0.5, 0.9] {
            assert!((time_shift(TimeShiftType::Exponential, 0.0, t) - t).abs() < 1e-15);
        }
    }
}
