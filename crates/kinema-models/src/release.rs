//! Model folders that are not diffusers pipelines but a project's own release layout, which
//! an engine reads as is. One so far: Open-Sora 2.0 (`hpcai-tech/Open-Sora-v2`), laid out as
//! Open-Sora's inference configs read `./ckpts`:
//!
//! ```text
//! Open_Sora_v2.safetensors        the MMDiT
//! hunyuan_vae.safetensors         the HunyuanVideo VAE
//! google/t5-v1_1-xxl/             T5 v1.1 XXL (config.json, safetensors, tokenizer.json)
//! openai/clip-vit-large-patch14/  CLIP-L/14 (config.json, safetensors, tokenizer.json)
//! ```
//!
//! The two text encoders are hosted separately too (`google/t5-v1_1-xxl`,
//! `openai/clip-vit-large-patch14`); when a copy lacks them, the error names both repos and
//! where their files go.

use std::path::Path;

/// The file that marks a folder as an Open-Sora 2.0 release.
pub const OPEN_SORA_MMDIT: &str = "Open_Sora_v2.safetensors";
/// The hub id of the release.
pub const OPEN_SORA_REPO: &str = "hpcai-tech/Open-Sora-v2";
/// The text encoders the release needs, as `(folder in the release, hub repo)`.
pub const OPEN_SORA_TEXT_ENCODERS: [(&str, &str); 2] = [
    ("google/t5-v1_1-xxl", "google/t5-v1_1-xxl"),
    (
        "openai/clip-vit-large-patch14",
        "openai/clip-vit-large-patch14",
    ),
];

/// Whether `dir` is laid out as an Open-Sora 2.0 release.
pub fn is_open_sora(dir: &Path) -> bool {
    dir.join(OPEN_SORA_MMDIT).is_file()
}

/// What an Open-Sora 2.0 folder lacks, as relative paths (empty when complete).
pub fn open_sora_missing(dir: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    for file in [OPEN_SORA_MMDIT, "hunyuan_vae.safetensors"] {
        if !dir.join(file).is_file() {
            missing.push(file.to_string());
        }
    }
    for (folder, _) in OPEN_SORA_TEXT_ENCODERS {
        let path = dir.join(folder);
        for file in ["config.json", "tokenizer.json"] {
            if !path.join(file).is_file() {
                missing.push(format!("{folder}/{file}"));
            }
        }
        let has_weights = std::fs::read_dir(&path).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".safetensors"))
        });
        if !has_weights {
            missing.push(format!("{folder}/ (safetensors weights)"));
        }
    }
    missing
}

/// How to complete an Open-Sora folder that lacks `missing` (from [`open_sora_missing`]).
pub fn open_sora_hint(dir: &Path, missing: &[String]) -> String {
    let mut steps = Vec::new();
    if missing
        .iter()
        .any(|m| m == OPEN_SORA_MMDIT || m == "hunyuan_vae.safetensors")
    {
        steps.push(format!("run `kinema models pull {OPEN_SORA_REPO}`"));
    }
    for (folder, repo) in OPEN_SORA_TEXT_ENCODERS {
        let lacks = |what: &str| {
            missing
                .iter()
                .any(|m| m.starts_with(folder) && m.contains(what))
        };
        if lacks("config.json") || lacks("weights") {
            steps.push(format!(
                "pull {repo} (`kinema models pull {repo} --include '*.json' --include \
                 '*.safetensors'`) and copy its files into {}",
                dir.join(folder).display()
            ));
        } else if lacks("tokenizer.json") {
            steps.push(format!(
                "write {folder}/tokenizer.json with transformers: `python -c \"from transformers \
                 import AutoTokenizer as T; T.from_pretrained('{p}').save_pretrained('{p}')\"`",
                p = dir.join(folder).display()
            ));
        }
    }
    steps.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incomplete_release_names_each_part_and_the_repos_to_pull() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(OPEN_SORA_MMDIT), b"x").unwrap();
        assert!(is_open_sora(dir.path()));
        let missing = open_sora_missing(dir.path());
        assert!(missing.contains(&"hunyuan_vae.safetensors".to_string()));
        assert!(missing.contains(&"google/t5-v1_1-xxl/config.json".to_string()));
        let hint = open_sora_hint(dir.path(), &missing);
        assert!(
            hint.contains("kinema models pull hpcai-tech/Open-Sora-v2"),
            "{hint}"
        );
        assert!(
            hint.contains("kinema models pull google/t5-v1_1-xxl"),
            "{hint}"
        );
        assert!(hint.contains("openai/clip-vit-large-patch14"), "{hint}");

        // Only a tokenizer.json missing: say how to write it, not to re-download.
        let t5 = dir.path().join("google/t5-v1_1-xxl");
        std::fs::create_dir_all(&t5).unwrap();
        std::fs::write(t5.join("config.json"), "{}").unwrap();
        std::fs::write(t5.join("model.safetensors"), b"x").unwrap();
        let missing = open_sora_missing(dir.path());
        let hint = open_sora_hint(dir.path(), &missing);
        assert!(hint.contains("save_pretrained"), "{hint}");
    }
}
