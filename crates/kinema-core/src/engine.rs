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
}
