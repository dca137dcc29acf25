//! VAE decode of 17 frames at 256×256 (latents `[1, 48, 5, 16, 16]`) with the real Wan2.2
//! VAE configuration and deterministic random weights, on the CPU.
//!
//! Compare with `tools/reference/bench_vae_decode.py` at the same thread count:
//! `RAYON_NUM_THREADS=2 cargo bench -p kinema-diffusion --bench vae_decode [-- --parts decoder] [--iters N]`
//! (threads default to 2). Prints the decode time and the process's peak RSS.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use kinema_diffusion::models::wan::{AutoencoderKLWan, VaeParts, WanVaeConfig};
use kinema_diffusion::weights::RandomWeights;

/// Wan-AI/Wan2.2-TI2V-5B-Diffusers `vae/config.json`, statistics left at their defaults
/// (decode takes raw latents, so they do not enter the timing).
const WAN22_VAE: &str = r#"{"_class_name": "AutoencoderKLWan", "attn_scales": [], "base_dim": 160,
  "clip_output": false, "decoder_base_dim": 256, "dim_mult": [1, 2, 4, 4], "dropout": 0.0,
  "in_channels": 12, "is_residual": true, "num_res_blocks": 2, "out_channels": 12, "patch_size": 2,
  "scale_factor_spatial": 16, "scale_factor_temporal": 4, "temperal_downsample": [false, true, true],
  "z_dim": 48}"#;

/// Peak resident memory so far, in MiB (the engine's own VmHWM reader).
fn peak_rss_mib() -> f64 {
    kinema_diffusion::pipelines::memory::peak_resident_memory()
        .map_or(0.0, |bytes| bytes as f64 / (1024.0 * 1024.0))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `kinema` binary and its diffusion engines do (see `kinema_diffusion::heap`).
    kinema_diffusion::heap::share_one_heap();
    let _heap = kinema_diffusion::heap::HeapRetention::engage();
    if std::env::var("RAYON_NUM_THREADS").is_err() {
        std::env::set_var("RAYON_NUM_THREADS", "2");
    }
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let parts = match value("--parts").as_deref() {
        Some("decoder") => VaeParts::DecoderOnly,
        _ => VaeParts::Both,
    };
    let iters: usize = value("--iters").and_then(|v| v.parse().ok()).unwrap_or(1);

    let t0 = Instant::now();
    let config = WanVaeConfig::from_json(WAN22_VAE)?;
    let vb = RandomWeights::var_builder(0, DType::F32, &Device::Cpu);
    let vae = AutoencoderKLWan::new(config, vb, parts)?;
    let build_s = t0.elapsed().as_secs_f64();
    let rss_build = peak_rss_mib();
    let latents = Tensor::randn(0f32, 1.0, (1, 48, 5, 16, 16), &Device::Cpu)?;
    let mut times = Vec::new();
    let mut shape = Vec::new();
    for _ in 0..iters {
        let t = Instant::now();
        let video = vae.decode(&latents)?;
        times.push(t.elapsed().as_secs_f64());
        shape = video.dims().to_vec();
    }
    let best = times.iter().cloned().fold(f64::INFINITY, f64::min);
    println!(
        "kinema-diffusion threads={} parts={parts:?}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
    println!("build {build_s:.2} s; peak RSS after build {rss_build:.0} MiB");
    println!("decode {shape:?}: best {best:.2} s, runs {times:.2?}");
    println!("peak RSS {:.0} MiB", peak_rss_mib());
    Ok(())
}
