//! SiLU and exact-GELU gated units (GEGLU) on all CPU threads.
//!
//! Why: the Stable Video Diffusion U-Net runs a GEGLU feed-forward (`h · gelu(gate)` with
//! the erf GELU) after every attention, over `frames × pixels` tokens and 4× the width; at
//! SVD-XT's first level that is ~300 M GELUs per block. candle evaluates `erf` as a scalar
//! libm call on one thread. Here `erf` is the Abramowitz–Stegun 7.1.26 rational form with a
//! vectorisable `exp` — the same approximation PyTorch's vectorised CPU `erf` uses, within
//! 6e-7 of the exact value in float32 — split into chunks over rayon, and the gate and the
//! product are one pass.
//! Other devices and dtypes take candle's own ops (the same functions).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor, D};
use rayon::prelude::*;

use std::mem::MaybeUninit;

use super::fastmath::{exp, simd_dispatch};
use super::unzeroed_f32;

/// erf(x) by Abramowitz & Stegun 7.1.26: `1 − (a1·t + … + a5·t⁵)·e^(−x²)`, `t = 1/(1+p|x|)`,
/// with the sign of x; absolute error below 1.5e-7 in exact arithmetic, 6e-7 in float32.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_8;
    const A4: f32 = -1.453_152;
    const A5: f32 = 1.061_405_4;
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t;
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// GELU with erf (PyTorch's default `gelu`): `x·(1 + erf(x/√2))/2`.
#[inline(always)]
pub fn gelu_erf(x: f32) -> f32 {
    x * 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `x / (1 + e^(−x))`.
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

// The kernels write `MaybeUninit` outputs so their buffers need no zeroing first
// (`super::unzeroed_f32`); each writes `min(dst, src)` elements, and callers pass equal
// lengths.

simd_dispatch!(affine_silu_into(src: &[f32], dst: &mut [MaybeUninit<f32>], scale: f32, shift: f32) -> () {
    for (d, &v) in dst.iter_mut().zip(src) {
        d.write(silu(v * scale + shift));
    }
});

simd_dispatch!(silu_into(src: &[f32], dst: &mut [MaybeUninit<f32>]) -> () {
    for (d, &v) in dst.iter_mut().zip(src) {
        d.write(silu(v));
    }
});

simd_dispatch!(geglu_into(hidden: &[f32], gate: &[f32], dst: &mut [MaybeUninit<f32>]) -> () {
    for ((d, &h), &g) in dst.iter_mut().zip(hidden).zip(gate) {
        d.write(h * gelu_erf(g));
    }
});

simd_dispatch!(weighted_sum_into(x: &[f32], y: &[f32], dst: &mut [MaybeUninit<f32>], a: f32, b: f32) -> () {
    for ((d, &u), &v) in dst.iter_mut().zip(x).zip(y) {
        // Two products, then the sum: torch's `a * x + b * y` rounds the same way.
        d.write(a * u + b * v);
    }
});

/// Elements per rayon task.
const CHUNK: usize = 1 << 14;

/// `a·x + b·y` for same-shaped tensors in one pass (the blends of SVD's `AlphaBlender`, on
/// activations of hundreds of MiB); candle's three ops elsewhere.
pub fn weighted_sum(x: &Tensor, a: f64, y: &Tensor, b: f64) -> candle_core::Result<Tensor> {
    let fused = x.device().is_cpu()
        && x.dtype() == DType::F32
        && y.dtype() == DType::F32
        && x.dims() == y.dims();
    if fused {
        x.contiguous()?
            .apply_op2_no_bwd(&y.contiguous()?, &WeightedSum(a as f32, b as f32))
    } else {
        x.affine(a, 0.0)? + y.affine(b, 0.0)?
    }
}

struct WeightedSum(f32, f32);

impl CustomOp2 for WeightedSum {
    fn name(&self) -> &'static str {
        "kinema-weighted-sum"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s1, l1)?;
        let y = contiguous_f32(s2, l2)?;
        if x.len() != y.len() {
            candle_core::bail!("weighted sum of {} and {} elements", x.len(), y.len());
        }
        // SAFETY: equal-length chunks of x, y and dst, each chunk written in full.
        let dst = unsafe {
            unzeroed_f32(x.len(), |dst| {
                dst.par_chunks_mut(CHUNK)
                    .zip(x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
                    .for_each(|(d, (u, v))| weighted_sum_into(u, v, d, self.0, self.1))
            })
        };
        Ok((CpuStorage::F32(dst), l1.shape().clone()))
    }
}

/// SiLU of a tensor: the parallel kernel for contiguous f32 on the CPU, candle elsewhere.
pub fn silu_tensor(x: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1_no_bwd(&SiluOp)
    } else {
        x.silu()
    }
}

/// diffusers' `GEGLU` after its projection: the last axis `[…, 2n]` splits into
/// `hidden, gate` (first half, second half), and the result is `hidden · gelu(gate)`,
/// `[…, n]`.
pub fn geglu_tensor(x: &Tensor) -> candle_core::Result<Tensor> {
    let last = x.dim(D::Minus1)?;
    if !last.is_multiple_of(2) {
        candle_core::bail!("GEGLU input has an odd last dimension {last}");
    }
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1_no_bwd(&GegluOp)
    } else {
        let half = last / 2;
        let hidden = x.narrow(D::Minus1, 0, half)?;
        let gate = x.narrow(D::Minus1, half, half)?;
        hidden * gate.gelu_erf()?
    }
}

fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("expected a contiguous tensor");
    };
    Ok(&storage.as_slice::<f32>()?[start..end])
}

struct SiluOp;

impl CustomOp1 for SiluOp {
    fn name(&self) -> &'static str {
        "kinema-silu"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let src = contiguous_f32(storage, layout)?;
        // SAFETY: equal-length chunks of src and dst, each chunk written in full.
        let dst = unsafe {
            unzeroed_f32(src.len(), |dst| {
                src.par_chunks(CHUNK)
                    .zip(dst.par_chunks_mut(CHUNK))
                    .for_each(|(s, d)| silu_into(s, d))
            })
        };
        Ok((CpuStorage::F32(dst), layout.shape().clone()))
    }
}

struct GegluOp;

impl CustomOp1 for GegluOp {
    fn name(&self) -> &'static str {
        "kinema-geglu"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let src = contiguous_f32(storage, layout)?;
        let dims = layout.shape().dims();
        let width = dims[dims.len() - 1];
        let half = width / 2;
        let rows = src.len() / width.max(1);
        // Several rows per task so narrow rows still make tasks of useful size.
        let rows_per_task = (CHUNK / half.max(1)).max(1);
        // SAFETY: dst has `rows` rows of `half` and src `rows` rows of `width`, so the
        // chunks pair up row for row and every dst row is written in full.
        let dst = unsafe {
            unzeroed_f32(rows * half, |dst| {
                if half == 0 {
                    return;
                }
                dst.par_chunks_mut(rows_per_task * half)
                    .zip(src.par_chunks(rows_per_task * width))
                    .for_each(|(d, s)| {
                        for (drow, srow) in d.chunks_exact_mut(half).zip(s.chunks_exact(width)) {
                            geglu_into(&srow[..half], &srow[half..], drow);
                        }
                    })
            })
        };
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().unwrap_or(&mut 0) = half;
        Ok((CpuStorage::F32(dst), Shape::from(out_dims)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn erf_and_gelu_match_libm() {
        let mut worst = 0f64;
        for i in -6000..6000 {
            let x = i as f32 * 0.001_3;
            let want = libm_erf(x as f64);
            worst = worst.max((erf(x) as f64 - want).abs());
        }
        // 1.5e-7 for the formula, plus float32 rounding of `1 − poly·e^(−x²)` near 1.
        assert!(worst < 6e-7, "erf worst abs error {worst}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(-10.0), -1.0);
        let t = Tensor::new(&[-4.0f32, -1.0, -0.3, 0.0, 0.7, 2.5, 9.0], &Device::Cpu).unwrap();
        let want = t.gelu_erf().unwrap().to_vec1::<f32>().unwrap();
        for (x, w) in t.to_vec1::<f32>().unwrap().iter().zip(want) {
            assert!((gelu_erf(*x) - w).abs() < 1e-6, "{x}");
        }
    }

    /// erf through candle (libm), in f64 so the reference is exact to f32 precision.
    fn libm_erf(x: f64) -> f64 {
        Tensor::new(&[x], &Device::Cpu)
            .unwrap()
            .erf()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()[0]
    }

    #[test]
    fn geglu_and_silu_match_candle() {
        let x = Tensor::arange(0f32, 3.0 * 5.0 * 10.0, &Device::Cpu)
            .unwrap()
            .reshape((3, 5, 10))
            .unwrap()
            .affine(0.05, -3.0)
            .unwrap();
        let got = geglu_tensor(&x).unwrap();
        assert_eq!(got.dims(), &[3, 5, 5]);
        let want =
            (x.narrow(2, 0, 5).unwrap() * x.narrow(2, 5, 5).unwrap().gelu_erf().unwrap()).unwrap();
        let d = (got - want).unwrap().abs().unwrap().max_all().unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-5);
        let s = silu_tensor(&x).unwrap();
        let d = (s - x.silu().unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-5);
        assert!(geglu_tensor(&x.narrow(2, 0, 9).unwrap()).is_err());
        let y = x.affine(-0.5, 1.0).unwrap();
        let fused = weighted_sum(&x, 0.3, &y, 0.7).unwrap();
        let plain = (x.affine(0.3, 0.0).unwrap() + y.affine(0.7, 0.0).unwrap()).unwrap();
        let d = (fused - plain).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0);
    }
}
