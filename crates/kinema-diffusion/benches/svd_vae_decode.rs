//! Stable Video Diffusion's temporal VAE decoder (SVD-XT's `vae/config.json`: 128/256/512/512
//! channels, 2 layers per block) decoding one chunk of 8 frames at 256×256 (latents
//! `[8, 4, 32, 32]`) with random weights, decoder only, on the CPU.
//!
//! `RAYON_NUM_THREADS=2 cargo bench -p kinema-diffusion --bench svd_vae_decode [-- --frames N]`.
//! The PyTorch counterpart is `tools/reference/bench_svd_vae_decode.py`. Prints the decode
//! time and the process's peak RSS.

use std::time::Instant;

use candle_core::{DType, Device};
use kinema_diffusion::models::svd::{AutoencoderKLTemporalDecoder, TemporalVaeConfig, VaeHalves};
use kinema_diffusion::pipelines::noise;
use kinema_diffusion::weights::RandomWeights;

const CONFIG: &str = r#"{"_class_name": "AutoencoderKLTemporalDecoder",
  "block_out_channels": [128, 256, 512, 512],
  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
  "force_upcast": true, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2,
  "out_channels": 3, "sample_size": 768, "scaling_factor": 0.18215}"#;

fn peak_rss_mib() -> f64 {
    kinema_diffusion::pipelines::memory::peak_resident_memory()
        .map_or(f64::NAN, |bytes| bytes as f64 / (1024.0 * 1024.0))
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
            .and_then(|v| v.parse::<usize>().ok())
    };
    let frames = value("--frames").unwrap_or(8);
    let side = value("--latent").unwrap_or(32);
    let t0 = Instant::now();
    let config: TemporalVaeConfig = serde_json::from_str(CONFIG)?;
    let vb = RandomWeights::var_builder(0, DType::F32, &Device::Cpu);
    let vae = AutoencoderKLTemporalDecoder::new(config, &vb, VaeHalves::DecoderOnly)?;
    println!(
        "threads {}; build {:.2} s; peak RSS after build {:.0} MiB",
        candle_core::utils::get_num_threads(),
        t0.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    let latents = noise::randn(&[frames, 4, side, side], 1, &Device::Cpu)?;
    let t = Instant::now();
    let video = vae.decode(&latents, frames)?;
    println!(
        "decode {:?}: {:.2} s; peak RSS {:.0} MiB",
        video.dims(),
        t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    Ok(())
}
