//! Remembering provider tasks, so an interrupted run resumes by polling the task it
//! already paid for instead of submitting again.
//!
//! An entry is written *before* the create request is sent (state `submitting`), updated
//! with the provider's task id as soon as the answer arrives, and marked `succeeded` once
//! the video is downloaded. A run that finds an entry for the same request resumes it.
//! Batches keep entries in their state file, the service in a file per task
//! ([`FileJournal`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kinema_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// How far a provider task got, as far as Kinema knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// The create request was being sent; its answer was not recorded.
    Submitting,
    /// The provider accepted it; the id is known.
    Submitted,
    /// The video was downloaded.
    Succeeded,
}

/// One provider task, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderTask {
    pub provider: String,
    pub model: String,
    /// The provider's task id; `None` while the create's answer is unknown.
    pub task_id: Option<String>,
    pub state: TaskState,
    /// Kinema's id for the task (sent as Kling's `external_task_id`).
    pub external_id: String,
    /// Seconds since the epoch when it was submitted.
    pub submitted_at: u64,
    pub estimated_usd: f64,
}

/// Where provider tasks are remembered. Keys identify a request (same request, same key).
pub trait TaskJournal: Send + Sync {
    fn load(&self, key: &str) -> Result<Option<ProviderTask>>;
    fn save(&self, key: &str, task: &ProviderTask) -> Result<()>;
    /// Forgets a task that ended without a video (failed, cancelled), so the next run
    /// submits again.
    fn forget(&self, key: &str) -> Result<()>;
}

/// A journal handle that engine options can carry (compared by identity).
#[derive(Clone)]
pub struct Journal(pub Arc<dyn TaskJournal>);

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal(..)")
    }
}

impl PartialEq for Journal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A journal in one JSON file (`{key: task}`), replaced atomically on every change.
pub struct FileJournal {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileJournal {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileJournal {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// Every recorded task, for reports.
    pub fn all(&self) -> Result<BTreeMap<String, ProviderTask>> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.read()
    }

    fn read(&self) -> Result<BTreeMap<String, ProviderTask>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::internal(format!(
                    "the provider task journal {} is damaged",
                    self.path.display()
                ))
                .with_source(e)
                .with_hint("delete it to submit again (a task it names may already be paid for)")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => {
                Err(Error::internal(format!("cannot read {}", self.path.display())).with_source(e))
            }
        }
    }

    fn write(&self, map: &BTreeMap<String, ProviderTask>) -> Result<()> {
        let text = serde_json::to_string_pretty(map)
            .map_err(|e| Error::internal("cannot serialise the task journal").with_source(e))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::output(format!("cannot create {}", dir.display())).with_source(e)
            })?;
        }
        kinema_media::write_text(&self.path, &text, true)
    }

    fn update(&self, f: impl FnOnce(&mut BTreeMap<String, ProviderTask>)) -> Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut map = self.read()?;
        f(&mut map);
        self.write(&map)
    }
}

impl TaskJournal for FileJournal {
    fn load(&self, key: &str) -> Result<Option<ProviderTask>> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.read()?.remove(key))
    }

    fn save(&self, key: &str, task: &ProviderTask) -> Result<()> {
        self.update(|m| {
            m.insert(key.to_string(), task.clone());
        })
    }

    fn forget(&self, key: &str) -> Result<()> {
        self.update(|m| {
            m.remove(key);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_new_journal_on_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/provider.json");
        let j = FileJournal::new(&path);
        assert_eq!(j.load("k").unwrap(), None);
        let task = ProviderTask {
            provider: "runway".into(),
            model: "gen4_turbo".into(),
            task_id: Some("t-1".into()),
            state: TaskState::Submitted,
            external_id: "kinema-k".into(),
            submitted_at: 1,
            estimated_usd: 0.25,
        };
        j.save("k", &task).unwrap();
        let again = FileJournal::new(&path);
        assert_eq!(again.load("k").unwrap(), Some(task));
        again.forget("k").unwrap();
        assert!(j.all().unwrap().is_empty());
        std::fs::write(&path, "{oops").unwrap();
        assert!(j.load("k").unwrap_err().hint.unwrap().contains("delete it"));
    }
}
