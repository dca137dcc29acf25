//! Vectorisable `exp`, GELU (tanh form) and softmax rows for the CPU hot loops.
//!
//! Why: libm's `expf`/`tanhf` are scalar calls, and candle's `gelu` runs on one thread.
//! In a Wan transformer step at 3510 tokens the attention softmax evaluates ~300 M
//! exponentials per layer and the feed-forward GELU 50 M; as scalar calls they cost more
//! than a second per layer. The functions here are branch-free polynomials that LLVM turns
//! into SIMD code, compiled three times: for the baseline target and, picked at run time,
//! for AVX2 + FMA (8 lanes) and AVX-512 (16 lanes), so release builds need no
//! `-C target-cpu` flag. Everything in them must stay vectorisable: a float-to-int `as`
//! cast, for one, saturates and is done one lane at a time (it had made the softmax half
//! of the SVD attention). The polynomials use `mul_add`, a single instruction in the SIMD
//! builds and on aarch64; only an x86-64 CPU without FMA (before 2013) runs the baseline
//! build, where it is a slower library call.
//!
//! Accuracy: `exp` is within 2 ulp of the correctly rounded value on [-87, 88] (tested
//! against f64); below that range it returns ≈1e-38 instead of a denormal or 0, which no
//! softmax or sigmoid here can tell apart from 0. NaN stays NaN.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

/// e^x; see the module notes for range and accuracy.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // 1.5·2^23: adding and subtracting it rounds to the nearest integer using only adds,
    // which vectorise on every x86-64 (unlike `round`, a libm call before SSE4.1).
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // r in [-ln2/2, ln2/2]; ln 2 split in two so n·ln2 is exact to f32 precision.
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, x));
    // Taylor series to r^7 (the first omitted term is below 6e-9 relative), in Horner form
    // with fused multiply-adds.
    let mut p: f32 = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p.mul_add(r, c);
    }
    // 2^n from its exponent bits; n is in [-126, 127] after the clamp. `shifted` is
    // 1.5·2^23 + n, so its low mantissa bits hold n in two's complement: adding the bias and
    // shifting the rest out gives 2^n's bits with integer adds only. (`n as i32` would be a
    // saturating conversion, which LLVM does one lane at a time; this stays in SIMD.)
    let scale = f32::from_bits(shifted.to_bits().wrapping_add(127) << 23);
    p * scale
}

/// GELU with the tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, written
/// as `x·sigmoid(2u)` (the same function) so it needs one `exp` and no `tanh`.
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let u = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
    x / (1.0 + exp(-2.0 * u))
}

/// Runs `$body` (a loop over slices) compiled for AVX-512 or AVX2 when the CPU has it.
macro_rules! simd_dispatch {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty $body:block) => {
        pub fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn generic($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,fma")]
                unsafe fn avx512($($arg: $ty),*) -> $ret {
                    generic($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    generic($($arg),*)
                }
                let fma = std::arch::is_x86_feature_detected!("fma");
                if fma && std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if fma && std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}

pub(crate) use simd_dispatch;

simd_dispatch!(gelu_tanh_into(src: &[f32], dst: &mut [MaybeUninit<f32>]) -> () {
    for (d, &x) in dst.iter_mut().zip(src) {
        d.write(gelu_tanh(x));
    }
});

/// GELU (tanh form) of a tensor: on the CPU in f32 through [`gelu_tanh`] on all threads,
/// elsewhere (other devices, half precision) candle's own `gelu`, which is the same function.
pub fn gelu_tanh_tensor(x: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1_no_bwd(&GeluTanhOp)
    } else {
        x.gelu()
    }
}

struct GeluTanhOp;

impl CustomOp1 for GeluTanhOp {
    fn name(&self) -> &'static str {
        "kinema-gelu-tanh"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("gelu_tanh expects a contiguous tensor");
        };
        let src = &storage.as_slice::<f32>()?[start..end];
        const CHUNK: usize = 1 << 14;
        // SAFETY: equal-length chunks of src and dst, each chunk written in full.
        let dst = unsafe {
            super::unzeroed_f32(src.len(), |dst| {
                src.par_chunks(CHUNK)
                    .zip(dst.par_chunks_mut(CHUNK))
                    .for_each(|(s, d)| gelu_tanh_into(s, d))
            })
        };
        Ok((CpuStorage::F32(dst), layout.shape().clone()))
    }
}

/// The largest value of `row` (−∞ when empty; NaNs are skipped, as the `exp` of a NaN score
/// stays NaN anyway). 32 partial maxima, compared with `>` rather than `f32::max`, so the loop
/// is independent `vmaxps` chains instead of one chain with a NaN check per step.
#[inline(always)]
fn row_max(row: &[f32]) -> f32 {
    const LANES: usize = 32;
    let mut max = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (m, &v) in max.iter_mut().zip(c) {
            *m = if v > *m { v } else { *m };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for &v in max.iter().chain(chunks.remainder()) {
        m = if v > m { v } else { m };
    }
    m
}

simd_dispatch!(exp_row_against_max(row: &mut [f32], running_max: f32) -> (f32, f32) {
    // One step of the streaming softmax: the new running maximum is that of `running_max`
    // and `row`; `row` becomes exp(row - new max) and its sum is returned beside the max.
    let row_m = row_max(row);
    let m = if row_m > running_max { row_m } else { running_max };
    (m, exp_shifted_in_place(row, m))
});

/// Replaces `row` by `exp(row − m)` and returns the sum, in 16 partial sums.
#[inline(always)]
fn exp_shifted_in_place(row: &mut [f32], m: f32) -> f32 {
    const LANES: usize = 16;
    let mut sum = [0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (s, v) in sum.iter_mut().zip(c.iter_mut()) {
            *v = exp(*v - m);
            *s += *v;
        }
    }
    let mut total = 0f32;
    for v in chunks.into_remainder() {
        *v = exp(*v - m);
        total += *v;
    }
    total + sum.iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_on_its_range() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            let ulp = (want as f32).abs() as f64 * f32::EPSILON as f64;
            worst = worst.max((got - want).abs() / ulp);
            x += 0.001_37;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn gelu_matches_the_tanh_formula() {
        for i in -2000..2000 {
            let x = i as f32 * 0.005;
            let xd = x as f64;
            let want = 0.5
                * xd
                * (1.0
                    + ((2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd.powi(3))).tanh());
            let got = gelu_tanh(x) as f64;
            assert!(
                (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "x {x}: {got} vs {want}"
            );
        }
        let xs = [-3.0f32, -0.5, 0.0, 0.5, 3.0, -50.0, 50.0];
        let t = Tensor::new(&xs[..], &candle_core::Device::Cpu).unwrap();
        let ours = gelu_tanh_tensor(&t).unwrap().to_vec1::<f32>().unwrap();
        let candles = t.gelu().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(ours[2], 0.0);
        assert!(ours[5].abs() < 1e-30 && (ours[6] - 50.0).abs() < 1e-5);
        for (a, b) in ours.iter().zip(&candles) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs candle {b}");
        }
        // A strided view goes through the same path after being made contiguous.
        let m = Tensor::new(&[[1f32, 2.0], [3.0, 4.0]], &candle_core::Device::Cpu).unwrap();
        let t = m.t().unwrap();
        let got = gelu_tanh_tensor(&t)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want = t
            .gelu()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(got.len(), 4);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{a} vs candle {b}");
        }
    }

    /// Against f64: a first key block (no running maximum yet) takes the row's own maximum;
    /// a later block whose running maximum is larger keeps that one.
    #[test]
    fn streaming_softmax_step_matches_f64() {
        for len in [1usize, 7, 8, 9, 100, 3510] {
            let row: Vec<f32> = (0..len)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.3)
                .collect();
            let row_max = row
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, |a, b| a.max(b as f64));
            for running in [f32::NEG_INFINITY, row_max as f32 + 2.5] {
                let mut got = row.clone();
                let (max, sum) = exp_row_against_max(&mut got, running);
                let want_max = row_max.max(running as f64);
                assert_eq!(max as f64, want_max, "len {len}");
                let want: Vec<f64> = row.iter().map(|&v| (v as f64 - want_max).exp()).collect();
                let want_sum: f64 = want.iter().sum();
                assert!(
                    ((sum as f64) - want_sum).abs() <= 1e-5 * want_sum,
                    "len {len}"
                );
                for (g, w) in got.iter().zip(&want) {
                    assert!((*g as f64 - w).abs() <= 1e-6 * (1.0 + w), "len {len}");
                }
            }
        }
    }
}
