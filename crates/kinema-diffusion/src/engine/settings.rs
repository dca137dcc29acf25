//! User-facing settings of the `wan` engine and the parsing of their command-line spellings.

use candle_core::{DType, Device};
use kinema_core::{Error, Result};

/// The negative prompt Wan was tuned with: `sample_neg_prompt` in the Wan-Video/Wan2.2
/// repository (`wan/configs/shared_config.py`), also used by diffusers' Wan examples. It lists
/// artefacts to steer away from (oversaturation, static frames, blur, extra fingers,
/// deformed limbs, cluttered background, walking backwards…).
pub const WAN_NEGATIVE_PROMPT: &str = "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走";

/// Where the networks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    Cpu,
    /// A CUDA GPU by ordinal (`cuda` = `cuda:0`); needs a build with the `cuda` feature.
    Cuda(usize),
}

impl DeviceChoice {
    /// Parses `cpu`, `cuda` or `cuda:N`.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    Error::invalid(
                        format!("unknown device `{text}`"),
                        "use --device cpu, cuda or cuda:N (N = GPU number)",
                    )
                }),
        }
    }

    /// Opens the device; a CUDA device in a CPU-only build is a clear error.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) => Device::new_cuda(n).map_err(|e| {
                Error::unsupported(format!("cannot open CUDA device {n}"))
                    .with_source(e)
                    .with_hint(if cfg!(feature = "cuda") {
                        "check the GPU number and the NVIDIA driver (nvidia-smi)"
                    } else {
                        "this build has no CUDA support: rebuild with `--features cuda` (cargo install --path crates/kinema --features cuda), or use --device cpu"
                    })
            }),
        }
    }

    /// The precision used when none is asked for: f32 on the CPU (where bf16 is slow and
    /// lossy), bf16 on CUDA.
    pub fn default_dtype(self) -> DType {
        match self {
            DeviceChoice::Cpu => DType::F32,
            DeviceChoice::Cuda(_) => DType::BF16,
        }
    }

    pub fn label(self) -> String {
        match self {
            DeviceChoice::Cpu => "cpu".into(),
            DeviceChoice::Cuda(n) => format!("cuda:{n}"),
        }
    }
}

/// Parses `f32`, `bf16` or `f16` (also `float32`, `bfloat16`, `float16`).
pub fn parse_dtype(text: &str) -> Result<DType> {
    match text.trim().to_ascii_lowercase().as_str() {
        "f32" | "float32" | "fp32" => Ok(DType::F32),
        "bf16" | "bfloat16" => Ok(DType::BF16),
        "f16" | "float16" | "fp16" => Ok(DType::F16),
        _ => Err(Error::invalid(
            format!("unknown dtype `{text}`"),
            "use --dtype f32, bf16 or f16",
        )),
    }
}

pub fn dtype_label(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "f32",
        DType::BF16 => "bf16",
        DType::F16 => "f16",
        _ => "other",
    }
}

/// How the `wan` engine samples. Defaults follow Wan2.2 TI2V-5B's recommendation (50 UniPC
/// steps, guidance 5.0, the checkpoint's own shift of 5.0, Wan's negative prompt).
#[derive(Clone, Debug)]
pub struct WanSettings {
    /// Denoising steps (default 50). Fewer is faster and blurrier.
    pub steps: usize,
    /// Classifier-free guidance scale (default 5.0); 1 or below turns guidance off and halves
    /// the work.
    pub guidance: f64,
    /// Overrides the scheduler's flow shift; `None` keeps the checkpoint's (5.0 for TI2V-5B).
    pub shift: Option<f64>,
    /// `None` uses [`WAN_NEGATIVE_PROMPT`].
    pub negative_prompt: Option<String>,
    pub device: DeviceChoice,
    /// Default f32 on the CPU (bf16 matmuls are slow there) and bf16 on CUDA.
    pub dtype: Option<DType>,
    /// Longer side of the picture the model generates, before the clip is brought back to
    /// the character's own scale (default 704, the short side of TI2V-5B's 1280×704; it is
    /// rounded to the model's multiple of 32).
    pub resolution: u32,
    /// Prompt length in tokens, as diffusers (512).
    pub max_sequence_length: usize,
}

impl Default for WanSettings {
    fn default() -> Self {
        WanSettings {
            steps: 50,
            guidance: 5.0,
            shift: None,
            negative_prompt: None,
            device: DeviceChoice::Cpu,
            dtype: None,
            resolution: 704,
            max_sequence_length: 512,
        }
    }
}

impl WanSettings {
    /// Checks ranges, so a typo fails before any model is read.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.steps > 1000 {
            return Err(Error::invalid(
                format!("{} steps is out of range", self.steps),
                "use --steps between 1 and 1000 (Wan's default is 50)",
            ));
        }
        if !(self.guidance.is_finite() && (0.0..=50.0).contains(&self.guidance)) {
            return Err(Error::invalid(
                format!("guidance {} is out of range", self.guidance),
                "use --guidance between 0 and 50 (Wan's default is 5.0; 1 turns guidance off)",
            ));
        }
        if let Some(s) = self.shift {
            if !(s.is_finite() && s > 0.0 && s <= 100.0) {
                return Err(Error::invalid(
                    format!("shift {s} is out of range"),
                    "use --shift between 0 and 100 (TI2V-5B uses 5.0)",
                ));
            }
        }
        if !(32..=4096).contains(&self.resolution) {
            return Err(Error::invalid(
                format!("resolution {} is out of range", self.resolution),
                "use a model resolution between 32 and 4096 pixels",
            ));
        }
        if self.max_sequence_length == 0 {
            return Err(Error::invalid("a prompt length of 0 tokens", "use 512"));
        }
        Ok(())
    }

    /// The dtype actually used.
    pub fn effective_dtype(&self) -> DType {
        self.dtype.unwrap_or(self.device.default_dtype())
    }

    pub fn negative_prompt(&self) -> &str {
        self.negative_prompt
            .as_deref()
            .unwrap_or(WAN_NEGATIVE_PROMPT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices_and_dtypes() {
        assert_eq!(DeviceChoice::parse("cpu").unwrap(), DeviceChoice::Cpu);
        assert_eq!(DeviceChoice::parse("CUDA").unwrap(), DeviceChoice::Cuda(0));
        assert_eq!(
            DeviceChoice::parse("cuda:3").unwrap(),
            DeviceChoice::Cuda(3)
        );
        let err = DeviceChoice::parse("tpu").unwrap_err();
        assert!(err.message.contains("tpu") && err.hint.unwrap().contains("cuda:N"));
        assert!(DeviceChoice::parse("cuda:x").is_err());
        assert_eq!(parse_dtype("bf16").unwrap(), DType::BF16);
        assert_eq!(parse_dtype("F32").unwrap(), DType::F32);
        assert_eq!(parse_dtype("float16").unwrap(), DType::F16);
        assert!(parse_dtype("int8")
            .unwrap_err()
            .hint
            .unwrap()
            .contains("bf16"));
    }

    #[test]
    fn cuda_in_a_cpu_build_is_a_clear_error() {
        if cfg!(feature = "cuda") {
            return;
        }
        let err = DeviceChoice::Cuda(0).open().unwrap_err();
        assert!(err.hint.unwrap().contains("--features cuda"));
    }

    #[test]
    fn defaults_and_validation() {
        let s = WanSettings::default();
        s.validate().unwrap();
        assert_eq!(s.effective_dtype(), DType::F32);
        assert!(s.negative_prompt().starts_with("色调艳丽"));
        let bad = WanSettings {
            steps: 0,
            ..WanSettings::default()
        };
        assert!(bad.validate().unwrap_err().message.contains("0 steps"));
        let bad = WanSettings {
            guidance: f64::NAN,
            ..WanSettings::default()
        };
        assert!(bad.validate().is_err());
        let bad = WanSettings {
            shift: Some(-1.0),
            ..WanSettings::default()
        };
        assert!(bad.validate().is_err());
    }
}
