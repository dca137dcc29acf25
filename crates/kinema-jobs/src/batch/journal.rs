//! A job's provider tasks, kept in the batch state file (`.kinema-batch.json`), so a run
//! that was killed resumes the tasks it submitted instead of paying for them again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kinema_core::Result;
use kinema_providers::{Journal, ProviderTask, TaskJournal};

use super::state::BatchState;

/// The journal of one job, writing through to the state file on every change.
pub struct BatchJournal {
    state: Arc<Mutex<BatchState>>,
    out_dir: PathBuf,
    job: String,
}

impl BatchJournal {
    /// The journal of `job`, as engine options carry it.
    pub fn for_job(state: Arc<Mutex<BatchState>>, out_dir: &Path, job: &str) -> Journal {
        Journal(Arc::new(BatchJournal {
            state,
            out_dir: out_dir.to_path_buf(),
            job: job.to_string(),
        }))
    }

    fn change(&self, f: impl FnOnce(&mut BatchState)) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state);
        state.save(&self.out_dir)
    }
}

impl TaskJournal for BatchJournal {
    fn load(&self, key: &str) -> Result<Option<ProviderTask>> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Ok(state
            .jobs
            .get(&self.job)
            .and_then(|r| r.provider_tasks.get(key))
            .cloned())
    }

    fn save(&self, key: &str, task: &ProviderTask) -> Result<()> {
        self.change(|s| {
            s.jobs
                .entry(self.job.clone())
                .or_default()
                .provider_tasks
                .insert(key.to_string(), task.clone());
        })
    }

    fn forget(&self, key: &str) -> Result<()> {
        self.change(|s| {
            if let Some(r) = s.jobs.get_mut(&self.job) {
                r.provider_tasks.remove(key);
            }
        })
    }
}
