//! LISTEN/NOTIFY: one dedicated connection per process turns other processes' NOTIFY
//! messages into local [`Signals`].
//!
//! * `kinema_work` (payload: an engine): work was queued; idle workers look at once.
//! * `kinema_cancel` (payload: a task id): stop rendering it, if it runs here.
//! * `kinema_change` (payload: a task id): event streams re-read it.
//!
//! Notifications sent while the connection is down are lost, so after every reconnect
//! the workers are woken to look, and the callers keep their polling fallbacks (claims
//! every few seconds, a cancel check every second, event streams re-reading).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::{AsyncMessage, Client, Connection, NoTls, Notification};

use super::connect::Tls;
use crate::backend::Signals;

pub const WORK: &str = "kinema_work";
pub const CANCEL: &str = "kinema_cancel";
pub const CHANGE: &str = "kinema_change";

/// Runs until the task is aborted (the queue is dropped), reconnecting with back-off.
pub async fn run(config: tokio_postgres::Config, tls: Tls, signals: Arc<Signals>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let result = match &tls {
            Tls::Plain => match config.connect(NoTls).await {
                Ok((client, conn)) => session(client, conn, &signals).await,
                Err(e) => Err(e),
            },
            Tls::Rustls(connector) => match config.connect(connector.clone()).await {
                Ok((client, conn)) => session(client, conn, &signals).await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => {
                tracing::warn!("the queue notification connection closed; reconnecting");
                backoff = Duration::from_millis(100);
            }
            Err(e) => tracing::warn!(
                "no queue notification connection ({e}); reconnecting, and polling meanwhile"
            ),
        }
        // Anything notified while disconnected is lost: look now, not at the next poll.
        signals.work_available();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Listens on one connection until it ends.
async fn session<S, T>(
    client: Client,
    mut conn: Connection<S, T>,
    signals: &Signals,
) -> Result<(), tokio_postgres::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Notification>();
    // The connection must be polled for the LISTEN below to complete at all, and it is
    // the only place notifications come out of.
    let pump = async move {
        let mut messages = futures_util::stream::poll_fn(|cx| conn.poll_message(cx));
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(n) = message? {
                let _ = tx.send(n);
            }
        }
        Ok(())
    };
    let listen = async {
        client
            .batch_execute(&format!("LISTEN {WORK}; LISTEN {CANCEL}; LISTEN {CHANGE}"))
            .await?;
        // Listening now: whatever was queued before is visible to a claim.
        signals.work_available();
        while let Some(n) = rx.recv().await {
            dispatch(signals, &n);
        }
        Ok(())
    };
    tokio::select! {
        r = pump => r,
        r = listen => r,
    }
}

fn dispatch(signals: &Signals, n: &Notification) {
    match n.channel() {
        WORK => signals.work_available(),
        CANCEL => signals.cancelled(n.payload()),
        CHANGE => signals.changed(n.payload()),
        _ => {}
    }
}
