use crate::{Character, Clip, ClipSpec, Result};

/// What an engine is asked to do: animate this character as the prompt says.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    pub character: &'a Character,
    pub prompt: &'a str,
    pub spec: &'a ClipSpec,
}

/// How far a generation has come, for progress bars and service events.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub stage: &'static str,
    pub done: u64,
    pub total: u64,
}

/// An engine's result: the clip and what the engine understood of the prompt.
#[derive(Clone, Debug)]
pub struct Generation {
    pub clip: Clip,
    /// Engine-specific account of the prompt (for `rig`: the parsed action plan), shown
    /// by `--json` so users can see why the clip looks the way it does.
    pub understood: serde_json::Value,
    /// Per-frame gameplay metadata (pivot, root motion, hurt- and hitboxes, events), for
    /// engines that know the character's body; `None` for engines that only see pixels.
    pub gameplay: Option<Vec<crate::FrameGameplay>>,
}

/// What a render will cost, for engines that bill per use (remote video services), so
/// front ends can show it and ask before anything is paid.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CostEstimate {
    /// Estimated price in US dollars (the provider's list price).
    pub usd: f64,
    /// Seconds of video ordered (what providers bill by).
    pub video_seconds: f64,
    /// Usual wait from submit to result.
    pub typical_wait_s: u64,
    /// One line saying what is ordered ("Runway gen4_turbo, 5 s at 960:960").
    pub what: String,
}

impl CostEstimate {
    /// The sum of several estimates (one per clip of a request or a batch).
    pub fn total(parts: &[CostEstimate]) -> Option<CostEstimate> {
        let first = parts.first()?;
        Some(CostEstimate {
            usd: parts.iter().map(|p| p.usd).sum(),
            video_seconds: parts.iter().map(|p| p.video_seconds).sum(),
            typical_wait_s: parts.iter().map(|p| p.typical_wait_s).max().unwrap_or(0),
            what: if parts.len() == 1 {
                first.what.clone()
            } else {
                format!("{} clips: {}", parts.len(), first.what)
            },
        })
    }
}

/// A way of turning a character and a prompt into a clip.
///
/// Engines are shared across threads (batch jobs, service workers), so they hold only
/// immutable configuration or internally synchronised caches.
pub trait Engine: Send + Sync {
    /// Short identifier used on the command line (`--engine NAME`).
    fn name(&self) -> &'static str;

    /// Checks the prompt without rendering, so callers can reject bad requests up front.
    fn understand(&self, prompt: &str) -> Result<serde_json::Value>;

    /// Renders the clip. `progress` may be called from any thread.
    fn generate(&self, job: Job<'_>, progress: &(dyn Fn(Progress) + Sync)) -> Result<Generation>;

    /// Checks the clip's timing (length, rate, loop) against what the engine can make,
    /// before anything is loaded, rendered or paid for.
    fn check(&self, _spec: &ClipSpec) -> Result<()> {
        Ok(())
    }

    /// The price of rendering one clip of `spec`, for engines that bill; `None` for
    /// engines that run here for free.
    fn estimate(&self, _spec: &ClipSpec) -> Option<CostEstimate> {
        None
    }
}
