//! `AutoencoderKLWan`'s `config.json`, with diffusers' defaults.

use kinema_core::{Error, Result};
use serde::Deserialize;

/// The VAE configuration exactly as diffusers stores it (field names included, typos too:
/// `temperal_downsample`). Unknown keys are refused: a key we do not know might change
/// behaviour, and silently ignoring it would give wrong videos instead of an error.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WanVaeConfig {
    #[serde(default = "d::base_dim")]
    pub base_dim: usize,
    #[serde(default)]
    pub decoder_base_dim: Option<usize>,
    #[serde(default = "d::z_dim")]
    pub z_dim: usize,
    #[serde(default = "d::dim_mult")]
    pub dim_mult: Vec<usize>,
    #[serde(default = "d::num_res_blocks")]
    pub num_res_blocks: usize,
    #[serde(default)]
    pub attn_scales: Vec<f64>,
    #[serde(default = "d::temperal_downsample")]
    pub temperal_downsample: Vec<bool>,
    /// Training-only; inference never drops.
    #[serde(default)]
    pub dropout: f64,
    #[serde(default = "d::latents_mean")]
    pub latents_mean: Vec<f64>,
    #[serde(default = "d::latents_std")]
    pub latents_std: Vec<f64>,
    #[serde(default)]
    pub is_residual: bool,
    #[serde(default = "d::three")]
    pub in_channels: usize,
    #[serde(default = "d::three")]
    pub out_channels: usize,
    #[serde(default)]
    pub patch_size: Option<usize>,
    #[serde(default = "d::four")]
    pub scale_factor_temporal: Option<usize>,
    #[serde(default = "d::eight")]
    pub scale_factor_spatial: Option<usize>,
    /// Whether decode clamps to [-1, 1]. Wan2.2's checkpoint ships `false`; diffusers 0.42
    /// does not know the key and always clamps. We honour it (default: clamp); pixel
    /// conversion clamps anyway, so only raw decoder outputs differ.
    #[serde(default = "d::yes")]
    pub clip_output: bool,
    #[serde(default, rename = "_class_name")]
    pub class_name: Option<String>,
    #[serde(default, rename = "_diffusers_version")]
    pub diffusers_version: Option<String>,
    #[serde(default, rename = "_name_or_path")]
    pub name_or_path: Option<String>,
}

mod d {
    pub fn base_dim() -> usize {
        96
    }
    pub fn z_dim() -> usize {
        16
    }
    pub fn dim_mult() -> Vec<usize> {
        vec![1, 2, 4, 4]
    }
    pub fn num_res_blocks() -> usize {
        2
    }
    pub fn temperal_downsample() -> Vec<bool> {
        vec![false, true, true]
    }
    pub fn three() -> usize {
        3
    }
    pub fn four() -> Option<usize> {
        Some(4)
    }
    pub fn eight() -> Option<usize> {
        Some(8)
    }
    pub fn yes() -> bool {
        true
    }
    pub fn latents_mean() -> Vec<f64> {
        vec![
            -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715,
            0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
        ]
    }
    pub fn latents_std() -> Vec<f64> {
        vec![
            2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652,
            1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
        ]
    }
}

impl Default for WanVaeConfig {
    fn default() -> Self {
        serde_json::from_str("{}").unwrap_or_else(|_| unreachable!("all fields have defaults"))
    }
}

impl WanVaeConfig {
    /// Parses and validates a `config.json` text.
    pub fn from_json(text: &str) -> Result<Self> {
        let cfg: WanVaeConfig = serde_json::from_str(text).map_err(|e| {
            Error::model(format!("VAE config is not a valid AutoencoderKLWan config: {e}"))
                .with_hint("unknown keys are refused because they may change behaviour; check the file comes from AutoencoderKLWan")
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and validates `<dir>/config.json`.
    pub fn from_dir(dir: &std::path::Path) -> Result<Self> {
        let cfg: WanVaeConfig = crate::weights::read_config(dir)?;
        cfg.validate()
            .map_err(|e| Error::model(format!("{}/config.json: {}", dir.display(), e.message)))?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::model(m));
        if let Some(c) = &self.class_name {
            if c != "AutoencoderKLWan" {
                return bad(format!(
                    "_class_name is {c:?}, expected \"AutoencoderKLWan\""
                ));
            }
        }
        if self.dim_mult.is_empty() || self.dim_mult.contains(&0) {
            return bad(format!(
                "dim_mult {:?} must be non-empty and positive",
                self.dim_mult
            ));
        }
        if self.temperal_downsample.len() + 1 < self.dim_mult.len() {
            return bad(format!(
                "temperal_downsample has {} entries, dim_mult {:?} needs {}",
                self.temperal_downsample.len(),
                self.dim_mult,
                self.dim_mult.len() - 1
            ));
        }
        if self.base_dim == 0 || self.z_dim == 0 || self.decoder_base_dim == Some(0) {
            return bad("base_dim, decoder_base_dim and z_dim must be positive".into());
        }
        if self.patch_size == Some(0) {
            return bad("patch_size 0 is not valid (use null or 1 for none)".into());
        }
        let p2 = self.patch() * self.patch();
        if self.in_channels == 0
            || self.out_channels == 0
            || !self.in_channels.is_multiple_of(p2)
            || !self.out_channels.is_multiple_of(p2)
        {
            return bad(format!(
                "in_channels {} / out_channels {} must be positive multiples of patch_size² = {p2} (they count patched channels)",
                self.in_channels, self.out_channels
            ));
        }
        match self.scale_factor_spatial {
            Some(s) if s > 0 && s % self.patch() == 0 => {}
            other => {
                return bad(format!(
                    "scale_factor_spatial {other:?} must be a positive multiple of the patch size"
                ))
            }
        }
        if !self.attn_scales.is_empty() {
            return bad(format!(
                "attn_scales {:?} is not supported: only [] (every released Wan VAE; diffusers cannot run other values either)",
                self.attn_scales
            ));
        }
        Ok(())
    }

    pub fn decoder_dim(&self) -> usize {
        self.decoder_base_dim.unwrap_or(self.base_dim)
    }

    /// The pixel patch side (1 when there is no patchify).
    pub fn patch(&self) -> usize {
        self.patch_size.unwrap_or(1).max(1)
    }

    /// Channels of the video itself: `in_channels` counts the patched channels (12 = 3·2²).
    pub fn video_channels(&self) -> usize {
        self.in_channels / (self.patch() * self.patch())
    }

    /// The compression diffusers uses for tile sizes: `scale_factor_spatial`.
    pub fn tiling_ratio(&self) -> usize {
        self.scale_factor_spatial.unwrap_or(8).max(1)
    }

    /// Pixels per latent along height/width: `2^(len(temperal_downsample))` × patch.
    pub fn spatial_compression(&self) -> usize {
        (1usize << self.temperal_downsample.len()) * self.patch()
    }

    /// Frames per latent frame after the first: 2^(number of temporal downsamples).
    pub fn temporal_compression(&self) -> usize {
        let used = self.dim_mult.len().saturating_sub(1);
        1usize
            << self
                .temperal_downsample
                .iter()
                .take(used)
                .filter(|&&t| t)
                .count()
    }

    /// Temporal upsampling flags of the decoder (the encoder's, reversed).
    pub fn temperal_upsample(&self) -> Vec<bool> {
        self.temperal_downsample.iter().rev().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wan22_config_parses_with_its_geometry() {
        let cfg = WanVaeConfig::from_json(
            r#"{"_class_name": "AutoencoderKLWan", "_diffusers_version": "0.35.0", "attn_scales": [],
            "base_dim": 160, "clip_output": false, "decoder_base_dim": 256, "dim_mult": [1, 2, 4, 4],
            "dropout": 0.0, "in_channels": 12, "is_residual": true, "num_res_blocks": 2, "out_channels": 12,
            "patch_size": 2, "scale_factor_spatial": 16, "scale_factor_temporal": 4,
            "temperal_downsample": [false, true, true], "z_dim": 48}"#,
        )
        .unwrap();
        assert_eq!(cfg.spatial_compression(), 16);
        assert_eq!(cfg.temporal_compression(), 4);
        assert_eq!(cfg.decoder_dim(), 256);
        assert!(!cfg.clip_output);
        let d = WanVaeConfig::default();
        assert_eq!(
            (d.z_dim, d.spatial_compression(), d.latents_mean.len()),
            (16, 8, 16)
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let e = WanVaeConfig::from_json(r#"{"use_magic": true}"#).unwrap_err();
        assert!(e.message.contains("use_magic"), "{}", e.message);
        assert!(
            WanVaeConfig::from_json(r#"{"dim_mult": [1, 2], "temperal_downsample": []}"#).is_err()
        );
        assert!(WanVaeConfig::from_json(r#"{"patch_size": 0}"#).is_err());
        assert!(WanVaeConfig::from_json(r#"{"_class_name": "AutoencoderKL"}"#).is_err());
    }
}
