//! One Stable Video Diffusion U-Net forward (one denoising step of one guidance branch) at
//! SVD-XT's width, for its first two levels ("2 blocks' worth": 320 and 640 channels,
//! cross-attention down and up blocks of 2 layers, 5 and 10 heads, the mid block at 640,
//! 1024-wide image embedding, 256-wide added time ids) with random weights generated
//! in-process. Input: 14 frames of 40×72 latents (576×320 pixels), 8 channels.
//!
//! `RAYON_NUM_THREADS=2 cargo bench -p kinema-diffusion --bench svd_unet_step`
//! (`KINEMA_BENCH_FRAMES`, `KINEMA_BENCH_SIZE=HxW` change the input). The PyTorch
//! counterpart is `tools/reference/bench_svd_unet_step.py`. Prints build time, forward time
//! and peak RSS (VmHWM).

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use kinema_diffusion::models::svd::{UNetConfig, UNetInput, UNetSpatioTemporalConditionModel};
use kinema_diffusion::pipelines::noise;
use kinema_diffusion::weights::RandomWeights;

/// SVD-XT's `unet/config.json` cut to its first two levels.
const CONFIG: &str = r#"{"_class_name": "UNetSpatioTemporalConditionModel",
  "addition_time_embed_dim": 256, "block_out_channels": [320, 640], "cross_attention_dim": 1024,
  "down_block_types": ["CrossAttnDownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal"],
  "in_channels": 8, "layers_per_block": 2, "num_attention_heads": [5, 10], "num_frames": 25,
  "out_channels": 4, "projection_class_embeddings_input_dim": 768, "sample_size": 96,
  "transformer_layers_per_block": 1,
  "up_block_types": ["CrossAttnUpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"]}"#;

fn peak_rss_mib() -> f64 {
    kinema_diffusion::pipelines::memory::peak_resident_memory()
        .map_or(f64::NAN, |bytes| bytes as f64 / (1024.0 * 1024.0))
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `kinema` binary and its diffusion engines do (see `kinema_diffusion::heap`).
    kinema_diffusion::heap::share_one_heap();
    let _heap = kinema_diffusion::heap::HeapRetention::engage();
    if std::env::var("RAYON_NUM_THREADS").is_err() {
        std::env::set_var("RAYON_NUM_THREADS", "2");
    }
    let frames: usize = env_or("KINEMA_BENCH_FRAMES", 14);
    let size = std::env::var("KINEMA_BENCH_SIZE").unwrap_or_else(|_| "40x72".into());
    let (h, w) = size
        .split_once('x')
        .and_then(|(h, w)| Some((h.parse().ok()?, w.parse().ok()?)))
        .unwrap_or((40usize, 72usize));
    let device = Device::Cpu;
    println!("threads: {}", candle_core::utils::get_num_threads());

    let start = Instant::now();
    let config: UNetConfig = serde_json::from_str(CONFIG)?;
    let vb = RandomWeights::var_builder(0, DType::F32, &device);
    let unet = UNetSpatioTemporalConditionModel::new(config, &vb)?;
    println!(
        "build (random weights): {:.2} s, rss {:.0} MiB",
        start.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let sample = noise::randn(&[1, frames, 8, h, w], 1, &device)?;
    let states = noise::randn(&[1, 1, 1024], 2, &device)?;
    let ids = Tensor::new(&[[6f32, 127.0, 0.02]], &device)?;
    let start = Instant::now();
    let out = unet.forward(&UNetInput {
        sample: &sample,
        timesteps: &[1.2],
        encoder_hidden_states: &states,
        added_time_ids: &ids,
    })?;
    let secs = start.elapsed().as_secs_f64();
    let mean = out.mean_all()?.to_scalar::<f32>()?;
    println!(
        "{frames} frames of {h}x{w}: forward {secs:.2} s, peak rss {:.0} MiB (output mean {mean:.4})",
        peak_rss_mib()
    );
    Ok(())
}
