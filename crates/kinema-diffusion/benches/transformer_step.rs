//! One Wan transformer forward (one denoising step without CFG) at the real TI2V-5B width.
//!
//! Config: dim 3072 (24 heads × 128), ffn 14336, 48 in/out channels, text_dim 4096,
//! freq_dim 256, patch (1, 2, 2), with `KINEMA_BENCH_LAYERS` blocks (default 2) and random
//! weights generated in-process. Latents [1, 48, 9, 30, 52] = 480×832, 33 frames after the
//! Wan2.2 VAE → 9×15×26 = 3510 tokens; per-token timesteps as TI2V uses; 512 text tokens.
//! Reports model build time, forward time and peak RSS (VmHWM). Run with the thread count
//! fixed for comparisons: `RAYON_NUM_THREADS=2 cargo bench -p kinema-diffusion --bench transformer_step`.
//! The PyTorch counterpart is `tools/reference/bench_transformer_step.py`.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use kinema_diffusion::models::wan::transformer::{
    random_var_builder, TransformerInput, WanTransformer3DModel, WanTransformerConfig,
};

/// Peak resident memory so far, in MiB (the engine's own VmHWM reader).
fn peak_rss_mib() -> f64 {
    kinema_diffusion::pipelines::memory::peak_resident_memory()
        .map_or(f64::NAN, |bytes| bytes as f64 / (1024.0 * 1024.0))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `kinema` binary and its diffusion engines do (see `kinema_diffusion::heap`).
    kinema_diffusion::heap::share_one_heap();
    let _heap = kinema_diffusion::heap::HeapRetention::engage();
    let layers: usize = std::env::var("KINEMA_BENCH_LAYERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let frames: usize = std::env::var("KINEMA_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let config: WanTransformerConfig = serde_json::from_str(&format!(
        r#"{{"_class_name": "WanTransformer3DModel", "patch_size": [1, 2, 2], "num_attention_heads": 24,
        "attention_head_dim": 128, "in_channels": 48, "out_channels": 48, "text_dim": 4096, "freq_dim": 256,
        "ffn_dim": 14336, "num_layers": {layers}, "cross_attn_norm": true, "qk_norm": "rms_norm_across_heads",
        "eps": 1e-6, "rope_max_seq_len": 1024}}"#
    ))?;
    let device = Device::Cpu;
    println!("threads: {}", candle_core::utils::get_num_threads());

    let start = Instant::now();
    let vb = random_var_builder(0, 0.02, DType::F32, &device);
    let model = WanTransformer3DModel::new(config, &vb)?;
    println!(
        "build ({layers} layers, random weights): {:.2} s, rss {:.0} MiB",
        start.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let (h, w) = (30, 52);
    let tokens = frames * (h / 2) * (w / 2);
    let latents = Tensor::randn(0f32, 1.0, (1, 48, frames, h, w), &device)?;
    let text = Tensor::randn(0f32, 1.0, (1, 512, 4096), &device)?;
    // TI2V: the first latent frame (the conditioning image) is at t = 0, the rest at t.
    let per_frame = (h / 2) * (w / 2);
    let ts: Vec<f32> = (0..tokens)
        .map(|i| if i < per_frame { 0.0 } else { 937.0 })
        .collect();
    let timestep = Tensor::from_vec(ts, (1, tokens), &device)?;
    let input = TransformerInput {
        hidden_states: &latents,
        timestep: &timestep,
        encoder_hidden_states: &text,
        encoder_hidden_states_image: None,
    };
    let start = Instant::now();
    let out = model.forward(&input)?;
    let secs = start.elapsed().as_secs_f64();
    let mean = out.mean_all()?.to_scalar::<f32>()?;
    println!(
        "tokens {tokens}: forward {secs:.2} s, peak rss {:.0} MiB (output mean {mean:.4})",
        peak_rss_mib()
    );
    Ok(())
}
