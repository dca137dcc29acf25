//! User-facing settings of the `opensora` engine.

use candle_core::DType;
use kinema_core::{Error, Result};

use super::settings::DeviceChoice;
use crate::pipelines::opensora_prompt::MOTION_SCORES;

/// The model `--engine opensora` loads when no `--model` is given.
pub const OPENSORA_DEFAULT_MODEL: &str = "hpcai-tech/Open-Sora-v2";
/// Open-Sora's default motion score (`configs/diffusion/inference/256px.py`).
pub const DEFAULT_MOTION_SCORE: u32 = 4;
/// Most frames one request may ask for (Open-Sora 2.0 makes up to 129).
pub const MAX_FRAMES: u32 = 129;

/// How the `opensora` engine samples. Defaults are Open-Sora 2.0's 256px i2v inference
/// config: 50 steps, text guidance 7.5, image guidance 3.0, both oscillating, motion score 4.
#[derive(Clone, Debug)]
pub struct OpenSoraSettings {
    pub steps: usize,
    /// Text guidance scale.
    pub guidance: f64,
    /// Image guidance scale (how closely the clip keeps to the reference frame).
    pub image_guidance: f64,
    /// The "{score} motion score." appended to the prompt (1–7).
    pub motion_score: u32,
    pub device: DeviceChoice,
    /// Default f32 on the CPU, bf16 on CUDA.
    pub dtype: Option<DType>,
    /// Longer side of the picture the model generates (rounded to 16, VAE 8 × patch 2);
    /// the release was trained at 256 and 768.
    pub resolution: u32,
}

impl Default for OpenSoraSettings {
    fn default() -> Self {
        OpenSoraSettings {
            steps: 50,
            guidance: 7.5,
            image_guidance: 3.0,
            motion_score: DEFAULT_MOTION_SCORE,
            device: DeviceChoice::Cpu,
            dtype: None,
            resolution: 256,
        }
    }
}

impl OpenSoraSettings {
    /// Checks ranges, so a typo fails before any model is read.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.steps > 1000 {
            return Err(Error::invalid(
                format!("{} steps is out of range", self.steps),
                "use --steps between 1 and 1000 (Open-Sora's default is 50)",
            ));
        }
        for (flag, g, default) in [
            ("--guidance", self.guidance, 7.5),
            ("--image-guidance", self.image_guidance, 3.0),
        ] {
            if !(g.is_finite() && (0.0..=50.0).contains(&g)) {
                return Err(Error::invalid(
                    format!("{flag} {g} is out of range"),
                    format!("use {flag} between 0 and 50 (Open-Sora's default is {default})"),
                ));
            }
        }
        if !MOTION_SCORES.contains(&self.motion_score) {
            return Err(Error::invalid(
                format!("motion score {} is out of range", self.motion_score),
                format!(
                    "use --motion-score between {} and {} (Open-Sora's default is {DEFAULT_MOTION_SCORE}; higher moves more)",
                    MOTION_SCORES.start(),
                    MOTION_SCORES.end()
                ),
            ));
        }
        if !(32..=2048).contains(&self.resolution) {
            return Err(Error::invalid(
                format!("resolution {} is out of range", self.resolution),
                "use --resolution between 32 and 2048 pixels (Open-Sora 2.0: 256 or 768)",
            ));
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
    fn defaults_validate_and_ranges_name_the_flag() {
        OpenSoraSettings::default().validate().unwrap();
        let hint = |s: OpenSoraSettings| s.validate().unwrap_err().hint.unwrap_or_default();
        assert!(hint(OpenSoraSettings {
            motion_score: 9,
            ..Default::default()
        })
        .contains("--motion-score between 1 and 7"));
        assert!(hint(OpenSoraSettings {
            image_guidance: f64::NAN,
            ..Default::default()
        })
        .contains("--image-guidance"));
        assert!(hint(OpenSoraSettings {
            steps: 0,
            ..Default::default()
        })
        .contains("--steps"));
    }
}
