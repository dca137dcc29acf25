//! `kinema worker`: a process that only renders, serving a shared queue.
//!
//! It claims tasks for the engines it was given (`--engines rig` on a CPU machine,
//! `--engines wan` on a GPU one), takes inputs from and puts outputs into the shared file
//! store, and exposes `/metrics` and `/healthz` on a small listener of its own.

use std::net::SocketAddr;
use std::time::Duration;

use kinema_core::{Error, Result};

use crate::{metrics, open, shutdown_signal, ServeConfig};

/// How long a stopping worker lets renders finish before handing them back to the queue
/// (Kubernetes sends SIGKILL 30 s after SIGTERM by default).
const WORKER_GRACE: Duration = Duration::from_secs(20);

/// Checks that `config` describes a worker this machine can be: a shared queue, at
/// least one slot, and engines that can be built here (the model of `wan` pulled).
pub fn check(config: &ServeConfig) -> Result<Vec<String>> {
    if !config.queue.is_shared() {
        return Err(Error::invalid(
            "a worker needs a shared queue; the SQLite queue is served by `kinema serve --workers N` itself",
            "pass --queue postgres://USER:PASSWORD@HOST:5432/DATABASE (or set KINEMA_QUEUE)",
        ));
    }
    if config.workers == 0 {
        return Err(Error::invalid(
            "a worker with --concurrency 0 would never render",
            "use --concurrency 1 or more (about one per GPU, or one per few CPU cores)",
        ));
    }
    let engines = config
        .engines
        .clone()
        .unwrap_or_else(|| vec![kinema_jobs::ENGINE_NAMES[0].to_string()]);
    crate::config::check_engine_names(&engines)?;
    for name in &engines {
        kinema_jobs::engine_by_name(name).map_err(|e| {
            Error::invalid(
                format!("this machine cannot run the `{name}` engine: {}", e.message),
                e.hint
                    .clone()
                    .unwrap_or_else(|| "drop it from --engines on this machine".into()),
            )
        })?;
    }
    Ok(engines)
}

/// Runs a worker until Ctrl-C or SIGTERM. `metrics_addr` serves `/metrics` (port 0
/// picks one; the address is printed).
pub async fn run(mut config: ServeConfig, metrics_addr: SocketAddr) -> Result<()> {
    let engines = check(&config)?;
    config.engines = Some(engines.clone());
    let listener = tokio::net::TcpListener::bind(metrics_addr)
        .await
        .map_err(|e| {
            Error::invalid(
                format!("cannot listen on {metrics_addr} for /metrics: {e}"),
                "pick another --metrics-addr (port 0 picks a free one)",
            )
        })?;
    let bound = listener.local_addr().unwrap_or(metrics_addr);
    let state = open(config).await?;
    let queue = state.queue.clone();
    eprintln!(
        "kinema worker {}: {} slot(s) for {} from {}, files in {}; metrics on http://{bound}/metrics",
        queue.settings.id,
        queue.settings.slots,
        engines.join(","),
        state.store.describe(),
        state.files.describe(),
    );
    tracing::info!(worker = %queue.settings.id, slots = queue.settings.slots,
        engines = %engines.join(","), metrics = %bound, "worker started");
    let server = axum::serve(listener, metrics::routes().with_state(state))
        .with_graceful_shutdown(shutdown_signal());
    let result = server.await;
    eprintln!(
        "kinema worker: stopping (renders get {}s)",
        WORKER_GRACE.as_secs()
    );
    queue.stop(WORKER_GRACE).await;
    result.map_err(|e| Error::internal("the metrics listener failed").with_source(e))
}

/// [`run`] for the CLI's synchronous `main`.
pub fn run_blocking(config: ServeConfig, metrics_addr: SocketAddr) -> Result<()> {
    check(&config)?;
    crate::runtime()?.block_on(run(config, metrics_addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::QueueLocation;

    #[test]
    fn a_worker_needs_a_shared_queue_and_engines_it_can_run() {
        let mut cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), "/tmp/unused");
        assert!(check(&cfg)
            .unwrap_err()
            .hint
            .unwrap()
            .contains("postgres://"));
        cfg.queue = QueueLocation::Postgres("postgres://k@localhost/k".into());
        assert_eq!(check(&cfg).unwrap(), ["rig"]);
        cfg.engines = Some(vec!["rig".into(), "rig".into()]);
        assert!(check(&cfg).is_err());
        cfg.engines = Some(vec!["rig".into()]);
        cfg.workers = 0;
        assert!(check(&cfg).unwrap_err().message.contains("concurrency"));
    }
}
