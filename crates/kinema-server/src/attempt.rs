//! One attempt at one claimed task: bring its image to this machine, render it on a
//! blocking thread while progress flows back to the queue, publish the files, and record
//! the ending, all under the claim's lease.
//!
//! The object store and the database may be briefly out of reach (a restart, an outage):
//! store operations are retried patiently while the lease is held, then the task goes
//! back to the queue for a later attempt; recording an ending is retried until the
//! database answers, and only applies if the lease is still ours. A task therefore never
//! ends SUCCEEDED without its files, and never ends twice.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{BackendResult, Lease, Retried};
use crate::errors::{detail_of, ErrorDetail};
use crate::ids::{is_valid, UPLOAD};
use crate::provider_journal::QueueJournal;
use crate::queue::Queue;
use crate::runner::{execute, Outcome};
use crate::store::{Finish, Status, TaskRow};

/// Why an attempt stopped before its render.
enum Stop {
    Cancelled,
    /// Transient: try again later (on any worker).
    Retry(ErrorDetail),
    Fail(ErrorDetail),
}

fn engine_of(task: &TaskRow) -> String {
    task.request
        .get("engine")
        .and_then(|e| e.as_str())
        .unwrap_or(kinema_jobs::ENGINE_NAMES[0])
        .to_string()
}

/// Back-off before a transient failure's retry: 2 s, 4 s, 8 s … up to a minute.
fn retry_delay(attempt: u32) -> Duration {
    Duration::from_secs(2u64 << attempt.saturating_sub(1).min(5)).min(Duration::from_secs(60))
}

impl Queue {
    pub(crate) async fn run(&self, task: TaskRow) {
        let lease = Lease {
            task: task.id.clone(),
            attempt: task.attempts,
            worker: self.settings.id.clone(),
        };
        let engine = engine_of(&task);
        let waited = task.started_at.unwrap_or(task.created_at) - task.created_at;
        self.metrics
            .queue_wait_seconds
            .with_label_values(&[engine.as_str()])
            .observe(waited.max(0) as f64 / 1000.0);
        let registered = self.register(&task, lease.clone());
        let cancel = registered.cancel.clone();
        tracing::info!(task = %task.id, attempt = task.attempts, engine = %engine,
            worker = %lease.worker, "claimed");
        self.publish_change(&task.id);
        // A cancel that landed between the claim and registering the flag.
        if let Ok(Some(t)) = self.store.task(None, &task.id).await {
            if t.status != Status::Running || t.attempts != lease.attempt {
                cancel.store(true, Ordering::Relaxed);
            }
        }
        let started = Instant::now();
        let outcome = self.attempt(&task, &lease, &cancel).await;
        self.metrics
            .job_seconds
            .with_label_values(&[engine.as_str(), outcome])
            .observe(started.elapsed().as_secs_f64());
        drop(registered);
        self.publish_change(&task.id);
        tracing::info!(task = %task.id, attempt = task.attempts, outcome,
            seconds = started.elapsed().as_secs_f64(), "ended");
    }

    /// Runs the attempt; returns how it ended, for metrics and logs.
    async fn attempt(
        &self,
        task: &TaskRow,
        lease: &Lease,
        cancel: &Arc<AtomicBool>,
    ) -> &'static str {
        let image = task
            .request
            .get("image")
            .and_then(|v| v.as_str())
            .filter(|id| is_valid(UPLOAD, id))
            .map(str::to_string);
        if let Some(id) = &image {
            self.hold_input(id);
            let dest = self.data.upload(id);
            let fetched = self
                .patiently("fetching the input image", cancel, || {
                    self.files.fetch_upload(id, &dest)
                })
                .await;
            if let Err(stop) = fetched {
                self.release_input(id);
                return self.stopped(lease, stop).await;
            }
        }
        let outcome = self.render(task, lease, cancel).await;
        if let Some(id) = &image {
            self.release_input(id);
        }
        match outcome {
            Outcome::Succeeded {
                dir,
                outputs,
                render_ms,
            } => {
                let outputs = serde_json::to_value(&outputs).unwrap_or_default();
                self.publish_and_finish(task, lease, cancel, &dir, outputs, render_ms)
                    .await
            }
            Outcome::Failed(detail) => self.fail(lease, &detail).await,
            Outcome::Cancelled => self.why_stopped(lease).await,
        }
    }

    /// The render, on a blocking thread; its progress reports are written to the queue
    /// (latest first: a slow database never holds the render up).
    async fn render(&self, task: &TaskRow, lease: &Lease, cancel: &Arc<AtomicBool>) -> Outcome {
        let (tx, mut rx) = tokio::sync::watch::channel(None::<(f64, String)>);
        let journal = kinema_jobs::Journal(Arc::new(QueueJournal::new(
            self.store.clone(),
            &self.data,
            &task.id,
            self.settings.store_patience,
        )));
        let (task, data, config, flag) = (
            task.clone(),
            self.data.clone(),
            self.config.clone(),
            cancel.clone(),
        );
        let mut handle = tokio::task::spawn_blocking(move || {
            let report = move |fraction: f64, stage: &str| {
                let _ = tx.send(Some((fraction, stage.to_string())));
            };
            execute(&task, &data, &config, journal, &flag, &report)
        });
        let joined = |r: Result<Outcome, tokio::task::JoinError>| {
            r.unwrap_or_else(|e| {
                Outcome::Failed(ErrorDetail {
                    code: "internal".into(),
                    message: format!("the render thread failed: {e}"),
                    hint: "this is a bug in Kinema; report it with the request".into(),
                })
            })
        };
        loop {
            tokio::select! {
                done = &mut handle => return joined(done),
                changed = rx.changed() => {
                    if changed.is_err() {
                        return joined((&mut handle).await);
                    }
                    let latest = rx.borrow_and_update().clone();
                    if let Some((fraction, stage)) = latest {
                        if let Err(e) = self.store.progress(lease, fraction, &stage).await {
                            tracing::debug!(task = %lease.task, "cannot record progress: {e}");
                        }
                        self.publish_change(&lease.task);
                    }
                }
            }
        }
    }

    async fn publish_and_finish(
        &self,
        task: &TaskRow,
        lease: &Lease,
        cancel: &AtomicBool,
        dir: &std::path::Path,
        outputs: serde_json::Value,
        render_ms: f64,
    ) -> &'static str {
        let scoped = self.store.is_shared().then_some(lease.attempt);
        let published = if cancel.load(Ordering::Relaxed) {
            Err(Stop::Cancelled)
        } else {
            self.patiently("storing the outputs", cancel, || {
                self.files.publish(&task.id, scoped, dir)
            })
            .await
        };
        let _ = tokio::fs::remove_dir_all(dir).await;
        if let Err(stop) = published {
            if !matches!(stop, Stop::Cancelled) || scoped.is_some() {
                let _ = self.files.discard_outputs(&task.id, scoped).await;
            }
            return self.stopped(lease, stop).await;
        }
        let finish = Finish {
            outputs: Some(outputs),
            render_ms: Some(render_ms),
            ..Finish::default()
        };
        if self.end(lease, Status::Succeeded, finish).await {
            if let Some(n) = scoped {
                if let Err(e) = self.files.discard_other_attempts(&task.id, n).await {
                    tracing::warn!(task = %task.id, "cannot remove earlier attempts' files: {e}");
                }
            }
            return "succeeded";
        }
        // Cancelled or taken over while publishing: these files belong to no one.
        if let Err(e) = self.files.discard_outputs(&task.id, scoped).await {
            tracing::warn!(task = %task.id, "cannot remove unused outputs: {e}");
        }
        self.why_stopped(lease).await
    }

    async fn fail(&self, lease: &Lease, detail: &ErrorDetail) -> &'static str {
        if self.end(lease, Status::Failed, Finish::error(detail)).await {
            "failed"
        } else {
            self.why_stopped(lease).await
        }
    }

    /// Records an ending; whether it applied (the lease was still held). A database that
    /// is out of reach is waited for, since the lease check makes a late answer safe.
    async fn end(&self, lease: &Lease, to: Status, finish: Finish) -> bool {
        let mut pause = Duration::from_millis(250);
        loop {
            match self.store.finish(lease, to, finish.clone()).await {
                Ok(applied) => return applied,
                Err(e) if e.unavailable && !self.is_stopping() => {
                    tracing::warn!(task = %lease.task, "cannot record the ending yet: {e}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(task = %lease.task, "cannot record the ending: {e}");
                    return false;
                }
            }
        }
    }

    async fn stopped(&self, lease: &Lease, stop: Stop) -> &'static str {
        match stop {
            Stop::Cancelled => self.why_stopped(lease).await,
            Stop::Fail(detail) => self.fail(lease, &detail).await,
            Stop::Retry(detail) => {
                let delay = retry_delay(lease.attempt);
                let mut pause = Duration::from_millis(250);
                loop {
                    match self.store.retry(lease, &detail, delay).await {
                        Ok(Retried::Requeued) => {
                            self.metrics.retries.with_label_values(&["transient"]).inc();
                            tracing::warn!(task = %lease.task, attempt = lease.attempt,
                                "queued again in {delay:?}: {}", detail.message);
                            return "retried";
                        }
                        Ok(Retried::Failed) => return "failed",
                        Ok(Retried::NotHeld) => return self.why_stopped(lease).await,
                        Err(e) if e.unavailable && !self.is_stopping() => {
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(Duration::from_secs(5));
                        }
                        Err(e) => {
                            tracing::error!(task = %lease.task, "cannot queue it again: {e}");
                            return "lost";
                        }
                    }
                }
            }
        }
    }

    /// Whether a task this worker stopped was cancelled or taken over by another worker.
    async fn why_stopped(&self, lease: &Lease) -> &'static str {
        match self.store.task(None, &lease.task).await {
            Ok(Some(t)) if t.status == Status::Cancelled => "cancelled",
            _ => "lost",
        }
    }

    /// Runs a store operation, retrying while the store is out of reach, for up to
    /// `store_patience` (the lease stays renewed meanwhile).
    async fn patiently<T, F, Fut>(
        &self,
        what: &str,
        cancel: &AtomicBool,
        mut op: F,
    ) -> Result<T, Stop>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = BackendResult<T>>,
    {
        let deadline = Instant::now() + self.settings.store_patience;
        let mut pause = Duration::from_millis(500);
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.unavailable => {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(Stop::Cancelled);
                    }
                    if Instant::now() >= deadline || self.is_stopping() {
                        let mut detail = detail_of(&e.error);
                        detail.code = "store_unavailable".into();
                        return Err(Stop::Retry(detail));
                    }
                    tracing::warn!("{what}: {e}; trying again in {pause:?}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(Stop::Fail(detail_of(&e.error))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_minute() {
        let delays: Vec<u64> = (1..=8).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(retry_delay(0).as_secs(), 2);
    }
}
