//! Peak-memory estimate of a Stable Video Diffusion run, read from the configs and the
//! safetensors headers before any weight is loaded, so an oversized request is refused with
//! the numbers instead of being killed half-way.
//!
//! [`super::svd::SvdPipeline`] loads one network per stage and drops it after, so the peak
//! is the largest of:
//!
//! - **image**: CLIP weights plus `positions × (hidden·10 + intermediate·2)` f32 values;
//! - **encode**: VAE encoder weights plus `ENCODE_FACTOR` tensors of its widest
//!   full-resolution activation (`C₀ × H × W`);
//! - **denoise**: U-Net weights plus its skip connections (every level keeps
//!   `layers + 1` activations of `frames × h × w × C`) and the working set of its widest
//!   level (`UNET_WORK · C` values per token: the GEGLU feed-forward's `8C` projection, its
//!   `4C` product, norms, attention and residual copies; attention itself runs in ≈4 MiB
//!   score blocks per thread);
//! - **decode**: VAE decoder weights plus `DECODE_FACTOR` full-resolution activations of
//!   `C₀` channels for one chunk of frames, and the decoded video in f32.
//!
//! Deliberately rough; what matters is the order of magnitude and which stage it is. Against
//! the benchmarks' measured peaks (`benches/svd_unet_step.rs`, `svd_vae_decode.rs`, 2
//! threads) the activation terms come within 10 % (U-Net, 14 frames of 40×72 latents:
//! 1.66 GiB estimated, 1.72 GiB measured; decode of 8 frames at 256²: 2.0 vs 2.14 GiB).

use std::path::Path;

use candle_core::DType;
use kinema_core::{Error, Result};
use serde::Serialize;

use super::memory::elements;
use crate::models::clip_vision::ClipVisionConfig;
use crate::models::svd::{TemporalVaeConfig, UNetConfig};
use crate::weights;

const ENCODE_FACTOR: u64 = 6;
const DECODE_FACTOR: u64 = 8;
const UNET_WORK: u64 = 30;
const GIB: f64 = (1u64 << 30) as f64;

/// What one request needs, per stage, in bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SvdMemoryEstimate {
    pub image_encoder_weights: u64,
    pub image_encoder_activations: u64,
    pub vae_encoder_weights: u64,
    pub vae_encode_activations: u64,
    pub unet_weights: u64,
    pub unet_activations: u64,
    pub vae_decoder_weights: u64,
    /// For the request's decode chunk.
    pub vae_decode_activations: u64,
    pub decode_chunk: usize,
}

/// The request shape the estimate depends on.
#[derive(Clone, Copy, Debug)]
pub struct SvdShape {
    pub height: usize,
    pub width: usize,
    pub frames: usize,
    pub decode_chunk: usize,
    pub dtype: DType,
}

impl SvdMemoryEstimate {
    pub fn stages(&self) -> [(&'static str, u64); 4] {
        [
            (
                "image encoder",
                self.image_encoder_weights + self.image_encoder_activations,
            ),
            (
                "VAE encode",
                self.vae_encoder_weights + self.vae_encode_activations,
            ),
            ("denoising", self.unet_weights + self.unet_activations),
            (
                "VAE decode",
                self.vae_decoder_weights + self.vae_decode_activations,
            ),
        ]
    }

    /// The largest stage and its size.
    pub fn peak_stage(&self) -> (&'static str, u64) {
        self.stages()
            .into_iter()
            .max_by_key(|s| s.1)
            .unwrap_or(("none", 0))
    }

    pub fn peak(&self) -> u64 {
        self.peak_stage().1
    }
}

/// Parameters of a model folder's component, split by key prefix where asked (the VAE keeps
/// its encoder and decoder in one file).
fn parameters(dir: &Path, prefix: Option<&str>) -> Result<u64> {
    let files = match weights::weight_files(dir) {
        Ok(f) => f,
        Err(_) => crate::models::umt5::weight_files(dir)?,
    };
    let Some(prefix) = prefix else {
        return elements(&files);
    };
    let mut total = 0u64;
    for f in &files {
        for entry in weights::validate_safetensors(f)? {
            if entry.name.starts_with(prefix) {
                total += entry.shape.iter().map(|&d| d as u64).product::<u64>();
            }
        }
    }
    Ok(total)
}

/// Estimates a pipeline folder (`image_encoder/`, `vae/`, `unet/`) for `shape`.
pub fn estimate(dir: &Path, shape: &SvdShape) -> Result<SvdMemoryEstimate> {
    let size = shape.dtype.size_in_bytes() as u64;
    let (h, w, f) = (shape.height as u64, shape.width as u64, shape.frames as u64);

    let clip_dir = dir.join("image_encoder");
    let clip = ClipVisionConfig::from_dir(&clip_dir)?;
    let per_token = (clip.hidden_size * 10 + clip.intermediate_size * 2) as u64;
    let image_encoder_activations = clip.num_positions() as u64 * per_token * 4;

    let vae_dir = dir.join("vae");
    let vae = TemporalVaeConfig::from_dir(&vae_dir)?;
    let c0 = *vae.block_out_channels.first().unwrap_or(&128) as u64;
    let vae_encode_activations = ENCODE_FACTOR * c0 * h * w * 4;
    let chunk = shape.decode_chunk.clamp(1, shape.frames.max(1)) as u64;
    let video = 3 * f * h * w * 4 * 2;
    let vae_decode_activations = DECODE_FACTOR * chunk * c0 * h * w * size + video;

    let unet_dir = dir.join("unet");
    let unet = UNetConfig::from_dir(&unet_dir)?;
    let s = vae.scale_factor() as u64;
    let mut skips = 0u64;
    let mut work = 0u64;
    for (j, level) in unet.levels()?.iter().enumerate() {
        let div = s << j;
        let tokens = f * h.div_ceil(div) * w.div_ceil(div);
        let c = level.channels as u64;
        skips += (level.layers as u64 + 1) * tokens * c;
        work = work.max(tokens * c * UNET_WORK);
    }
    let attention = rayon::current_num_threads() as u64 * (4 << 20);
    let unet_activations = (skips + work) * size + attention;

    Ok(SvdMemoryEstimate {
        image_encoder_weights: parameters(&clip_dir, None)? * size,
        image_encoder_activations,
        vae_encoder_weights: (parameters(&vae_dir, Some("encoder."))?
            + parameters(&vae_dir, Some("quant_conv."))?)
            * size,
        vae_encode_activations,
        unet_weights: parameters(&unet_dir, None)? * size,
        unet_activations,
        vae_decoder_weights: parameters(&vae_dir, Some("decoder."))? * size,
        vae_decode_activations,
        decode_chunk: chunk as usize,
    })
}

/// The largest decode chunk (up to all frames) whose decode stage fits in `available`
/// bytes, at least 1.
pub fn largest_decode_chunk(dir: &Path, shape: &SvdShape, available: u64) -> Result<usize> {
    let mut best = 1;
    for chunk in 1..=shape.frames.max(1) {
        let e = estimate(
            dir,
            &SvdShape {
                decode_chunk: chunk,
                ..*shape
            },
        )?;
        if e.vae_decoder_weights + e.vae_decode_activations <= available {
            best = chunk;
        } else {
            break;
        }
    }
    Ok(best)
}

/// Refuses the run when the estimate exceeds `available` bytes, naming the stage, the
/// numbers and what to change.
pub fn check_fits(estimate: &SvdMemoryEstimate, available: u64, shape: &SvdShape) -> Result<()> {
    let (stage, peak) = estimate.peak_stage();
    if peak <= available {
        return Ok(());
    }
    let gib = |b: u64| b as f64 / GIB;
    let mut fixes = Vec::new();
    if shape.dtype == DType::F32 {
        fixes.push("--dtype bf16 (halves the weights and activations)".to_string());
    }
    if stage == "VAE decode" && estimate.decode_chunk > 1 {
        fixes.push(format!(
            "a smaller --decode-chunk than {}",
            estimate.decode_chunk
        ));
    }
    fixes.push(format!(
        "fewer frames than {} or a smaller size than {}x{}",
        shape.frames, shape.width, shape.height
    ));
    fixes.push("close other programs".to_string());
    let detail = estimate
        .stages()
        .iter()
        .map(|(name, bytes)| format!("{name} {:.1} GiB", gib(*bytes)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::unsupported(format!(
        "this generation needs about {:.1} GiB of memory but only {:.1} GiB is available; the peak is the {stage} stage ({detail})",
        gib(peak),
        gib(available)
    ))
    .with_hint(format!("try {}", fixes.join(", or "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/tiny-svd")
    }

    const SHAPE: SvdShape = SvdShape {
        height: 64,
        width: 96,
        frames: 6,
        decode_chunk: 6,
        dtype: DType::F32,
    };

    #[test]
    fn stages_grow_with_the_request() {
        let small = estimate(&tiny(), &SHAPE).unwrap();
        let big = estimate(
            &tiny(),
            &SvdShape {
                height: 128,
                width: 192,
                frames: 12,
                decode_chunk: 12,
                ..SHAPE
            },
        )
        .unwrap();
        assert!(small.unet_weights > 0 && small.vae_decoder_weights > 0);
        assert!(big.unet_activations > 3 * small.unet_activations);
        assert!(big.vae_decode_activations > 3 * small.vae_decode_activations);
        let chunked = estimate(
            &tiny(),
            &SvdShape {
                decode_chunk: 2,
                ..SHAPE
            },
        )
        .unwrap();
        assert!(chunked.vae_decode_activations < small.vae_decode_activations);
        let half = estimate(
            &tiny(),
            &SvdShape {
                dtype: DType::BF16,
                ..SHAPE
            },
        )
        .unwrap();
        assert_eq!(half.unet_weights * 2, small.unet_weights);
    }

    #[test]
    fn refusal_names_the_stage_and_the_fixes() {
        let e = estimate(&tiny(), &SHAPE).unwrap();
        check_fits(&e, e.peak(), &SHAPE).unwrap();
        let err = check_fits(&e, e.peak() / 4, &SHAPE).unwrap_err();
        assert!(
            err.message.contains("GiB") && err.message.contains("stage"),
            "{}",
            err.message
        );
        let hint = err.hint.unwrap();
        assert!(hint.contains("bf16") && hint.contains("96x64"), "{hint}");
        let decode_bound = SvdMemoryEstimate {
            vae_decode_activations: 1 << 40,
            ..e.clone()
        };
        let err = check_fits(&decode_bound, 1 << 30, &SHAPE).unwrap_err();
        assert!(err.hint.unwrap().contains("--decode-chunk"));
        let c = largest_decode_chunk(&tiny(), &SHAPE, e.vae_decoder_weights + 1).unwrap();
        assert_eq!(c, 1);
        let all = largest_decode_chunk(&tiny(), &SHAPE, u64::MAX).unwrap();
        assert_eq!(all, 6);
    }
}
