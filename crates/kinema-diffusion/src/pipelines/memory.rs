//! Peak-memory estimate before loading anything, so an oversized request is refused with the
//! numbers and what to change, instead of the process being killed half-way through.
//!
//! The engine runs in stages that are never resident together: (1) the text encoder,
//! loaded, run on the prompts and dropped; (1b) for Wan2.1 I2V, the CLIP image encoder, the
//! same way; (2) the transformer and the VAE. The estimate is the largest stage:
//!
//! - **weights**: element counts read from the safetensors headers (no tensor is loaded) ×
//!   the size of the dtype they are converted to.
//! - **transformer activations**: `tokens × (ACT_PER_DIM·dim + 2·ffn_dim) × dtype size`
//!   (`ACT_PER_DIM` = 10 covers the residual stream, norms, q/k/v, attention output and
//!   modulation copies alive in one block), plus the attention scores (on the CPU one ≈4 MiB
//!   block per thread for the fused kernel; elsewhere one block of at most 256 MiB, the
//!   default [`crate::nn::attention::AttentionChunks`]), times two when classifier-free
//!   guidance keeps both predictions.
//! - **VAE decode**: `VAE_FACTOR` (4) tensors of the decoder's widest full-resolution stage
//!   for one temporal chunk (`channels × temporal_scale × H/patch × W/patch`), plus the
//!   decoded video in float32 (twice: raw and post-processed).
//! - **text stage**: umT5 weights plus `max_len × (d_model·8 + d_ff·2)` per prompt.
//! - **image stage**: CLIP weights plus `positions × (hidden·10 + intermediate·2)` floats.
//!
//! It is deliberately rough (±30 %); what matters is the order of magnitude. Available memory
//! is `MemAvailable` from `/proc/meminfo` on the CPU. For CUDA devices candle exposes no free
//! memory query, so the GPU side is not checked (only reported).

use std::path::Path;

use candle_core::DType;
use kinema_core::{Error, Result};

use crate::models::wan::transformer::WanTransformerConfig;
use crate::models::wan::WanVaeConfig;
use crate::weights;

const ACT_PER_DIM: u64 = 10;
const VAE_FACTOR: u64 = 4;
const MAX_SCORE_BYTES: u64 = 256 << 20;
const GIB: f64 = (1u64 << 30) as f64;

/// What a generation will need, by stage, in bytes.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MemoryEstimate {
    pub text_encoder_weights: u64,
    pub text_encoder_activations: u64,
    /// Zero unless the checkpoint has an `image_encoder/` (Wan2.1 I2V).
    pub image_encoder_weights: u64,
    pub image_encoder_activations: u64,
    pub transformer_weights: u64,
    pub vae_weights: u64,
    pub transformer_activations: u64,
    pub vae_activations: u64,
}

impl MemoryEstimate {
    pub fn text_stage(&self) -> u64 {
        self.text_encoder_weights + self.text_encoder_activations
    }

    pub fn image_stage(&self) -> u64 {
        self.image_encoder_weights + self.image_encoder_activations
    }

    pub fn denoise_stage(&self) -> u64 {
        self.transformer_weights
            + self.vae_weights
            + self.transformer_activations.max(self.vae_activations)
    }

    /// The peak: the largest stage.
    pub fn peak(&self) -> u64 {
        self.text_stage()
            .max(self.image_stage())
            .max(self.denoise_stage())
    }
}

/// The request shape the estimate depends on.
#[derive(Clone, Copy, Debug)]
pub struct RequestShape {
    pub height: usize,
    pub width: usize,
    pub num_frames: usize,
    pub max_sequence_length: usize,
    pub guidance: bool,
    pub dtype: DType,
    /// Runs on the CPU, where attention is the fused kernel (one small score block per
    /// thread) rather than chunked matmuls (up to 256 MiB of scores).
    pub cpu: bool,
}

/// Estimates a pipeline folder (`text_encoder/`, `transformer/`, `vae/`) for `shape`.
pub fn estimate(dir: &Path, shape: &RequestShape) -> Result<MemoryEstimate> {
    let size = shape.dtype.size_in_bytes() as u64;
    let text_dir = dir.join("text_encoder");
    let (text_weights, text_act) = if text_dir.is_dir() {
        let files = crate::models::umt5::weight_files(&text_dir)?;
        let elems = elements(&files)?;
        let cfg: serde_json::Value = weights::read_config(&text_dir)?;
        let d_model = cfg.get("d_model").and_then(|v| v.as_u64()).unwrap_or(4096);
        let d_ff = cfg.get("d_ff").and_then(|v| v.as_u64()).unwrap_or(10240);
        let prompts = if shape.guidance { 2 } else { 1 };
        let act = prompts * shape.max_sequence_length as u64 * (d_model * 8 + d_ff * 2) * 4;
        (elems * size, act)
    } else {
        (0, 0)
    };
    let image_dir = dir.join("image_encoder");
    let (image_weights, image_act) = if image_dir.is_dir() {
        let elems = elements(&crate::models::umt5::weight_files(&image_dir)?)?;
        let cfg = crate::models::clip_vision::ClipVisionConfig::from_dir(&image_dir)?;
        let per_token = (cfg.hidden_size * 10 + cfg.intermediate_size * 2) as u64;
        (elems * size, cfg.num_positions() as u64 * per_token * 4)
    } else {
        (0, 0)
    };
    let tdir = dir.join("transformer");
    let vdir = dir.join("vae");
    let tcfg = WanTransformerConfig::from_dir(&tdir)?;
    let vcfg = WanVaeConfig::from_dir(&vdir)?;
    let transformer_weights = elements(&weights::weight_files(&tdir)?)? * size;
    let vae_weights = elements(&weights::weight_files(&vdir)?)? * size;

    let spatial = vcfg.scale_factor_spatial.unwrap_or(8).max(1);
    let temporal = vcfg.scale_factor_temporal.unwrap_or(4).max(1);
    let [pt, ph, pw] = tcfg.patch();
    let latent_frames = (shape.num_frames.max(1) - 1) / temporal + 1;
    let tokens = (latent_frames / pt.max(1))
        * (shape.height / spatial / ph.max(1))
        * (shape.width / spatial / pw.max(1));
    let tokens = tokens as u64;
    let dim = tcfg.inner_dim() as u64;
    let heads = tcfg.num_attention_heads as u64;
    let scores = if shape.cpu {
        rayon::current_num_threads() as u64
            * crate::nn::attention::cpu_score_block_bytes(tokens as usize, tokens as usize)
    } else {
        (tokens * tokens * heads * 4).min(MAX_SCORE_BYTES)
    };
    let per_pass = tokens * (ACT_PER_DIM * dim + 2 * tcfg.ffn_dim as u64) * size + scores;
    let transformer_activations = if shape.guidance {
        per_pass * 2
    } else {
        per_pass
    };

    let patch = vcfg.patch() as u64;
    let widest = (vcfg.decoder_dim() * vcfg.dim_mult.first().copied().unwrap_or(1)) as u64;
    let full_res = (shape.height as u64 / patch) * (shape.width as u64 / patch);
    let video = 3 * shape.num_frames as u64 * shape.height as u64 * shape.width as u64 * 4 * 2;
    let vae_activations = VAE_FACTOR * widest * temporal as u64 * full_res * size + video;

    Ok(MemoryEstimate {
        text_encoder_weights: text_weights,
        text_encoder_activations: text_act,
        image_encoder_weights: image_weights,
        image_encoder_activations: image_act,
        transformer_weights,
        vae_weights,
        transformer_activations,
        vae_activations,
    })
}

/// Sum of element counts over the tensors of some safetensors files (headers only).
pub(crate) fn elements(files: &[std::path::PathBuf]) -> Result<u64> {
    let mut total = 0u64;
    for f in files {
        for entry in weights::validate_safetensors(f)? {
            total += entry.shape.iter().map(|&d| d as u64).product::<u64>();
        }
    }
    Ok(total)
}

/// `MemAvailable` in bytes (Linux), or None where it cannot be read.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    proc_field_kib(&text, "MemAvailable:").map(|k| k * 1024)
}

/// The process's peak resident memory so far (`VmHWM`, Linux), in bytes.
pub fn peak_resident_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    proc_field_kib(&text, "VmHWM:").map(|k| k * 1024)
}

fn proc_field_kib(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Refuses the run when the estimate exceeds `available` bytes, naming the numbers and what
/// to change.
pub fn check_fits(estimate: &MemoryEstimate, available: u64, shape: &RequestShape) -> Result<()> {
    let peak = estimate.peak();
    if peak <= available {
        return Ok(());
    }
    let gib = |b: u64| b as f64 / GIB;
    let stage = if estimate.text_stage() == peak {
        format!(
            "the text encoder stage ({:.1} GiB of weights)",
            gib(estimate.text_encoder_weights)
        )
    } else if estimate.image_stage() == peak {
        format!(
            "the image encoder stage ({:.1} GiB of weights)",
            gib(estimate.image_encoder_weights)
        )
    } else {
        format!(
            "the denoising stage ({:.1} GiB transformer + {:.1} GiB VAE weights, {:.1} GiB transformer and {:.1} GiB VAE working memory)",
            gib(estimate.transformer_weights),
            gib(estimate.vae_weights),
            gib(estimate.transformer_activations),
            gib(estimate.vae_activations)
        )
    };
    let mut fixes = Vec::new();
    if shape.dtype == DType::F32 {
        fixes.push("--dtype bf16 (halves the weights)".to_string());
    }
    fixes.push(format!(
        "fewer frames than {} or a smaller size than {}x{}",
        shape.num_frames, shape.width, shape.height
    ));
    fixes.push("close other programs".to_string());
    Err(Error::unsupported(format!(
        "this generation needs about {:.1} GiB of memory but only {:.1} GiB is available; the peak is {stage}",
        gib(peak),
        gib(available)
    ))
    .with_hint(format!("try {}", fixes.join(", or "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate_of(gib: u64) -> MemoryEstimate {
        MemoryEstimate {
            text_encoder_weights: gib << 30,
            text_encoder_activations: 0,
            image_encoder_weights: 0,
            image_encoder_activations: 0,
            transformer_weights: 1 << 30,
            vae_weights: 0,
            transformer_activations: 0,
            vae_activations: 0,
        }
    }

    const SHAPE: RequestShape = RequestShape {
        height: 704,
        width: 1280,
        num_frames: 121,
        max_sequence_length: 512,
        guidance: true,
        dtype: DType::F32,
        cpu: true,
    };

    #[test]
    fn peak_is_the_larger_stage() {
        let e = MemoryEstimate {
            text_encoder_weights: 10,
            text_encoder_activations: 5,
            image_encoder_weights: 0,
            image_encoder_activations: 0,
            transformer_weights: 7,
            vae_weights: 1,
            transformer_activations: 3,
            vae_activations: 4,
        };
        assert_eq!(e.text_stage(), 15);
        assert_eq!(e.denoise_stage(), 12);
        assert_eq!(e.peak(), 15);
        let with_image = MemoryEstimate {
            image_encoder_weights: 14,
            image_encoder_activations: 2,
            ..e
        };
        assert_eq!(with_image.image_stage(), 16);
        assert_eq!(with_image.peak(), 16);
    }

    #[test]
    fn cpu_attention_needs_one_small_block_per_thread() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/wan-tiny-ti2v");
        let gpu = estimate(
            &dir,
            &RequestShape {
                cpu: false,
                ..SHAPE
            },
        )
        .unwrap();
        let cpu = estimate(&dir, &SHAPE).unwrap();
        // 704×1280×121 is 27 k tokens: 256 MiB of scores per pass for chunked attention, a
        // few MiB per thread for the fused CPU kernel.
        let per_pass = |e: &MemoryEstimate| e.transformer_activations / 2;
        let threads = rayon::current_num_threads() as u64;
        assert!(per_pass(&gpu) - per_pass(&cpu) > 200 << 20);
        assert!(per_pass(&gpu) - per_pass(&cpu) < (256 << 20));
        assert!(crate::nn::attention::cpu_score_block_bytes(27_000, 27_000) * threads < 64 << 20);
        assert_eq!(crate::nn::attention::cpu_score_block_bytes(10, 10), 400);
    }

    #[test]
    fn refusal_names_the_numbers_and_the_fixes() {
        check_fits(&estimate_of(2), 3 << 30, &SHAPE).unwrap();
        let err = check_fits(&estimate_of(20), 8 << 30, &SHAPE).unwrap_err();
        assert!(
            err.message.contains("20.0 GiB") && err.message.contains("8.0 GiB"),
            "{}",
            err.message
        );
        assert!(err.message.contains("text encoder"), "{}", err.message);
        let hint = err.hint.unwrap();
        assert!(hint.contains("bf16") && hint.contains("1280x704"), "{hint}");
    }

    #[test]
    fn reads_proc_fields() {
        let text = "MemTotal:       24000000 kB\nMemAvailable:   1234 kB\n";
        assert_eq!(proc_field_kib(text, "MemAvailable:"), Some(1234));
        assert_eq!(proc_field_kib(text, "VmHWM:"), None);
        if cfg!(target_os = "linux") {
            assert!(available_memory().unwrap() > 0);
            assert!(peak_resident_memory().unwrap() > 0);
        }
    }
}
