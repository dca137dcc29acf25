//! The embedded queue's record of the video-service tasks each task submitted, so a
//! re-queued task resumes them by polling instead of paying again (see
//! [`crate::provider_journal`]).

use kinema_core::{Error, Result};
use kinema_jobs::ProviderTask;
use rusqlite::params;

use super::{db_error, Store};

/// The error for a stored entry that does not read back (both queue backends).
pub(crate) fn damaged_entry(task: &str, key: &str, e: serde_json::Error) -> Error {
    Error::internal(format!(
        "the recorded video-service task {key} of {task} is damaged"
    ))
    .with_source(e)
    .with_hint("cancel the task and submit it again (the damaged entry may already be paid for: check the service's dashboard)")
}

/// The error for an entry that cannot be written as JSON (both queue backends).
pub(crate) fn unserialisable(e: serde_json::Error) -> Error {
    Error::internal("cannot serialise a video-service task").with_source(e)
}

fn parse_entry(task: &str, key: &str, text: &str) -> Result<ProviderTask> {
    serde_json::from_str(text).map_err(|e| damaged_entry(task, key, e))
}

fn entry_json(task: &ProviderTask) -> Result<String> {
    serde_json::to_string(task).map_err(unserialisable)
}

impl Store {
    /// Every video-service task `task` recorded, by request key.
    pub fn provider_tasks(&self, task: &str) -> Result<Vec<(String, ProviderTask)>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare("SELECT key, entry FROM provider_tasks WHERE task_id = ?1 ORDER BY key")
            .map_err(db_error)?;
        let rows = stmt
            .query_map(params![task], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db_error)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_error)?;
        rows.into_iter()
            .map(|(key, text)| Ok((key.clone(), parse_entry(task, &key, &text)?)))
            .collect()
    }

    /// Records (or replaces) the entry `key` of `task`.
    pub fn save_provider_task(&self, task: &str, key: &str, entry: &ProviderTask) -> Result<()> {
        let text = entry_json(entry)?;
        self.lock()
            .conn
            .execute(
                "INSERT INTO provider_tasks (task_id, key, entry) VALUES (?1, ?2, ?3)
                 ON CONFLICT (task_id, key) DO UPDATE SET entry = excluded.entry",
                params![task, key, text],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// Forgets the entry `key` of `task` (its service task ended without a video).
    pub fn forget_provider_task(&self, task: &str, key: &str) -> Result<()> {
        self.lock()
            .conn
            .execute(
                "DELETE FROM provider_tasks WHERE task_id = ?1 AND key = ?2",
                params![task, key],
            )
            .map_err(db_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinema_jobs::ProviderTask;

    fn entry(id: Option<&str>) -> ProviderTask {
        ProviderTask {
            provider: "runway".into(),
            model: "gen4_turbo".into(),
            task_id: id.map(str::to_string),
            state: if id.is_some() {
                kinema_providers::TaskState::Submitted
            } else {
                kinema_providers::TaskState::Submitting
            },
            external_id: "kinema-tsk".into(),
            submitted_at: 7,
            estimated_usd: 0.25,
        }
    }

    #[test]
    fn entries_are_kept_per_task_replaced_and_forgotten() {
        let store = Store::in_memory().unwrap();
        assert!(store.provider_tasks("tsk_a").unwrap().is_empty());
        store
            .save_provider_task("tsk_a", "k1", &entry(None))
            .unwrap();
        store
            .save_provider_task("tsk_a", "k1", &entry(Some("rw-1")))
            .unwrap();
        store
            .save_provider_task("tsk_a", "k2", &entry(None))
            .unwrap();
        store
            .save_provider_task("tsk_b", "k1", &entry(None))
            .unwrap();
        let a = store.provider_tasks("tsk_a").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(
            (a[0].0.as_str(), a[0].1.task_id.as_deref()),
            ("k1", Some("rw-1"))
        );
        store.forget_provider_task("tsk_a", "k1").unwrap();
        let a = store.provider_tasks("tsk_a").unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, "k2");
        assert_eq!(store.provider_tasks("tsk_b").unwrap().len(), 1);
    }
}
