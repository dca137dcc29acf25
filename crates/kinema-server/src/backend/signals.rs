//! In-process wake-ups. The SQLite backend raises them directly; the PostgreSQL backend
//! also raises them for NOTIFY messages from other processes, so an idle worker wakes the
//! moment any API server queues work, and a cancel reaches the machine rendering the task.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, Notify};

/// Changes, cancels and "there may be work" for everything in this process.
pub struct Signals {
    changes: broadcast::Sender<String>,
    cancels: broadcast::Sender<String>,
    work: Notify,
}

impl Signals {
    pub fn new() -> Arc<Signals> {
        Arc::new(Signals {
            changes: broadcast::channel(4096).0,
            cancels: broadcast::channel(1024).0,
            work: Notify::new(),
        })
    }

    /// Task `id` changed (progress or status): event streams re-read it.
    pub fn changed(&self, id: &str) {
        let _ = self.changes.send(id.to_string());
    }

    pub fn subscribe_changes(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// Task `id` was cancelled while it may be running here.
    pub fn cancelled(&self, id: &str) {
        let _ = self.cancels.send(id.to_string());
    }

    pub fn subscribe_cancels(&self) -> broadcast::Receiver<String> {
        self.cancels.subscribe()
    }

    /// Wakes every idle worker to look for work.
    pub fn work_available(&self) {
        self.work.notify_waiters();
    }

    /// A wake-up armed now, before the caller looks for work, so a notification that
    /// arrives between the look and the wait is not lost. Resolves on the next
    /// [`Signals::work_available`] or after `poll` (the fallback when notifications are
    /// lost, e.g. while the database connection is being re-established).
    pub fn work_or_timeout(&self, poll: Duration) -> impl Future<Output = ()> + '_ {
        let mut notified = Box::pin(self.work.notified());
        notified.as_mut().enable();
        async move {
            let _ = tokio::time::timeout(poll, notified).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn a_wake_up_between_looking_and_waiting_is_not_lost() {
        let s = Signals::new();
        let wait = s.work_or_timeout(Duration::from_secs(5));
        s.work_available();
        let t = Instant::now();
        wait.await;
        assert!(t.elapsed() < Duration::from_secs(1));
        // Without a notification the wait ends at the poll interval.
        let t = Instant::now();
        s.work_or_timeout(Duration::from_millis(50)).await;
        assert!(t.elapsed() >= Duration::from_millis(50));
    }
}
