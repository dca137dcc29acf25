//! The pipeline's own Gaussian noise: deterministic for a seed on every platform, device and
//! thread count, so a seed printed in a clip's `understood` JSON reproduces that clip.
//!
//! Algorithm (normative; changing it changes every seeded output):
//!
//! 1. A SplitMix64 stream seeded with `seed`: `state += 0x9E3779B97F4A7C15`, then
//!    `z = state; z = (z ^ z>>30)·0xBF58476D1CE4E5B9; z = (z ^ z>>27)·0x94D049BB133111EB;
//!    z ^= z>>31` (wrapping arithmetic).
//! 2. Each output `z` becomes a uniform double `u = (z >> 11) / 2^53` in `[0, 1)`.
//! 3. Box–Muller on consecutive pairs `(u1, u2)` in f64: `r = sqrt(-2 ln(1 - u1))`
//!    (`1 - u1` is in `(0, 1]`, so the log is finite), `a = 2π·u2`, giving the two normals
//!    `r·cos a` then `r·sin a`, each rounded to f32.
//! 4. Values fill the tensor in row-major order of its shape (`[B, C, F, H, W]` for latents);
//!    an odd count drops the last sine.
//!
//! Everything runs sequentially on the CPU in f64 and only the finished f32 tensor is moved to
//! the device, which is what makes results independent of the backend.

use candle_core::{Device, Tensor};
use kinema_core::{Error, Result};

/// SplitMix64: a tiny, well-studied 64-bit generator with a full period, used here because its
/// output is fully specified by the seed (unlike backend RNGs, which differ per device).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform double in `[0, 1)` with 53 random bits.
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` standard normal samples for `seed` (see the module docs for the exact algorithm).
pub fn standard_normal(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u1 = rng.next_unit();
        let u2 = rng.next_unit();
        let r = (-2.0 * (1.0 - u1).ln()).sqrt();
        let a = 2.0 * std::f64::consts::PI * u2;
        out.push((r * a.cos()) as f32);
        out.push((r * a.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// A float32 tensor of standard normals with `shape`, made on the CPU and moved to `device`.
pub fn randn(shape: &[usize], seed: u64, device: &Device) -> Result<Tensor> {
    let n = shape.iter().product();
    Tensor::from_vec(standard_normal(n, seed), shape, &Device::Cpu)
        .and_then(|t| t.to_device(device))
        .map_err(|e| Error::internal(format!("cannot build {shape:?} noise")).with_source(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_published_reference_values() {
        // First outputs for seed 1234567 from the reference implementation (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
        assert_eq!(rng.next_u64(), 9817491932198370423);
    }

    #[test]
    fn same_seed_same_values_different_seed_different_values() {
        let a = standard_normal(1001, 7);
        assert_eq!(a, standard_normal(1001, 7));
        assert_eq!(a.len(), 1001);
        let b = standard_normal(1001, 8);
        assert!(a.iter().zip(&b).filter(|(x, y)| x != y).count() > 990);
        // A prefix does not depend on the total count.
        assert_eq!(&standard_normal(10, 7)[..], &a[..10]);
    }

    #[test]
    fn samples_look_standard_normal() {
        let v = standard_normal(200_000, 42);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        assert!(v.iter().all(|x| x.is_finite()));
        let beyond_2 = v.iter().filter(|x| x.abs() > 2.0).count() as f64 / n;
        assert!((beyond_2 - 0.0455).abs() < 0.003, "P(|z|>2) = {beyond_2}");
    }

    #[test]
    fn randn_has_the_shape_asked_for() {
        let t = randn(&[1, 2, 3, 4], 5, &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[1, 2, 3, 4]);
        let flat: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(flat, standard_normal(24, 5));
    }
}
