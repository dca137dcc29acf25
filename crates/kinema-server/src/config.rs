//! How a server is set up, and the checks that refuse unsafe setups before binding.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kinema_core::{Error, Result};
use kinema_rig::MotionLibrary;

use crate::backend::{QueueLocation, StoreLocation};

/// Everything `kinema serve` can be told; [`ServeConfig::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Where to listen; port 0 picks a free port (see [`crate::RunningServer::addr`]).
    pub addr: SocketAddr,
    /// Holds the SQLite queue, uploads and outputs; created if missing.
    pub data: PathBuf,
    /// Renders running at once. Each render also uses the rayon pool, so more workers
    /// than cores only adds waiting.
    pub workers: usize,
    /// Accepted bearer tokens. Empty means no authentication, allowed on loopback only.
    pub tokens: Vec<String>,
    /// Unfinished (pending or running) tasks one token may have before submits get 429.
    pub quota: usize,
    /// Largest accepted image upload, in bytes.
    pub max_upload_bytes: usize,
    /// Largest accepted input image, in pixels, checked from the header before decoding;
    /// by default the limit the CLI and batches apply (`kinema_jobs::defaults::limits`).
    pub max_pixels: u64,
    /// Most frames one clip may have.
    pub max_frames: u32,
    /// Highest frame rate.
    pub max_fps: u32,
    /// Smallest and largest `size` (output square side) a request may ask for.
    pub min_size: u32,
    pub max_size: u32,
    /// Motions added to the built-in ones for rig tasks (`--motions DIR`, loaded once at
    /// start); `None` is the built-ins alone.
    pub motions: Option<Arc<MotionLibrary>>,
    /// Where tasks are queued: the SQLite file in `data` (default) or a shared PostgreSQL
    /// database that `kinema worker` processes also serve.
    pub queue: QueueLocation,
    /// Where uploads and outputs live: `data` (default), another folder, or S3.
    pub store: StoreLocation,
    /// Answer downloads with a redirect to a URL presigned for this long (S3 only).
    pub presign: Option<Duration>,
    /// Engines this process's workers claim tasks for (shared queues); `None`: all.
    pub engines: Option<Vec<String>>,
    /// How long a claimed task stays with its worker without a heartbeat (shared queues).
    pub lease: Duration,
    /// Runs of one task (after crashes, expired leases, store outages) before it fails.
    pub max_attempts: u32,
    /// Names this process's workers in the queue and the logs (default: host-pid).
    pub worker_id: Option<String>,
    /// How long a render waits for an unreachable object store before the task is
    /// handed back to the queue.
    pub store_patience: Duration,
    /// Most US dollars of paid-engine tasks one token may submit (estimated at submit
    /// time from the providers' list prices); `None` for no limit. Provider keys come from
    /// the server's environment, never from clients.
    pub spend_limit_usd: Option<f64>,
}

impl ServeConfig {
    pub fn new(addr: SocketAddr, data: impl Into<PathBuf>) -> Self {
        ServeConfig {
            addr,
            data: data.into(),
            workers: 2,
            tokens: Vec::new(),
            quota: 50,
            max_upload_bytes: 10 << 20,
            max_pixels: kinema_jobs::defaults::limits().max_input_pixels,
            max_frames: 480,
            max_fps: 60,
            min_size: 16,
            max_size: 2048,
            motions: None,
            queue: QueueLocation::Sqlite,
            store: StoreLocation::Data,
            presign: None,
            engines: None,
            lease: Duration::from_secs(30),
            max_attempts: 3,
            worker_id: None,
            store_patience: Duration::from_secs(300),
            spend_limit_usd: None,
        }
    }

    /// Largest JSON body: a request carrying the image inline as a base64 data URL.
    pub fn max_json_bytes(&self) -> usize {
        self.max_upload_bytes / 3 * 4 + (64 << 10)
    }

    /// Refuses setups that would expose an open API or could never run a task.
    pub fn validate(&self) -> Result<()> {
        if self.tokens.is_empty() && !self.addr.ip().is_loopback() {
            return Err(Error::invalid(
                format!(
                    "refusing to listen on {} without a token: anyone on the network could use this machine",
                    self.addr
                ),
                "add --token SECRET (clients send `Authorization: Bearer SECRET`), or listen on 127.0.0.1",
            ));
        }
        if let Some(t) = self.tokens.iter().find(|t| !token_is_usable(t)) {
            return Err(Error::invalid(
                format!("token `{}…` is not usable", t.chars().take(4).collect::<String>()),
                "use at least 16 characters of letters, digits, `-`, `_` or `.`, e.g. from `openssl rand -hex 16`",
            ));
        }
        if self.workers > 256 || (self.workers == 0 && !self.queue.is_shared()) {
            return Err(Error::invalid(
                format!("{} workers is out of range", self.workers),
                "use --workers between 1 and 256 (about one per CPU core); 0 only with a shared --queue postgres://… that `kinema worker` processes serve",
            ));
        }
        self.validate_cluster()?;
        if self.quota == 0 {
            return Err(Error::invalid(
                "a quota of 0 would refuse every task",
                "use --quota 1 or more",
            ));
        }
        Ok(())
    }
}

impl ServeConfig {
    /// The settings that only make sense with a shared queue or an S3 store.
    fn validate_cluster(&self) -> Result<()> {
        if self.presign.is_some() && !self.store.is_s3() {
            return Err(Error::invalid(
                "--presign needs an S3 store: local files have no URL to sign",
                "add --store s3://BUCKET/PREFIX, or drop --presign to serve downloads through the API",
            ));
        }
        if let Some(ttl) = self.presign {
            if ttl < Duration::from_secs(10) || ttl > Duration::from_secs(7 * 24 * 3600) {
                return Err(Error::invalid(
                    format!(
                        "a presigned URL lifetime of {}s is out of range",
                        ttl.as_secs()
                    ),
                    "use --presign-ttl between 10 seconds and 7 days (S3's limit)",
                ));
            }
        }
        if let Some(engines) = &self.engines {
            if !self.queue.is_shared() {
                return Err(Error::invalid(
                    "--engines needs a shared queue: the embedded one has no other worker to run the rest",
                    "drop --engines, or use --queue postgres://… with `kinema worker --engines …` elsewhere",
                ));
            }
            check_engine_names(engines)?;
        }
        if !(1..=100).contains(&self.max_attempts) {
            return Err(Error::invalid(
                format!("{} attempts is out of range", self.max_attempts),
                "use --max-attempts between 1 and 100",
            ));
        }
        if self.lease < Duration::from_secs(3) || self.lease > Duration::from_secs(3600) {
            return Err(Error::invalid(
                format!("a lease of {}s is out of range", self.lease.as_secs()),
                "use --lease between 3 and 3600 seconds; workers renew it every third of that",
            ));
        }
        Ok(())
    }
}

/// Engine names a worker may claim for: known to this build, listed once.
pub fn check_engine_names(engines: &[String]) -> Result<()> {
    if engines.is_empty() {
        return Err(Error::invalid(
            "--engines lists no engine",
            format!(
                "name one or more of: {}",
                kinema_jobs::ENGINE_NAMES.join(", ")
            ),
        ));
    }
    for (i, e) in engines.iter().enumerate() {
        if !kinema_jobs::ENGINE_NAMES.contains(&e.as_str()) {
            return Err(Error::invalid(
                format!("`{e}` is not an engine"),
                format!(
                    "use --engines with any of: {}",
                    kinema_jobs::ENGINE_NAMES.join(", ")
                ),
            ));
        }
        if engines[..i].contains(e) {
            return Err(Error::invalid(
                format!("engine `{e}` is listed twice"),
                "list each engine once",
            ));
        }
    }
    Ok(())
}

/// Tokens travel in headers and URLs, so only URL-safe characters, and enough of them.
fn token_is_usable(token: &str) -> bool {
    token.len() >= 16
        && token.len() <= 256
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_network_binding_without_token_is_refused() {
        let cfg = ServeConfig::new("0.0.0.0:8080".parse().unwrap(), "/tmp/x");
        let e = cfg.validate().unwrap_err();
        assert!(e.hint.as_deref().unwrap_or("").contains("--token"), "{e}");
        let mut with_token = cfg.clone();
        with_token.tokens = vec!["0123456789abcdef0123".into()];
        assert!(with_token.validate().is_ok());
        let local = ServeConfig::new("127.0.0.1:0".parse().unwrap(), "/tmp/x");
        assert!(local.validate().is_ok());
        let local6 = ServeConfig::new("[::1]:0".parse().unwrap(), "/tmp/x");
        assert!(local6.validate().is_ok());
    }

    #[test]
    fn weak_tokens_and_zero_workers_are_refused() {
        let mut cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), "/tmp/x");
        cfg.tokens = vec!["short".into()];
        assert!(cfg.validate().is_err());
        cfg.tokens = vec!["has space in it 0123456".into()];
        assert!(cfg.validate().is_err());
        cfg.tokens.clear();
        cfg.workers = 0;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--workers"));
    }

    #[test]
    fn cluster_settings_need_a_shared_queue_or_s3() {
        let mut cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), "/tmp/x");
        cfg.workers = 0;
        cfg.queue = QueueLocation::Postgres("postgres://k@localhost/k".into());
        assert!(
            cfg.validate().is_ok(),
            "an API-only server on a shared queue"
        );
        cfg.presign = Some(Duration::from_secs(600));
        assert!(cfg.validate().unwrap_err().hint.unwrap().contains("s3://"));
        cfg.presign = None;
        cfg.engines = Some(vec!["rig".into(), "sora".into()]);
        assert!(cfg.validate().unwrap_err().message.contains("sora"));
        cfg.engines = Some(vec!["rig".into()]);
        assert!(cfg.validate().is_ok());
        cfg.queue = QueueLocation::Sqlite;
        cfg.workers = 1;
        assert!(cfg.validate().unwrap_err().message.contains("--engines"));
        cfg.engines = None;
        cfg.lease = Duration::from_secs(1);
        assert!(cfg.validate().is_err());
    }
}
