//! The model folder `--engine opensora` reads, laid out as `hpcai-tech/Open-Sora-v2` ships it
//! (and as Open-Sora's inference configs read `./ckpts`):
//!
//! ```text
//! Open_Sora_v2.safetensors          the MMDiT (Open-Sora's own key names)
//! hunyuan_vae.safetensors           the HunyuanVideo VAE (diffusers' key names, see below)
//! google/t5-v1_1-xxl/               T5 v1.1 XXL (transformers: config.json, safetensors, tokenizer.json)
//! openai/clip-vit-large-patch14/    CLIP-L/14 (transformers; only its text tower is read)
//! ```
//!
//! The release has no config for the two Open-Sora files: the MMDiT gets
//! [`MmditConfig::open_sora_v2`] and the VAE diffusers' defaults, which are the released
//! model's. A folder may override them with `config.json` (every `MMDiTConfig` field) and
//! `hunyuan_vae_config.json` (diffusers' `AutoencoderKLHunyuanVideo` config), which is how
//! the tiny test model describes its toy widths.

use std::path::{Path, PathBuf};

use candle_core::DType;
use kinema_core::{Error, Result};
use serde::Serialize;

use crate::models::hunyuan_vae::Config as VaeConfig;
use crate::models::opensora_mmdit::MmditConfig;

pub const MMDIT_FILE: &str = "Open_Sora_v2.safetensors";
pub const VAE_FILE: &str = "hunyuan_vae.safetensors";
pub const VAE_CONFIG_FILE: &str = "hunyuan_vae_config.json";
pub const T5_DIR: &str = "google/t5-v1_1-xxl";
pub const CLIP_DIR: &str = "openai/clip-vit-large-patch14";

/// The parts of an Open-Sora 2.0 folder, checked to exist, with their configs.
#[derive(Clone, Debug)]
pub struct OpenSoraFolder {
    pub dir: PathBuf,
    pub mmdit: MmditConfig,
    pub vae: VaeConfig,
    /// Whether each config came from the folder (`true`) or is the release's built-in one.
    pub mmdit_config_in_folder: bool,
    pub vae_config_in_folder: bool,
}

impl OpenSoraFolder {
    pub fn mmdit_file(&self) -> PathBuf {
        self.dir.join(MMDIT_FILE)
    }
    pub fn vae_file(&self) -> PathBuf {
        self.dir.join(VAE_FILE)
    }
    pub fn t5_dir(&self) -> PathBuf {
        self.dir.join(T5_DIR)
    }
    pub fn clip_dir(&self) -> PathBuf {
        self.dir.join(CLIP_DIR)
    }

    /// Checks that every part is there (naming all that are not) and reads the configs.
    pub fn open(dir: &Path) -> Result<Self> {
        let missing = missing_parts(dir);
        if !missing.is_empty() {
            return Err(Error::model(format!(
                "{} is not a complete Open-Sora 2.0 folder: {} missing",
                dir.display(),
                missing.join(", ")
            ))
            .with_hint(
                "download the whole release with `kinema models pull hpcai-tech/Open-Sora-v2` \
                 (it holds the MMDiT, the VAE and both text encoders; the text encoder folders \
                 need tokenizer.json, see docs/OPENSORA.md)",
            ));
        }
        let mmdit_config_in_folder = dir.join("config.json").is_file();
        let mmdit = if mmdit_config_in_folder {
            MmditConfig::from_dir(dir)?
        } else {
            MmditConfig::open_sora_v2()
        };
        let vae_path = dir.join(VAE_CONFIG_FILE);
        let vae_config_in_folder = vae_path.is_file();
        let vae: VaeConfig = if vae_config_in_folder {
            let text = std::fs::read_to_string(&vae_path).map_err(|e| {
                Error::model(format!("cannot read {}", vae_path.display())).with_source(e)
            })?;
            serde_json::from_str(&text).map_err(|e| {
                Error::model(format!(
                    "{} is not a valid VAE config: {e}",
                    vae_path.display()
                ))
            })?
        } else {
            serde_json::from_str("{}").map_err(|e| Error::internal(format!("VAE defaults: {e}")))?
        };
        vae.validate()?;
        let latent = mmdit.in_channels / (mmdit.patch_size * mmdit.patch_size);
        if latent != vae.latent_channels {
            return Err(Error::model(format!(
                "{}: the MMDiT takes {latent}-channel latents but the VAE makes {}",
                dir.display(),
                vae.latent_channels
            ))
            .with_hint("use an MMDiT and a VAE of the same release"));
        }
        Ok(OpenSoraFolder {
            dir: dir.to_path_buf(),
            mmdit,
            vae,
            mmdit_config_in_folder,
            vae_config_in_folder,
        })
    }

    /// Parameters of the parts other than the MMDiT, from their safetensors headers:
    /// `(vae, t5, clip)` (the whole CLIP file counts, as it is mapped whole).
    pub fn other_parameter_counts(&self) -> Result<(u64, u64, u64)> {
        Ok((
            parameters_in(&[self.vae_file()])?,
            parameters_in(&safetensors_in(&self.t5_dir())?)?,
            parameters_in(&safetensors_in(&self.clip_dir())?)?,
        ))
    }
}

/// What an Open-Sora folder lacks, as relative paths (empty when complete).
pub fn missing_parts(dir: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    for file in [MMDIT_FILE, VAE_FILE] {
        if !dir.join(file).is_file() {
            missing.push(file.to_string());
        }
    }
    for part in [T5_DIR, CLIP_DIR] {
        let folder = dir.join(part);
        for file in ["config.json", "tokenizer.json"] {
            if !folder.join(file).is_file() {
                missing.push(format!("{part}/{file}"));
            }
        }
        if !safetensors_in(&folder).is_ok_and(|f| !f.is_empty()) {
            missing.push(format!("{part}/ (safetensors weights)"));
        }
    }
    missing
}

fn safetensors_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::model(format!("cannot read {}", dir.display())).with_source(e))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    Ok(files)
}

fn parameters_in(files: &[PathBuf]) -> Result<u64> {
    let mut total = 0u64;
    for f in files {
        for t in crate::weights::validate_safetensors(f)? {
            total += t.shape.iter().product::<usize>() as u64;
        }
    }
    Ok(total)
}

/// The memory a request needs, by stage: the text encoders run and are dropped before the
/// VAE and the MMDiT load, so the peak is the larger stage.
#[derive(Clone, Debug, Serialize)]
pub struct OpenSoraMemory {
    pub mmdit_parameters: u64,
    pub bytes_per_parameter: u64,
    /// T5 + CLIP weights.
    pub text_stage_bytes: u64,
    /// MMDiT + VAE weights, plus the three-way batch's activations.
    pub denoise_stage_bytes: u64,
}

impl OpenSoraMemory {
    pub fn peak(&self) -> u64 {
        self.text_stage_bytes.max(self.denoise_stage_bytes)
    }

    /// The MMDiT's weights alone (23.8 GB in bf16 for the release).
    pub fn mmdit_bytes(&self) -> u64 {
        self.mmdit_parameters * self.bytes_per_parameter
    }
}

/// Estimates a request of `image_tokens` packed latent tokens and `text_tokens` T5 tokens.
/// Activations: the batch of three, per token, a few hidden-wide buffers and the MLP's
/// (`mlp_ratio`) in the model dtype; attention runs in chunks, so its scores are not counted.
pub fn estimate(
    folder: &OpenSoraFolder,
    dtype: DType,
    image_tokens: usize,
    text_tokens: usize,
) -> Result<OpenSoraMemory> {
    let bytes = dtype.size_in_bytes() as u64;
    let (vae, t5, clip) = folder.other_parameter_counts()?;
    let m = &folder.mmdit;
    let tokens = 3 * (image_tokens + text_tokens) as u64;
    let width = (8 * m.hidden_size + 2 * m.mlp_hidden()) as u64;
    let activations = tokens * width * bytes;
    let mmdit_parameters = m.parameter_count();
    Ok(OpenSoraMemory {
        mmdit_parameters,
        bytes_per_parameter: bytes,
        text_stage_bytes: (t5 + clip) * bytes,
        denoise_stage_bytes: (mmdit_parameters + vae) * bytes + activations,
    })
}

/// Refuses a CPU run that cannot fit, with the numbers and what to use instead.
pub fn check_fits(memory: &OpenSoraMemory, available: u64) -> Result<()> {
    let gb = |b: u64| b as f64 / 1e9;
    if memory.peak() <= available {
        return Ok(());
    }
    let bf16 = memory.mmdit_parameters * 2;
    Err(Error::unsupported(format!(
        "Open-Sora 2.0 needs about {:.1} GB here ({:.2}B-parameter MMDiT: {:.1} GB of weights \
         at {} bytes each, plus the VAE and activations) but {:.1} GB is available",
        gb(memory.peak()),
        memory.mmdit_parameters as f64 / 1e9,
        gb(memory.mmdit_bytes()),
        memory.bytes_per_parameter,
        gb(available),
    ))
    .with_hint(format!(
        "the 11B model is meant for a large GPU: run with --device cuda --dtype bf16 on one with \
         at least {:.0} GB (its weights alone are {:.1} GB in bf16; Open-Sora's own 256px \
         runs use an 80 GB card); on this machine use --engine wan or --engine svd",
        (gb(bf16) * 1.5).ceil(),
        gb(bf16)
    )))
}
