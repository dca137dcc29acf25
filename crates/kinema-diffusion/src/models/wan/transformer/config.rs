//! `config.json` of a diffusers `WanTransformer3DModel`.

use std::path::Path;

use kinema_core::{Error, Result};
use serde::Deserialize;

/// Hyper-parameters, with diffusers' defaults for keys a checkpoint leaves out.
#[derive(Clone, Debug, Deserialize)]
pub struct WanTransformerConfig {
    #[serde(default = "default_patch")]
    pub patch_size: Vec<usize>,
    #[serde(default = "default_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "default_head_dim")]
    pub attention_head_dim: usize,
    #[serde(default = "default_channels")]
    pub in_channels: usize,
    /// `None` (or 0) means `in_channels`, as diffusers' `out_channels or in_channels`.
    #[serde(default)]
    pub out_channels: Option<usize>,
    #[serde(default = "default_text_dim")]
    pub text_dim: usize,
    #[serde(default = "default_freq_dim")]
    pub freq_dim: usize,
    #[serde(default = "default_ffn_dim")]
    pub ffn_dim: usize,
    #[serde(default = "default_layers")]
    pub num_layers: usize,
    #[serde(default = "default_true")]
    pub cross_attn_norm: bool,
    #[serde(default = "default_qk_norm")]
    pub qk_norm: Option<String>,
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Wan2.1 I2V: width of the CLIP image tokens. With `added_kv_proj_dim` they get their own
    /// key/value projections; without it they are prepended to the text context.
    #[serde(default)]
    pub image_dim: Option<usize>,
    #[serde(default)]
    pub added_kv_proj_dim: Option<usize>,
    #[serde(default = "default_rope_len")]
    pub rope_max_seq_len: usize,
    /// Wan2.1 FLF2V: a learnt position embedding over the two images' tokens.
    #[serde(default)]
    pub pos_embed_seq_len: Option<usize>,
    /// Every other key; only bookkeeping keys are allowed.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn default_patch() -> Vec<usize> {
    vec![1, 2, 2]
}
fn default_heads() -> usize {
    40
}
fn default_head_dim() -> usize {
    128
}
fn default_channels() -> usize {
    16
}
fn default_text_dim() -> usize {
    4096
}
fn default_freq_dim() -> usize {
    256
}
fn default_ffn_dim() -> usize {
    13824
}
fn default_layers() -> usize {
    40
}
fn default_true() -> bool {
    true
}
fn default_qk_norm() -> Option<String> {
    Some(QK_NORM.into())
}
fn default_eps() -> f64 {
    1e-6
}
fn default_rope_len() -> usize {
    1024
}

/// The only query/key normalisation Wan uses (RMS norm over all heads' channels together).
pub const QK_NORM: &str = "rms_norm_across_heads";

/// Keys that never change the computation.
pub const INERT_KEYS: &[&str] = &["_class_name", "_diffusers_version", "_name_or_path"];

impl WanTransformerConfig {
    /// Reads and validates `<dir>/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let config: WanTransformerConfig = crate::weights::read_config(dir)?;
        config.validate().map_err(|e| {
            let msg = format!("{}: {}", dir.join("config.json").display(), e.message);
            Error { message: msg, ..e }
        })?;
        Ok(config)
    }

    /// Refuses what is not implemented or inconsistent, naming the key.
    pub fn validate(&self) -> Result<()> {
        if let Some(key) = self
            .other
            .keys()
            .find(|k| !INERT_KEYS.contains(&k.as_str()))
        {
            return Err(Error::unsupported(format!(
                "WanTransformer3DModel config key `{key}` is not implemented (value {})",
                self.other[key]
            )));
        }
        if let Some(class) = self.other.get("_class_name").and_then(|v| v.as_str()) {
            if class != "WanTransformer3DModel" {
                return Err(Error::unsupported(format!(
                    "_class_name `{class}` is not WanTransformer3DModel"
                ))
                .with_hint("point at the transformer/ folder of a Wan checkpoint"));
            }
        }
        if self.qk_norm.as_deref() != Some(QK_NORM) {
            return Err(Error::unsupported(format!(
                "qk_norm {:?} is not implemented (only \"{QK_NORM}\")",
                self.qk_norm
            )));
        }
        if self.patch_size.len() != 3 || self.patch_size.contains(&0) {
            return Err(Error::model(format!(
                "patch_size {:?} must be three positive sizes",
                self.patch_size
            )));
        }
        let head = self.attention_head_dim;
        if head == 0 || !head.is_multiple_of(2) || self.num_attention_heads == 0 {
            return Err(Error::model(format!(
                "attention_head_dim {head} must be even and positive with at least one head"
            )));
        }
        // The rotary split: h and w get 2·(d/6) channels each, t the rest; all must be even.
        if self
            .rope_dims()
            .iter()
            .any(|&d| d == 0 || !d.is_multiple_of(2))
        {
            return Err(Error::model(format!(
                "attention_head_dim {head} gives rotary parts {:?}; each must be even and positive",
                self.rope_dims()
            )));
        }
        for (key, v) in [
            ("in_channels", self.in_channels),
            ("text_dim", self.text_dim),
            ("freq_dim", self.freq_dim),
            ("ffn_dim", self.ffn_dim),
            ("rope_max_seq_len", self.rope_max_seq_len),
        ] {
            if v == 0 {
                return Err(Error::model(format!(
                    "WanTransformer3DModel config `{key}` is 0"
                )));
            }
        }
        if !self.freq_dim.is_multiple_of(2) {
            return Err(Error::unsupported(format!(
                "odd freq_dim {} is not implemented",
                self.freq_dim
            )));
        }
        match (self.image_dim, self.added_kv_proj_dim) {
            (None, Some(_)) => {
                return Err(Error::unsupported("added_kv_proj_dim without image_dim is not implemented"))
            }
            (Some(_), Some(added)) if added != self.inner_dim() => {
                return Err(Error::model(format!(
                    "added_kv_proj_dim {added} must equal the model width {} (image tokens are embedded to it)",
                    self.inner_dim()
                )))
            }
            _ => {}
        }
        if self.pos_embed_seq_len.is_some() && self.image_dim.is_none() {
            return Err(Error::unsupported("pos_embed_seq_len without image_dim"));
        }
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(Error::model(format!("eps {} is invalid", self.eps)));
        }
        Ok(())
    }

    /// `num_attention_heads × attention_head_dim`.
    pub fn inner_dim(&self) -> usize {
        self.num_attention_heads * self.attention_head_dim
    }

    pub fn out_channels(&self) -> usize {
        self.out_channels
            .filter(|&c| c > 0)
            .unwrap_or(self.in_channels)
    }

    /// `[t, h, w]` patch sizes.
    pub fn patch(&self) -> [usize; 3] {
        [self.patch_size[0], self.patch_size[1], self.patch_size[2]]
    }

    /// Head channels given to the frame, row and column rotations.
    pub fn rope_dims(&self) -> [usize; 3] {
        let hw = 2 * (self.attention_head_dim / 6);
        [self.attention_head_dim - 2 * hw, hw, hw]
    }
}
