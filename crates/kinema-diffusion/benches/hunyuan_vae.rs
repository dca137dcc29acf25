//! Open-Sora 2.0's VAE (`AutoencoderKLHunyuanVideo`, the released configuration) with
//! deterministic random weights on the CPU: the reference-frame encode (1 frame 256×256)
//! and a decode of 17 frames at 128×128 (latents `[1, 16, 5, 16, 16]`).
//!
//! Compare with `tools/reference/bench_hunyuan_vae.py` at the same thread count:
//! `RAYON_NUM_THREADS=2 cargo bench -p kinema-diffusion --bench hunyuan_vae [-- --iters N]`
//! (threads default to 2). Prints each time and the process's peak RSS.

mod common;

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use kinema_diffusion::models::hunyuan_vae::{AutoencoderKLHunyuanVideo, Config, VaeParts};
use kinema_diffusion::weights::RandomWeights;

fn peak_rss_mib() -> f64 {
    kinema_diffusion::pipelines::memory::peak_resident_memory()
        .map_or(0.0, |bytes| bytes as f64 / (1024.0 * 1024.0))
}

fn best_of(iters: usize, f: &dyn Fn() -> kinema_core::Result<Vec<usize>>) -> (f64, Vec<usize>) {
    let mut best = f64::INFINITY;
    let mut shape = Vec::new();
    for _ in 0..iters.max(1) {
        let t = Instant::now();
        shape = f().expect("benchmark forward");
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, shape)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `kinema` binary and its diffusion engines do (see `kinema_diffusion::heap`).
    kinema_diffusion::heap::share_one_heap();
    let _heap = kinema_diffusion::heap::HeapRetention::engage();
    let iters = common::threads_and_iters(1);
    // The released config is diffusers' defaults.
    let config: Config = serde_json::from_str("{}")?;
    let vb = RandomWeights::var_builder(0, DType::F32, &Device::Cpu);
    let vae = AutoencoderKLHunyuanVideo::new(config, vb, VaeParts::Both)?;
    let frame = Tensor::rand(-1f32, 1.0, (1, 3, 1, 256, 256), &Device::Cpu)?;
    let latents = Tensor::randn(0f32, 1.0, (1, 16, 5, 16, 16), &Device::Cpu)?;
    println!(
        "kinema-diffusion threads={}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
    let (enc_s, enc_shape) = best_of(iters, &|| {
        Ok(vae.reference_latent(&frame, 0)?.dims().to_vec())
    });
    println!(
        "encode 1x256x256 -> {enc_shape:?}: best {enc_s:.2} s; peak RSS {:.0} MiB",
        peak_rss_mib()
    );
    let (dec_s, dec_shape) = best_of(iters, &|| Ok(vae.decode(&latents)?.dims().to_vec()));
    println!(
        "decode -> {dec_shape:?}: best {dec_s:.2} s; peak RSS {:.0} MiB",
        peak_rss_mib()
    );
    Ok(())
}
