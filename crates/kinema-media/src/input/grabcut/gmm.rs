//! Gaussian mixtures over RGB: the colour models of foreground and background.
//!
//! Each model has a few full-covariance components, so a striped shirt or a sky fading
//! into hills is described by several colour clusters instead of one broad blob. Fitting
//! follows GrabCut: assign each pixel to its likeliest component, then re-estimate every
//! component from its pixels; the first assignment comes from a short k-means.

/// Components per model: enough for a few dominant colours, few enough to fit from a
/// small seed region.
pub const COMPONENTS: usize = 5;
/// Added to each covariance diagonal (8-bit units²) so flat colours do not make a
/// singular matrix; it is a standard deviation of 2 levels, below JPEG noise.
const RIDGE: f64 = 4.0;
/// Pixels used for k-means; the clusters are stable well below this.
const KMEANS_SAMPLES: usize = 20_000;
const KMEANS_ROUNDS: usize = 8;

#[derive(Clone, Debug)]
struct Component {
    mean: [f32; 3],
    inverse: [[f32; 3]; 3],
    /// log(weight) − ½ log det Σ − (3/2) log 2π.
    log_scale: f32,
}

/// A colour model: a weighted mixture of Gaussians.
#[derive(Clone, Debug)]
pub struct Gmm {
    components: Vec<Component>,
}

impl Gmm {
    /// A first model from k-means clusters of `colours` (at least one colour).
    pub fn from_kmeans(colours: &[[f32; 3]]) -> Gmm {
        let step = (colours.len() / KMEANS_SAMPLES).max(1);
        let sample: Vec<[f32; 3]> = colours.iter().step_by(step).copied().collect();
        let centres = kmeans(&sample);
        let labels: Vec<usize> = sample.iter().map(|&c| nearest(&centres, c)).collect();
        Gmm::fit(&sample, &labels, centres.len())
    }

    /// Re-estimates the model from `colours`, each assigned to its likeliest component of
    /// the current model (one GrabCut refinement step).
    pub fn refit(&self, colours: &[[f32; 3]]) -> Gmm {
        let labels: Vec<usize> = colours.iter().map(|&c| self.likeliest(c)).collect();
        Gmm::fit(colours, &labels, self.components.len())
    }

    fn fit(colours: &[[f32; 3]], labels: &[usize], k: usize) -> Gmm {
        let mut n = vec![0usize; k];
        let mut sum = vec![[0.0f64; 3]; k];
        let mut prod = vec![[[0.0f64; 3]; 3]; k];
        for (c, &l) in colours.iter().zip(labels) {
            n[l] += 1;
            for a in 0..3 {
                let ca = f64::from(c[a]);
                sum[l][a] += ca;
                for b in 0..3 {
                    prod[l][a][b] += ca * f64::from(c[b]);
                }
            }
        }
        let total = colours.len().max(1) as f64;
        let components = (0..k)
            .filter(|&l| n[l] > 0)
            .map(|l| {
                let count = n[l] as f64;
                let mean = sum[l].map(|s| s / count);
                let mut cov = [[0.0f64; 3]; 3];
                for a in 0..3 {
                    for b in 0..3 {
                        cov[a][b] = prod[l][a][b] / count - mean[a] * mean[b];
                    }
                    cov[a][a] += RIDGE;
                }
                let (inverse, det) = invert(cov);
                let log_scale = (count / total).ln()
                    - 0.5 * det.max(1e-12).ln()
                    - 1.5 * (2.0 * std::f64::consts::PI).ln();
                Component {
                    mean: mean.map(|m| m as f32),
                    inverse: inverse.map(|r| r.map(|v| v as f32)),
                    log_scale: log_scale as f32,
                }
            })
            .collect();
        Gmm { components }
    }

    fn log_density(component: &Component, c: [f32; 3]) -> f32 {
        let d = [
            c[0] - component.mean[0],
            c[1] - component.mean[1],
            c[2] - component.mean[2],
        ];
        let m = &component.inverse;
        let q = d[0] * (m[0][0] * d[0] + m[0][1] * d[1] + m[0][2] * d[2])
            + d[1] * (m[1][0] * d[0] + m[1][1] * d[1] + m[1][2] * d[2])
            + d[2] * (m[2][0] * d[0] + m[2][1] * d[1] + m[2][2] * d[2]);
        component.log_scale - 0.5 * q
    }

    fn likeliest(&self, c: [f32; 3]) -> usize {
        (0..self.components.len())
            .max_by(|&a, &b| {
                Self::log_density(&self.components[a], c)
                    .total_cmp(&Self::log_density(&self.components[b], c))
            })
            .unwrap_or(0)
    }

    /// −log p(c): the data cost of giving colour `c` this model's label.
    pub fn cost(&self, c: [f32; 3]) -> f32 {
        // log-sum-exp over components, anchored at the largest term.
        let mut best = f32::NEG_INFINITY;
        let mut terms = [0.0f32; COMPONENTS];
        for (t, comp) in terms.iter_mut().zip(&self.components) {
            *t = Self::log_density(comp, c);
            best = best.max(*t);
        }
        let sum: f32 = terms[..self.components.len()]
            .iter()
            .map(|&t| (t - best).exp())
            .sum();
        -(best + sum.ln())
    }
}

/// Up to [`COMPONENTS`] centres, seeded deterministically from luminance quantiles so the
/// same image always gives the same model.
fn kmeans(sample: &[[f32; 3]]) -> Vec<[f32; 3]> {
    let mut by_luma: Vec<[f32; 3]> = sample.to_vec();
    by_luma.sort_by(|a, b| luma(*a).total_cmp(&luma(*b)));
    let mut centres: Vec<[f32; 3]> = (0..COMPONENTS)
        .map(|k| by_luma[(2 * k + 1) * by_luma.len() / (2 * COMPONENTS)])
        .collect();
    centres.dedup();
    for _ in 0..KMEANS_ROUNDS {
        let mut sum = vec![[0.0f64; 3]; centres.len()];
        let mut n = vec![0usize; centres.len()];
        for &c in sample {
            let l = nearest(&centres, c);
            n[l] += 1;
            for a in 0..3 {
                sum[l][a] += f64::from(c[a]);
            }
        }
        for (k, centre) in centres.iter_mut().enumerate() {
            if n[k] > 0 {
                *centre = sum[k].map(|s| (s / n[k] as f64) as f32);
            }
        }
    }
    centres
}

fn luma(c: [f32; 3]) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

fn nearest(centres: &[[f32; 3]], c: [f32; 3]) -> usize {
    let d2 = |m: &[f32; 3]| (0..3).map(|a| (c[a] - m[a]).powi(2)).sum::<f32>();
    (0..centres.len())
        .min_by(|&a, &b| d2(&centres[a]).total_cmp(&d2(&centres[b])))
        .unwrap_or(0)
}

/// Inverse and determinant of a symmetric positive-definite 3×3 matrix.
fn invert(m: [[f64; 3]; 3]) -> ([[f64; 3]; 3], f64) {
    let c00 = m[1][1] * m[2][2] - m[1][2] * m[2][1];
    let c01 = m[1][2] * m[2][0] - m[1][0] * m[2][2];
    let c02 = m[1][0] * m[2][1] - m[1][1] * m[2][0];
    let det = m[0][0] * c00 + m[0][1] * c01 + m[0][2] * c02;
    let inv_det = 1.0 / det;
    let inv = [
        [
            c00 * inv_det,
            (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * inv_det,
            (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * inv_det,
        ],
        [
            c01 * inv_det,
            (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * inv_det,
            (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * inv_det,
        ],
        [
            c02 * inv_det,
            (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * inv_det,
            (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * inv_det,
        ],
    ];
    (inv, det)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::needless_range_loop)] // a matrix product reads best with indices
    fn the_inverse_of_a_covariance_is_its_inverse() {
        let m = [[5.0, 1.0, 0.5], [1.0, 4.0, 0.2], [0.5, 0.2, 3.0]];
        let (inv, det) = invert(m);
        assert!((det - 56.0).abs() < 1e-9, "{det}");
        for a in 0..3 {
            for b in 0..3 {
                let v: f64 = (0..3).map(|k| m[a][k] * inv[k][b]).sum();
                assert!((v - f64::from(u8::from(a == b))).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn a_two_colour_model_prefers_its_own_colours() {
        let mut colours = Vec::new();
        for i in 0..400 {
            let jitter = (i % 7) as f32 - 3.0;
            colours.push([200.0 + jitter, 40.0, 40.0 - jitter]);
            colours.push([30.0, 60.0 + jitter, 200.0]);
        }
        let gmm = Gmm::from_kmeans(&colours).refit(&colours);
        let red = gmm.cost([200.0, 40.0, 40.0]);
        let blue = gmm.cost([30.0, 60.0, 200.0]);
        let green = gmm.cost([40.0, 200.0, 40.0]);
        assert!(
            red < green - 20.0 && blue < green - 20.0,
            "{red} {blue} {green}"
        );
    }
}
