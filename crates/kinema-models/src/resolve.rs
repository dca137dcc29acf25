//! `resolve`: turn what the user typed after `--model` into a pipeline folder, offline.

use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};
use serde::Serialize;

use crate::layout;
use crate::pipeline::{self, MODEL_INDEX};
use crate::store::{check_revision, RepoId, Store};

/// A model ready to load: a diffusers pipeline folder (or a release folder an engine reads
/// as is, see [`crate::release`]) and where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct ResolvedModel {
    /// The folder holding `model_index.json` and one subfolder per component, or an
    /// Open-Sora 2.0 release.
    pub dir: PathBuf,
    pub source: ModelSource,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelSource {
    /// A folder the user gave, used as is.
    Local,
    /// A snapshot in the Hugging Face cache.
    Cache {
        repo: String,
        revision: String,
        commit: String,
    },
}

/// The exact command that fetches (or finishes fetching) a model.
pub fn pull_command(repo: &RepoId, revision: &str) -> String {
    if revision == "main" {
        format!("kinema models pull {repo}")
    } else {
        format!("kinema models pull {repo} --revision {revision}")
    }
}

impl Store {
    /// Finds a model without touching the network: an existing folder is used as is
    /// (it must hold `model_index.json`); an `org/name` id must be fully pulled.
    pub fn resolve(&self, model: &str, revision: Option<&str>) -> Result<ResolvedModel> {
        let model = model.trim();
        let path = Path::new(model);
        if path.exists() {
            return resolve_folder(path);
        }
        if looks_like_path(model) {
            return Err(Error::invalid(
                format!("model folder {model} does not exist"),
                format!(
                    "give a diffusers pipeline folder, or a hub id such as {} after `kinema \
                     models pull`",
                    crate::DEFAULT_MODEL
                ),
            ));
        }
        let repo = RepoId::parse(model)?;
        let revision = revision.unwrap_or("main");
        check_revision(revision)?;
        let located = self.locate(&repo, revision)?;
        let status = layout::snapshot_status(&located.repo_dir, &located.commit);
        let command = pull_command(&repo, revision);
        if crate::release::is_open_sora(&located.snapshot) {
            let missing = crate::release::open_sora_missing(&located.snapshot);
            if !missing.is_empty() {
                return Err(Error::model(format!(
                    "the cached {repo} is not a complete Open-Sora 2.0 release: {} missing",
                    summarize(&missing)
                ))
                .with_hint(crate::release::open_sora_hint(&located.snapshot, &missing)));
            }
        } else if !status.pipeline {
            return Err(Error::model(format!(
                "the cached {repo} has no {MODEL_INDEX}: it is not a diffusers pipeline, or its \
                 pull was interrupted"
            ))
            .with_hint(format!(
                "run `{command}` to finish it, or use a repo in diffusers layout (e.g. {})",
                crate::DEFAULT_MODEL
            )));
        }
        if !status.complete() {
            return Err(Error::model(format!(
                "the cached {repo} is incomplete: {} missing",
                summarize(&status.missing)
            ))
            .with_hint(format!("run `{command}`: it resumes where it stopped")));
        }
        Ok(ResolvedModel {
            dir: located.snapshot,
            source: ModelSource::Cache {
                repo: repo.to_string(),
                revision: revision.to_string(),
                commit: located.commit,
            },
        })
    }

    /// The cached snapshot of a revision, complete or not.
    pub(crate) fn locate(&self, repo: &RepoId, revision: &str) -> Result<Located> {
        let repo_dir = self.repo_dir(repo);
        let not_cached = || {
            Error::model(format!(
                "model {repo} (revision {revision}) is not downloaded (looked in {})",
                self.cache_dir.display()
            ))
            .with_hint(format!(
                "run `{}` first (or set HF_HOME/HF_HUB_CACHE to where it is)",
                pull_command(repo, revision)
            ))
        };
        let commit = layout::commit_for(&repo_dir, revision).ok_or_else(not_cached)?;
        let snapshot = layout::snapshot_dir(&repo_dir, &commit);
        if !snapshot.is_dir() {
            return Err(not_cached());
        }
        Ok(Located {
            repo_dir,
            commit,
            snapshot,
        })
    }
}

pub(crate) struct Located {
    pub repo_dir: PathBuf,
    pub commit: String,
    pub snapshot: PathBuf,
}

fn resolve_folder(path: &Path) -> Result<ResolvedModel> {
    if !path.is_dir() {
        return Err(Error::invalid(
            format!("{} is a file, not a model folder", path.display()),
            "give the folder that holds model_index.json",
        ));
    }
    if crate::release::is_open_sora(path) {
        let missing = crate::release::open_sora_missing(path);
        if !missing.is_empty() {
            return Err(Error::model(format!(
                "the Open-Sora 2.0 folder {} is incomplete: {} missing",
                path.display(),
                summarize(&missing)
            ))
            .with_hint(crate::release::open_sora_hint(path, &missing)));
        }
        let dir = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        return Ok(ResolvedModel {
            dir,
            source: ModelSource::Local,
        });
    }
    if !path.join(MODEL_INDEX).is_file() {
        return Err(Error::model(format!(
            "{} is not a diffusers pipeline folder: {MODEL_INDEX} is missing",
            path.display()
        ))
        .with_hint(format!(
            "give the folder that holds {MODEL_INDEX} (with transformer/, vae/, … beside it), or \
             a hub id such as {}",
            crate::DEFAULT_MODEL
        )));
    }
    let missing = pipeline::missing_parts(path);
    if !missing.is_empty() {
        return Err(Error::model(format!(
            "the pipeline folder {} is incomplete: {} missing",
            path.display(),
            summarize(&missing)
        ))
        .with_hint("copy or download the missing components into it"));
    }
    let dir = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    Ok(ResolvedModel {
        dir,
        source: ModelSource::Local,
    })
}

/// Things that can only be paths, never `org/name`.
fn looks_like_path(model: &str) -> bool {
    model.starts_with(['.', '/', '~', '\\'])
        || model.ends_with(['/', '\\'])
        || model.contains('\\')
        || model.matches('/').count() > 1
        || Path::new(model).is_absolute()
}

fn summarize(items: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_ids_are_told_apart() {
        assert!(looks_like_path("./wan"));
        assert!(looks_like_path("/models/wan"));
        assert!(looks_like_path("models/wan/"));
        assert!(looks_like_path("a/b/c"));
        assert!(!looks_like_path("Wan-AI/Wan2.2-TI2V-5B-Diffusers"));
    }

    #[test]
    fn missing_things_are_summarized() {
        let items: Vec<String> = (0..6).map(|i| format!("f{i}")).collect();
        assert_eq!(summarize(&items[..2]), "f0, f1");
        assert_eq!(summarize(&items), "f0, f1, f2, f3 and 2 more");
    }

    #[test]
    fn pull_command_names_non_default_revisions() {
        let repo = RepoId::parse("o/n").unwrap();
        assert_eq!(pull_command(&repo, "main"), "kinema models pull o/n");
        assert_eq!(
            pull_command(&repo, "v2"),
            "kinema models pull o/n --revision v2"
        );
    }
}
