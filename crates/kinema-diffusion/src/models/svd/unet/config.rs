//! `config.json` of a diffusers `UNetSpatioTemporalConditionModel`.

use std::path::Path;

use kinema_core::{Error, Result};
use serde::Deserialize;

use crate::models::svd::config::{check_keys, PerBlock};

/// The block kinds SVD's U-Net is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockType {
    /// `DownBlockSpatioTemporal` / `UpBlockSpatioTemporal`: residual blocks only.
    Plain,
    /// `CrossAttnDownBlockSpatioTemporal` / `CrossAttnUpBlockSpatioTemporal`: each residual
    /// block followed by a spatio-temporal transformer.
    CrossAttention,
}

/// Hyper-parameters, with diffusers' defaults (those of SVD) for keys a checkpoint omits.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct UNetConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    pub down_block_types: Vec<String>,
    pub up_block_types: Vec<String>,
    pub block_out_channels: Vec<usize>,
    pub addition_time_embed_dim: usize,
    pub projection_class_embeddings_input_dim: usize,
    pub layers_per_block: PerBlock,
    pub cross_attention_dim: PerBlock,
    pub transformer_layers_per_block: PerBlock,
    pub num_attention_heads: PerBlock,
    /// Frames the model was trained on (25 for SVD-XT): the pipeline's default.
    pub num_frames: usize,
    /// Latent size the model was trained on: the pipeline's default size / 8.
    pub sample_size: Option<usize>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Default for UNetConfig {
    fn default() -> Self {
        let down = "CrossAttnDownBlockSpatioTemporal";
        let up = "CrossAttnUpBlockSpatioTemporal";
        UNetConfig {
            in_channels: 8,
            out_channels: 4,
            down_block_types: vec![down, down, down, "DownBlockSpatioTemporal"]
                .into_iter()
                .map(String::from)
                .collect(),
            up_block_types: vec!["UpBlockSpatioTemporal", up, up, up]
                .into_iter()
                .map(String::from)
                .collect(),
            block_out_channels: vec![320, 640, 1280, 1280],
            addition_time_embed_dim: 256,
            projection_class_embeddings_input_dim: 768,
            layers_per_block: PerBlock::One(2),
            cross_attention_dim: PerBlock::One(1024),
            transformer_layers_per_block: PerBlock::One(1),
            num_attention_heads: PerBlock::Each(vec![5, 10, 20, 20]),
            num_frames: 25,
            sample_size: None,
            other: Default::default(),
        }
    }
}

/// Per-block settings, expanded and checked.
#[derive(Clone, Debug)]
pub struct Level {
    pub down: BlockType,
    pub up: BlockType,
    pub channels: usize,
    pub layers: usize,
    pub transformer_layers: usize,
    pub heads: usize,
    pub cross_attention_dim: usize,
}

fn block_type(name: &str, down: bool) -> Result<BlockType> {
    let (plain, cross) = if down {
        (
            "DownBlockSpatioTemporal",
            "CrossAttnDownBlockSpatioTemporal",
        )
    } else {
        ("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal")
    };
    if name == plain {
        Ok(BlockType::Plain)
    } else if name == cross {
        Ok(BlockType::CrossAttention)
    } else {
        Err(Error::unsupported(format!(
            "U-Net block type `{name}` is not a spatio-temporal block"
        ))
        .with_hint(format!("supported: {plain}, {cross}")))
    }
}

impl UNetConfig {
    /// Reads `<dir>/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let config: UNetConfig = crate::weights::read_config(dir)?;
        config.levels().map_err(|e| Error {
            message: format!("{}: {}", dir.join("config.json").display(), e.message),
            ..e
        })?;
        Ok(config)
    }

    /// Time-embedding width (4 × the first block's channels).
    pub fn time_embed_dim(&self) -> usize {
        4 * self.block_out_channels.first().copied().unwrap_or(0)
    }

    /// Latent pixels per U-Net pixel at the lowest level.
    pub fn downsample_factor(&self) -> usize {
        1 << self.block_out_channels.len().saturating_sub(1)
    }

    /// Every level's settings, validated (also the check `from_dir` runs).
    pub fn levels(&self) -> Result<Vec<Level>> {
        check_keys("UNetSpatioTemporalConditionModel", &self.other, &[])?;
        let n = self.block_out_channels.len();
        if n == 0 || self.down_block_types.len() != n || self.up_block_types.len() != n {
            return Err(Error::model(format!(
                "{} down blocks, {} up blocks and {n} block_out_channels must all agree",
                self.down_block_types.len(),
                self.up_block_types.len()
            )));
        }
        let layers = self.layers_per_block.expand("layers_per_block", n)?;
        let transformer = self
            .transformer_layers_per_block
            .expand("transformer_layers_per_block", n)?;
        let heads = self.num_attention_heads.expand("num_attention_heads", n)?;
        let cross = self.cross_attention_dim.expand("cross_attention_dim", n)?;
        let reversed_up: Vec<&String> = self.up_block_types.iter().rev().collect();
        let mut levels = Vec::with_capacity(n);
        for i in 0..n {
            let channels = self.block_out_channels[i];
            if channels == 0 || !channels.is_multiple_of(32) {
                return Err(Error::model(format!(
                    "block_out_channels[{i}] = {channels} is not a multiple of 32 (GroupNorm's groups)"
                )));
            }
            if heads[i] == 0 || !channels.is_multiple_of(heads[i]) {
                return Err(Error::model(format!(
                    "block {i}: {channels} channels are not a multiple of {} heads",
                    heads[i]
                )));
            }
            levels.push(Level {
                down: block_type(&self.down_block_types[i], true)?,
                up: block_type(reversed_up[i], false)?,
                channels,
                layers: layers[i],
                transformer_layers: transformer[i],
                heads: heads[i],
                cross_attention_dim: cross[i],
            });
        }
        if self.in_channels == 0 || self.out_channels == 0 {
            return Err(Error::model(
                "in_channels and out_channels must be positive",
            ));
        }
        Ok(levels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<UNetConfig> {
        let c: UNetConfig = serde_json::from_str(json).unwrap();
        c.levels()?;
        Ok(c)
    }

    #[test]
    fn svd_xt_defaults_and_per_block_values() {
        let c = parse(r#"{"_class_name": "UNetSpatioTemporalConditionModel", "sample_size": 96}"#)
            .unwrap();
        let levels = c.levels().unwrap();
        assert_eq!(levels.len(), 4);
        assert_eq!(levels[0].down, BlockType::CrossAttention);
        assert_eq!(levels[3].down, BlockType::Plain);
        // Up blocks are listed from the bottom; levels are indexed from the top.
        assert_eq!(levels[3].up, BlockType::Plain);
        assert_eq!(levels[0].up, BlockType::CrossAttention);
        assert_eq!((levels[2].heads, levels[2].channels), (20, 1280));
        assert_eq!(c.time_embed_dim(), 1280);
        assert_eq!(c.downsample_factor(), 8);
    }

    #[test]
    fn bad_configs_are_named() {
        let err = parse(r#"{"num_attention_heads": [5, 10]}"#).unwrap_err();
        assert!(
            err.message.contains("num_attention_heads"),
            "{}",
            err.message
        );
        let err = parse(r#"{"block_out_channels": [320, 640, 1280, 1000]}"#).unwrap_err();
        assert!(err.message.contains("multiple of 32"), "{}", err.message);
        let err = parse(r#"{"time_cond_proj_dim": 8}"#).unwrap_err();
        assert!(
            err.message.contains("time_cond_proj_dim"),
            "{}",
            err.message
        );
        let err = parse(
            r#"{"down_block_types": ["DownBlock3D", "DownBlock3D", "DownBlock3D", "DownBlock3D"]}"#,
        )
        .unwrap_err();
        assert!(err.message.contains("DownBlock3D"), "{}", err.message);
    }
}
