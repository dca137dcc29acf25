//! `out_dir/.kinema-batch.json`: which job last wrote which files from which inputs.
//!
//! Saved after every job, atomically, so a crash loses at most the jobs then running. A
//! record also marks the files as the batch's own: a job that must be redone may replace
//! them without `--force`, while files a person put there stay protected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};
use serde::{Deserialize, Serialize};

pub const STATE_FILE: &str = ".kinema-batch.json";
const STATE_VERSION: u32 = 1;

/// What the batch knows of one job's last run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The fingerprint of the inputs that produced the files; `None` while the job is
    /// running or after it failed, so it is redone next time.
    pub hash: Option<String>,
    /// Clip files and folders, relative to `out_dir`.
    pub outputs: Vec<PathBuf>,
    /// Sprite sheet and atlases, relative to `out_dir`.
    #[serde(default)]
    pub sheet_files: Vec<PathBuf>,
    /// Tasks submitted to a video service for this job, by request key. Kept while the
    /// job is unfinished so a rerun resumes them instead of paying again, and after it
    /// succeeds as the record of which tasks made the files.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provider_tasks: BTreeMap<String, kinema_providers::ProviderTask>,
    /// How the engine read the job's prompt (`read as: …` lines), kept so a skipped job
    /// still reports it.
    #[serde(default)]
    pub reading: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BatchState {
    version: u32,
    pub jobs: BTreeMap<String, JobRecord>,
}

impl BatchState {
    pub fn path(out_dir: &Path) -> PathBuf {
        out_dir.join(STATE_FILE)
    }

    /// The saved state, or an empty one when there is none yet.
    pub fn load(out_dir: &Path) -> Result<BatchState> {
        let path = Self::path(out_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BatchState::default()),
            Err(e) => return Err(corrupt(&path, e.to_string())),
        };
        let state: BatchState =
            serde_json::from_str(&text).map_err(|e| corrupt(&path, e.to_string()))?;
        if state.version != STATE_VERSION {
            return Err(corrupt(
                &path,
                format!(
                    "it is version {}, this Kinema reads {STATE_VERSION}",
                    state.version
                ),
            ));
        }
        Ok(state)
    }

    pub fn save(&self, out_dir: &Path) -> Result<()> {
        let state = BatchState {
            version: STATE_VERSION,
            jobs: self.jobs.clone(),
        };
        let text = serde_json::to_string_pretty(&state)
            .map_err(|e| Error::internal("cannot serialise the batch state").with_source(e))?;
        kinema_media::write_text(&Self::path(out_dir), &text, true)
    }

    /// True when the job last succeeded with this fingerprint and its files are all there.
    pub fn is_fresh(&self, id: &str, hash: &str, out_dir: &Path) -> bool {
        self.jobs.get(id).is_some_and(|r| {
            r.hash.as_deref() == Some(hash)
                && !r.outputs.is_empty()
                && r.outputs
                    .iter()
                    .chain(&r.sheet_files)
                    .all(|p| out_dir.join(p).exists())
        })
    }
}

fn corrupt(path: &Path, why: String) -> Error {
    Error::invalid(
        format!(
            "the batch state file {} cannot be used: {why}",
            path.display()
        ),
        "delete it (every job is then redone) or run with --force",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_freshness() {
        let dir = std::env::temp_dir().join(format!("kinema-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(BatchState::load(&dir).unwrap().jobs.is_empty());
        std::fs::write(dir.join("a.gif"), b"x").unwrap();
        let mut s = BatchState::default();
        s.jobs.insert(
            "a/*".into(),
            JobRecord {
                hash: Some("h1".into()),
                outputs: vec!["a.gif".into()],
                sheet_files: vec![],
                provider_tasks: BTreeMap::new(),
                reading: vec![],
            },
        );
        s.save(&dir).unwrap();
        let back = BatchState::load(&dir).unwrap();
        assert!(back.is_fresh("a/*", "h1", &dir));
        assert!(!back.is_fresh("a/*", "h2", &dir));
        assert!(!back.is_fresh("b/*", "h1", &dir));
        std::fs::remove_file(dir.join("a.gif")).unwrap();
        assert!(
            !back.is_fresh("a/*", "h1", &dir),
            "a deleted output must redo the job"
        );

        std::fs::write(BatchState::path(&dir), b"{ not json").unwrap();
        let e = BatchState::load(&dir).unwrap_err().to_string();
        assert!(e.contains("cannot be used") && e.contains("--force"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
