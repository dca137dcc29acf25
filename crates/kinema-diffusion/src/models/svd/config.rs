//! Reading the `config.json` of SVD's networks: per-block settings that diffusers accepts as
//! one value or one per block, and the check that no unknown key slipped through.

use kinema_core::{Error, Result};
use serde::Deserialize;

/// A setting given once for every block, or once per block.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum PerBlock {
    One(usize),
    Each(Vec<usize>),
}

impl PerBlock {
    /// The value for each of `blocks` blocks, or an error naming `key`.
    pub fn expand(&self, key: &str, blocks: usize) -> Result<Vec<usize>> {
        match self {
            PerBlock::One(v) => Ok(vec![*v; blocks]),
            PerBlock::Each(v) if v.len() == blocks => Ok(v.clone()),
            PerBlock::Each(v) => Err(Error::model(format!(
                "`{key}` has {} values for {blocks} blocks",
                v.len()
            ))),
        }
    }
}

/// Keys diffusers and transformers write into every config that never change the network.
const BOOKKEEPING: &[&str] = &["_class_name", "_diffusers_version", "_name_or_path"];

/// Refuses keys outside `known` and the bookkeeping ones: an unknown key may change the
/// architecture, and silently ignoring it would load a different network.
pub fn check_keys(
    what: &str,
    other: &serde_json::Map<String, serde_json::Value>,
    inert: &[&str],
) -> Result<()> {
    let unknown: Vec<&str> = other
        .keys()
        .map(String::as_str)
        .filter(|k| !BOOKKEEPING.contains(k) && !inert.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Error::unsupported(format!(
            "{what} config has keys this build does not implement: {}",
            unknown.join(", ")
        ))
        .with_hint("the checkpoint may be a variant Kinema cannot run; use a Stable Video Diffusion checkpoint in diffusers layout"))
    }
}
