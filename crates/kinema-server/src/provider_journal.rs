//! The provider-task journal of a claimed task, kept in the queue database.
//!
//! A paid engine records each video-service task before asking the service and again once
//! it answers with an id ([`kinema_jobs::TaskJournal`]). Kept in the queue rather than on
//! the rendering machine's disk, the record follows the task: when a worker dies and
//! another one re-claims the task from a shared PostgreSQL queue, the new worker finds the
//! service task and resumes it by polling instead of submitting (and paying) again, and
//! `GET /v1/tasks` on any API server shows it.
//!
//! The engine calls the journal from its render thread, so each call blocks on the async
//! store. A database that is briefly out of reach (a restart) is waited for, up to the
//! worker's store patience; a record that still cannot be written before a submit stops
//! the render before anything is paid (see `kinema_providers::task`).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kinema_core::Result;
use kinema_jobs::{FileJournal, ProviderTask, TaskJournal};

use crate::backend::{BackendResult, TaskStore};
use crate::state::DataDir;

pub struct QueueJournal {
    store: Arc<dyn TaskStore>,
    task: String,
    runtime: tokio::runtime::Handle,
    patience: Duration,
    /// `DATA/providers/TASK.json`, where releases before queue schema 2 kept the record:
    /// read, never written, so a paid task that was in flight across the upgrade still
    /// resumes.
    legacy: PathBuf,
}

impl QueueJournal {
    /// The journal of `task`; call from inside the runtime that owns `store` (its handle
    /// is kept for the render thread).
    pub fn new(store: Arc<dyn TaskStore>, data: &DataDir, task: &str, patience: Duration) -> Self {
        QueueJournal {
            store,
            task: task.to_string(),
            runtime: tokio::runtime::Handle::current(),
            patience,
            legacy: data.provider_journal(task),
        }
    }

    /// Runs `op` on the runtime, retrying while the database is unreachable.
    fn patiently<T, F, Fut>(&self, what: &str, op: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = BackendResult<T>>,
    {
        let deadline = Instant::now() + self.patience;
        let mut pause = Duration::from_millis(250);
        self.runtime.block_on(async {
            loop {
                match op().await {
                    Ok(v) => return Ok(v),
                    Err(e) if e.unavailable && Instant::now() < deadline => {
                        tracing::warn!(task = %self.task, "{what}: {e}; trying again in {pause:?}");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                    Err(e) => return Err(e.error),
                }
            }
        })
    }

    fn legacy_entries(&self) -> Result<BTreeMap<String, ProviderTask>> {
        if self.legacy.exists() {
            FileJournal::new(&self.legacy).all()
        } else {
            Ok(BTreeMap::new())
        }
    }
}

impl TaskJournal for QueueJournal {
    fn load(&self, key: &str) -> Result<Option<ProviderTask>> {
        let recorded = self.patiently("reading the video-service tasks", || {
            self.store.provider_tasks(&self.task)
        })?;
        if let Some((_, entry)) = recorded.into_iter().find(|(k, _)| k == key) {
            return Ok(Some(entry));
        }
        Ok(self.legacy_entries()?.remove(key))
    }

    fn save(&self, key: &str, task: &ProviderTask) -> Result<()> {
        self.patiently("recording a video-service task", || {
            self.store.save_provider_task(&self.task, key, task)
        })
    }

    fn forget(&self, key: &str) -> Result<()> {
        self.patiently("forgetting a video-service task", || {
            self.store.forget_provider_task(&self.task, key)
        })?;
        if self.legacy_entries()?.contains_key(key) {
            FileJournal::new(&self.legacy).forget(key)?;
        }
        Ok(())
    }
}

/// What `GET /v1/tasks` shows of task `id`'s video-service tasks: the queue's record,
/// plus any older one left in `DATA/providers/` by a release before queue schema 2.
pub async fn recorded_provider_tasks(
    store: &dyn TaskStore,
    data: &DataDir,
    id: &str,
) -> BackendResult<Vec<ProviderTask>> {
    let mut entries: BTreeMap<String, ProviderTask> =
        store.provider_tasks(id).await?.into_iter().collect();
    let legacy = data.provider_journal(id);
    if legacy.exists() {
        if let Ok(old) = FileJournal::new(&legacy).all() {
            for (key, entry) in old {
                entries.entry(key).or_insert(entry);
            }
        }
    }
    Ok(entries.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sqlite::SqliteQueue;
    use kinema_jobs::TaskState;

    fn entry(id: Option<&str>) -> ProviderTask {
        ProviderTask {
            provider: "luma".into(),
            model: "ray-2".into(),
            task_id: id.map(str::to_string),
            state: if id.is_some() {
                TaskState::Submitted
            } else {
                TaskState::Submitting
            },
            external_id: "kinema-x".into(),
            submitted_at: 3,
            estimated_usd: 0.4,
        }
    }

    #[test]
    fn a_second_journal_of_the_same_task_finds_what_the_first_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::prepare(dir.path()).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store: Arc<dyn TaskStore> =
            Arc::new(SqliteQueue::open(&dir.path().join("q.sqlite3"), 3).unwrap());
        let journal = |task: &str| {
            let _enter = runtime.enter();
            QueueJournal::new(store.clone(), &data, task, Duration::from_secs(1))
        };
        // The render thread is a plain thread, as under spawn_blocking.
        let (first, again, other) = (journal("tsk_a"), journal("tsk_a"), journal("tsk_b"));
        std::thread::scope(|s| {
            s.spawn(|| {
                first.save("k", &entry(None)).unwrap();
                first.save("k", &entry(Some("lu-1"))).unwrap();
                assert_eq!(again.load("k").unwrap(), Some(entry(Some("lu-1"))));
                assert_eq!(other.load("k").unwrap(), None);
                again.forget("k").unwrap();
                assert_eq!(first.load("k").unwrap(), None);
            });
        });
        // Nothing was written to the old per-task files.
        assert!(!data.provider_journal("tsk_a").exists());
    }

    #[test]
    fn an_entry_left_in_the_old_file_is_still_resumed_and_shown() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::prepare(dir.path()).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store: Arc<dyn TaskStore> =
            Arc::new(SqliteQueue::open(&dir.path().join("q.sqlite3"), 3).unwrap());
        FileJournal::new(data.provider_journal("tsk_a"))
            .save("old", &entry(Some("lu-0")))
            .unwrap();
        let journal = {
            let _enter = runtime.enter();
            QueueJournal::new(store.clone(), &data, "tsk_a", Duration::from_secs(1))
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(journal.load("old").unwrap(), Some(entry(Some("lu-0"))));
                journal.save("new", &entry(None)).unwrap();
            });
        });
        let shown = runtime
            .block_on(recorded_provider_tasks(store.as_ref(), &data, "tsk_a"))
            .unwrap();
        let ids: Vec<_> = shown.iter().map(|t| t.task_id.clone()).collect();
        assert_eq!(ids, [None, Some("lu-0".to_string())]);
        std::thread::scope(|s| {
            s.spawn(|| journal.forget("old").unwrap());
        });
        assert!(FileJournal::new(data.provider_journal("tsk_a"))
            .all()
            .unwrap()
            .is_empty());
    }
}
