//! Open-Sora 2.0's MMDiT at full width with one double-stream and one single-stream block.
//!
//! The released config (hidden 3072, 24 heads, `axes_dim` [16, 56, 56], MLP ×4, split
//! projections, liger RoPE, `cond_in`) with `depth = depth_single_blocks = 1` and random
//! weights generated in-process. Image tokens: `KINEMA_BENCH_FRAMES` latent frames (default
//! 3) of 16×24 tokens (256×384 px), plus 512 T5 tokens, batch 1. Reports build time, forward
//! time and peak RSS. Run with the thread count fixed:
//! `RAYON_NUM_THREADS=2 cargo bench -p kinema-diffusion --bench opensora_block`.
//! The PyTorch counterpart (Open-Sora's own code) is `tools/reference/bench_opensora_block.py`.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use kinema_diffusion::models::opensora_mmdit::{MmditConfig, MmditInput, MmditModel};
use kinema_diffusion::pipelines::opensora_i2v::position_ids;
use kinema_diffusion::weights::RandomWeights;

fn peak_rss_mib() -> f64 {
    kinema_diffusion::pipelines::memory::peak_resident_memory()
        .map_or(f64::NAN, |bytes| bytes as f64 / (1024.0 * 1024.0))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `kinema` binary and its diffusion engines do (see `kinema_diffusion::heap`).
    kinema_diffusion::heap::share_one_heap();
    let _heap = kinema_diffusion::heap::HeapRetention::engage();
    let frames: usize = std::env::var("KINEMA_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut config = MmditConfig::open_sora_v2();
    config.depth = 1;
    config.depth_single_blocks = 1;
    let device = Device::Cpu;
    println!("threads: {}", candle_core::utils::get_num_threads());

    let start = Instant::now();
    let vb = RandomWeights::var_builder(0, DType::F32, &device);
    let model = MmditModel::new(config.clone(), &vb)?;
    println!(
        "build (1 double + 1 single block, random weights): {:.2} s, rss {:.0} MiB",
        start.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let (h, w) = (16, 24);
    let n = frames * h * w;
    let img = Tensor::randn(0f32, 1.0, (1, n, config.in_channels), &device)?;
    let cond = Tensor::randn(0f32, 1.0, (1, n, config.cond_channels()), &device)?;
    let img_ids = position_ids(frames, h, w, &device)?.unsqueeze(0)?;
    let txt = Tensor::randn(0f32, 1.0, (1, 512, config.context_in_dim), &device)?;
    let txt_ids = Tensor::zeros((1, 512, 3), DType::F32, &device)?;
    let timesteps = Tensor::new(&[0.9f32], &device)?;
    let y_vec = Tensor::randn(0f32, 1.0, (1, config.vec_in_dim), &device)?;
    let start = Instant::now();
    let out = model.forward(&MmditInput {
        img: &img,
        img_ids: &img_ids,
        txt: &txt,
        txt_ids: &txt_ids,
        timesteps: &timesteps,
        y_vec: &y_vec,
        cond: Some(&cond),
        guidance: None,
    })?;
    let secs = start.elapsed().as_secs_f64();
    let mean = out.mean_all()?.to_scalar::<f32>()?;
    println!(
        "image tokens {n} + 512 text: forward {secs:.2} s, peak rss {:.0} MiB (output mean {mean:.4})",
        peak_rss_mib()
    );
    Ok(())
}
