//! The Hugging Face cache layout of one repo, and Kinema's record of what a pull fetched.
//!
//! ```text
//! models--org--name/
//!   refs/main                 commit hash the branch pointed to when last pulled
//!   snapshots/<commit>/<file> relative symlinks into blobs/
//!   blobs/<etag>              file contents, named by sha256 (LFS) or git object id
//!   blobs/<etag>.incomplete   a download in progress; the next pull resumes it
//!   .kinema/<commit>.json     the files `kinema models pull` fetched (its manifest)
//! ```
//!
//! The manifest lets `resolve` tell a finished pull from an interrupted one without the
//! network; snapshots made by other tools, which have none, are judged by their
//! `model_index.json` alone.

use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::pipeline;
use crate::store::is_commit_hash;

pub(crate) fn refs_dir(repo_dir: &Path) -> PathBuf {
    repo_dir.join("refs")
}

pub(crate) fn snapshot_dir(repo_dir: &Path, commit: &str) -> PathBuf {
    repo_dir.join("snapshots").join(commit)
}

pub(crate) fn blob_path(repo_dir: &Path, etag: &str) -> PathBuf {
    repo_dir.join("blobs").join(etag)
}

pub(crate) fn incomplete_path(repo_dir: &Path, etag: &str) -> PathBuf {
    repo_dir.join("blobs").join(format!("{etag}.incomplete"))
}

fn manifest_path(repo_dir: &Path, commit: &str) -> PathBuf {
    repo_dir.join(".kinema").join(format!("{commit}.json"))
}

/// The commit a revision names in the cache: a full hash names itself, a branch or tag
/// is looked up in `refs/`. `None` when the cache has never seen the revision.
pub(crate) fn commit_for(repo_dir: &Path, revision: &str) -> Option<String> {
    if is_commit_hash(revision) {
        return snapshot_dir(repo_dir, revision)
            .is_dir()
            .then(|| revision.to_string());
    }
    let text = std::fs::read_to_string(refs_dir(repo_dir).join(revision)).ok()?;
    let commit = text.trim();
    is_commit_hash(commit).then(|| commit.to_string())
}

/// Every `(ref name, commit)` under `refs/`, including nested ones like `refs/pr/1`.
pub(crate) fn all_refs(repo_dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_refs(&refs_dir(repo_dir), "", &mut out);
    out.sort();
    out
}

fn collect_refs(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let path = entry.path();
        if path.is_dir() {
            collect_refs(&path, &format!("{name}/"), out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            let commit = text.trim();
            if is_commit_hash(commit) {
                out.push((name, commit.to_string()));
            }
        }
    }
}

/// One file a pull fetched, as the hub described it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    pub etag: String,
}

/// What `kinema models pull` fetched for one commit, and with which filters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub repo: String,
    pub commit: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    pub(crate) fn read(repo_dir: &Path, commit: &str) -> Option<Manifest> {
        let text = std::fs::read(manifest_path(repo_dir, commit)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Written last, after every file is in place, so its presence means "finished".
    pub(crate) fn write(&self, repo_dir: &Path) -> Result<()> {
        let path = manifest_path(repo_dir, &self.commit);
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal("could not serialise the pull manifest").with_source(e))?;
        let dir = path.parent().unwrap_or(repo_dir);
        std::fs::create_dir_all(dir)
            .and_then(|_| {
                let tmp = path.with_extension("json.tmp");
                std::fs::write(&tmp, text)?;
                std::fs::rename(&tmp, &path)
            })
            .map_err(|e| crate::download::io_error(e, &path))
    }
}

/// How much of a snapshot is on disk.
#[derive(Clone, Debug, Default)]
pub(crate) struct SnapshotStatus {
    /// It has a `model_index.json`: a diffusers pipeline.
    pub pipeline: bool,
    /// A pull manifest exists for this commit.
    pub pulled_by_kinema: bool,
    /// Files (or components) that should be there and are not, or have the wrong size.
    pub missing: Vec<String>,
}

impl SnapshotStatus {
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Checks one snapshot against its manifest and, for pipelines, against the components
/// its `model_index.json` names. Reads only the file system.
pub(crate) fn snapshot_status(repo_dir: &Path, commit: &str) -> SnapshotStatus {
    let snapshot = snapshot_dir(repo_dir, commit);
    let mut status = SnapshotStatus::default();
    if !snapshot.is_dir() {
        status.missing.push(format!("snapshots/{commit}/"));
        return status;
    }
    if let Some(manifest) = Manifest::read(repo_dir, commit) {
        status.pulled_by_kinema = true;
        for file in &manifest.files {
            match std::fs::metadata(snapshot.join(&file.path)) {
                Ok(meta) if meta.len() == file.size => {}
                _ => status.missing.push(file.path.clone()),
            }
        }
    }
    status.pipeline = snapshot.join(pipeline::MODEL_INDEX).is_file();
    if status.pipeline {
        for item in pipeline::missing_parts(&snapshot) {
            if !status.missing.contains(&item) {
                status.missing.push(item);
            }
        }
    } else if !status.pulled_by_kinema && is_empty_dir(&snapshot) {
        status
            .missing
            .push("(every file: the snapshot is empty)".into());
    }
    status
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

/// Bytes used by a folder's files (symlinks are not followed, so blobs count once).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.path().symlink_metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) if meta.is_file() => meta.len(),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_resolve_to_commits_and_nested_refs_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let commit = "0123456789abcdef0123456789abcdef01234567";
        std::fs::create_dir_all(repo.join("refs/pr")).unwrap();
        std::fs::write(repo.join("refs/main"), commit).unwrap();
        std::fs::write(repo.join("refs/pr/1"), format!("{commit}\n")).unwrap();
        std::fs::write(repo.join("refs/junk"), "not a hash").unwrap();
        assert_eq!(commit_for(repo, "main").as_deref(), Some(commit));
        assert_eq!(commit_for(repo, "junk"), None);
        assert_eq!(commit_for(repo, commit), None, "no snapshot folder yet");
        std::fs::create_dir_all(snapshot_dir(repo, commit)).unwrap();
        assert_eq!(commit_for(repo, commit).as_deref(), Some(commit));
        let refs = all_refs(repo);
        assert_eq!(
            refs,
            vec![
                ("main".to_string(), commit.to_string()),
                ("pr/1".to_string(), commit.to_string())
            ]
        );
    }

    #[test]
    fn manifest_files_with_wrong_size_count_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let commit = "a".repeat(40);
        let snap = snapshot_dir(repo, &commit);
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("a.txt"), "abc").unwrap();
        std::fs::write(snap.join("b.txt"), "ab").unwrap();
        let file = |path: &str, size| ManifestFile {
            path: path.into(),
            size,
            etag: "e".into(),
        };
        Manifest {
            repo: "o/n".into(),
            commit: commit.clone(),
            include: vec![],
            exclude: vec![],
            files: vec![file("a.txt", 3), file("b.txt", 3), file("c.txt", 1)],
        }
        .write(repo)
        .unwrap();
        let status = snapshot_status(repo, &commit);
        assert!(status.pulled_by_kinema);
        assert!(!status.pipeline);
        assert_eq!(status.missing, vec!["b.txt", "c.txt"]);
    }
}
