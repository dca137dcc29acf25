//! How a server is set up, and the checks that refuse unsafe setups before binding.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use kinema_core::{Error, Result};
use kinema_rig::MotionLibrary;

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
        if self.workers == 0 || self.workers > 256 {
            return Err(Error::invalid(
                format!("{} workers is out of range", self.workers),
                "use --workers between 1 and 256 (about one per CPU core)",
            ));
        }
        if self.quota == 0 {
            return Err(Error::invalid(
                "a quota of 0 would refuse every task",
                "use --quota 1 or more",
            ));
        }
        Ok(())
    }
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
}
