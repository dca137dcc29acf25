//! The CPU attention kernel alone at the SVD U-Net's largest shape: spatial self-attention
//! over one 40×72 latent frame (2880 tokens), 14 frames × 5 heads of width 64, f32.
//!
//! `RAYON_NUM_THREADS=2 cargo bench -p kinema-diffusion --bench attention`
//! (`KINEMA_BENCH_SHAPE=BxHxNxD` changes the shape, `KINEMA_BENCH_ITERS` the repeats). The
//! PyTorch counterpart (`F.scaled_dot_product_attention`, flash kernel on the CPU) is
//! `tools/reference/bench_attention.py`. Prints seconds per call and GFLOP/s counted as the
//! two products' multiply-adds (4·B·H·N²·D).

use std::time::Instant;

use candle_core::{Device, Tensor};
use kinema_diffusion::nn::attention::{attention, AttentionChunks};
use kinema_diffusion::pipelines::noise;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var("RAYON_NUM_THREADS").is_err() {
        std::env::set_var("RAYON_NUM_THREADS", "2");
    }
    let shape = std::env::var("KINEMA_BENCH_SHAPE").unwrap_or_else(|_| "14x5x2880x64".into());
    let dims: Vec<usize> = shape.split('x').filter_map(|v| v.parse().ok()).collect();
    let [b, h, n, d] = dims[..] else {
        return Err(format!("KINEMA_BENCH_SHAPE must be BxHxNxD, got {shape}").into());
    };
    let iters: usize = std::env::var("KINEMA_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let device = Device::Cpu;
    let q = noise::randn(&[b, h, n, d], 1, &device)?;
    let k = noise::randn(&[b, h, n, d], 2, &device)?;
    let v = noise::randn(&[b, h, n, d], 3, &device)?;
    let scale = 1.0 / (d as f64).sqrt();
    let flops = 4.0 * (b * h) as f64 * (n * n * d) as f64;
    let mut best = f64::INFINITY;
    let mut check = 0f32;
    for _ in 0..iters {
        let start = Instant::now();
        let out: Tensor = attention(&q, &k, &v, None, scale, AttentionChunks::default())?;
        best = best.min(start.elapsed().as_secs_f64());
        check = out.mean_all()?.to_scalar::<f32>()?;
    }
    println!(
        "attention {b}x{h}x{n}x{d}: best of {iters} {best:.3} s, {:.1} GFLOP/s (output mean {check:.5})",
        flops / best / 1e9
    );
    Ok(())
}
