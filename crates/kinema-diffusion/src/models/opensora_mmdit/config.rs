//! `MMDiTConfig` of Open-Sora 2.0 (`opensora/models/mmdit/model.py`), read from a
//! `config.json` that holds its fields under their own names.
//!
//! Open-Sora keeps this config in its Python inference configs (`model = dict(type="flux",
//! ...)`), not beside the weights; the released model's values are in
//! [`MmditConfig::open_sora_v2`], read from a data file.

use std::path::Path;

use kinema_core::{Error, Result};
use serde::Deserialize;

/// Every field of Open-Sora's `MMDiTConfig`, with its defaults where it has one.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MmditConfig {
    /// Packed latent channels: VAE channels × patch² (16 × 4 = 64).
    pub in_channels: usize,
    /// Width of the pooled CLIP text embedding (`y_vec`).
    pub vec_in_dim: usize,
    /// Width of the T5 token embeddings (`txt`).
    pub context_in_dim: usize,
    pub hidden_size: usize,
    pub mlp_ratio: f64,
    pub num_heads: usize,
    /// Double-stream blocks.
    pub depth: usize,
    pub depth_single_blocks: usize,
    /// Rotary channels per position axis (t, row, col); they sum to the head width.
    pub axes_dim: Vec<usize>,
    pub theta: f64,
    pub qkv_bias: bool,
    /// Guidance-distilled models take the guidance scale as an embedded input.
    pub guidance_embed: bool,
    /// `cond_in`: the image condition (mask + masked reference latents) added to the tokens.
    #[serde(default)]
    pub cond_embed: bool,
    /// One `qkv` / `linear1` projection instead of separate `q_proj`, `k_proj`, `v_proj` /
    /// `v_mlp` ones.
    #[serde(default = "default_true")]
    pub fused_qkv: bool,
    /// Rotate channel pairs (i, i + D/2) (liger-kernel's layout) instead of Flux's (2i, 2i+1).
    #[serde(default)]
    pub use_liger_rope: bool,
    #[serde(default = "default_patch")]
    pub patch_size: usize,
    /// Bookkeeping fields of the dataclass that do not change the computation.
    #[serde(default)]
    pub from_pretrained: Option<String>,
    #[serde(default)]
    pub cache_dir: Option<String>,
    #[serde(default)]
    pub grad_ckpt_settings: Option<Vec<usize>>,
    /// Open-Sora's config dicts carry the registry name (`"flux"`).
    #[serde(default, rename = "type")]
    pub model_type: Option<String>,
}

fn default_true() -> bool {
    true
}
fn default_patch() -> usize {
    2
}

/// The released Open-Sora 2.0 MMDiT (`configs/diffusion/inference/256px.py`).
const OPEN_SORA_V2: &str = include_str!("open_sora_v2.json");

impl MmditConfig {
    /// Reads and validates `<dir>/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let config: MmditConfig = crate::weights::read_config(dir)?;
        config.validate().map_err(|e| {
            let msg = format!("{}: {}", dir.join("config.json").display(), e.message);
            Error { message: msg, ..e }
        })?;
        Ok(config)
    }

    /// The 11B model of `hpcai-tech/Open-Sora-v2`, whose checkpoint has no config file.
    pub fn open_sora_v2() -> Self {
        serde_json::from_str(OPEN_SORA_V2).expect("the shipped Open-Sora v2 config parses")
    }

    /// Channels per attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads.max(1)
    }

    /// Hidden width of the MLPs: `int(hidden_size * mlp_ratio)`, truncated as Python does.
    pub fn mlp_hidden(&self) -> usize {
        (self.hidden_size as f64 * self.mlp_ratio) as usize
    }

    /// Width of the packed image condition: mask sub-pixels first, then the latents.
    pub fn cond_channels(&self) -> usize {
        self.in_channels + self.patch_size * self.patch_size
    }

    /// Number of weights the model holds, from the layer shapes (what a memory estimate needs
    /// before anything is loaded: the release has 11.89B, 23.8 GB in bf16).
    pub fn parameter_count(&self) -> u64 {
        let hd = self.hidden_size as u64;
        let mlp = self.mlp_hidden() as u64;
        let linear = |i: u64, o: u64, bias: bool| i * o + if bias { o } else { 0 };
        let embedder = |i: u64| linear(i, hd, true) + linear(hd, hd, true);
        let qk_norm = 2 * self.head_dim() as u64;
        let time = embedder(super::TIME_FEATURES as u64);
        let mut total = linear(self.in_channels as u64, hd, true)
            + time
            + embedder(self.vec_in_dim as u64)
            + linear(self.context_in_dim as u64, hd, true);
        if self.guidance_embed {
            total += time;
        }
        if self.cond_embed {
            total += linear(self.cond_channels() as u64, hd, true);
        }
        // Fused or split, the projections hold the same weights (split q/k/v: 3 biases too).
        let stream = linear(hd, 6 * hd, true)
            + linear(hd, 3 * hd, self.qkv_bias)
            + qk_norm
            + linear(hd, hd, true)
            + linear(hd, mlp, true)
            + linear(mlp, hd, true);
        let single = linear(hd, 3 * hd, true)
            + linear(hd, 3 * hd + mlp, true)
            + qk_norm
            + linear(hd + mlp, hd, true);
        total += self.depth as u64 * 2 * stream + self.depth_single_blocks as u64 * single;
        total + linear(hd, 2 * hd, true) + linear(hd, self.in_channels as u64, true)
    }

    /// Refuses inconsistent configs the way `MMDiTModel.__init__` does, naming the field.
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = self.model_type.as_deref() {
            if t != "flux" {
                return Err(Error::unsupported(format!(
                    "MMDiT config type `{t}` is not Open-Sora's \"flux\" MMDiT"
                )));
            }
        }
        if self.num_heads == 0 || !self.hidden_size.is_multiple_of(self.num_heads) {
            return Err(Error::model(format!(
                "hidden_size {} must be divisible by num_heads {}",
                self.hidden_size, self.num_heads
            )));
        }
        let pe: usize = self.axes_dim.iter().sum();
        if self.axes_dim.len() != 3 || pe != self.head_dim() {
            return Err(Error::model(format!(
                "axes_dim {:?} must be three sizes summing to the head width {}",
                self.axes_dim,
                self.head_dim()
            )));
        }
        if self.axes_dim.iter().any(|d| !d.is_multiple_of(2)) {
            return Err(Error::model(format!(
                "axes_dim {:?}: every rotary axis needs an even number of channels",
                self.axes_dim
            )));
        }
        for (key, v) in [
            ("in_channels", self.in_channels),
            ("vec_in_dim", self.vec_in_dim),
            ("context_in_dim", self.context_in_dim),
            ("patch_size", self.patch_size),
            ("mlp_hidden (hidden_size × mlp_ratio)", self.mlp_hidden()),
        ] {
            if v == 0 {
                return Err(Error::model(format!("MMDiT config `{key}` is 0")));
            }
        }
        if !self.theta.is_finite() || self.theta <= 0.0 {
            return Err(Error::model(format!(
                "MMDiT config theta {} must be positive",
                self.theta
            )));
        }
        Ok(())
    }
}
