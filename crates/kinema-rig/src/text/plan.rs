//! What a prompt asks for: a plan of steps, each an action with its modifiers and the
//! words that chose it, and the one-line reading every front end shows.

use std::sync::Arc;

use serde::Serialize;

use crate::library::{as_written_f64, Motion};

/// The way a step asks the character to face, in the picture's left and right.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Facing {
    /// The prompt named no direction: played as drawn.
    AsDrawn,
    /// "to the right", "rightward", 向右.
    Right,
    /// "to the left", "leftward", 向左.
    Left,
}

impl Facing {
    /// Whether the step plays mirrored for a character drawn facing right
    /// (`drawn_facing_right`, front views included) or left: only when the prompt asked
    /// for the other way.
    pub fn mirrors(self, drawn_facing_right: bool) -> bool {
        match self {
            Facing::AsDrawn => false,
            Facing::Right => !drawn_facing_right,
            Facing::Left => drawn_facing_right,
        }
    }
}

fn as_written<S: serde::Serializer>(value: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(as_written_f64(*value))
}

/// One action of a plan with its modifiers.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Step {
    pub action: String,
    /// The motion `action` names, from the library the prompt was read with; with the
    /// postures of the step's moods added ("sad" hangs the head).
    #[serde(skip)]
    pub motion: Arc<Motion>,
    /// Cycles per second relative to normal (slowly 0.6, fast 1.6, sadly 0.8; they multiply).
    #[serde(serialize_with = "as_written")]
    pub speed: f32,
    /// Scale of the motion (slightly 0.6, big 1.35, happily 1.2; they multiply).
    #[serde(serialize_with = "as_written")]
    pub amplitude: f32,
    /// Times to perform it; `None` lets the clip length decide (cycles) or means once.
    pub repetitions: Option<u32>,
    pub facing: Facing,
    /// The prompt words that chose this step and set its modifiers, so users see why.
    pub words: Vec<String>,
    /// The modifiers applied (`slow`, `sad`, `left`…, named as in reader/modifiers.toml).
    pub modifiers: Vec<String>,
    /// Things and places the prompt gave that do not change the motion ("over an
    /// obstacle", "his sword").
    pub context: Vec<String>,
    /// Words read past: fillers, subjects, and words the reader does not know.
    pub ignored: Vec<String>,
    /// The ignored words the reader does not know at all (a subset of `ignored`).
    pub unknown: Vec<String>,
}

impl Step {
    /// `sad slow walk ×2 left`: the step as the reading line names it.
    fn describe(&self) -> String {
        let mut s = String::new();
        for m in self
            .modifiers
            .iter()
            .filter(|m| *m != "left" && *m != "right")
        {
            s.push_str(m);
            s.push(' ');
        }
        s.push_str(&self.action);
        if let Some(n) = self.repetitions {
            s.push_str(&format!(" ×{n}"));
        }
        match self.facing {
            Facing::AsDrawn => {}
            Facing::Left => s.push_str(" left"),
            Facing::Right => s.push_str(" right"),
        }
        s
    }
}

/// What a prompt asks for: actions in order.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// Share of `total` frames per step, by the steps' natural durations (largest
    /// remainder, every step at least one frame while frames last).
    pub fn split_frames(&self, total: u32) -> Vec<u32> {
        let weights: Vec<f64> = self
            .steps
            .iter()
            .map(|s| {
                let secs = s.motion.seconds as f64;
                secs * s.repetitions.unwrap_or(1).max(1) as f64 / s.speed.max(0.1) as f64
            })
            .collect();
        let n = self.steps.len();
        if n == 0 {
            return Vec::new();
        }
        let sum: f64 = weights.iter().sum();
        let base = (total as usize).saturating_sub(n).min(total as usize);
        let guaranteed = if total as usize >= n { 1 } else { 0 };
        let exact: Vec<f64> = weights.iter().map(|w| w / sum * base as f64).collect();
        let mut out: Vec<u32> = exact
            .iter()
            .map(|e| e.floor() as u32 + guaranteed)
            .collect();
        let mut left = total - out.iter().sum::<u32>();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor())
                .total_cmp(&(exact[a] - exact[a].floor()))
                .then(a.cmp(&b))
        });
        for &i in order.iter().cycle().take(n * 2) {
            if left == 0 {
                break;
            }
            out[i] += 1;
            left -= 1;
        }
        out
    }

    /// How the prompt was read, in one line: `hurt → die (12 + 12 frames)`, with the
    /// modifiers before each action, and the context and unknown words after. Without
    /// `frames` the frame counts are left out.
    pub fn reading(&self, frames: Option<u32>) -> String {
        let mut s = self
            .steps
            .iter()
            .map(Step::describe)
            .collect::<Vec<_>>()
            .join(" → ");
        if let Some(total) = frames {
            let shares: Vec<String> = self
                .split_frames(total)
                .iter()
                .map(|n| n.to_string())
                .collect();
            s.push_str(&format!(" ({} frames)", shares.join(" + ")));
        }
        let context: Vec<&str> = self
            .steps
            .iter()
            .flat_map(|st| st.context.iter().map(String::as_str))
            .collect();
        if !context.is_empty() {
            s.push_str(&format!("; context: {}", context.join(", ")));
        }
        let unknown: Vec<&str> = self
            .steps
            .iter()
            .flat_map(|st| st.unknown.iter().map(String::as_str))
            .collect();
        if !unknown.is_empty() {
            s.push_str(&format!("; ignored: {}", unknown.join(", ")));
        }
        s
    }
}
