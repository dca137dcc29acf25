//! The embedded queue: [`crate::store::Store`] (one SQLite file) behind [`TaskStore`].
//!
//! Only the `kinema serve` that opened the file runs its tasks, so there are no leases:
//! a start re-queues whatever the previous process left RUNNING, and a cancel reaches the
//! render through the in-process flag. Calls are short local transactions and run inline,
//! as they always have.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kinema_jobs::ProviderTask;

use super::{
    BackendResult, ClaimRequest, Depth, Lease, Reaped, Retried, Signals, TaskStore, WorkerInfo,
};
use crate::errors::ErrorDetail;
use crate::store::{Cancel, Finish, NewTask, Status, Store, Submitted, TaskRow, UploadRow};

pub struct SqliteQueue {
    store: Store,
    path: PathBuf,
    signals: Arc<Signals>,
}

impl SqliteQueue {
    /// Opens the file and re-queues tasks interrupted by the last shutdown (failing those
    /// already started `max_attempts` times: they keep taking the process down).
    pub fn open(path: &Path, max_attempts: u32) -> kinema_core::Result<SqliteQueue> {
        let store = Store::open(path)?;
        let (requeued, failed) = store.requeue_interrupted(max_attempts)?;
        if requeued > 0 {
            tracing::info!("re-queued {requeued} task(s) interrupted by the last shutdown");
        }
        if failed > 0 {
            tracing::warn!("{failed} interrupted task(s) were out of attempts and failed");
        }
        Ok(SqliteQueue {
            store,
            path: path.to_path_buf(),
            signals: Signals::new(),
        })
    }

    /// The underlying store, for tests and tools that read the file directly.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

#[async_trait]
impl TaskStore for SqliteQueue {
    fn describe(&self) -> String {
        format!("SQLite {}", self.path.display())
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn signals(&self) -> &Arc<Signals> {
        &self.signals
    }

    async fn insert_upload(&self, upload: &UploadRow) -> BackendResult<()> {
        Ok(self.store.insert_upload(upload)?)
    }

    async fn upload(&self, owner: &str, id: &str) -> BackendResult<Option<UploadRow>> {
        Ok(self.store.upload(owner, id)?)
    }

    async fn submit(&self, task: NewTask<'_>, quota: usize) -> BackendResult<Submitted> {
        Ok(self.store.submit(task, quota)?)
    }

    async fn task(&self, owner: Option<&str>, id: &str) -> BackendResult<Option<TaskRow>> {
        Ok(self.store.task(owner, id)?)
    }

    async fn list(
        &self,
        owner: &str,
        status: Option<Status>,
        before: Option<i64>,
        limit: usize,
    ) -> BackendResult<(Vec<TaskRow>, Option<i64>)> {
        Ok(self.store.list(owner, status, before, limit)?)
    }

    async fn cancel(&self, owner: &str, id: &str) -> BackendResult<Cancel> {
        Ok(self.store.cancel(owner, id)?)
    }

    async fn transitions(&self, id: &str) -> BackendResult<Vec<(Option<String>, String)>> {
        Ok(self.store.transitions(id)?)
    }

    async fn count(&self, status: Status) -> BackendResult<usize> {
        Ok(self.store.count(status)?)
    }

    async fn depth(&self) -> BackendResult<Vec<Depth>> {
        Ok(self.store.depth(kinema_jobs::ENGINE_NAMES[0])?)
    }

    async fn claim(&self, _request: &ClaimRequest<'_>) -> BackendResult<Option<TaskRow>> {
        // The in-process workers run every engine (`--engines` needs a shared queue).
        Ok(self.store.claim_next()?)
    }

    async fn progress(&self, lease: &Lease, fraction: f64, stage: &str) -> BackendResult<()> {
        Ok(self.store.set_progress(&lease.task, fraction, stage)?)
    }

    async fn renew(
        &self,
        leases: &[Lease],
        _extend: Option<Duration>,
    ) -> BackendResult<Vec<Lease>> {
        let mut lost = Vec::new();
        for lease in leases {
            let held = self
                .store
                .task(None, &lease.task)?
                .is_some_and(|t| t.status == Status::Running && t.attempts == lease.attempt);
            if !held {
                lost.push(lease.clone());
            }
        }
        Ok(lost)
    }

    async fn finish(&self, lease: &Lease, to: Status, finish: Finish) -> BackendResult<bool> {
        Ok(self
            .store
            .transition(&lease.task, Status::Running, to, finish)?)
    }

    async fn retry(
        &self,
        lease: &Lease,
        error: &ErrorDetail,
        _delay: Duration,
    ) -> BackendResult<Retried> {
        // One process, no other worker to hand it to: fail with the error.
        let moved = self.store.transition(
            &lease.task,
            Status::Running,
            Status::Failed,
            Finish {
                error: serde_json::to_value(error).ok(),
                ..Finish::default()
            },
        )?;
        Ok(if moved {
            Retried::Failed
        } else {
            Retried::NotHeld
        })
    }

    async fn release(&self, _lease: &Lease) -> BackendResult<bool> {
        // Left RUNNING; the next start re-queues it.
        Ok(false)
    }

    async fn reap_expired(&self) -> BackendResult<Reaped> {
        Ok(Reaped::default())
    }

    async fn worker_seen(&self, _worker: &WorkerInfo) -> BackendResult<()> {
        Ok(())
    }

    async fn provider_tasks(&self, id: &str) -> BackendResult<Vec<(String, ProviderTask)>> {
        Ok(self.store.provider_tasks(id)?)
    }

    async fn save_provider_task(
        &self,
        id: &str,
        key: &str,
        entry: &ProviderTask,
    ) -> BackendResult<()> {
        Ok(self.store.save_provider_task(id, key, entry)?)
    }

    async fn forget_provider_task(&self, id: &str, key: &str) -> BackendResult<()> {
        Ok(self.store.forget_provider_task(id, key)?)
    }
}
