//! Workers that take tasks from the queue backend, render them, publish their files, and
//! record how they ended. The same pool runs inside `kinema serve --workers N` and as
//! `kinema worker --concurrency N`.
//!
//! Each slot is an async loop that claims a task and awaits its render, which runs on a
//! blocking thread (rendering is CPU work; it never runs on the async executor). One
//! supervisor per pool sends the heartbeat for every task the process holds, turns
//! cancels (local, or NOTIFYed by another API server) into the render's cancel flag, and,
//! on a shared queue, puts back tasks whose worker went silent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, Notify};

use crate::backend::{ClaimRequest, Lease, TaskStore, WorkerInfo};
use crate::files::Files;
use crate::metrics::Metrics;
use crate::state::DataDir;
use crate::store::TaskRow;
use crate::ServeConfig;

/// How often the supervisor checks that this process still holds its tasks (and so how
/// fast a cancel NOTIFY that was lost still reaches the render).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How often a worker on a shared queue records itself in the `workers` table.
const SEEN_EVERY: Duration = Duration::from_secs(10);
/// Local copies of uploaded images kept for later tasks (each at most `max_upload_bytes`).
const KEPT_INPUTS: usize = 32;

/// How this process's workers behave.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Names this process in task rows, transitions and logs.
    pub id: String,
    /// Renders at once.
    pub slots: usize,
    /// Engines to claim tasks for; `None` takes any.
    pub engines: Option<Vec<String>>,
    /// How long a claim holds without a heartbeat (renewed every third of it).
    pub lease: Duration,
    /// Idle workers look for work at least this often, even without a wake-up.
    pub poll: Duration,
    /// How long one attempt waits for an unreachable object store before handing the
    /// task back to the queue for a later retry.
    pub store_patience: Duration,
}

impl WorkerSettings {
    pub fn from_config(config: &ServeConfig) -> WorkerSettings {
        let shared = config.queue.is_shared();
        WorkerSettings {
            id: config.worker_id.clone().unwrap_or_else(default_worker_id),
            slots: config.workers,
            engines: config.engines.clone(),
            lease: config.lease,
            poll: Duration::from_millis(if shared { 1000 } else { 500 }),
            store_patience: config.store_patience,
        }
    }
}

/// `HOST-PID`: unique among live processes, and says where to look when one goes silent.
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

pub(crate) struct Running {
    pub lease: Lease,
    pub cancel: Arc<AtomicBool>,
}

/// A task this process runs; dropping it stops the heartbeat for it.
pub(crate) struct Registered<'a> {
    queue: &'a Queue,
    id: String,
    pub cancel: Arc<AtomicBool>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        lock(&self.queue.running).remove(&self.id);
        self.queue.metrics.busy.dec();
        self.queue.idle.notify_waiters();
    }
}

pub struct Queue {
    pub(crate) store: Arc<dyn TaskStore>,
    pub(crate) files: Arc<Files>,
    pub(crate) data: Arc<DataDir>,
    pub(crate) config: Arc<ServeConfig>,
    pub(crate) settings: WorkerSettings,
    pub(crate) metrics: Arc<Metrics>,
    stopping: AtomicBool,
    /// A render ended (what a stopping pool waits for).
    idle: Notify,
    /// The tasks this process renders now, by id.
    running: Mutex<HashMap<String, Running>>,
    /// Local copies of uploads: users now, and when last used.
    inputs: Mutex<HashMap<String, (usize, Instant)>>,
    loops: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here can be left half-updated by a panic; keep going with the data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Queue {
    /// Starts `settings.slots` workers (none for an API-only server) and their supervisor
    /// on the current tokio runtime.
    pub fn start(
        store: Arc<dyn TaskStore>,
        files: Arc<Files>,
        data: Arc<DataDir>,
        config: Arc<ServeConfig>,
        settings: WorkerSettings,
        metrics: Arc<Metrics>,
    ) -> Arc<Queue> {
        metrics.slots.set(settings.slots as i64);
        if !files.keeps_files_in(data.root()) {
            // Copies of uploads a previous run of this process kept; they are not tracked.
            if let Ok(entries) = std::fs::read_dir(data.uploads()) {
                for e in entries.flatten() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let queue = Arc::new(Queue {
            store,
            files,
            data,
            config,
            settings,
            metrics,
            stopping: AtomicBool::new(false),
            idle: Notify::new(),
            running: Mutex::new(HashMap::new()),
            inputs: Mutex::new(HashMap::new()),
            loops: Mutex::new(Vec::new()),
        });
        let mut loops = Vec::new();
        for _ in 0..queue.settings.slots {
            loops.push(tokio::spawn(queue.clone().slot()));
        }
        if queue.settings.slots > 0 {
            loops.push(tokio::spawn(queue.clone().supervise()));
        }
        *lock(&queue.loops) = loops;
        queue
    }

    pub fn store(&self) -> &Arc<dyn TaskStore> {
        &self.store
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Tells idle workers to look for work.
    pub fn notify(&self) {
        self.store.signals().work_available();
    }

    /// Announces that task `id` changed (progress or status).
    pub fn publish_change(&self, id: &str) {
        self.store.signals().changed(id);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.store.signals().subscribe_changes()
    }

    /// Asks the render of `id`, if it runs in this process, to stop; its result is
    /// thrown away.
    pub fn cancel_running(&self, id: &str) {
        if let Some(r) = lock(&self.running).get(id) {
            r.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Stops taking new tasks (renders in progress go on); event streams end.
    pub fn begin_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify();
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Stops taking tasks and waits up to `grace` for running renders. On a shared queue,
    /// tasks still rendering are handed back so another worker starts them at once; on
    /// the embedded queue they stay RUNNING and the next start re-queues them.
    pub async fn stop(&self, grace: Duration) {
        self.begin_stop();
        let deadline = Instant::now() + grace;
        while !lock(&self.running).is_empty() && Instant::now() < deadline {
            let _ = tokio::time::timeout(Duration::from_millis(50), self.idle.notified()).await;
        }
        let leftover: Vec<Lease> = lock(&self.running)
            .values()
            .map(|r| {
                r.cancel.store(true, Ordering::Relaxed);
                r.lease.clone()
            })
            .collect();
        for lease in leftover {
            match self.store.release(&lease).await {
                Ok(true) => tracing::info!(task = %lease.task, "handed back to the queue"),
                Ok(false) => {}
                Err(e) => tracing::warn!(task = %lease.task, "cannot hand back: {e}"),
            }
        }
        for h in std::mem::take(&mut *lock(&self.loops)) {
            h.abort();
        }
    }

    /// One worker: claim, run, repeat; sleep until woken (or the poll interval) when
    /// there is nothing to do, back off while the queue is unreachable.
    async fn slot(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(250);
        while !self.is_stopping() {
            let wake = self.store.signals().work_or_timeout(self.settings.poll);
            let request = ClaimRequest {
                worker: &self.settings.id,
                engines: self.settings.engines.as_deref(),
                lease: self.settings.lease,
            };
            let t0 = Instant::now();
            match self.store.claim(&request).await {
                Ok(Some(task)) => {
                    self.metrics.observe_claim(t0.elapsed());
                    backoff = Duration::from_millis(250);
                    let id = task.id.clone();
                    // A bug must not take the slot down with it. The task's registration
                    // ends with the unwinding, so its lease lapses and another attempt
                    // (up to the limit) runs it.
                    let run = std::panic::AssertUnwindSafe(self.run(task));
                    if let Err(panic) = futures_util::FutureExt::catch_unwind(run).await {
                        let what = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        tracing::error!(task = %id, "the worker crashed running it: {what}");
                    }
                }
                Ok(None) => wake.await,
                Err(e) => {
                    tracing::warn!("cannot claim a task: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Records that this process runs `task` (its lease is renewed from now on) until the
    /// returned guard is dropped, however the run ends.
    pub(crate) fn register(&self, task: &TaskRow, lease: Lease) -> Registered<'_> {
        let cancel = Arc::new(AtomicBool::new(false));
        lock(&self.running).insert(
            task.id.clone(),
            Running {
                lease,
                cancel: cancel.clone(),
            },
        );
        self.metrics.busy.inc();
        Registered {
            queue: self,
            id: task.id.clone(),
            cancel,
        }
    }

    /// Counts a use of upload `id`'s local copy.
    pub(crate) fn hold_input(&self, id: &str) {
        let mut inputs = lock(&self.inputs);
        let entry = inputs.entry(id.to_string()).or_insert((0, Instant::now()));
        entry.0 += 1;
        entry.1 = Instant::now();
    }

    /// Ends a use of upload `id`'s local copy. Copies stay for the next task of the same
    /// character (a cast renders many actions of one image); beyond [`KEPT_INPUTS`] the
    /// least recently used unused ones are deleted, unless they are the stored files
    /// themselves (a local store in the data directory).
    pub(crate) fn release_input(&self, id: &str) {
        let evicted: Vec<String> = {
            let mut inputs = lock(&self.inputs);
            if let Some(entry) = inputs.get_mut(id) {
                entry.0 = entry.0.saturating_sub(1);
                entry.1 = Instant::now();
            }
            let mut idle: Vec<(String, Instant)> = inputs
                .iter()
                .filter(|(_, (users, _))| *users == 0)
                .map(|(k, (_, used))| (k.clone(), *used))
                .collect();
            let excess = inputs.len().saturating_sub(KEPT_INPUTS);
            idle.sort_by_key(|(_, used)| *used);
            idle.truncate(excess);
            for (k, _) in &idle {
                inputs.remove(k);
            }
            idle.into_iter().map(|(k, _)| k).collect()
        };
        if !self.files.keeps_files_in(self.data.root()) {
            for id in evicted {
                let _ = std::fs::remove_file(self.data.upload(&id));
            }
        }
    }

    /// Heartbeats, cancels and, on a shared queue, reaping expired leases.
    async fn supervise(self: Arc<Self>) {
        let signals = self.store.signals().clone();
        let mut cancels = signals.subscribe_cancels();
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let renew_every = (self.settings.lease / 3).max(HEARTBEAT);
        let mut last_renew = Instant::now();
        let mut last_seen: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                id = cancels.recv() => {
                    match id {
                        Ok(id) => self.cancel_running(&id),
                        // Missed some: the next heartbeat finds them.
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                    continue;
                }
            }
            let leases: Vec<Lease> = lock(&self.running)
                .values()
                .map(|r| r.lease.clone())
                .collect();
            let extend = (last_renew.elapsed() >= renew_every).then_some(self.settings.lease);
            if leases.is_empty() {
                last_renew = Instant::now();
            } else {
                match self.store.renew(&leases, extend).await {
                    Ok(lost) => {
                        if extend.is_some() {
                            last_renew = Instant::now();
                        }
                        for l in lost {
                            tracing::info!(task = %l.task, attempt = l.attempt,
                                "no longer held (cancelled, or taken over after the lease lapsed); stopping it");
                            self.cancel_running(&l.task);
                        }
                    }
                    Err(e) => tracing::warn!("cannot renew leases: {e}"),
                }
            }
            if self.store.is_shared() {
                self.reap().await;
                if last_seen.is_none_or(|t| t.elapsed() >= SEEN_EVERY) {
                    let info = WorkerInfo {
                        id: self.settings.id.clone(),
                        engines: self.settings.engines.clone().unwrap_or_else(|| {
                            kinema_jobs::ENGINE_NAMES
                                .iter()
                                .map(|s| s.to_string())
                                .collect()
                        }),
                        slots: self.settings.slots as u32,
                    };
                    if self.store.worker_seen(&info).await.is_ok() {
                        last_seen = Some(Instant::now());
                    }
                }
            }
        }
    }

    async fn reap(&self) {
        match self.store.reap_expired().await {
            Ok(r) => {
                let n = (r.requeued.len() + r.failed.len()) as u64;
                self.metrics.lease_expiries.inc_by(n);
                self.metrics
                    .retries
                    .with_label_values(&["lease_expired"])
                    .inc_by(r.requeued.len() as u64);
                for id in &r.requeued {
                    tracing::warn!(task = %id, "its worker stopped renewing the lease; queued again");
                }
                for id in &r.failed {
                    tracing::warn!(task = %id, "its worker stopped renewing the lease on its last attempt; failed");
                }
            }
            Err(e) => tracing::debug!("cannot reap expired leases: {e}"),
        }
    }
}
