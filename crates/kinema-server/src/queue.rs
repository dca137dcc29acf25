//! Workers that take tasks from the store, render them, and record how they ended.
//!
//! Rendering is CPU work, so it runs on plain OS threads (`--workers` of them), never
//! on the async executor. Workers claim tasks through [`Store::claim_next`], which
//! rotates between owners so one busy token cannot starve the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::runner::{execute, publish, Outcome};
use crate::state::DataDir;
use crate::store::{Finish, Status, Store, TaskRow};
use crate::ServeConfig;

pub struct Queue {
    store: Arc<Store>,
    data: Arc<DataDir>,
    config: Arc<ServeConfig>,
    /// Task ids whose state changed, for SSE listeners.
    events: broadcast::Sender<String>,
    /// Bumped whenever there may be new work; workers sleep on it.
    wake: Mutex<u64>,
    wake_cv: Condvar,
    stopping: AtomicBool,
    /// Cancel flags of the tasks being rendered now.
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Queue {
    /// Starts `config.workers` worker threads.
    pub fn start(store: Arc<Store>, data: Arc<DataDir>, config: Arc<ServeConfig>) -> Arc<Queue> {
        let (events, _) = broadcast::channel(4096);
        let queue = Arc::new(Queue {
            store,
            data,
            config: config.clone(),
            events,
            wake: Mutex::new(0),
            wake_cv: Condvar::new(),
            stopping: AtomicBool::new(false),
            running: Mutex::new(HashMap::new()),
            workers: Mutex::new(Vec::new()),
        });
        let mut handles = Vec::new();
        for n in 0..config.workers {
            let q = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("kinema-worker-{n}"))
                .spawn(move || q.work());
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => tracing::error!("cannot start worker {n}: {e}"),
            }
        }
        *queue.workers.lock().unwrap_or_else(|e| e.into_inner()) = handles;
        queue
    }

    /// Tells sleeping workers to look for work.
    pub fn notify(&self) {
        let mut n = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.wrapping_add(1);
        self.wake_cv.notify_all();
    }

    /// Announces that task `id` changed (progress or status).
    pub fn publish_change(&self, id: &str) {
        let _ = self.events.send(id.to_string());
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.events.subscribe()
    }

    /// Asks the worker rendering `id` to stop; its result will be thrown away.
    pub fn cancel_running(&self, id: &str) {
        if let Some(flag) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            flag.store(true, Ordering::Relaxed);
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

    /// Stops taking new tasks and waits up to `grace` for running renders. Renders still
    /// going stay RUNNING in the store and are re-queued on the next start.
    pub fn stop(&self, grace: Duration) {
        self.begin_stop();
        let handles: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        let deadline = Instant::now() + grace;
        for h in handles {
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }

    fn work(self: Arc<Self>) {
        while !self.stopping.load(Ordering::SeqCst) {
            let seen = *self.wake.lock().unwrap_or_else(|e| e.into_inner());
            match self.store.claim_next() {
                Ok(Some(task)) => self.run(task),
                Ok(None) => {
                    let guard = self.wake.lock().unwrap_or_else(|e| e.into_inner());
                    if *guard == seen && !self.stopping.load(Ordering::SeqCst) {
                        // The timeout is a safety net; submits notify.
                        let _ = self.wake_cv.wait_timeout(guard, Duration::from_millis(500));
                    }
                }
                Err(e) => {
                    tracing::error!("cannot claim a task: {e}");
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }

    fn run(&self, task: TaskRow) {
        let id = task.id.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), cancel.clone());
        self.publish_change(&id);
        // A cancel that landed between the claim and registering the flag.
        if matches!(self.store.task(None, &id), Ok(Some(t)) if t.status != Status::Running) {
            cancel.store(true, Ordering::Relaxed);
        }
        let report = |fraction: f64, stage: &str| {
            if let Err(e) = self.store.set_progress(&id, fraction, stage) {
                tracing::warn!("cannot record progress of {id}: {e}");
            }
            self.publish_change(&id);
        };
        let outcome = execute(&task, &self.data, &self.config, &cancel, &report);
        self.finish(&id, outcome, &cancel);
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.publish_change(&id);
    }

    fn finish(&self, id: &str, outcome: Outcome, cancel: &AtomicBool) {
        let result = match outcome {
            Outcome::Succeeded {
                dir,
                outputs,
                render_ms,
            } => {
                let dest = self.data.task_outputs(id);
                if cancel.load(Ordering::Relaxed) {
                    let _ = std::fs::remove_dir_all(&dir);
                    return;
                }
                if let Err(e) = publish(&dir, &dest) {
                    let _ = std::fs::remove_dir_all(&dir);
                    self.fail(
                        id,
                        "output_failed",
                        format!("cannot move the outputs into place: {e}"),
                    );
                    return;
                }
                let outputs = serde_json::to_value(&outputs).unwrap_or_default();
                let moved = self.store.transition(
                    id,
                    Status::Running,
                    Status::Succeeded,
                    Finish {
                        outputs: Some(outputs),
                        render_ms: Some(render_ms),
                        ..Finish::default()
                    },
                );
                if !matches!(moved, Ok(true)) {
                    // Cancelled while we were publishing: the task ended already.
                    let _ = std::fs::remove_dir_all(&dest);
                }
                moved
            }
            Outcome::Failed(detail) => self.store.transition(
                id,
                Status::Running,
                Status::Failed,
                Finish {
                    error: serde_json::to_value(&detail).ok(),
                    ..Finish::default()
                },
            ),
            // The cancel request already moved the task to CANCELLED.
            Outcome::Cancelled => Ok(false),
        };
        if let Err(e) = result {
            tracing::error!("cannot record the end of task {id}: {e}");
        }
    }

    fn fail(&self, id: &str, code: &str, message: String) {
        let detail = crate::errors::ErrorDetail {
            code: code.into(),
            message,
            hint: "check free space and permissions of the --data directory".into(),
        };
        if let Err(e) = self.store.transition(
            id,
            Status::Running,
            Status::Failed,
            Finish {
                error: serde_json::to_value(&detail).ok(),
                ..Finish::default()
            },
        ) {
            tracing::error!("cannot record the failure of task {id}: {e}");
        }
    }
}
