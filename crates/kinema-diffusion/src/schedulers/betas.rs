//! The DDPM training noise schedule that the Stable Diffusion line of schedulers start from:
//! betas, their cumulative alpha products, and the training sigmas `√((1 − ᾱ)/ᾱ)`.
//!
//! Computed with the rounding diffusers gets from torch: betas in float32 (torch's `linspace`
//! evaluates `start + step·i` as one fused multiply-add per element, from the far end for the
//! second half), `cumprod` accumulated in float64 and stored as float32, sigmas in float32.

use kinema_core::{Error, Result};
use serde::Deserialize;

/// `beta_schedule` of a diffusers scheduler config.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BetaSchedule {
    Linear,
    ScaledLinear,
    #[serde(rename = "squaredcos_cap_v2")]
    SquaredcosCapV2,
}

/// `torch.linspace(start, end, n, dtype=float32)`, bit for bit.
pub(crate) fn linspace_f32(start: f64, end: f64, n: usize) -> Vec<f32> {
    let (s, e) = (start as f32, end as f32);
    if n == 1 {
        return vec![s];
    }
    let step = (e - s) / (n - 1) as f32;
    let half = n / 2;
    (0..n)
        .map(|i| {
            if i < half {
                step.mul_add(i as f32, s)
            } else {
                (-step).mul_add((n - 1 - i) as f32, e)
            }
        })
        .collect()
}

/// The float32 betas of a schedule (or the given `trained_betas`).
pub(crate) fn betas(
    schedule: BetaSchedule,
    start: f64,
    end: f64,
    n: usize,
    trained: Option<&[f64]>,
) -> Result<Vec<f32>> {
    if let Some(t) = trained {
        if t.len() != n {
            return Err(Error::model(format!(
                "trained_betas has {} values but num_train_timesteps is {n}",
                t.len()
            )));
        }
        return Ok(t.iter().map(|&b| b as f32).collect());
    }
    Ok(match schedule {
        BetaSchedule::Linear => linspace_f32(start, end, n),
        BetaSchedule::ScaledLinear => linspace_f32(start.sqrt(), end.sqrt(), n)
            .into_iter()
            .map(|b| b * b)
            .collect(),
        BetaSchedule::SquaredcosCapV2 => {
            // betas_for_alpha_bar with the cosine alpha bar, in float64, capped at 0.999.
            let alpha_bar = |t: f64| {
                ((t + 0.008) / 1.008 * std::f64::consts::PI / 2.0)
                    .cos()
                    .powi(2)
            };
            (0..n)
                .map(|i| {
                    let (t1, t2) = (i as f64 / n as f64, (i + 1) as f64 / n as f64);
                    (1.0 - alpha_bar(t2) / alpha_bar(t1)).min(0.999) as f32
                })
                .collect()
        }
    })
}

/// `cumprod(1 − β)` as torch computes it on the CPU (float64 running product).
pub(crate) fn alphas_cumprod(betas: &[f32]) -> Vec<f32> {
    let mut acc = 1f64;
    betas
        .iter()
        .map(|&b| {
            acc *= (1.0f32 - b) as f64;
            acc as f32
        })
        .collect()
}

/// The training sigma `√((1 − ᾱ)/ᾱ)` of one ᾱ, in float32.
pub(crate) fn sigma_of(alpha_cumprod: f32) -> f32 {
    ((1.0f32 - alpha_cumprod) / alpha_cumprod).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_hits_both_ends_and_is_monotone() {
        let v = linspace_f32(0.1, 0.9, 7);
        assert_eq!((v[0], v[6]), (0.1f32, 0.9f32));
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(linspace_f32(3.0, 5.0, 1), vec![3.0]);
    }

    #[test]
    fn scaled_linear_schedule_matches_known_values() {
        // Stable Diffusion's schedule: the first and last betas are the configured ends.
        let b = betas(BetaSchedule::ScaledLinear, 0.00085, 0.012, 1000, None).unwrap();
        assert!((b[0] - 0.00085).abs() < 1e-9 && (b[999] - 0.012).abs() < 1e-8);
        let ac = alphas_cumprod(&b);
        assert!(ac.windows(2).all(|w| w[0] > w[1]));
        // Its last training sigma is the well-known ≈14.61.
        assert!(
            (sigma_of(ac[999]) - 14.6146).abs() < 1e-3,
            "{}",
            sigma_of(ac[999])
        );
        let cos = betas(BetaSchedule::SquaredcosCapV2, 0.0, 0.0, 10, None).unwrap();
        assert!(cos.iter().all(|&b| b > 0.0 && b <= 0.999));
        assert!(betas(BetaSchedule::Linear, 0.1, 0.2, 3, Some(&[0.1, 0.2])).is_err());
    }
}
