//! Pixel fidelity of frame 0 against the reference: PSNR and SSIM on RGB composited over
//! grey. Both are full-reference measures, so they only make sense after alignment.

use kinema_core::{Error, Frame, Result};

use crate::plane::{rgb_planes, Plane};

/// PSNR of identical images: infinity would not survive JSON, and above 100 dB nothing differs.
pub const PSNR_CAP_DB: f64 = 100.0;

fn same_size(a: &Frame, b: &Frame) -> Result<()> {
    if (a.width, a.height) != (b.width, b.height) {
        return Err(Error::invalid(
            format!(
                "cannot compare a {}x{} image with a {}x{} one",
                a.width, a.height, b.width, b.height
            ),
            "align the frame to the reference first (kinema_metrics::align_to_reference)",
        ));
    }
    Ok(())
}

/// Peak signal-to-noise ratio in dB over R, G and B after compositing over grey.
pub fn psnr(a: &Frame, b: &Frame) -> Result<f64> {
    same_size(a, b)?;
    let (pa, pb) = (rgb_planes(a), rgb_planes(b));
    let mut sum = 0.0f64;
    let mut n = 0usize;
    for c in 0..3 {
        for (x, y) in pa[c].data.iter().zip(&pb[c].data) {
            let d = (x - y) as f64;
            sum += d * d;
        }
        n += pa[c].data.len();
    }
    if n == 0 {
        return Ok(PSNR_CAP_DB);
    }
    let mse = sum / n as f64;
    if mse <= 0.0 {
        return Ok(PSNR_CAP_DB);
    }
    Ok((10.0 * (255.0f64 * 255.0 / mse).log10()).min(PSNR_CAP_DB))
}

/// Structural similarity (Wang et al. 2004: 11×11 Gaussian window, σ = 1.5, K1 = 0.01,
/// K2 = 0.03), averaged over pixels and the R, G, B channels composited over grey.
pub fn ssim(a: &Frame, b: &Frame) -> Result<f64> {
    same_size(a, b)?;
    let (pa, pb) = (rgb_planes(a), rgb_planes(b));
    if pa[0].data.is_empty() {
        return Ok(1.0);
    }
    let total: f64 = (0..3).map(|c| ssim_plane(&pa[c], &pb[c])).sum();
    Ok(total / 3.0)
}

fn ssim_plane(x: &Plane, y: &Plane) -> f64 {
    const C1: f32 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f32 = (0.03 * 255.0) * (0.03 * 255.0);
    let mul = |p: &Plane, q: &Plane| Plane {
        w: p.w,
        h: p.h,
        data: p.data.iter().zip(&q.data).map(|(a, b)| a * b).collect(),
    };
    let mx = gaussian(x);
    let my = gaussian(y);
    let sxx = gaussian(&mul(x, x));
    let syy = gaussian(&mul(y, y));
    let sxy = gaussian(&mul(x, y));
    let mut sum = 0.0f64;
    for i in 0..x.data.len() {
        let (ux, uy) = (mx.data[i], my.data[i]);
        let vx = sxx.data[i] - ux * ux;
        let vy = syy.data[i] - uy * uy;
        let cxy = sxy.data[i] - ux * uy;
        let s =
            ((2.0 * ux * uy + C1) * (2.0 * cxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
        sum += s as f64;
    }
    sum / x.data.len() as f64
}

/// Separable 11-tap Gaussian (σ = 1.5) with the border clamped.
fn gaussian(p: &Plane) -> Plane {
    let mut k = [0.0f32; 11];
    for (i, v) in k.iter_mut().enumerate() {
        let d = i as f32 - 5.0;
        *v = (-d * d / (2.0 * 1.5 * 1.5)).exp();
    }
    let norm: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= norm);
    let (w, h) = (p.w, p.h);
    let mut tmp = Plane::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let sx = (x as i64 + i as i64 - 5).clamp(0, w as i64 - 1) as usize;
                s += kv * p.data[y * w + sx];
            }
            tmp.data[y * w + x] = s;
        }
    }
    let mut out = Plane::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let sy = (y as i64 + i as i64 - 5).clamp(0, h as i64 - 1) as usize;
                s += kv * tmp.data[sy * w + x];
            }
            out.data[y * w + x] = s;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a tiny, well-mixed generator so noise fixtures are the same everywhere.
    struct SplitMix(u64);
    impl SplitMix {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn uniform(&mut self) -> f64 {
            ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        /// Box–Muller transform: one standard normal sample.
        fn normal(&mut self) -> f64 {
            let (u1, u2) = (self.uniform(), self.uniform());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    #[test]
    fn psnr_of_gaussian_noise_follows_theory() {
        let grey = Frame::filled(128, 128, [128, 128, 128, 255]);
        for sigma in [2.0f64, 5.0, 10.0] {
            let mut rng = SplitMix(42 + sigma as u64);
            let mut noisy = grey.clone();
            for p in noisy.rgba.chunks_exact_mut(4) {
                for c in p.iter_mut().take(3) {
                    *c = (128.0 + sigma * rng.normal()).round().clamp(0.0, 255.0) as u8;
                }
            }
            let got = psnr(&grey, &noisy).unwrap();
            let theory = 20.0 * (255.0 / sigma).log10();
            assert!(
                (got - theory).abs() < 0.5,
                "σ={sigma}: {got:.2} dB vs {theory:.2} dB"
            );
        }
    }

    #[test]
    fn identical_images_hit_the_caps() {
        let mut f = Frame::filled(16, 16, [10, 200, 90, 255]);
        f.set_pixel(3, 3, [0, 0, 0, 0]);
        assert_eq!(psnr(&f, &f).unwrap(), PSNR_CAP_DB);
        assert!((ssim(&f, &f).unwrap() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn ssim_drops_for_structural_change() {
        let mut a = Frame::filled(32, 32, [128, 128, 128, 255]);
        for y in 0..32 {
            for x in 0..32 {
                if (x / 4 + y / 4) % 2 == 0 {
                    a.set_pixel(x, y, [30, 30, 30, 255]);
                }
            }
        }
        let flat = Frame::filled(32, 32, [79, 79, 79, 255]);
        let s = ssim(&a, &flat).unwrap();
        assert!(s < 0.2, "{s}");
    }

    #[test]
    fn size_mismatch_is_reported() {
        let e = psnr(&Frame::new(2, 2), &Frame::new(3, 2)).unwrap_err();
        assert!(e.to_string().contains("2x2") && e.hint.is_some());
    }
}
