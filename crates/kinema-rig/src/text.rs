//! Text → motion plan: English and Chinese verbs, modifiers and sequences.
//!
//! Chinese has no spaces, so the prompt is cut by longest match against the vocabulary;
//! English is split into words. Unknown words are ignored as subjects ("the knight",
//! "骑士") unless they look like a misspelt action or stand alone in a clause, which
//! is an error naming the nearest supported actions — never a silent idle.

use std::collections::HashMap;
use std::sync::Arc;

use kinema_core::{Error, Result};
use serde::Serialize;

use crate::library::{Motion, MotionLibrary};

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Facing {
    /// As drawn (side-view sprites usually face right).
    Right,
    /// Mirrored horizontally.
    Left,
}

/// One action of a plan with its modifiers.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Step {
    pub action: String,
    /// The motion `action` names, from the library the prompt was read with.
    #[serde(skip)]
    pub motion: Arc<Motion>,
    /// Cycles per second relative to normal (slowly 0.6, fast 1.6).
    pub speed: f32,
    /// Scale of the motion (slightly 0.6, big 1.35).
    pub amplitude: f32,
    /// Times to perform it; `None` lets the clip length decide (cycles) or means once.
    pub repetitions: Option<u32>,
    pub facing: Facing,
    /// The prompt words that chose this step, so users can see why.
    pub words: Vec<String>,
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
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// Index into the library's motions.
    Action(usize),
    Speed(f32),
    Amp(f32),
    Times(u32),
    Steps(u32),
    Face(Facing),
    Number(u32),
    Sep,
    Stop,
    Unknown,
}

const SEPARATORS_EN: &[&str] = &[
    "then",
    "and",
    "afterwards",
    "after",
    "next",
    "finally",
    "followed",
    "later",
    "before",
];
const STOPWORDS_EN: &[&str] = &[
    "the",
    "a",
    "an",
    "his",
    "her",
    "their",
    "its",
    "he",
    "she",
    "it",
    "they",
    "that",
    "this",
    "by",
    "to",
    "with",
    "in",
    "on",
    "at",
    "of",
    "up",
    "down",
    "very",
    "really",
    "is",
    "are",
    "does",
    "do",
    "some",
    "around",
    "again",
    "while",
    "character",
    "hero",
    "player",
    "guy",
    "girl",
    "boy",
    "man",
    "woman",
    "knight",
    "sprite",
    "monster",
    "creature",
    "him",
    "them",
    "me",
    "my",
    "your",
    "please",
    "make",
    "let",
    "lets",
    "s",
    "in",
    "place",
    "there",
    "here",
    "about",
];
const NUMBERS_EN: &[(&str, u32)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
];
const MODIFIERS_EN: &[(&str, Tok)] = &[
    ("slowly", Tok::Speed(0.6)),
    ("slow", Tok::Speed(0.6)),
    ("leisurely", Tok::Speed(0.6)),
    ("lazily", Tok::Speed(0.6)),
    ("fast", Tok::Speed(1.6)),
    ("quickly", Tok::Speed(1.6)),
    ("quick", Tok::Speed(1.6)),
    ("rapidly", Tok::Speed(1.6)),
    ("swiftly", Tok::Speed(1.6)),
    ("briskly", Tok::Speed(1.6)),
    ("hurriedly", Tok::Speed(1.6)),
    ("faster", Tok::Speed(1.6)),
    ("big", Tok::Amp(1.35)),
    ("wildly", Tok::Amp(1.35)),
    ("vigorously", Tok::Amp(1.35)),
    ("energetically", Tok::Amp(1.35)),
    ("hard", Tok::Amp(1.35)),
    ("strongly", Tok::Amp(1.35)),
    ("high", Tok::Amp(1.35)),
    ("excitedly", Tok::Amp(1.35)),
    ("slightly", Tok::Amp(0.6)),
    ("little", Tok::Amp(0.6)),
    ("small", Tok::Amp(0.6)),
    ("softly", Tok::Amp(0.6)),
    ("gently", Tok::Amp(0.6)),
    ("lightly", Tok::Amp(0.6)),
    ("subtly", Tok::Amp(0.6)),
    ("bit", Tok::Amp(0.6)),
    ("once", Tok::Times(1)),
    ("twice", Tok::Times(2)),
    ("thrice", Tok::Times(3)),
    ("left", Tok::Face(Facing::Left)),
    ("leftward", Tok::Face(Facing::Left)),
    ("leftwards", Tok::Face(Facing::Left)),
    ("right", Tok::Face(Facing::Right)),
    ("rightward", Tok::Face(Facing::Right)),
    ("rightwards", Tok::Face(Facing::Right)),
];
const WORDS_ZH: &[(&str, Tok)] = &[
    ("慢慢地", Tok::Speed(0.6)),
    ("慢慢", Tok::Speed(0.6)),
    ("缓慢", Tok::Speed(0.6)),
    ("缓缓", Tok::Speed(0.6)),
    ("慢", Tok::Speed(0.6)),
    ("快速", Tok::Speed(1.6)),
    ("迅速", Tok::Speed(1.6)),
    ("飞快", Tok::Speed(1.6)),
    ("快快", Tok::Speed(1.6)),
    ("快", Tok::Speed(1.6)),
    ("用力", Tok::Amp(1.35)),
    ("使劲", Tok::Amp(1.35)),
    ("大幅", Tok::Amp(1.35)),
    ("猛", Tok::Amp(1.35)),
    ("轻轻", Tok::Amp(0.6)),
    ("微微", Tok::Amp(0.6)),
    ("稍微", Tok::Amp(0.6)),
    ("轻", Tok::Amp(0.6)),
    ("向左", Tok::Face(Facing::Left)),
    ("往左", Tok::Face(Facing::Left)),
    ("朝左", Tok::Face(Facing::Left)),
    ("左边", Tok::Face(Facing::Left)),
    ("向右", Tok::Face(Facing::Right)),
    ("往右", Tok::Face(Facing::Right)),
    ("朝右", Tok::Face(Facing::Right)),
    ("右边", Tok::Face(Facing::Right)),
    ("然后", Tok::Sep),
    ("接着", Tok::Sep),
    ("之后", Tok::Sep),
    ("随后", Tok::Sep),
    ("最后", Tok::Sep),
    ("并且", Tok::Sep),
    ("再", Tok::Sep),
    ("和", Tok::Sep),
    ("又", Tok::Sep),
    ("一下", Tok::Times(1)),
    ("他", Tok::Stop),
    ("她", Tok::Stop),
    ("它", Tok::Stop),
    ("的", Tok::Stop),
    ("地", Tok::Stop),
    ("着", Tok::Stop),
    ("在", Tok::Stop),
    ("了", Tok::Stop),
    ("一", Tok::Stop),
    ("个", Tok::Stop),
    ("把", Tok::Stop),
    ("请", Tok::Stop),
    ("让", Tok::Stop),
];

/// The prompt reader's vocabulary for one motion library (kept in the library).
pub(crate) struct Lexicon {
    english: HashMap<String, Tok>,
    chinese: Vec<(String, Tok)>,
    longest_zh: usize,
}

/// What `word` already means to the prompt reader, if anything: motion files may not use
/// these words, or the motion could never be chosen by them.
pub(crate) fn reserved_word(word: &str) -> Option<&'static str> {
    if MODIFIERS_EN.iter().any(|(w, _)| *w == word) {
        Some("a modifier (speed, size, count or direction)")
    } else if SEPARATORS_EN.contains(&word) || ["time", "times"].contains(&word) {
        Some("a sequence or count word")
    } else if STOPWORDS_EN.contains(&word) {
        Some("a filler word")
    } else if NUMBERS_EN.iter().any(|(w, _)| *w == word) {
        Some("a number")
    } else if WORDS_ZH.iter().any(|(w, _)| *w == word) {
        Some("a modifier or sequence word")
    } else {
        None
    }
}

fn lexicon(library: &MotionLibrary) -> &Lexicon {
    library.lexicon.get_or_init(|| {
        let mut english = HashMap::new();
        let mut chinese: Vec<(String, Tok)> = WORDS_ZH
            .iter()
            .map(|(w, t)| (w.to_string(), t.clone()))
            .collect();
        for (i, a) in library.motions().iter().enumerate() {
            for w in &a.english {
                english.insert(w.clone(), Tok::Action(i));
            }
            for w in &a.chinese {
                chinese.push((w.clone(), Tok::Action(i)));
            }
        }
        for (w, t) in MODIFIERS_EN {
            english.insert(w.to_string(), t.clone());
        }
        for w in SEPARATORS_EN {
            english.insert(w.to_string(), Tok::Sep);
        }
        for w in STOPWORDS_EN {
            english.entry(w.to_string()).or_insert(Tok::Stop);
        }
        for (w, n) in NUMBERS_EN {
            english.insert(w.to_string(), Tok::Number(*n));
        }
        let longest_zh = chinese
            .iter()
            .map(|(w, _)| w.chars().count())
            .max()
            .unwrap_or(1);
        Lexicon {
            english,
            chinese,
            longest_zh,
        }
    })
}

fn zh_number(c: char) -> Option<u32> {
    Some(match c {
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        '十' => 10,
        _ => return None,
    })
}

fn english_token(lex: &Lexicon, word: &str) -> Tok {
    if let Some(t) = lex.english.get(word) {
        return t.clone();
    }
    if let Ok(n) = word.parse::<u32>() {
        return Tok::Number(n.min(100));
    }
    // "x3" / "3x"
    for (a, b) in [
        (word.strip_prefix('x'), None),
        (None, word.strip_suffix('x')),
    ] {
        if let Some(n) = a.or(b).and_then(|d| d.parse::<u32>().ok()) {
            return Tok::Times(n.clamp(1, 100));
        }
    }
    // Inflections the lists do not spell out.
    for (suffix, add) in [
        ("ing", ""),
        ("ing", "e"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
        ("ly", ""),
    ] {
        if let Some(stem) = word.strip_suffix(suffix) {
            if let Some(t @ Tok::Action(_)) = lex.english.get(format!("{stem}{add}").as_str()) {
                return t.clone();
            }
        }
    }
    Tok::Unknown
}

/// Splits a prompt into `(token, original text)` pairs.
fn tokenize(lex: &Lexicon, prompt: &str) -> Vec<(Tok, String)> {
    let chars: Vec<char> = prompt.to_lowercase().chars().collect();
    let mut out: Vec<(Tok, String)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphanumeric() || c == '\'' || c == '-' {
            let s = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '\'' || chars[i] == '-')
            {
                i += 1;
            }
            let word: String = chars[s..i].iter().collect();
            let word = word
                .trim_matches(|c| c == '\'' || c == '-')
                .trim_end_matches("'s")
                .to_string();
            if !word.is_empty() {
                out.push((english_token(lex, &word), word));
            }
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if matches!(
            c,
            ',' | ';' | '.' | '!' | '?' | '，' | '、' | '。' | '；' | '！' | '？' | '：' | ':'
        ) {
            out.push((Tok::Sep, c.to_string()));
            i += 1;
            continue;
        }
        // Chinese numeral + measure word: 两次, 三下, 两步.
        if let (Some(n), Some(&m)) = (zh_number(c).or_else(|| c.to_digit(10)), chars.get(i + 1)) {
            let tok = match m {
                '次' | '下' | '遍' | '回' => Some(Tok::Times(n)),
                '步' => Some(Tok::Steps(n)),
                _ => None,
            };
            if let Some(t) = tok {
                out.push((t, chars[i..i + 2].iter().collect()));
                i += 2;
                continue;
            }
        }
        let mut matched = None;
        for len in (1..=lex.longest_zh.min(chars.len() - i)).rev() {
            let cand: String = chars[i..i + len].iter().collect();
            if let Some((_, t)) = lex.chinese.iter().find(|(w, _)| *w == cand) {
                matched = Some((t.clone(), cand, len));
                break;
            }
        }
        match matched {
            Some((t, text, len)) => {
                out.push((t, text));
                i += len;
            }
            None => {
                // Merge runs of unknown characters so messages quote whole words.
                match out.last_mut() {
                    Some((Tok::Unknown, text)) if !text.is_ascii() => text.push(c),
                    _ => out.push((Tok::Unknown, c.to_string())),
                }
                i += 1;
            }
        }
    }
    // "two times", "3 steps": numbers take the following measure word.
    let mut merged: Vec<(Tok, String)> = Vec::new();
    for (t, w) in out {
        if let Some((Tok::Number(n), prev)) = merged.last().cloned() {
            let t2 = match w.as_str() {
                "times" | "time" => Some(Tok::Times(n)),
                "steps" | "step" => Some(Tok::Steps(n)),
                _ => None,
            };
            if let Some(t2) = t2 {
                merged.pop();
                merged.push((t2, format!("{prev} {w}")));
                continue;
            }
        }
        merged.push((t, w));
    }
    merged
}

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

fn is_typo<'l>(library: &'l MotionLibrary, word: &str) -> Option<&'l str> {
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

fn unknown_error(library: &MotionLibrary, word: &str, prompt: &str) -> Error {
    let near = nearest_actions(library, word);
    let all = library.names();
    Error::invalid(
        format!(
            "`{word}` in \"{prompt}\" is not a supported action; nearest: {}",
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
        understand_with(self, prompt)
    }
}

fn understand_with(library: &MotionLibrary, prompt: &str) -> Result<Plan> {
    let all = library.names();
    if prompt.trim().is_empty() {
        return Err(Error::invalid(
            "the prompt is empty",
            format!(
                "describe an action, e.g. \"wave\" or \"走两步然后挥手\"; supported: {}",
                all.join(", ")
            ),
        ));
    }
    #[derive(Default)]
    struct Mods {
        speed: Option<f32>,
        amp: Option<f32>,
        times: Option<u32>,
        steps: Option<u32>,
        facing: Option<Facing>,
        words: Vec<String>,
    }
    fn apply(step: &mut Step, m: Mods) {
        step.speed = m.speed.unwrap_or(step.speed);
        step.amplitude = m.amp.unwrap_or(step.amplitude);
        if let Some(f) = m.facing {
            step.facing = f;
        }
        if let Some(t) = m.times {
            step.repetitions = Some(t.clamp(1, 100));
        }
        if let Some(s) = m.steps {
            let cyclic = step.motion.looping;
            // A walk cycle is two steps.
            step.repetitions = Some(if cyclic { s.div_ceil(2) } else { s }.clamp(1, 100));
        }
        step.words.extend(m.words);
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut pending = Mods::default();
    let mut clause_action = false;
    let mut clause_unknown: Vec<String> = Vec::new();
    let mut facing = Facing::Right;
    let tokens = tokenize(lexicon(library), prompt);
    let close_clause = |clause_action: bool, unknown: &mut Vec<String>| -> Result<()> {
        if !clause_action {
            if let Some(w) = unknown.first() {
                return Err(unknown_error(library, w, prompt));
            }
        }
        unknown.clear();
        Ok(())
    };
    for (tok, word) in tokens {
        let mut m = Mods {
            words: vec![word.clone()],
            ..Mods::default()
        };
        match tok {
            Tok::Sep => {
                close_clause(clause_action, &mut clause_unknown)?;
                clause_action = false;
                continue;
            }
            Tok::Stop | Tok::Number(_) => continue,
            Tok::Unknown => {
                if let Some(name) = is_typo(library, &word) {
                    return Err(Error::invalid(
                        format!(
                            "`{word}` in \"{prompt}\" is not a known word; did you mean `{name}`?"
                        ),
                        format!("supported actions: {}", all.join(", ")),
                    ));
                }
                clause_unknown.push(word);
                continue;
            }
            Tok::Action(index) => {
                let motion = &library.motions()[index];
                if clause_action && steps.last().is_some_and(|s| s.action == motion.name) {
                    if let Some(s) = steps.last_mut() {
                        s.words.push(word);
                    }
                    continue;
                }
                let mut step = Step {
                    action: motion.name.clone(),
                    motion: Arc::clone(motion),
                    speed: 1.0,
                    amplitude: 1.0,
                    repetitions: None,
                    facing,
                    words: vec![word],
                };
                apply(&mut step, std::mem::take(&mut pending));
                steps.push(step);
                clause_action = true;
                continue;
            }
            Tok::Speed(s) => m.speed = Some(s),
            Tok::Amp(a) => m.amp = Some(a),
            Tok::Times(t) => m.times = Some(t),
            Tok::Steps(s) => m.steps = Some(s),
            Tok::Face(f) => {
                m.facing = Some(f);
                facing = f;
            }
        }
        match (clause_action, steps.last_mut()) {
            (true, Some(step)) => apply(step, m),
            _ => {
                pending.speed = m.speed.or(pending.speed);
                pending.amp = m.amp.or(pending.amp);
                pending.times = m.times.or(pending.times);
                pending.steps = m.steps.or(pending.steps);
                pending.facing = m.facing.or(pending.facing);
                pending.words.extend(m.words);
            }
        }
    }
    close_clause(clause_action, &mut clause_unknown)?;
    if steps.is_empty() {
        return Err(Error::invalid(
            format!("no supported action in \"{prompt}\""),
            format!(
                "use one of: {} (English or Chinese, e.g. \"wave\", \"挥手\")",
                all.join(", ")
            ),
        ));
    }
    Ok(Plan { steps })
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
        let e = understand("walk then teleport").unwrap_err();
        assert!(e.message.contains("teleport"), "{e}");
        let e = understand("挥舞手臂").unwrap_err();
        assert!(
            e.message.contains("wave") || e.message.contains("nearest"),
            "{e}"
        );
        assert!(understand("   ").is_err());
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
