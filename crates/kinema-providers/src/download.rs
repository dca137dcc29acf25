//! Fetching the finished video: streamed to a temporary file, size-capped, checked
//! against its `Content-Length`, retried after `429`/`5xx`/broken connections. Signed
//! download links expire; an answer that says so (`401`/`403`/`404`/`410`) is reported as
//! [`Fetch::Expired`] so the caller can ask the provider for a fresh link.

use std::io::{Read, Write};
use std::path::Path;

use kinema_core::{Error, Result};

use crate::catalog::PollSpec;
use crate::wait::{backoff_seconds, Waiter};

/// Largest video Kinema accepts (a 15 s 1080p clip is far below it).
pub const MAX_VIDEO_BYTES: u64 = 512 << 20;
const MAX_ATTEMPTS: u32 = 6;

/// How a download ended.
#[derive(Debug)]
pub enum Fetch {
    /// The file is complete: this many bytes.
    Done(u64),
    /// The link no longer works (HTTP status given).
    Expired(u16),
}

/// Calls `tick` every megabyte, so a long download still reports progress and can be
/// cancelled.
struct Ticking<'a, R> {
    inner: R,
    tick: &'a dyn Fn(),
    since: usize,
}

impl<R: Read> Read for Ticking<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.since += n;
        if self.since >= 1 << 20 {
            self.since = 0;
            (self.tick)();
        }
        Ok(n)
    }
}

/// Downloads `url` into `dest` (replaced), without sending any provider credentials.
pub fn fetch(
    agent: &ureq::Agent,
    url: &str,
    dest: &Path,
    poll: &PollSpec,
    waiter: &Waiter<'_>,
) -> Result<Fetch> {
    let mut attempt = 0;
    loop {
        waiter.check()?;
        let failure = match agent.get(url).call() {
            Ok(response) => {
                let expected = response
                    .header("Content-Length")
                    .and_then(|v| v.trim().parse::<u64>().ok());
                if expected.is_some_and(|n| n > MAX_VIDEO_BYTES) {
                    return Err(too_big());
                }
                match write_body(response.into_reader(), dest, waiter.tick) {
                    Ok(n) if expected.is_none_or(|e| e == n) => return Ok(Fetch::Done(n)),
                    Ok(n) => format!(
                        "the connection ended after {n} of {} bytes",
                        expected.unwrap_or(0)
                    ),
                    Err(WriteError::TooBig) => return Err(too_big()),
                    Err(WriteError::Disk(e)) => return Err(e),
                    Err(WriteError::Network(e)) => format!("the download broke off: {e}"),
                }
            }
            Err(ureq::Error::Status(status, _)) if matches!(status, 401 | 403 | 404 | 410) => {
                return Ok(Fetch::Expired(status))
            }
            Err(ureq::Error::Status(status, _)) if status == 429 || status >= 500 => {
                format!("the download server answered {status}")
            }
            Err(ureq::Error::Status(status, _)) => {
                return Err(Error::model(format!(
                    "the video download failed with HTTP {status}"
                )))
            }
            Err(ureq::Error::Transport(t)) => t.to_string(),
        };
        attempt += 1;
        if attempt >= MAX_ATTEMPTS {
            return Err(Error::model(format!("cannot download the video: {failure}"))
                .with_hint("check the network; running the same command again resumes the provider's task without paying twice"));
        }
        waiter.sleep(backoff_seconds(poll, attempt - 1, None))?;
    }
}

enum WriteError {
    TooBig,
    Network(std::io::Error),
    Disk(Error),
}

fn write_body(reader: impl Read, dest: &Path, tick: &dyn Fn()) -> Result<u64, WriteError> {
    let disk = |e: std::io::Error| {
        WriteError::Disk(Error::output(format!("cannot write {}", dest.display())).with_source(e))
    };
    let mut file = std::fs::File::create(dest).map_err(disk)?;
    let mut reader = Ticking {
        inner: reader.take(MAX_VIDEO_BYTES + 1),
        tick,
        since: 0,
    };
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(WriteError::Network)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_VIDEO_BYTES {
            return Err(WriteError::TooBig);
        }
        file.write_all(&buf[..n]).map_err(disk)?;
    }
    file.flush().map_err(disk)?;
    Ok(total)
}

fn too_big() -> Error {
    Error::model(format!(
        "the provider's video is larger than {} MiB",
        MAX_VIDEO_BYTES >> 20
    ))
    .with_hint("ask for a shorter clip or a lower quality")
}
