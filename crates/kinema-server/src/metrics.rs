//! `/metrics` in the Prometheus text format, for API servers and workers alike.
//!
//! Queue depth is read from the queue at scrape time (it is shared by every process);
//! the rest is what this process observed. Nothing here names a token or a task.

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::backend::TaskStore;

pub struct Metrics {
    registry: Registry,
    depth: IntGaugeVec,
    /// How long a claim statement took (successful claims).
    pub claim_seconds: Histogram,
    /// From submit to claim: time spent queued.
    pub queue_wait_seconds: HistogramVec,
    /// From claim to the recorded ending, per engine and outcome.
    pub job_seconds: HistogramVec,
    /// Tasks put back (or failed) because their worker stopped renewing the lease.
    pub lease_expiries: IntCounter,
    /// Runs started again: lease expiries and transient failures, by reason.
    pub retries: IntCounterVec,
    /// Renders running in this process, and how many it may run.
    pub busy: IntGauge,
    pub slots: IntGauge,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    // Names and label sets are constants below; a failure is a programming error that
    // the unit test catches.
    r.unwrap_or_else(|e| panic!("invalid metric definition: {e}"))
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("kinema".into()), None).unwrap_or_else(|_| Registry::new());
        let seconds = |name: &str, help: &str, start: f64, count: usize| {
            HistogramOpts::new(name, help).buckets(must(exponential_buckets(start, 2.0, count)))
        };
        let depth = must(IntGaugeVec::new(
            Opts::new(
                "queue_tasks",
                "Tasks waiting (PENDING) or rendering (RUNNING), per engine",
            ),
            &["engine", "status"],
        ));
        let claim_seconds = must(Histogram::with_opts(seconds(
            "claim_seconds",
            "Duration of the claim statement that took a task",
            0.0005,
            14,
        )));
        let queue_wait_seconds = must(HistogramVec::new(
            seconds("queue_wait_seconds", "Time from submit to claim", 0.005, 18),
            &["engine"],
        ));
        let job_seconds = must(HistogramVec::new(
            seconds(
                "job_seconds",
                "Time from claim to the recorded ending",
                0.01,
                18,
            ),
            &["engine", "outcome"],
        ));
        let lease_expiries = must(IntCounter::new(
            "lease_expiries_total",
            "Tasks whose worker stopped renewing its lease (reaped by this process)",
        ));
        let retries = must(IntCounterVec::new(
            Opts::new("retries_total", "Task runs started again, by reason"),
            &["reason"],
        ));
        let busy = must(IntGauge::new(
            "worker_busy",
            "Renders running in this process",
        ));
        let slots = must(IntGauge::new(
            "worker_slots",
            "Renders this process runs at once (--workers / --concurrency)",
        ));
        for c in [
            Box::new(depth.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(claim_seconds.clone()),
            Box::new(queue_wait_seconds.clone()),
            Box::new(job_seconds.clone()),
            Box::new(lease_expiries.clone()),
            Box::new(retries.clone()),
            Box::new(busy.clone()),
            Box::new(slots.clone()),
        ] {
            must(registry.register(c));
        }
        Metrics {
            registry,
            depth,
            claim_seconds,
            queue_wait_seconds,
            job_seconds,
            lease_expiries,
            retries,
            busy,
            slots,
        }
    }

    pub fn observe_claim(&self, took: Duration) {
        self.claim_seconds.observe(took.as_secs_f64());
    }

    /// The exposition text, with queue depth read from `store` now. A queue that cannot be
    /// read leaves the depth series out rather than failing the scrape.
    pub async fn render(&self, store: &dyn TaskStore) -> String {
        self.depth.reset();
        match store.depth().await {
            Ok(rows) => {
                for d in rows {
                    self.depth
                        .with_label_values(&[d.engine.as_str(), d.status.as_str()])
                        .set(d.count as i64);
                }
            }
            Err(e) => tracing::warn!("cannot read the queue depth for /metrics: {e}"),
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!("cannot encode /metrics: {e}");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// `/metrics` and `/healthz`, which every process serves without a token (API servers on
/// their HTTP port, workers on `--metrics-addr`).
pub fn routes() -> axum::Router<crate::state::AppState> {
    use axum::extract::State;
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(s): State<crate::state::AppState>| async move {
                respond(&s.metrics, s.store.as_ref()).await
            }),
        )
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
}

/// The `/metrics` response.
pub async fn respond(metrics: &Metrics, store: &dyn TaskStore) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            TextEncoder::new().format_type().to_string(),
        )],
        metrics.render(store).await,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_series_is_exposed_in_the_text_format() {
        let m = Metrics::new();
        m.observe_claim(Duration::from_millis(2));
        m.queue_wait_seconds
            .with_label_values(&["rig"])
            .observe(0.1);
        m.job_seconds
            .with_label_values(&["rig", "succeeded"])
            .observe(0.2);
        m.lease_expiries.inc();
        m.retries.with_label_values(&["lease_expired"]).inc();
        m.slots.set(2);
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::backend::sqlite::SqliteQueue::open(&dir.path().join("q.sqlite3"), 3).unwrap();
        let request = serde_json::json!({"prompt": "wave"});
        store
            .store()
            .submit(
                crate::store::NewTask {
                    id: "t1",
                    owner: "a",
                    engine: "rig",
                    idempotency_key: None,
                    request: &request,
                },
                10,
            )
            .unwrap();
        let text = m.render(&store).await;
        for name in [
            "kinema_claim_seconds_bucket",
            "kinema_queue_wait_seconds_count{engine=\"rig\"} 1",
            "kinema_job_seconds_sum{engine=\"rig\",outcome=\"succeeded\"}",
            "kinema_lease_expiries_total 1",
            "kinema_retries_total{reason=\"lease_expired\"} 1",
            "kinema_worker_slots 2",
            "kinema_queue_tasks{engine=\"rig\",status=\"PENDING\"} 1",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
