//! `config.json` of a diffusers `AutoencoderKLHunyuanVideo` checkpoint.

use std::path::Path;

use kinema_core::{Error, Result};
use serde::Deserialize;

/// The down/up block type diffusers implements (and the only one it accepts).
const DOWN_BLOCK: &str = "HunyuanVideoDownBlock3D";
const UP_BLOCK: &str = "HunyuanVideoUpBlock3D";

/// The hyper-parameters of the HunyuanVideo causal 3D VAE, field names as diffusers writes
/// them. Defaults are diffusers' (and the released checkpoint's).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "three")]
    pub in_channels: usize,
    #[serde(default = "three")]
    pub out_channels: usize,
    #[serde(default = "sixteen")]
    pub latent_channels: usize,
    #[serde(default = "default_down")]
    pub down_block_types: Vec<String>,
    #[serde(default = "default_up")]
    pub up_block_types: Vec<String>,
    #[serde(default = "default_channels")]
    pub block_out_channels: Vec<usize>,
    #[serde(default = "two")]
    pub layers_per_block: usize,
    #[serde(default = "default_act")]
    pub act_fn: String,
    #[serde(default = "default_groups")]
    pub norm_num_groups: usize,
    /// Multiplies a posterior sample before the denoiser sees it (Open-Sora: 0.476986).
    #[serde(default = "default_scaling")]
    pub scaling_factor: f64,
    #[serde(default = "eight")]
    pub spatial_compression_ratio: usize,
    #[serde(default = "four")]
    pub temporal_compression_ratio: usize,
    #[serde(default = "yes")]
    pub mid_block_add_attention: bool,
    #[serde(default, rename = "_class_name")]
    pub class_name: Option<String>,
    #[serde(default, rename = "_diffusers_version")]
    pub diffusers_version: Option<String>,
    #[serde(default, rename = "_name_or_path")]
    pub name_or_path: Option<String>,
}

fn three() -> usize {
    3
}
fn four() -> usize {
    4
}
fn eight() -> usize {
    8
}
fn sixteen() -> usize {
    16
}
fn two() -> usize {
    2
}
fn yes() -> bool {
    true
}
fn default_down() -> Vec<String> {
    vec![DOWN_BLOCK.into(); 4]
}
fn default_up() -> Vec<String> {
    vec![UP_BLOCK.into(); 4]
}
fn default_channels() -> Vec<usize> {
    vec![128, 256, 512, 512]
}
fn default_act() -> String {
    "silu".into()
}
fn default_groups() -> usize {
    32
}
fn default_scaling() -> f64 {
    0.476986
}

/// How one encoder/decoder stage resamples: `(temporal, spatial)` factor 1 or 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resample {
    pub time: usize,
    pub space: usize,
}

impl Resample {
    pub fn any(self) -> bool {
        self.time > 1 || self.space > 1
    }
}

impl Config {
    /// Reads and validates `<dir>/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let config: Config = crate::weights::read_config(dir)?;
        config.validate().map_err(|e| {
            Error::model(format!(
                "{}: {}",
                dir.join("config.json").display(),
                e.message
            ))
            .with_hint(e.hint.unwrap_or_else(|| {
                "use the vae folder of a HunyuanVideo or Open-Sora 2.0 checkpoint".into()
            }))
        })?;
        Ok(config)
    }

    /// Refuses settings diffusers itself would refuse, or that this port does not compute.
    pub fn validate(&self) -> Result<()> {
        let n = self.block_out_channels.len();
        if n == 0 || self.down_block_types.len() != n || self.up_block_types.len() != n {
            return Err(Error::model(format!(
                "{} block_out_channels, {} down_block_types and {} up_block_types must be equal and non-zero",
                n,
                self.down_block_types.len(),
                self.up_block_types.len()
            )));
        }
        if let Some(t) = self
            .down_block_types
            .iter()
            .chain(&self.up_block_types)
            .find(|t| *t != DOWN_BLOCK && *t != UP_BLOCK)
        {
            return Err(Error::unsupported(format!(
                "block type `{t}` is not implemented"
            )));
        }
        if self.temporal_compression_ratio != 4 {
            return Err(Error::unsupported(format!(
                "temporal_compression_ratio {} is not implemented (diffusers' decoder supports only 4)",
                self.temporal_compression_ratio
            )));
        }
        if !self.spatial_compression_ratio.is_power_of_two()
            || self.spatial_compression_ratio.trailing_zeros() as usize > n
        {
            return Err(Error::model(format!(
                "spatial_compression_ratio {} must be a power of two with at most one halving per block ({n} blocks)",
                self.spatial_compression_ratio
            )));
        }
        if n < 3 {
            return Err(Error::model(format!(
                "{n} blocks cannot give the 4x temporal compression (needs at least 3)"
            )));
        }
        if self.act_fn != "silu" && self.act_fn != "swish" {
            return Err(Error::unsupported(format!(
                "act_fn `{}` is not implemented (only silu)",
                self.act_fn
            )));
        }
        let g = self.norm_num_groups;
        if g == 0 || self.block_out_channels.iter().any(|c| c % g != 0) {
            return Err(Error::model(format!(
                "block_out_channels {:?} must all be multiples of norm_num_groups {g}",
                self.block_out_channels
            )));
        }
        if self.in_channels == 0 || self.out_channels == 0 || self.latent_channels == 0 {
            return Err(Error::model("channel counts must be positive"));
        }
        Ok(())
    }

    /// The resampling of encoder stage `i` (the decoder mirrors it, counting from its input):
    /// diffusers halves space in the first log2(spatial) stages and time in the two stages
    /// before the last.
    pub fn stage_resample(&self, i: usize) -> Resample {
        let n = self.block_out_channels.len();
        let spatial_layers = self.spatial_compression_ratio.trailing_zeros() as usize;
        let time_layers = self.temporal_compression_ratio.trailing_zeros() as usize;
        let is_final = i == n - 1;
        Resample {
            space: if i < spatial_layers { 2 } else { 1 },
            time: if i + 1 + time_layers >= n && !is_final {
                2
            } else {
                1
            },
        }
    }

    /// Latent frames for `frames` video frames: the first alone, then one per 4.
    pub fn latent_frames(&self, frames: usize) -> usize {
        (frames - 1) / self.temporal_compression_ratio + 1
    }
}
