//! User-facing settings of the `svd` engine.

use candle_core::DType;
use kinema_core::{Error, Result};

use super::settings::DeviceChoice;

/// The model `--engine svd` loads when no `--model` is given.
pub const SVD_DEFAULT_MODEL: &str = "stabilityai/stable-video-diffusion-img2vid-xt";
/// diffusers' default motion bucket.
pub const DEFAULT_MOTION_BUCKET: u32 = 127;
/// SVD-XT's conditioning frame rate minus one (diffusers' `fps=7`).
pub const DEFAULT_FPS_ID: u32 = 6;
/// Most frames one request may ask for (SVD-XT was trained on 25, SVD on 14).
pub const MAX_FRAMES: u32 = 64;

/// How the `svd` engine samples. Defaults follow diffusers' `StableVideoDiffusionPipeline`
/// (25 steps, guidance 1.0 → 3.0 across frames, noise augmentation 0.02).
#[derive(Clone, Debug)]
pub struct SvdSettings {
    pub steps: usize,
    /// Guidance of the first frame; it rises linearly to `max_guidance` at the last.
    pub min_guidance: f64,
    /// Guidance of the last frame; 1 or below turns guidance off and halves the work.
    pub max_guidance: f64,
    /// `motion_bucket_id` (0–255): `None` takes it from the prompt, else 127.
    pub motion_bucket: Option<u32>,
    /// The U-Net's frame-rate conditioning, `fps − 1`, as Stability names it: `None` takes
    /// it from the prompt, else 6.
    pub fps_id: Option<u32>,
    /// Noise added to the conditioning image (more: more motion, less likeness).
    pub noise_aug: f64,
    /// Frames the VAE decodes at once: `None` picks the most that fit in memory.
    pub decode_chunk: Option<usize>,
    pub device: DeviceChoice,
    /// Default f32 on the CPU, bf16 on CUDA.
    pub dtype: Option<DType>,
    /// Longer side of the picture the model generates (rounded to the model's multiple);
    /// `None` uses the model's own training size, `unet.sample_size × VAE scale` (768 for
    /// SVD-XT), or 1024 when the config has none.
    pub resolution: Option<u32>,
}

impl Default for SvdSettings {
    fn default() -> Self {
        SvdSettings {
            steps: 25,
            min_guidance: 1.0,
            max_guidance: 3.0,
            motion_bucket: None,
            fps_id: None,
            noise_aug: 0.02,
            decode_chunk: None,
            device: DeviceChoice::Cpu,
            dtype: None,
            resolution: None,
        }
    }
}

impl SvdSettings {
    /// Checks ranges, so a typo fails before any model is read.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.steps > 1000 {
            return Err(Error::invalid(
                format!("{} steps is out of range", self.steps),
                "use --steps between 1 and 1000 (SVD's default is 25)",
            ));
        }
        for (flag, g) in [
            ("--min-guidance", self.min_guidance),
            ("--max-guidance", self.max_guidance),
        ] {
            if !(g.is_finite() && (0.0..=50.0).contains(&g)) {
                return Err(Error::invalid(
                    format!("{flag} {g} is out of range"),
                    "use guidance between 0 and 50 (SVD's defaults: 1.0 to 3.0)",
                ));
            }
        }
        if let Some(b) = self.motion_bucket {
            if b > 255 {
                return Err(Error::invalid(
                    format!("motion bucket {b} is out of range"),
                    "use --motion-bucket between 0 and 255 (127 is SVD's default; higher moves more)",
                ));
            }
        }
        if let Some(f) = self.fps_id {
            if f > 60 {
                return Err(Error::invalid(
                    format!("fps id {f} is out of range"),
                    "use --fps-id between 0 and 60 (the conditioning frame rate minus one; SVD-XT: 6)",
                ));
            }
        }
        if !(self.noise_aug.is_finite() && (0.0..=1.0).contains(&self.noise_aug)) {
            return Err(Error::invalid(
                format!("noise augmentation {} is out of range", self.noise_aug),
                "use --noise-aug between 0 and 1 (SVD's default is 0.02)",
            ));
        }
        if self.decode_chunk == Some(0) {
            return Err(Error::invalid(
                "a decode chunk of 0 frames",
                "use --decode-chunk 1 or more, or leave it out to fit memory",
            ));
        }
        if let Some(r) = self.resolution {
            if !(32..=4096).contains(&r) {
                return Err(Error::invalid(
                    format!("resolution {r} is out of range"),
                    "use --resolution between 32 and 4096 pixels",
                ));
            }
        }
        Ok(())
    }

    /// The dtype actually used.
    pub fn effective_dtype(&self) -> DType {
        self.dtype.unwrap_or(self.device.default_dtype())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_ranges_are_named() {
        SvdSettings::default().validate().unwrap();
        let bad = |s: SvdSettings| s.validate().unwrap_err().hint.unwrap_or_default();
        assert!(bad(SvdSettings {
            motion_bucket: Some(300),
            ..Default::default()
        })
        .contains("--motion-bucket"));
        assert!(bad(SvdSettings {
            max_guidance: f64::NAN,
            ..Default::default()
        })
        .contains("guidance"));
        assert!(bad(SvdSettings {
            decode_chunk: Some(0),
            ..Default::default()
        })
        .contains("--decode-chunk"));
        assert!(bad(SvdSettings {
            noise_aug: 2.0,
            ..Default::default()
        })
        .contains("--noise-aug"));
    }
}
