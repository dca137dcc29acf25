//! Waiting between requests: scaled for tests, cut short by an interrupt, bounded by the
//! task's deadline, and ticking so the caller can report progress (and, in the service,
//! cancel) while nothing else happens.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kinema_core::{Error, ErrorKind, Result};

/// Set by the Ctrl-C handler; every wait of every provider engine in this process
/// sees it and stops.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Provider tasks being waited for now.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Environment variable scaling every wait (polls, back-off, `Retry-After`), so tests and
/// fakes run in milliseconds: `0.001` makes a 5 s poll interval 5 ms.
pub const TIME_SCALE_ENV: &str = "KINEMA_PROVIDER_TIME_SCALE";
/// Environment variable replacing every provider's deadline, in seconds.
pub const DEADLINE_ENV: &str = "KINEMA_PROVIDER_DEADLINE_S";

/// The process-wide interrupt flag.
pub fn interrupt_flag() -> &'static AtomicBool {
    &INTERRUPTED
}

/// Whether provider tasks are being waited for (a Ctrl-C then cancels them first).
pub fn tasks_in_flight() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

/// Counts a task as in flight for as long as it lives.
pub struct InFlight(());

impl InFlight {
    pub fn new() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight(())
    }
}

impl Default for InFlight {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Installs the Ctrl-C handler for commands that run provider engines: the first Ctrl-C
/// asks running provider tasks to cancel (the engines send the provider's cancel request
/// and return), or exits at once when there are none; a second one exits at once.
pub fn install_ctrl_c_handler() -> Result<()> {
    ctrlc::set_handler(|| {
        if tasks_in_flight() == 0 || INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: cancelling the provider's task (Ctrl-C again to quit now)");
    })
    .map_err(|e| Error::internal("cannot install the Ctrl-C handler").with_source(e))
}

/// The error an interrupt turns into.
pub fn interrupted_error() -> Error {
    Error::new(ErrorKind::InvalidInput, "interrupted").with_hint(
        "the provider's task was cancelled where the provider allows it; nothing was written",
    )
}

/// How long to wait, scaled by [`TIME_SCALE_ENV`].
#[derive(Clone, Copy, Debug)]
pub struct TimeScale(pub f64);

impl TimeScale {
    pub fn from_env() -> Self {
        let scale = std::env::var(TIME_SCALE_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(1.0);
        TimeScale(scale)
    }

    pub fn apply(self, seconds: f64) -> Duration {
        Duration::from_secs_f64((seconds * self.0).max(0.0))
    }
}

/// Sleeps in short slices, checking the interrupt flag and the deadline and calling
/// `tick` in between.
pub struct Waiter<'a> {
    pub scale: TimeScale,
    pub interrupt: &'a AtomicBool,
    pub deadline: Instant,
    /// Shown in the deadline error: what was being waited for.
    pub what: String,
    pub tick: &'a dyn Fn(),
}

impl Waiter<'_> {
    /// Waits `seconds` (before scaling).
    pub fn sleep(&self, seconds: f64) -> Result<()> {
        let end = Instant::now() + self.scale.apply(seconds);
        loop {
            self.check()?;
            (self.tick)();
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }

    /// Errors when interrupted or past the deadline.
    pub fn check(&self) -> Result<()> {
        if self.interrupt.load(Ordering::SeqCst) {
            return Err(interrupted_error());
        }
        if Instant::now() >= self.deadline {
            return Err(Error::model(format!("gave up waiting for {}", self.what)).with_hint(format!(
                "the provider took longer than the deadline; try again later, or raise it with {DEADLINE_ENV}=SECONDS"
            )));
        }
        Ok(())
    }
}

/// Wait before attempt `attempt + 1` after a failure: the provider's `Retry-After` when it
/// gave one, else exponential back-off from the poll interval, plus random jitter.
pub fn backoff_seconds(
    poll: &crate::catalog::PollSpec,
    attempt: u32,
    retry_after: Option<f64>,
) -> f64 {
    let base = retry_after.unwrap_or_else(|| {
        (poll.interval_s * poll.backoff.powi(attempt as i32)).min(poll.max_interval_s)
    });
    base + base * poll.jitter * fastrand::f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_scale_and_stop_on_interrupt_or_deadline() {
        let flag = AtomicBool::new(false);
        let ticks = std::sync::atomic::AtomicU32::new(0);
        let tick = || {
            ticks.fetch_add(1, Ordering::SeqCst);
        };
        let w = Waiter {
            scale: TimeScale(0.001),
            interrupt: &flag,
            deadline: Instant::now() + Duration::from_secs(60),
            what: "a test".into(),
            tick: &tick,
        };
        let t = Instant::now();
        w.sleep(100.0).unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(ticks.load(Ordering::SeqCst) >= 1);
        flag.store(true, Ordering::SeqCst);
        assert_eq!(w.sleep(1.0).unwrap_err().message, "interrupted");
        let late = Waiter {
            deadline: Instant::now(),
            interrupt: &AtomicBool::new(false),
            ..w
        };
        assert!(late
            .sleep(0.0)
            .unwrap_err()
            .message
            .contains("gave up waiting"));
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let poll = crate::catalog::provider("runway").unwrap().poll.clone();
        for attempt in 0..10 {
            let s = backoff_seconds(&poll, attempt, None);
            let base = (5.0 * 2f64.powi(attempt as i32)).min(60.0);
            assert!(s >= base && s <= base * 1.5, "attempt {attempt}: {s}");
        }
        let s = backoff_seconds(&poll, 0, Some(7.0));
        assert!((7.0..=10.5).contains(&s));
    }
}
