//! The shared queue on PostgreSQL: many API servers and `kinema worker` processes.
//!
//! The API side ([`tasks`]) and the worker side ([`claims`]) are plain SQL on a pooled
//! connection; every state change is one statement or one short transaction that also
//! logs the change in `transitions` and sends a NOTIFY, so other processes hear of it
//! at once ([`listen`]). Schema changes go through [`migrate`].

mod claims;
pub mod connect;
mod listen;
pub mod migrate;
mod provider_tasks;
mod tasks;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::Pool;
use kinema_jobs::ProviderTask;
use tokio_postgres::Row;

use super::{
    BackendResult, ClaimRequest, Depth, Lease, Reaped, Retried, Signals, TaskStore, WorkerInfo,
};
use crate::errors::ErrorDetail;
use crate::store::{Cancel, Finish, NewTask, Status, Submitted, TaskRow, UploadRow};
use connect::{pg_error, pool_error};

pub use listen::{CANCEL, CHANGE, WORK};

/// Columns of a task, in the order [`task_from_row`] reads them.
const TASK_COLUMNS: &str = "seq, id, owner, status, request, progress, stage, created_at, \
     started_at, finished_at, outputs, error, attempts, render_ms";

pub struct PgQueue {
    pool: Pool,
    display: String,
    signals: Arc<Signals>,
    max_attempts: u32,
    listener: tokio::task::JoinHandle<()>,
}

impl PgQueue {
    /// Connects, applies migrations and starts listening for notifications. Fails fast,
    /// with the URL's host in the message, when the database cannot be reached.
    pub async fn connect(url: &str, max_attempts: u32) -> BackendResult<PgQueue> {
        let config = connect::config(url)?;
        let tls = connect::tls(&config)?;
        let pool = connect::pool(config.clone(), &tls)?;
        let display = super::location::redact(url);
        let mut client = pool.get().await.map_err(|e| {
            let mut e = pool_error(e);
            e.error.message = format!(
                "cannot connect to the queue database {display}: {}",
                e.error.message
            );
            e
        })?;
        let migrated = migrate::migrate(&mut client).await?;
        drop(client);
        if migrated.from != migrated.to {
            tracing::info!(
                from = migrated.from,
                to = migrated.to,
                "queue schema migrated"
            );
        }
        let signals = Signals::new();
        let listener = tokio::spawn(listen::run(config, tls, signals.clone()));
        Ok(PgQueue {
            pool,
            display,
            signals,
            max_attempts,
            listener,
        })
    }

    async fn client(&self) -> BackendResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }
}

impl Drop for PgQueue {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn bad_row(e: tokio_postgres::Error) -> super::BackendError {
    kinema_core::Error::internal("a task row could not be read")
        .with_hint(
            "the database schema may have been changed by hand; compare it with the migrations",
        )
        .with_source(e)
        .into()
}

/// A task row in [`TASK_COLUMNS`] order.
fn task_from_row(row: &Row) -> BackendResult<TaskRow> {
    let status: String = row.try_get(3).map_err(bad_row)?;
    Ok(TaskRow {
        seq: row.try_get(0).map_err(bad_row)?,
        id: row.try_get(1).map_err(bad_row)?,
        owner: row.try_get(2).map_err(bad_row)?,
        status: Status::parse(&status).unwrap_or(Status::Failed),
        request: row.try_get(4).map_err(bad_row)?,
        progress: row.try_get(5).map_err(bad_row)?,
        stage: row.try_get(6).map_err(bad_row)?,
        created_at: row.try_get(7).map_err(bad_row)?,
        started_at: row.try_get(8).map_err(bad_row)?,
        finished_at: row.try_get(9).map_err(bad_row)?,
        outputs: row.try_get(10).map_err(bad_row)?,
        error: row.try_get(11).map_err(bad_row)?,
        attempts: row.try_get::<_, i32>(12).map_err(bad_row)?.max(0) as u32,
        render_ms: row.try_get(13).map_err(bad_row)?,
    })
}

#[async_trait]
impl TaskStore for PgQueue {
    fn describe(&self) -> String {
        format!("PostgreSQL {}", self.display)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn signals(&self) -> &Arc<Signals> {
        &self.signals
    }

    async fn insert_upload(&self, upload: &UploadRow) -> BackendResult<()> {
        self.insert_upload_row(upload).await
    }

    async fn upload(&self, owner: &str, id: &str) -> BackendResult<Option<UploadRow>> {
        self.upload_row(owner, id).await
    }

    async fn submit(&self, task: NewTask<'_>, quota: usize) -> BackendResult<Submitted> {
        self.submit_task(task, quota).await
    }

    async fn task(&self, owner: Option<&str>, id: &str) -> BackendResult<Option<TaskRow>> {
        self.task_row(owner, id).await
    }

    async fn list(
        &self,
        owner: &str,
        status: Option<Status>,
        before: Option<i64>,
        limit: usize,
    ) -> BackendResult<(Vec<TaskRow>, Option<i64>)> {
        self.list_tasks(owner, status, before, limit).await
    }

    async fn cancel(&self, owner: &str, id: &str) -> BackendResult<Cancel> {
        self.cancel_task(owner, id).await
    }

    async fn transitions(&self, id: &str) -> BackendResult<Vec<(Option<String>, String)>> {
        self.transition_log(id).await
    }

    async fn count(&self, status: Status) -> BackendResult<usize> {
        self.count_tasks(status).await
    }

    async fn depth(&self) -> BackendResult<Vec<Depth>> {
        self.queue_depth().await
    }

    async fn claim(&self, request: &ClaimRequest<'_>) -> BackendResult<Option<TaskRow>> {
        self.claim_next(request).await
    }

    async fn progress(&self, lease: &Lease, fraction: f64, stage: &str) -> BackendResult<()> {
        self.record_progress(lease, fraction, stage).await
    }

    async fn renew(&self, leases: &[Lease], extend: Option<Duration>) -> BackendResult<Vec<Lease>> {
        self.renew_leases(leases, extend).await
    }

    async fn finish(&self, lease: &Lease, to: Status, finish: Finish) -> BackendResult<bool> {
        self.finish_task(lease, to, finish).await
    }

    async fn retry(
        &self,
        lease: &Lease,
        error: &ErrorDetail,
        delay: Duration,
    ) -> BackendResult<Retried> {
        self.retry_task(lease, error, delay).await
    }

    async fn release(&self, lease: &Lease) -> BackendResult<bool> {
        self.release_task(lease).await
    }

    async fn reap_expired(&self) -> BackendResult<Reaped> {
        self.reap().await
    }

    async fn worker_seen(&self, worker: &WorkerInfo) -> BackendResult<()> {
        self.record_worker(worker).await
    }

    async fn provider_tasks(&self, id: &str) -> BackendResult<Vec<(String, ProviderTask)>> {
        self.provider_task_rows(id).await
    }

    async fn save_provider_task(
        &self,
        id: &str,
        key: &str,
        entry: &ProviderTask,
    ) -> BackendResult<()> {
        self.upsert_provider_task(id, key, entry).await
    }

    async fn forget_provider_task(&self, id: &str, key: &str) -> BackendResult<()> {
        self.delete_provider_task(id, key).await
    }
}

/// Converts a driver error on a query into the backend's error.
trait PgResultExt<T> {
    fn db(self) -> BackendResult<T>;
}

impl<T> PgResultExt<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> BackendResult<T> {
        self.map_err(pg_error)
    }
}
