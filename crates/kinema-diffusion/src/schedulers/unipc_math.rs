//! The scalar side of a UniPC update, in float32 like diffusers' 0-dim tensors.
//!
//! With data prediction (x0) and flow sigmas, a step of size h = lambda_t - lambda_s0 uses
//! phi-function coefficients of hh = -h and, for orders above two, weights rho solved from a
//! small Vandermonde system in the ratios r_k of older step sizes to h.

use kinema_core::{Error, Result};

use super::unipc::SolverType;

/// lambda = log(alpha / sigma) with alpha = 1 - sigma, computed as diffusers does
/// (`log(alpha) - log(sigma)`): +inf at sigma 0, which the update formulas absorb.
pub(crate) fn lambda(sigma: f32) -> f32 {
    (1.0 - sigma).ln() - sigma.ln()
}

/// Coefficients of one predictor or corrector update of the given order.
pub(crate) struct UpdateCoefficients {
    /// h * phi_1(h) = e^hh - 1.
    pub h_phi_1: f32,
    /// B(h): hh for bh1, e^hh - 1 for bh2.
    pub b_h: f32,
    /// The right-hand side b_i = h phi_{i+1}(h) * i! / B(h), i = 1..=order.
    pub b: Vec<f32>,
}

pub(crate) fn update_coefficients(h: f32, order: usize, solver: SolverType) -> UpdateCoefficients {
    let hh = -h;
    let h_phi_1 = hh.exp_m1();
    let b_h = match solver {
        SolverType::Bh1 => hh,
        SolverType::Bh2 => hh.exp_m1(),
    };
    let mut h_phi_k = h_phi_1 / hh - 1.0;
    let mut factorial: u64 = 1;
    let mut b = Vec::with_capacity(order);
    for i in 1..=order as u64 {
        b.push(h_phi_k * factorial as f32 / b_h);
        factorial *= i + 1;
        h_phi_k = h_phi_k / hh - (1.0 / factorial as f64) as f32;
    }
    UpdateCoefficients { h_phi_1, b_h, b }
}

/// `torch.pow(r, e)` for the small integer exponents of the Vandermonde rows.
fn pow_int(r: f32, e: usize) -> f32 {
    match e {
        0 => 1.0,
        1 => r,
        2 => r * r,
        3 => r * r * r,
        _ => r.powf(e as f32),
    }
}

/// Solves sum_k r_k^i rho_k = b_i for i = 0..n (`torch.linalg.solve(R, b)`), by LU with
/// partial pivoting as LAPACK's sgesv does.
pub(crate) fn solve(rks: &[f32], b: &[f32], n: usize) -> Result<Vec<f32>> {
    let singular = || {
        Error::model(format!(
            "UniPC: the order-{n} update is singular (r = {:?}); the schedule repeats a noise level",
            &rks[..n.min(rks.len())]
        ))
        .with_hint("use fewer inference steps or a smaller solver_order")
    };
    if rks.len() < n || b.len() < n {
        return Err(Error::internal(format!(
            "UniPC solve: need {n} ratios and {n} coefficients"
        )));
    }
    let mut a: Vec<Vec<f32>> = (0..n)
        .map(|i| (0..n).map(|k| pow_int(rks[k], i)).collect())
        .collect();
    let mut x: Vec<f32> = b[..n].to_vec();
    for c in 0..n {
        let p = (c..n).fold(c, |best, r| {
            if a[r][c].abs() > a[best][c].abs() {
                r
            } else {
                best
            }
        });
        a.swap(c, p);
        x.swap(c, p);
        let pivot = a[c][c];
        if pivot == 0.0 || !pivot.is_finite() {
            return Err(singular());
        }
        let recip = 1.0 / pivot;
        for r in c + 1..n {
            a[r][c] *= recip;
            for j in c + 1..n {
                a[r][j] -= a[r][c] * a[c][j];
            }
        }
    }
    for c in 0..n {
        for r in c + 1..n {
            x[r] -= x[c] * a[r][c];
        }
    }
    for k in (0..n).rev() {
        x[k] /= a[k][k];
        for i in 0..k {
            x[i] -= x[k] * a[i][k];
        }
    }
    if x.iter().all(|v| v.is_finite()) {
        Ok(x)
    } else {
        Err(singular())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_inverts_a_vandermonde_system() {
        let rks = [-0.8f32, -1.7, 1.0];
        let rho = [0.3f32, -0.2, 0.9];
        let b: Vec<f32> = (0..3)
            .map(|i| (0..3).map(|k| pow_int(rks[k], i) * rho[k]).sum())
            .collect();
        let got = solve(&rks, &b, 3).unwrap();
        for (g, r) in got.iter().zip(rho) {
            assert!((g - r).abs() < 1e-5, "{got:?}");
        }
        assert!(
            solve(&[1.0, 1.0], &[1.0, 2.0], 2).is_err(),
            "repeated ratio is singular"
        );
    }

    #[test]
    fn first_order_coefficients_match_the_closed_form() {
        // Order 1, bh2: b_1 = (e^hh - 1 - hh) / hh / (e^hh - 1).
        let h = 0.3f32;
        let c = update_coefficients(h, 1, SolverType::Bh2);
        let hh = -h as f64;
        let expected = ((hh.exp_m1() / hh) - 1.0) / hh.exp_m1();
        assert!((c.b[0] as f64 - expected).abs() < 1e-6);
        assert_eq!(c.b_h, c.h_phi_1);
        assert_eq!(update_coefficients(h, 1, SolverType::Bh1).b_h, -h);
    }

    #[test]
    fn final_step_to_sigma_zero_stays_finite() {
        let h = lambda(0.0) - lambda(0.05);
        assert!(h.is_infinite());
        let c = update_coefficients(h, 1, SolverType::Bh2);
        assert_eq!((c.h_phi_1, c.b_h, c.b[0]), (-1.0, -1.0, 1.0));
    }
}
