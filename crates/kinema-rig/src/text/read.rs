//! Reading a prompt as a whole: one step per verb phrase, passives as reactions, moods and
//! manners as modifiers of the action they are said with, and things and places kept as
//! context rather than refused.
//!
//! The words of a prompt fall into *segments*, split at sequence words ("then", "然后"),
//! joiners ("and", "和") and punctuation. An action word opens a step; the same action
//! again before a sequence word is the same step ("falls down and dies", "倒地身亡"), so
//! a lead-up ("draws his sword and slashes twice") counts once. A segment that names no
//! action but a thing that implies one ("his sword") plays that action.

use std::sync::Arc;

use super::lexicon::{lexicon, Meaning};
use super::plan::{Facing, Plan, Step};
use super::vocabulary::{vocabulary, Function, Measure};
use super::words::{measure, words, Word};
use crate::library::MotionLibrary;

/// What one prompt word turned out to mean in its sentence.
#[derive(Clone, Debug, PartialEq)]
enum Reading {
    Action(usize),
    Modifier(usize),
    Count(u32),
    Number(u32),
    Measure(Measure),
    Sequence,
    After,
    Joiner,
    /// Starts a thing or a place ("the", "over", "到").
    Opener,
    Marker,
    Thing(usize),
    /// A subject or a thing the tables know but that plays nothing ("knight", "enemy").
    Common,
    Ignored,
    Unknown,
}

/// Modifiers said before their action ("sad walk", "慢慢地走").
#[derive(Default)]
struct Pending {
    modifiers: Vec<usize>,
    count: Option<u32>,
    steps: Option<u32>,
    words: Vec<String>,
    context: Vec<String>,
    ignored: Vec<String>,
    unknown: Vec<String>,
}

/// The outcome of reading: the plan, or the words that might have been actions.
pub(crate) enum Outcome {
    Plan(Plan),
    /// No action at all; the unknown words, first one first.
    NoAction {
        unknown: Vec<String>,
    },
    /// A word that is most likely a misspelt action, in a segment with no action.
    Typo {
        word: String,
        action: String,
    },
}

struct Reader<'l> {
    library: &'l MotionLibrary,
    steps: Vec<Step>,
    pending: Pending,
    /// The step the current segment acts on, if it named an action.
    segment_step: Option<usize>,
    /// Whether a sequence word came since the last step (so the same action is a new step).
    sequenced: bool,
    /// The step the next action goes before ("waves after jumping").
    insert_before: Option<usize>,
    /// Things named in the segment that imply an action ("his sword" → attack).
    implied: Option<(usize, String)>,
    /// The last step was only implied by a thing, so the same action next is the same
    /// step even after "then" ("拔剑然后砍三下" slashes three times).
    last_implied: bool,
    /// The context span being read ("over an obstacle").
    span: Vec<String>,
    span_has_object: bool,
    /// The span names a thing or an unknown word, not only known subjects ("the knight").
    span_has_thing: bool,
    facing: Facing,
    /// The previous word was an action word (for "victory dance").
    after_action_word: bool,
    marker: bool,
    number: Option<u32>,
    typo: Option<(String, String)>,
    all_unknown: Vec<String>,
}

/// Reads `prompt` with `library`'s actions.
pub(crate) fn read(library: &MotionLibrary, prompt: &str) -> Outcome {
    let lex = lexicon(library);
    let words = words(lex, prompt);
    let mut r = Reader {
        library,
        steps: Vec::new(),
        pending: Pending::default(),
        segment_step: None,
        sequenced: false,
        insert_before: None,
        implied: None,
        last_implied: false,
        span: Vec::new(),
        span_has_object: false,
        span_has_thing: false,
        facing: Facing::AsDrawn,
        after_action_word: false,
        marker: false,
        number: None,
        typo: None,
        all_unknown: Vec::new(),
    };
    for i in 0..words.len() {
        let reading = r.interpret(&words, i);
        r.take(&words[i], reading);
    }
    r.end_segment(true);
    if r.steps.is_empty() {
        // A mood alone plays its own action ("looks sad" stands sadly).
        let v = vocabulary();
        if let Some(name) = r
            .pending
            .modifiers
            .iter()
            .find_map(|m| v.modifiers[*m].alone.clone())
        {
            if let Some(index) = library.motions().iter().position(|m| m.name == name) {
                r.add_action(index, String::new());
            }
        }
    }
    if let Some((word, action)) = r.typo.take() {
        return Outcome::Typo { word, action };
    }
    if r.steps.is_empty() {
        return Outcome::NoAction {
            unknown: r.all_unknown,
        };
    }
    // Leftovers said after everything ("walks. slowly") go to the last step.
    let leftover = std::mem::take(&mut r.pending);
    let last = r.steps.len() - 1;
    r.apply(last, leftover);
    let steps = r
        .steps
        .into_iter()
        .map(super::posture::with_postures)
        .collect();
    Outcome::Plan(Plan { steps })
}

impl Reader<'_> {
    fn action_index(&self, name: &str) -> Option<usize> {
        self.library.motions().iter().position(|m| m.name == name)
    }

    /// What `words[i]` means here.
    fn interpret(&self, words: &[Word], i: usize) -> Reading {
        let w = &words[i];
        if w.punct {
            return Reading::Sequence;
        }
        if let Some(meaning) = &w.phrase {
            return match meaning {
                Meaning::Action(a) => Reading::Action(*a),
                Meaning::Modifier(m) => Reading::Modifier(*m),
                Meaning::Count(n) => Reading::Count(*n),
                Meaning::Sequence => Reading::Sequence,
                Meaning::Filler => Reading::Ignored,
            };
        }
        let info = &w.entry.info;
        let next_is_agent = words
            .get(i + 1)
            .is_some_and(|n| n.function() == Some(Function::Agent));
        if let Some(reaction) = &info.reaction {
            if self.marker || next_is_agent {
                if let Some(a) = self.action_index(reaction) {
                    return Reading::Action(a);
                }
            }
        }
        if self.number.is_some() {
            if let Some(m) = measure(w) {
                return Reading::Measure(m);
            }
        }
        if let Some(action) = w.entry.action {
            let noun = info.thing.is_some_and(|t| self.is_noun(words, i, t));
            if !noun {
                return Reading::Action(action);
            }
        }
        if let Some(m) = info.modifier {
            return Reading::Modifier(m);
        }
        if let Some(n) = info.count {
            return Reading::Count(n);
        }
        if let Some(n) = info.number {
            return Reading::Number(n);
        }
        if let Some(t) = info.thing {
            return Reading::Thing(t);
        }
        match info.function {
            Some(Function::Sequence) => Reading::Sequence,
            Some(Function::After) => Reading::After,
            Some(Function::Joiner) => Reading::Joiner,
            Some(Function::Determiner | Function::Preposition) => Reading::Opener,
            Some(Function::Marker) => Reading::Marker,
            Some(Function::Common) => Reading::Common,
            Some(Function::Agent | Function::Filler) => Reading::Ignored,
            None if info.measure.is_some() => Reading::Ignored,
            None if w.known() => Reading::Ignored,
            None => Reading::Unknown,
        }
    }

    /// Whether a word that names both an action and a thing ("bow", "block") is the thing.
    fn is_noun(&self, words: &[Word], i: usize, thing: usize) -> bool {
        let t = &vocabulary().things[thing];
        let others = words.iter().enumerate().filter(|(k, _)| *k != i);
        let hint = others.clone().any(|(_, w)| {
            w.forms.iter().any(|f| t.noun_when.contains(f))
                || w.entry
                    .action
                    .is_some_and(|a| t.noun_when.contains(&self.library.motions()[a].name))
        });
        if hint {
            return true;
        }
        let after_determiner = i > 0 && words[i - 1].function() == Some(Function::Determiner);
        // Another action in the same segment ("pushes the block"), not across "then".
        let boundary = |w: &Word| {
            w.punct
                || matches!(
                    w.function(),
                    Some(Function::Sequence | Function::After | Function::Joiner)
                )
        };
        let start = words[..i].iter().rposition(boundary).map_or(0, |k| k + 1);
        let end = words[i..]
            .iter()
            .position(boundary)
            .map_or(words.len(), |k| i + k);
        let other_action = (start..end)
            .filter(|k| *k != i)
            .any(|k| words[k].entry.action.is_some() && words[k].entry.info.thing.is_none());
        after_determiner && other_action
    }

    fn take(&mut self, word: &Word, reading: Reading) {
        let text = word.text.clone();
        let was_action_word = self.after_action_word;
        self.after_action_word = false;
        if !matches!(reading, Reading::Measure(_) | Reading::Number(_)) {
            if let Some(n) = self.number.take() {
                if matches!(reading, Reading::Action(_)) {
                    // "three jumps": a number before the action counts it.
                    self.pending.count = Some(n);
                }
            }
        }
        // Things, and unknown words after an opener, extend the context span.
        match reading {
            Reading::Opener => {
                self.span.push(text);
                return;
            }
            Reading::Thing(t) => {
                self.span.push(text.clone());
                self.span_has_object = true;
                self.span_has_thing = true;
                if let Some(implies) = vocabulary().things[t].implies.as_deref() {
                    if let Some(a) = self.action_index(implies) {
                        self.implied.get_or_insert((a, text));
                    }
                }
                return;
            }
            Reading::Unknown | Reading::Ignored | Reading::Common if !self.span.is_empty() => {
                self.span.push(text.clone());
                if reading != Reading::Ignored {
                    self.span_has_object = true;
                }
                if reading == Reading::Unknown {
                    self.span_has_thing = true;
                }
                return;
            }
            _ => self.close_span(),
        }
        match reading {
            Reading::Action(a) => {
                self.marker = false;
                self.action(a, text, was_action_word && word.english);
                self.after_action_word = true;
            }
            Reading::Modifier(m) => {
                let facing = vocabulary().modifiers[m].facing;
                if let Some(f) = facing {
                    self.facing = f;
                }
                match self.segment_step {
                    Some(s) => {
                        let p = Pending {
                            modifiers: vec![m],
                            words: vec![text],
                            ..Pending::default()
                        };
                        self.apply(s, p);
                    }
                    None => {
                        self.pending.modifiers.push(m);
                        self.pending.words.push(text);
                    }
                }
            }
            Reading::Count(n) => self.count(Some(n), None, text),
            Reading::Number(n) => {
                self.number = Some(n);
                self.pending_word(text);
            }
            Reading::Measure(m) => {
                let n = self.number.take().unwrap_or(1);
                match m {
                    Measure::Times => self.count(Some(n), None, text),
                    Measure::Steps => self.count(None, Some(n), text),
                }
            }
            Reading::Sequence => {
                self.end_segment(true);
                if !word.punct {
                    self.pending_word(text);
                }
            }
            Reading::Joiner => {
                self.end_segment(false);
            }
            Reading::After => {
                self.end_segment(true);
                if !self.steps.is_empty() {
                    self.insert_before = Some(self.steps.len() - 1);
                }
            }
            Reading::Marker => {
                self.marker = true;
                self.ignore(text, false);
            }
            Reading::Ignored | Reading::Common => self.ignore(text, false),
            Reading::Unknown => {
                self.all_unknown.push(text.clone());
                self.ignore(text, true);
            }
            Reading::Opener | Reading::Thing(_) => unreachable!("handled above"),
        }
    }

    /// A word that names nothing: reported on the segment's step, or the next one.
    fn ignore(&mut self, text: String, unknown: bool) {
        match self.segment_step {
            Some(s) => {
                if unknown {
                    self.steps[s].unknown.push(text.clone());
                }
                self.steps[s].ignored.push(text);
            }
            None => {
                if unknown {
                    self.pending.unknown.push(text.clone());
                }
                self.pending.ignored.push(text);
            }
        }
    }

    /// A word that belongs to the next step ("then", a number).
    fn pending_word(&mut self, text: String) {
        match self.segment_step {
            Some(s) => self.steps[s].words.push(text),
            None => self.pending.words.push(text),
        }
    }

    fn count(&mut self, times: Option<u32>, steps: Option<u32>, text: String) {
        let p = Pending {
            count: times,
            steps,
            words: vec![text],
            ..Pending::default()
        };
        match self.segment_step {
            Some(s) => self.apply(s, p),
            None => {
                self.pending.count = times.or(self.pending.count);
                self.pending.steps = steps.or(self.pending.steps);
                self.pending.words.extend(p.words);
            }
        }
    }

    fn close_span(&mut self) {
        if self.span.is_empty() {
            return;
        }
        let span = std::mem::take(&mut self.span);
        let text = span.join(if span.iter().all(|w| w.is_ascii()) {
            " "
        } else {
            ""
        });
        let has_object = std::mem::take(&mut self.span_has_object);
        let has_thing = std::mem::take(&mut self.span_has_thing);
        // A lone preposition ("falls down", "walks forward") is only a word read past, and
        // so is a subject before the action ("the knight waves").
        let subject = self.segment_step.is_none() && !has_thing;
        if !has_object || subject {
            for w in span {
                self.ignore(w, false);
            }
            return;
        }
        match self.segment_step {
            Some(s) => self.steps[s].context.push(text),
            None => self.pending.context.push(text),
        }
    }

    /// Ends a segment at a joiner (`sequence` false) or a sequence word or punctuation.
    fn end_segment(&mut self, sequence: bool) {
        self.close_span();
        if self.segment_step.is_none() {
            if let Some((a, word)) = self.implied.take() {
                // The thing's name chose the step; it stays in its context too.
                self.action(a, word, false);
                self.last_implied = true;
            } else if let Some(word) = self.pending.unknown.first().cloned() {
                if self.typo.is_none() {
                    if let Some(action) = super::typo(self.library, &word) {
                        self.typo = Some((word, action.to_string()));
                    }
                }
            }
        }
        self.implied = None;
        self.segment_step = None;
        self.marker = false;
        self.number = None;
        if sequence {
            self.sequenced = true;
        }
    }

    /// An action word: a new step, or more of the current one.
    fn action(&mut self, index: usize, word: String, compound: bool) {
        // "victory dance": the last of two action words in a row is the head.
        if compound {
            if let Some(s) = self.segment_step {
                let step = &self.steps[s];
                if step.action != self.library.motions()[index].name && step.words.len() == 1 {
                    let old = self.steps.remove(s);
                    self.segment_step = None;
                    self.pending.words.extend(old.words);
                    self.pending.modifiers.extend(
                        old.modifiers.iter().filter_map(|n| {
                            vocabulary().modifiers.iter().position(|m| &m.name == n)
                        }),
                    );
                    self.pending.context.extend(old.context);
                    self.pending.ignored.extend(old.ignored);
                    self.pending.unknown.extend(old.unknown);
                }
            }
        }
        let name = &self.library.motions()[index].name;
        let same = self.steps.last().is_some_and(|s| {
            &s.action == name
                && (!self.sequenced || self.last_implied)
                && self.insert_before.is_none()
        });
        self.last_implied = false;
        if same {
            let s = self.steps.len() - 1;
            self.steps[s].words.push(word);
            self.segment_step = Some(s);
            let pending = std::mem::take(&mut self.pending);
            self.apply(s, pending);
            return;
        }
        self.add_action(index, word);
    }

    fn add_action(&mut self, index: usize, word: String) {
        let motion = Arc::clone(&self.library.motions()[index]);
        let step = Step {
            action: motion.name.clone(),
            motion,
            speed: 1.0,
            amplitude: 1.0,
            repetitions: None,
            facing: self.facing,
            words: if word.is_empty() { vec![] } else { vec![word] },
            modifiers: Vec::new(),
            context: Vec::new(),
            ignored: Vec::new(),
            unknown: Vec::new(),
        };
        let at = match self.insert_before.take() {
            Some(at) => at,
            None => self.steps.len(),
        };
        self.steps.insert(at, step);
        self.segment_step = Some(at);
        self.sequenced = false;
        let mut pending = std::mem::take(&mut self.pending);
        // Words said before the step come first.
        let own = std::mem::take(&mut self.steps[at].words);
        pending.words.extend(own);
        self.apply(at, pending);
    }

    /// Puts modifiers, counts and words on step `s`.
    fn apply(&mut self, s: usize, p: Pending) {
        let v = vocabulary();
        let step = &mut self.steps[s];
        for m in p.modifiers {
            let m = &v.modifiers[m];
            if step.modifiers.contains(&m.name) {
                continue;
            }
            step.speed *= m.speed;
            step.amplitude *= m.amplitude;
            if let Some(f) = m.facing {
                step.facing = f;
                step.modifiers.retain(|n| n != "left" && n != "right");
            }
            step.modifiers.push(m.name.clone());
        }
        if let Some(n) = p.count {
            step.repetitions = Some(n.clamp(1, 100));
        }
        if let Some(n) = p.steps {
            // A walk cycle is two steps.
            let n = if step.motion.looping {
                n.div_ceil(2)
            } else {
                n
            };
            step.repetitions = Some(n.clamp(1, 100));
        }
        step.words.extend(p.words);
        step.context.extend(p.context);
        step.ignored.extend(p.ignored);
        step.unknown.extend(p.unknown);
    }
}
