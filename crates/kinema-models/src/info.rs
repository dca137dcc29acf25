//! `info`: what a pipeline is made of, read from configs and safetensors headers only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kinema_core::Result;
use serde::Serialize;

use crate::layout;
use crate::list::human_bytes;
use crate::pipeline::{self, PipelineIndex};
use crate::resolve::ModelSource;
use crate::store::{check_revision, RepoId, Store};
use crate::weights::{self, WeightSummary};

/// Config keys worth showing: model sizes and the latent shape engines depend on.
const KEY_CONFIG: &[&str] = &[
    "num_layers",
    "num_attention_heads",
    "attention_head_dim",
    "in_channels",
    "out_channels",
    "patch_size",
    "z_dim",
    "base_dim",
    "d_model",
    "num_heads",
    "vocab_size",
    "text_dim",
    "ffn_dim",
];

/// A pipeline and its components.
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    /// What the user asked about (folder or hub id).
    pub model: String,
    pub dir: PathBuf,
    pub source: ModelSource,
    /// The diffusers pipeline class, e.g. `WanPipeline`.
    pub pipeline_class: Option<String>,
    pub diffusers_version: Option<String>,
    pub components: Vec<ComponentInfo>,
    pub parameters: u64,
    pub size_on_disk: u64,
    /// Parts that should be there and are not; empty for a usable model.
    pub missing: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ComponentInfo {
    pub name: String,
    pub library: String,
    pub class: String,
    /// Safetensors files holding its weights (0 for schedulers and tokenizers).
    pub weight_files: usize,
    #[serde(flatten)]
    pub weights: WeightSummary,
    /// Bytes of the component folder (symlinks followed).
    pub size_on_disk: u64,
    /// The [`KEY_CONFIG`] values its `config.json` sets.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Why its weights could not be read, if they could not.
    pub problem: Option<String>,
}

impl Store {
    /// Describes a local pipeline folder or a cached hub model (complete or not).
    pub fn info(&self, model: &str, revision: Option<&str>) -> Result<ModelInfo> {
        let folder = Path::new(model);
        let (dir, source, mut missing) = if folder.join(pipeline::MODEL_INDEX).is_file() {
            // A local folder, described even when parts are missing.
            let dir = folder
                .canonicalize()
                .unwrap_or_else(|_| folder.to_path_buf());
            let missing = pipeline::missing_parts(&dir);
            (dir, ModelSource::Local, missing)
        } else {
            self.describe_target(model, revision)?
        };
        let index = PipelineIndex::read(&dir)?;
        let components: Vec<ComponentInfo> = index
            .components
            .iter()
            .map(|c| describe_component(&dir, c))
            .collect();
        for c in &components {
            if let Some(problem) = &c.problem {
                let item = format!("{}/ ({problem})", c.name);
                if !missing
                    .iter()
                    .any(|m| m.starts_with(&format!("{}/", c.name)))
                {
                    missing.push(item);
                }
            }
        }
        Ok(ModelInfo {
            model: model.to_string(),
            parameters: components.iter().map(|c| c.weights.parameters).sum(),
            size_on_disk: followed_size(&dir),
            pipeline_class: index.class_name,
            diffusers_version: index.diffusers_version,
            components,
            missing,
            source,
            dir,
        })
    }

    /// A hub id's snapshot, complete or not; anything else goes through `resolve`.
    fn describe_target(
        &self,
        model: &str,
        revision: Option<&str>,
    ) -> Result<(PathBuf, ModelSource, Vec<String>)> {
        match self.resolve(model, revision) {
            Ok(resolved) => Ok((resolved.dir, resolved.source, Vec::new())),
            // An interrupted pull is still worth describing: say what is there.
            Err(err) if !Path::new(model).exists() && RepoId::parse(model).is_ok() => {
                let repo = RepoId::parse(model)?;
                let revision = revision.unwrap_or("main");
                check_revision(revision)?;
                let located = self.locate(&repo, revision).map_err(|_| err)?;
                let status = layout::snapshot_status(&located.repo_dir, &located.commit);
                let source = ModelSource::Cache {
                    repo: repo.to_string(),
                    revision: revision.to_string(),
                    commit: located.commit,
                };
                Ok((located.snapshot, source, status.missing))
            }
            Err(err) => Err(err),
        }
    }
}

fn describe_component(dir: &Path, component: &pipeline::ComponentRef) -> ComponentInfo {
    let folder = dir.join(&component.name);
    let mut info = ComponentInfo {
        name: component.name.clone(),
        library: component.library.clone(),
        class: component.class.clone(),
        weight_files: 0,
        weights: WeightSummary::default(),
        size_on_disk: followed_size(&folder),
        config: key_config(&folder),
        problem: None,
    };
    if !folder.is_dir() {
        info.problem = Some("folder missing".into());
        return info;
    }
    let files = match pipeline::weight_files(&folder) {
        Ok(files) => files,
        Err(e) => {
            info.problem = Some(e.message);
            return info;
        }
    };
    info.weight_files = files.len();
    for file in &files {
        match weights::read_header(file) {
            Ok(summary) => info.weights.add(&summary),
            Err(e) => {
                info.problem = Some(e.message);
                break;
            }
        }
    }
    info
}

fn key_config(folder: &Path) -> BTreeMap<String, serde_json::Value> {
    let Ok(text) = std::fs::read(folder.join("config.json")) else {
        return BTreeMap::new();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(&text) else {
        return BTreeMap::new();
    };
    KEY_CONFIG
        .iter()
        .filter_map(|key| {
            map.get(*key)
                .filter(|v| !v.is_null())
                .map(|v| (key.to_string(), v.clone()))
        })
        .collect()
}

/// Bytes of a folder's files, following symlinks (snapshot entries point into blobs).
fn followed_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match std::fs::metadata(entry.path()) {
            Ok(meta) if meta.is_dir() => followed_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

impl ModelInfo {
    /// The `kinema models info` table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("model     {}\n", self.model));
        out.push_str(&format!("folder    {}\n", self.dir.display()));
        if let ModelSource::Cache {
            repo,
            revision,
            commit,
        } = &self.source
        {
            out.push_str(&format!("source    {repo} @ {revision} ({commit})\n"));
        }
        out.push_str(&format!(
            "pipeline  {}{}\n",
            self.pipeline_class.as_deref().unwrap_or("(unnamed)"),
            self.diffusers_version
                .as_deref()
                .map(|v| format!(" (diffusers {v})"))
                .unwrap_or_default()
        ));
        out.push_str(&format!(
            "total     {} parameters, {} on disk\n\n",
            human_count(self.parameters),
            human_bytes(self.size_on_disk)
        ));
        let name_w = self
            .components
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0)
            .max(9);
        let class_w = self
            .components
            .iter()
            .map(|c| c.class.len())
            .max()
            .unwrap_or(0)
            .max(5);
        out.push_str(&format!(
            "{:<name_w$}  {:<class_w$}  {:>10}  {:<14}  {:>10}  CONFIG\n",
            "COMPONENT", "CLASS", "PARAMS", "DTYPES", "SIZE"
        ));
        for c in &self.components {
            let dtypes = c
                .weights
                .dtypes
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(",");
            let params = if c.weight_files == 0 {
                "-".to_string()
            } else {
                human_count(c.weights.parameters)
            };
            out.push_str(&format!(
                "{:<name_w$}  {:<class_w$}  {:>10}  {:<14}  {:>10}  {}\n",
                c.name,
                c.class,
                params,
                if dtypes.is_empty() { "-" } else { &dtypes },
                human_bytes(c.size_on_disk),
                config_summary(c)
            ));
        }
        if !self.missing.is_empty() {
            out.push_str(&format!("\nmissing: {}\n", self.missing.join(", ")));
        }
        out
    }
}

/// `num_layers=30 heads=24×128 in_channels=48`, with the attention width spelled out.
fn config_summary(c: &ComponentInfo) -> String {
    let mut parts = Vec::new();
    let heads = c.config.get("num_attention_heads").and_then(|v| v.as_u64());
    let head_dim = c.config.get("attention_head_dim").and_then(|v| v.as_u64());
    for (key, value) in &c.config {
        match (key.as_str(), heads, head_dim) {
            ("num_attention_heads", Some(h), Some(d)) => {
                parts.push(format!("heads={h}×{d}={}", h * d))
            }
            ("attention_head_dim", Some(_), Some(_)) => {}
            _ => parts.push(format!("{key}={}", compact_json(value))),
        }
    }
    parts.join(" ")
}

fn compact_json(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Parameter counts as people say them: 5.0B, 1.3M, 4288.
pub fn human_count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}K", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.2}B", n as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_humanized() {
        assert_eq!(human_count(4288), "4288");
        assert_eq!(human_count(12_345), "12.3K");
        assert_eq!(human_count(5_000_000_000), "5.00B");
    }

    #[test]
    fn attention_width_is_spelled_out() {
        let mut config = BTreeMap::new();
        config.insert("num_attention_heads".into(), 24.into());
        config.insert("attention_head_dim".into(), 128.into());
        config.insert("num_layers".into(), 30.into());
        let c = ComponentInfo {
            name: "transformer".into(),
            library: "diffusers".into(),
            class: "WanTransformer3DModel".into(),
            weight_files: 0,
            weights: WeightSummary::default(),
            size_on_disk: 0,
            config,
            problem: None,
        };
        assert_eq!(config_summary(&c), "heads=24×128=3072 num_layers=30");
    }
}
