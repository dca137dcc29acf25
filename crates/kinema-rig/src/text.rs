//! Text → motion plan: English and Chinese prompts read as a whole.
//!
//! The word tables live in `reader/*.toml` ([`vocabulary`]), the action words in the
//! motion files; [`lexicon`] joins them per library and gives jieba the Chinese words.
//! [`words`] turns text into words (phrases joined, numbers with their measure words),
//! [`read`] turns words into steps, and [`plan`] holds the result and its one-line
//! reading. A prompt is refused only when it names no action at all (or a word in a
//! segment without an action is a near miss of one: "jmup").

mod lexicon;
mod plan;
mod posture;
mod read;
mod vocabulary;
mod words;

use kinema_core::{Error, Result};

use crate::library::MotionLibrary;

pub(crate) use lexicon::Lexicon;
pub use plan::{Facing, Plan, Step};
pub(crate) use vocabulary::reserved_word;

/// Levenshtein distance in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Up to three action names closest to `word`: edit distance for Latin words, shared
/// characters for Chinese.
pub fn nearest_actions<'l>(library: &'l MotionLibrary, word: &str) -> Vec<&'l str> {
    let mut scored: Vec<(f32, &str)> = Vec::new();
    for a in library.motions() {
        let score = if word.is_ascii() {
            a.english
                .iter()
                .map(|w| edit_distance(word, w) as f32 / w.len().max(word.len()) as f32)
                .fold(f32::MAX, f32::min)
        } else {
            let best_shared = a
                .chinese
                .iter()
                .map(|w| w.chars().filter(|c| word.contains(*c)).count())
                .max()
                .unwrap_or(0);
            1.0 - best_shared as f32 / word.chars().count().max(1) as f32
        };
        scored.push((score, &a.name));
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    scored.into_iter().take(3).map(|s| s.1).collect()
}

pub(crate) fn typo<'l>(library: &'l MotionLibrary, word: &str) -> Option<&'l str> {
    if !word.is_ascii() || word.len() < 3 {
        return None;
    }
    let limit = if word.len() >= 6 { 2 } else { 1 };
    let mut best: Option<(usize, &str)> = None;
    for a in library.motions() {
        for w in &a.english {
            let d = edit_distance(word, w);
            if d <= limit && best.is_none_or(|b| d < b.0) {
                best = Some((d, &a.name));
            }
        }
    }
    best.map(|b| b.1)
}

fn unknown_error(library: &MotionLibrary, unknown: &[String], prompt: &str) -> Error {
    let all = library.names();
    let Some(word) = unknown.first() else {
        return Error::invalid(
            format!("no supported action in \"{prompt}\""),
            format!(
                "use one of: {} (English or Chinese, e.g. \"wave\", \"挥手\")",
                all.join(", ")
            ),
        );
    };
    let near = nearest_actions(library, word);
    let words = unknown
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let verb = if unknown.len() == 1 {
        "is not a supported action"
    } else {
        "are not supported actions"
    };
    Error::invalid(
        format!(
            "{words} in \"{prompt}\" {verb}; nearest: {}",
            near.join(", ")
        ),
        format!(
            "use one of: {} (English or Chinese, e.g. \"wave\", \"挥手\")",
            all.join(", ")
        ),
    )
}

/// Parses a prompt into a plan of the built-in actions with modifiers.
pub fn understand(prompt: &str) -> Result<Plan> {
    MotionLibrary::builtin().understand(prompt)
}

impl MotionLibrary {
    /// Parses a prompt into a plan of this library's actions with modifiers.
    pub fn understand(&self, prompt: &str) -> Result<Plan> {
        let all = self.names();
        if prompt.trim().is_empty() {
            return Err(Error::invalid(
                "the prompt is empty",
                format!(
                    "describe an action, e.g. \"wave\" or \"走两步然后挥手\"; supported: {}",
                    all.join(", ")
                ),
            ));
        }
        match read::read(self, prompt) {
            read::Outcome::Plan(plan) => Ok(plan),
            read::Outcome::NoAction { unknown } => Err(unknown_error(self, &unknown, prompt)),
            read::Outcome::Typo { word, action } => Err(Error::invalid(
                format!("`{word}` in \"{prompt}\" is not a known word; did you mean `{action}`?"),
                format!("supported actions: {}", all.join(", ")),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<String> {
        understand(p)
            .unwrap()
            .steps
            .into_iter()
            .map(|s| s.action)
            .collect()
    }

    #[test]
    fn english_verbs_and_synonyms() {
        assert_eq!(names("the knight swings his sword"), ["attack"]);
        assert_eq!(names("Waving hello"), ["wave"]);
        assert_eq!(names("greet"), ["wave"]);
        assert_eq!(names("she is running"), ["run"]);
        assert_eq!(names("the slime bounces"), ["bounce"]);
        assert_eq!(names("idle"), ["idle"]);
    }

    #[test]
    fn chinese_longest_match() {
        assert_eq!(names("挥手"), ["wave"]);
        assert_eq!(names("骑士挥剑"), ["attack"]);
        assert_eq!(names("跳舞"), ["dance"]);
        assert_eq!(names("跳"), ["jump"]);
        assert_eq!(names("跑步"), ["run"]);
        assert_eq!(names("说再见"), ["wave"]);
    }

    #[test]
    fn modifiers_attach_to_their_action() {
        let p = understand("walk slowly then jump twice").unwrap();
        assert_eq!(p.steps[0].speed, 0.6);
        assert_eq!(p.steps[1].repetitions, Some(2));
        assert_eq!(p.steps[1].speed, 1.0);
        let p = understand("quickly run to the left").unwrap();
        assert_eq!((p.steps[0].speed, p.steps[0].facing), (1.6, Facing::Left));
        let p = understand("wave three times").unwrap();
        assert_eq!(p.steps[0].repetitions, Some(3));
        let p = understand("快速向左跑").unwrap();
        assert_eq!(
            (
                p.steps[0].action.as_str(),
                p.steps[0].speed,
                p.steps[0].facing
            ),
            ("run", 1.6, Facing::Left)
        );
        let p = understand("慢慢挥手三次").unwrap();
        assert_eq!((p.steps[0].speed, p.steps[0].repetitions), (0.6, Some(3)));
    }

    #[test]
    fn sequences_in_both_languages() {
        assert_eq!(names("walks then jumps"), ["walk", "jump"]);
        assert_eq!(names("walk, then wave and jump"), ["walk", "wave", "jump"]);
        let p = understand("走两步然后挥手").unwrap();
        assert_eq!(
            p.steps
                .iter()
                .map(|s| s.action.as_str())
                .collect::<Vec<_>>(),
            ["walk", "wave"]
        );
        assert_eq!(p.steps[0].repetitions, Some(1));
        assert_eq!(names("跳跃，接着鞠躬"), ["jump", "bow"]);
        assert_eq!(names("先点头再挥手"), ["nod", "wave"]);
    }

    #[test]
    fn unknown_actions_are_errors_with_suggestions() {
        let e = understand("teleport").unwrap_err();
        assert!(
            e.message.contains("teleport") && e.message.contains("nearest"),
            "{e}"
        );
        let e = understand("jmup").unwrap_err();
        assert!(e.message.contains("jump"), "{e}");
        // With an action found, an unknown word is read past and reported, not refused.
        let p = understand("walk then teleport").unwrap();
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].unknown, ["teleport"]);
        assert!(
            p.reading(None).contains("ignored: teleport"),
            "{}",
            p.reading(None)
        );
        let e = understand("瞬移").unwrap_err();
        assert!(
            e.message.contains("瞬移") && e.message.contains("nearest"),
            "{e}"
        );
        assert!(understand("   ").is_err());
    }

    #[test]
    fn the_reading_line_names_steps_modifiers_context_and_frames() {
        let p = understand("gets hit and falls down").unwrap();
        assert_eq!(p.reading(Some(24)), "hurt → die (8 + 16 frames)");
        let p = understand("sad walk over the bridge").unwrap();
        assert_eq!(p.reading(None), "sad walk; context: over the bridge");
        let p = understand("慢慢地向左走三次").unwrap();
        assert_eq!(p.reading(None), "slow walk ×3 left");
        let p = understand("the knight waves at the crowd").unwrap();
        assert_eq!(p.steps[0].ignored, ["the", "knight"]);
        assert_eq!(p.steps[0].context, ["at the crowd"]);
    }

    #[test]
    fn frames_are_split_by_duration() {
        let p = understand("walk then jump").unwrap();
        assert_eq!(p.split_frames(48), vec![24, 24]);
        let p = understand("walk twice then jump").unwrap();
        assert_eq!(p.split_frames(30).iter().sum::<u32>(), 30);
        assert_eq!(p.split_frames(30), vec![20, 10]);
        assert_eq!(p.split_frames(1).iter().sum::<u32>(), 1);
    }
}
