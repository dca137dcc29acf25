//! A diffusers pipeline folder: `model_index.json` naming components, one folder each.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};
use serde::Serialize;

pub const MODEL_INDEX: &str = "model_index.json";

/// What `model_index.json` says the pipeline is made of.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineIndex {
    /// The diffusers pipeline class, e.g. `WanPipeline`.
    pub class_name: Option<String>,
    pub diffusers_version: Option<String>,
    pub components: Vec<ComponentRef>,
}

/// One entry such as `"vae": ["diffusers", "AutoencoderKLWan"]`.
#[derive(Clone, Debug, Serialize)]
pub struct ComponentRef {
    pub name: String,
    pub library: String,
    pub class: String,
}

impl PipelineIndex {
    pub fn read(dir: &Path) -> Result<PipelineIndex> {
        let path = dir.join(MODEL_INDEX);
        let text = std::fs::read(&path)
            .map_err(|e| Error::model(format!("cannot read {}", path.display())).with_source(e))?;
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
            Error::model(format!("{} is not valid JSON", path.display()))
                .with_source(e)
                .with_hint("the download may be damaged: pull the model again")
        })?;
        let Some(map) = value.as_object() else {
            return Err(Error::model(format!(
                "{} is not a JSON object",
                path.display()
            )));
        };
        let text_of = |key: &str| map.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let mut components = Vec::new();
        for (name, entry) in map {
            if name.starts_with('_') {
                continue;
            }
            // Components are `[library, class]`; `[null, null]` marks an unused slot.
            if let Some([library, class]) = entry.as_array().map(Vec::as_slice) {
                if let (Some(library), Some(class)) = (library.as_str(), class.as_str()) {
                    components.push(ComponentRef {
                        name: name.clone(),
                        library: library.to_string(),
                        class: class.to_string(),
                    });
                }
            }
        }
        // JSON key order depends on serde_json features; keep listings stable.
        components.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(PipelineIndex {
            class_name: text_of("_class_name"),
            diffusers_version: text_of("_diffusers_version"),
            components,
        })
    }
}

/// The safetensors files holding a component's weights: the shards its
/// `*.safetensors.index.json` lists (which must all exist), else every `*.safetensors`.
pub fn weight_files(component_dir: &Path) -> Result<Vec<PathBuf>> {
    let (files, missing) = weight_files_and_missing(component_dir)?;
    if let Some(first) = missing.first() {
        return Err(Error::model(format!(
            "{} lists the shard {first}, which is not there ({} missing)",
            component_dir.display(),
            missing.len()
        ))
        .with_hint("the download is incomplete: pull the model again (it resumes)"));
    }
    Ok(files)
}

fn weight_files_and_missing(component_dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let mut names: Vec<String> = std::fs::read_dir(component_dir)
        .map_err(|e| {
            Error::model(format!("cannot read {}", component_dir.display())).with_source(e)
        })?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut files = BTreeSet::new();
    let mut missing = Vec::new();
    let mut indexed = false;
    for index in names
        .iter()
        .filter(|n| n.ends_with(".safetensors.index.json"))
    {
        indexed = true;
        for shard in index_shards(&component_dir.join(index))? {
            let path = component_dir.join(&shard);
            if path.is_file() {
                files.insert(path);
            } else {
                missing.push(shard);
            }
        }
    }
    if !indexed {
        files.extend(
            names
                .iter()
                .filter(|n| n.ends_with(".safetensors"))
                .map(|n| component_dir.join(n)),
        );
    }
    Ok((files.into_iter().collect(), missing))
}

/// Shard file names from a `weight_map`, refusing names that would leave the folder.
fn index_shards(index: &Path) -> Result<BTreeSet<String>> {
    let bad = |why: &str| {
        Error::model(format!(
            "{} is not a usable shard index: {why}",
            index.display()
        ))
        .with_hint("the download may be damaged: pull the model again")
    };
    let text = std::fs::read(index)
        .map_err(|e| Error::model(format!("cannot read {}", index.display())).with_source(e))?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|_| bad("not valid JSON"))?;
    let map = value
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no weight_map object"))?;
    let mut shards = BTreeSet::new();
    for shard in map.values() {
        let name = shard
            .as_str()
            .ok_or_else(|| bad("a shard name is not text"))?;
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(bad(&format!("shard `{name}` is outside the folder")));
        }
        shards.insert(name.to_string());
    }
    Ok(shards)
}

/// Components (and shards) a pipeline folder names but lacks, as `vae/` or
/// `transformer/diffusion_pytorch_model-00002-of-00003.safetensors`. A folder without a
/// readable `model_index.json` reports that file.
pub fn missing_parts(dir: &Path) -> Vec<String> {
    let Ok(index) = PipelineIndex::read(dir) else {
        return vec![MODEL_INDEX.to_string()];
    };
    let mut missing = Vec::new();
    for component in &index.components {
        let folder = dir.join(&component.name);
        let has_files = std::fs::read_dir(&folder).is_ok_and(|mut e| e.next().is_some());
        if !has_files {
            missing.push(format!("{}/", component.name));
            continue;
        }
        // Model components carry a config.json and must have weights beside it.
        if folder.join("config.json").is_file() {
            match weight_files_and_missing(&folder) {
                Ok((files, shards)) => {
                    missing.extend(shards.iter().map(|s| format!("{}/{s}", component.name)));
                    if files.is_empty() && shards.is_empty() && !has_bin_weights(&folder) {
                        missing.push(format!("{}/ (weights)", component.name));
                    }
                }
                Err(_) => missing.push(format!("{}/ (unreadable shard index)", component.name)),
            }
        }
    }
    missing
}

/// PyTorch pickles count as present weights even though Kinema reads only safetensors.
fn has_bin_weights(folder: &Path) -> bool {
    std::fs::read_dir(folder).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".bin"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn components_skip_private_keys_and_null_slots() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            MODEL_INDEX,
            r#"{"_class_name":"WanPipeline","_diffusers_version":"0.35.0",
                "vae":["diffusers","AutoencoderKLWan"],"transformer_2":[null,null],
                "boundary_ratio":null,"expand_timesteps":true}"#,
        );
        let index = PipelineIndex::read(dir.path()).unwrap();
        assert_eq!(index.class_name.as_deref(), Some("WanPipeline"));
        assert_eq!(index.components.len(), 1);
        assert_eq!(index.components[0].class, "AutoencoderKLWan");
    }

    #[test]
    fn missing_components_and_shards_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            MODEL_INDEX,
            r#"{"vae":["diffusers","V"],"transformer":["diffusers","T"],
                "scheduler":["diffusers","S"],"text_encoder":["transformers","E"]}"#,
        );
        write(d, "scheduler/scheduler_config.json", "{}");
        write(d, "vae/config.json", "{}");
        write(d, "transformer/config.json", "{}");
        write(
            d,
            "transformer/m.safetensors.index.json",
            r#"{"weight_map":{"a":"m-1.safetensors","b":"m-2.safetensors"}}"#,
        );
        write(d, "transformer/m-1.safetensors", "x");
        let missing = missing_parts(d);
        assert_eq!(
            missing,
            vec![
                "text_encoder/",
                "transformer/m-2.safetensors",
                "vae/ (weights)"
            ]
        );
        assert!(weight_files(&d.join("transformer")).is_err());
        write(d, "transformer/m-2.safetensors", "x");
        assert_eq!(weight_files(&d.join("transformer")).unwrap().len(), 2);
    }

    #[test]
    fn shard_names_that_escape_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "m.safetensors.index.json",
            r#"{"weight_map":{"a":"../../etc/passwd"}}"#,
        );
        assert!(weight_files(dir.path()).is_err());
        assert_eq!(missing_parts(dir.path()), vec![MODEL_INDEX]);
    }
}
