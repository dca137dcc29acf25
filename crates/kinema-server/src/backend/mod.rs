//! The job queue behind `kinema serve` and `kinema worker`: one trait, two backends.
//!
//! * [`sqlite`]: the embedded store of a single `kinema serve` (the default). Its workers
//!   live in the same process, so a restart re-queues whatever was running.
//! * [`postgres`]: a database shared by any number of API servers and `kinema worker`
//!   processes. Workers claim with `FOR UPDATE SKIP LOCKED` under a lease they renew by
//!   heartbeat; an expired lease puts the task back (at-least-once delivery), and the
//!   attempt number of each claim makes sure only the current holder can finish it.
//!
//! Both keep the same state machine ([`crate::store::Status`]) and log every move in a
//! `transitions` table, so "each task ends exactly once" holds for both.

pub mod errors;
pub mod location;
pub mod postgres;
pub mod signals;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kinema_jobs::ProviderTask;

pub use errors::{BackendError, BackendResult};
pub use location::{QueueLocation, S3Options, StoreLocation};
pub use signals::Signals;

use crate::errors::ErrorDetail;
use crate::store::{Cancel, Finish, NewTask, Status, Submitted, TaskRow, UploadRow};

/// One claimed run of a task: the task, the attempt number its claim gave it, and the
/// worker that holds it. Every worker-side change names its lease and applies only while
/// the task is still RUNNING under that attempt, so a worker whose lease expired (and
/// whose task another worker took over) can never record an ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub task: String,
    pub attempt: u32,
    pub worker: String,
}

/// What a worker asks for when it looks for work.
pub struct ClaimRequest<'a> {
    /// Names the worker in the task row and the transitions log.
    pub worker: &'a str,
    /// Engines this worker can run; `None` takes any.
    pub engines: Option<&'a [String]>,
    /// How long the claim holds without a heartbeat.
    pub lease: Duration,
}

/// What [`TaskStore::reap_expired`] did with tasks whose worker stopped renewing.
#[derive(Debug, Default)]
pub struct Reaped {
    /// Back to PENDING for another worker.
    pub requeued: Vec<String>,
    /// Out of attempts: FAILED with the last error.
    pub failed: Vec<String>,
}

/// How a retry request ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Retried {
    /// PENDING again, claimable after the delay.
    Requeued,
    /// That was the last attempt: FAILED with this error.
    Failed,
    /// The lease was no longer held (cancelled or taken over); nothing changed.
    NotHeld,
}

/// Tasks of one engine in one state, for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Depth {
    pub engine: String,
    pub status: Status,
    pub count: u64,
}

/// A worker process as the queue sees it (shared queues list them for operators).
#[derive(Clone, Debug)]
pub struct WorkerInfo {
    pub id: String,
    pub engines: Vec<String>,
    pub slots: u32,
}

/// The queue operations the API and the workers need. Every method is one short
/// transaction; none holds a lock across an await on anything but the database.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// `SQLite DATA/kinema.sqlite3` or `PostgreSQL host:port/db`, for logs.
    fn describe(&self) -> String;

    /// Whether other processes share this queue. Shared queues keep each attempt's
    /// outputs under their own prefix, because a worker that lost its lease may still be
    /// writing while another one redoes the task.
    fn is_shared(&self) -> bool;

    /// In-process wake-ups: new work, cancelled tasks, changed tasks.
    fn signals(&self) -> &Arc<Signals>;

    async fn insert_upload(&self, upload: &UploadRow) -> BackendResult<()>;
    /// The upload `id` if `owner` made it.
    async fn upload(&self, owner: &str, id: &str) -> BackendResult<Option<UploadRow>>;
    /// Queues a task unless its idempotency key was used before or the owner's quota is
    /// full; the checks and the insert are atomic across every API server.
    async fn submit(&self, task: NewTask<'_>, quota: usize) -> BackendResult<Submitted>;
    /// The task `id`; with `owner`, only if that owner made it.
    async fn task(&self, owner: Option<&str>, id: &str) -> BackendResult<Option<TaskRow>>;
    /// One page of `owner`'s tasks, newest first, below `before` (a `seq`).
    async fn list(
        &self,
        owner: &str,
        status: Option<Status>,
        before: Option<i64>,
        limit: usize,
    ) -> BackendResult<(Vec<TaskRow>, Option<i64>)>;
    /// Cancels `owner`'s task `id` if it has not finished, and tells the worker running it.
    async fn cancel(&self, owner: &str, id: &str) -> BackendResult<Cancel>;
    /// Every recorded status change of `id`, oldest first, as (from, to).
    async fn transitions(&self, id: &str) -> BackendResult<Vec<(Option<String>, String)>>;
    /// Tasks in `status`, all owners.
    async fn count(&self, status: Status) -> BackendResult<usize>;
    /// Pending and running tasks per engine.
    async fn depth(&self) -> BackendResult<Vec<Depth>>;

    /// Takes the next task for this worker (the oldest of the owner served longest ago,
    /// so one busy token cannot starve the others) and moves it to RUNNING.
    async fn claim(&self, request: &ClaimRequest<'_>) -> BackendResult<Option<TaskRow>>;
    /// Records progress of a held task (ignored once the lease is gone).
    async fn progress(&self, lease: &Lease, fraction: f64, stage: &str) -> BackendResult<()>;
    /// Heartbeat: extends the leases still held by `extend` (or only checks them with
    /// `None`) and returns those no longer held: cancelled, or taken over after expiry.
    async fn renew(&self, leases: &[Lease], extend: Option<Duration>) -> BackendResult<Vec<Lease>>;
    /// Ends a held task (`to` is SUCCEEDED or FAILED); false if the lease was gone.
    async fn finish(&self, lease: &Lease, to: Status, finish: Finish) -> BackendResult<bool>;
    /// A transient failure (the object store was down): PENDING again after `delay`, or
    /// FAILED with `error` when this was the last allowed attempt.
    async fn retry(
        &self,
        lease: &Lease,
        error: &ErrorDetail,
        delay: Duration,
    ) -> BackendResult<Retried>;
    /// Hands a held task back without counting it against its attempts (shutdown).
    async fn release(&self, lease: &Lease) -> BackendResult<bool>;
    /// Puts back (or fails, when out of attempts) tasks whose lease expired.
    async fn reap_expired(&self) -> BackendResult<Reaped>;
    /// Records that a worker process is alive and what it runs.
    async fn worker_seen(&self, worker: &WorkerInfo) -> BackendResult<()>;

    /// The video-service tasks (Runway, Luma, Kling) task `id` submitted, by request key.
    /// Kept in the queue so whichever worker runs the task next resumes them by polling
    /// instead of paying again, and any API server can show them.
    async fn provider_tasks(&self, id: &str) -> BackendResult<Vec<(String, ProviderTask)>>;
    /// Records (or replaces) one of them; written before the service is asked.
    async fn save_provider_task(
        &self,
        id: &str,
        key: &str,
        entry: &ProviderTask,
    ) -> BackendResult<()>;
    /// Forgets one that ended without a video, so the next attempt submits again.
    async fn forget_provider_task(&self, id: &str, key: &str) -> BackendResult<()>;
}

/// Opens the queue `location` says: the SQLite file in `data_root`, or PostgreSQL (run
/// migrations, start listening for wake-ups).
pub async fn open(
    location: &QueueLocation,
    database: &std::path::Path,
    max_attempts: u32,
) -> BackendResult<Arc<dyn TaskStore>> {
    Ok(match location {
        QueueLocation::Sqlite => Arc::new(sqlite::SqliteQueue::open(database, max_attempts)?),
        QueueLocation::Postgres(url) => {
            Arc::new(postgres::PgQueue::connect(url, max_attempts).await?)
        }
    })
}
