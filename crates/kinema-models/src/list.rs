//! `list`: what the cache holds, whoever downloaded it.

use std::path::PathBuf;

use kinema_core::Result;
use serde::Serialize;

use crate::layout;
use crate::store::{RepoId, Store};

/// One model repo in the cache.
#[derive(Clone, Debug, Serialize)]
pub struct CachedModel {
    /// `org/name`, what `--model` and `pull` take.
    pub repo: String,
    /// The repo's cache folder (`models--org--name`).
    pub path: PathBuf,
    /// Cached revisions, the default branch first.
    pub revisions: Vec<CachedRevision>,
    /// Bytes of blobs, partial downloads included.
    pub size_on_disk: u64,
    /// Bytes of interrupted downloads waiting to be resumed.
    pub partial_bytes: u64,
    /// The default revision (main, else the first) is fully downloaded.
    pub complete: bool,
    /// The default revision is a diffusers pipeline (has `model_index.json`): usable
    /// with `--model`.
    pub pipeline: bool,
}

/// A ref (branch/tag) or bare commit with a snapshot in the cache.
#[derive(Clone, Debug, Serialize)]
pub struct CachedRevision {
    /// Branch or tag names pointing at this commit; empty for a commit pulled by hash.
    pub refs: Vec<String>,
    pub commit: String,
    pub snapshot: PathBuf,
    pub complete: bool,
    pub pipeline: bool,
    /// What is missing when incomplete.
    pub missing: Vec<String>,
}

impl Store {
    /// Every model repo in the cache, sorted by id. A missing cache folder is an empty
    /// list, not an error: nothing was downloaded yet.
    pub fn list(&self) -> Result<Vec<CachedModel>> {
        let Ok(entries) = std::fs::read_dir(&self.cache_dir) else {
            return Ok(Vec::new());
        };
        let mut models: Vec<CachedModel> = entries
            .flatten()
            .filter_map(|entry| {
                let repo = RepoId::from_folder_name(&entry.file_name().to_string_lossy())?;
                entry.path().is_dir().then(|| describe(&repo, entry.path()))
            })
            .collect();
        models.sort_by_key(|m| m.repo.to_lowercase());
        Ok(models)
    }
}

fn describe(repo: &RepoId, repo_dir: PathBuf) -> CachedModel {
    let refs = layout::all_refs(&repo_dir);
    let mut commits: Vec<String> = Vec::new();
    // main first, then other refs, then snapshots no ref points to.
    let mut ordered = refs.clone();
    ordered.sort_by_key(|(name, _)| name != "main");
    for (_, commit) in &ordered {
        if !commits.contains(commit) {
            commits.push(commit.clone());
        }
    }
    if let Ok(snapshots) = std::fs::read_dir(repo_dir.join("snapshots")) {
        let mut rest: Vec<String> = snapshots
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !commits.contains(name))
            .collect();
        rest.sort();
        commits.extend(rest);
    }
    let revisions: Vec<CachedRevision> = commits
        .into_iter()
        .map(|commit| {
            let status = layout::snapshot_status(&repo_dir, &commit);
            CachedRevision {
                refs: refs
                    .iter()
                    .filter(|(_, c)| *c == commit)
                    .map(|(name, _)| name.clone())
                    .collect(),
                snapshot: layout::snapshot_dir(&repo_dir, &commit),
                complete: status.complete(),
                pipeline: status.pipeline,
                missing: status.missing,
                commit,
            }
        })
        .collect();
    let blobs = repo_dir.join("blobs");
    let partial_bytes = std::fs::read_dir(&blobs)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let default = revisions.first();
    CachedModel {
        repo: repo.to_string(),
        size_on_disk: layout::dir_size(&blobs),
        partial_bytes,
        complete: default.is_some_and(|r| r.complete),
        pipeline: default.is_some_and(|r| r.pipeline),
        revisions,
        path: repo_dir,
    }
}

/// The `kinema models list` table.
pub fn list_table(models: &[CachedModel]) -> String {
    if models.is_empty() {
        return "no models in the cache yet\n".to_string();
    }
    let width = models
        .iter()
        .map(|m| m.repo.len())
        .max()
        .unwrap_or(0)
        .max(5);
    let mut out = format!(
        "{:<width$}  {:>10}  {:<10}  {:<8}  REVISIONS\n",
        "MODEL", "SIZE", "STATUS", "PIPELINE"
    );
    for m in models {
        let status = if m.complete {
            "complete"
        } else if m.partial_bytes > 0 {
            "partial"
        } else {
            "incomplete"
        };
        let revisions = m
            .revisions
            .iter()
            .map(|r| {
                let short = &r.commit[..r.commit.len().min(8)];
                if r.refs.is_empty() {
                    short.to_string()
                } else {
                    format!("{} ({short})", r.refs.join(","))
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!(
            "{:<width$}  {:>10}  {:<10}  {:<8}  {}\n",
            m.repo,
            human_bytes(m.size_on_disk),
            status,
            if m.pipeline { "yes" } else { "no" },
            revisions
        ));
    }
    out
}

/// Sizes as people read them: 1.5 KiB, 9.3 GiB.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_humanized() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(10 * 1024 * 1024 * 1024), "10.0 GiB");
    }

    #[test]
    fn a_missing_cache_is_an_empty_list_and_foreign_folders_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("nope"), "http://x");
        assert!(store.list().unwrap().is_empty());
        std::fs::create_dir_all(dir.path().join("datasets--a--b")).unwrap();
        std::fs::create_dir_all(dir.path().join(".locks")).unwrap();
        let store = Store::new(dir.path(), "http://x");
        assert!(store.list().unwrap().is_empty());
        assert_eq!(list_table(&[]), "no models in the cache yet\n");
    }
}
