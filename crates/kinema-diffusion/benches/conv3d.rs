//! Conv3d throughput on the CPU against the machine's own GEMM, at the layer shapes the
//! Wan2.2 VAE decoder spends its time in.
//!
//! `RAYON_NUM_THREADS=2 cargo bench -p kinema-diffusion --bench conv3d [-- --iters N]`
//!
//! For each shape it prints GFLOP/s (always counted as the direct convolution's 2·O·C·27
//! multiply-adds per output, so the columns compare wall time) of:
//! - `im2col`: our column-matrix + GEMM kernel ([`CpuConvKernel::Im2col`]);
//! - `winograd`: our Winograd F(2×2, 3×3) kernel ([`CpuConvKernel::Winograd`]), which does
//!   2.25× fewer multiplies and so can pass the GEMM ceiling;
//! - `conv2d-sum`: the other design the issue names, a sum over the temporal taps of
//!   candle's conv2d on every frame (what we would do without our own kernel);
//! - `gemm`: one candle f32 matmul with the same M×K×N as the convolution, i.e. the ceiling
//!   any im2col + GEMM design could reach on this machine.

mod common;

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use kinema_diffusion::nn::{Conv3d, Conv3dConfig, CpuConvKernel, Pad3d};

struct Shape {
    name: &'static str,
    c_in: usize,
    c_out: usize,
    t: usize,
    hw: usize,
}

/// Decoder stages at 17 frames 256×256 (latents 5×16×16): channels × (frames, side) after
/// the causal padding of 2 past frames.
const SHAPES: &[Shape] = &[
    Shape {
        name: "mid 1024ch 16²",
        c_in: 1024,
        c_out: 1024,
        t: 3,
        hw: 16,
    },
    Shape {
        name: "up 1024ch 32²",
        c_in: 1024,
        c_out: 1024,
        t: 3,
        hw: 32,
    },
    Shape {
        name: "up 512ch 64²",
        c_in: 512,
        c_out: 512,
        t: 4,
        hw: 64,
    },
    Shape {
        name: "up 256ch 128²",
        c_in: 256,
        c_out: 256,
        t: 4,
        hw: 128,
    },
    Shape {
        name: "head 256→12 128²",
        c_in: 256,
        c_out: 12,
        t: 4,
        hw: 128,
    },
];

fn best_of(iters: usize, mut f: impl FnMut() -> candle_core::Result<Tensor>) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..iters {
        let t = Instant::now();
        let out = f().expect("bench op runs");
        // Touch the result so nothing lazy escapes the timing.
        let _ = out.dims();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iters = common::threads_and_iters(3);
    let dev = Device::Cpu;
    println!(
        "threads={} iters={iters} (best of)",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
    println!(
        "{:<16} {:>9} {:>12} {:>12} {:>12} {:>12}",
        "shape", "GFLOP", "im2col", "winograd", "conv2d-sum", "gemm"
    );
    for s in SHAPES {
        let (k, t_out) = (3usize, s.t - 2);
        let x = Tensor::randn(0f32, 1.0, (1, s.c_in, s.t, s.hw, s.hw), &dev)?;
        let w = Tensor::randn(0f32, 0.02, (s.c_out, s.c_in, k, k, k), &dev)?;
        let b = Tensor::zeros(s.c_out, DType::F32, &dev)?;
        let config = Conv3dConfig {
            stride: [1, 1, 1],
            padding: Pad3d {
                t: (0, 0),
                h: (1, 1),
                w: (1, 1),
            },
        };
        let im2col =
            Conv3d::new(w.clone(), Some(b.clone()), config)?.with_cpu_kernel(CpuConvKernel::Im2col);
        let winograd =
            Conv3d::new(w.clone(), Some(b), config)?.with_cpu_kernel(CpuConvKernel::Winograd);
        let flops = 2.0 * (s.c_out * s.c_in * k * k * k * t_out * s.hw * s.hw) as f64;
        let g = |secs: f64| flops / secs / 1e9;

        let run = |conv: &Conv3d| {
            best_of(iters, || {
                conv.forward(&x)
                    .map_err(|e| candle_core::Error::Msg(e.to_string()))
            })
        };
        let (direct, wino) = (run(&im2col), run(&winograd));

        // Sum over temporal taps of a conv2d applied to all output frames at once.
        let sum2d = best_of(iters, || {
            let mut acc: Option<Tensor> = None;
            for kt in 0..k {
                let frames = x
                    .narrow(2, kt, t_out)?
                    .permute((0, 2, 1, 3, 4))?
                    .reshape((t_out, s.c_in, s.hw, s.hw))?;
                let wk = w.narrow(2, kt, 1)?.squeeze(2)?.contiguous()?;
                let y = frames.conv2d(&wk, 1, 1, 1, 1)?;
                acc = Some(match acc {
                    Some(a) => (a + y)?,
                    None => y,
                });
            }
            acc.expect("three taps")
                .reshape((1, t_out, s.c_out, s.hw, s.hw))?
                .permute((0, 2, 1, 3, 4))?
                .contiguous()
        });

        let a = Tensor::randn(0f32, 1.0, (s.c_out, s.c_in * k * k * k), &dev)?;
        let bm = Tensor::randn(0f32, 1.0, (s.c_in * k * k * k, t_out * s.hw * s.hw), &dev)?;
        let gemm = best_of(iters, || a.matmul(&bm));
        println!(
            "{:<16} {:>9.1} {:>7.1} GF/s {:>7.1} GF/s {:>7.1} GF/s {:>7.1} GF/s",
            s.name,
            flops / 1e9,
            g(direct),
            g(wino),
            g(sum2d),
            g(gemm)
        );
    }
    Ok(())
}
