//! The prompt reader's word tables: the data files in `reader/` (function words, measure
//! words, modifiers, phrases, things and places), embedded at build time and read once.
//!
//! Action words are not here: they belong to the motion files, so a user's motions join
//! the reader with their own words (see [`super::lexicon`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

use super::plan::Facing;
use crate::motion::{channels_of, Channel};
use crate::rig::RigKind;

const FUNCTION_WORDS: &str = include_str!("../../reader/function_words.toml");
const MEASURES: &str = include_str!("../../reader/measures.toml");
const MODIFIERS: &str = include_str!("../../reader/modifiers.toml");
const PHRASES: &str = include_str!("../../reader/phrases.toml");
const CONTEXT: &str = include_str!("../../reader/context.toml");

/// English and Chinese forms of one list.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Lists {
    english: Vec<String>,
    #[serde(default)]
    chinese: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Numbers {
    english: BTreeMap<String, u32>,
    chinese: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReactionFile {
    action: String,
    english: Vec<String>,
    chinese: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionWordsFile {
    sequence: Lists,
    after: Lists,
    joiners: Lists,
    determiners: Lists,
    passive_markers: Lists,
    agents: Lists,
    prepositions: Lists,
    fillers: Lists,
    common: Lists,
    reaction: Vec<ReactionFile>,
    irregular: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasuresFile {
    numbers: Numbers,
    counts: Numbers,
    times: Lists,
    steps: Lists,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModifierFile {
    name: String,
    english: Vec<String>,
    #[serde(default)]
    chinese: Vec<String>,
    speed: Option<f32>,
    amplitude: Option<f32>,
    facing: Option<String>,
    alone: Option<String>,
    #[serde(default)]
    posture: BTreeMap<String, BTreeMap<String, f32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModifiersFile {
    modifier: Vec<ModifierFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhraseFile {
    #[serde(default)]
    english: Vec<String>,
    #[serde(default)]
    chinese: Vec<String>,
    action: Option<String>,
    modifier: Option<String>,
    count: Option<u32>,
    role: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhrasesFile {
    phrase: Vec<PhraseFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThingFile {
    english: Vec<String>,
    #[serde(default)]
    chinese: Vec<String>,
    implies: Option<String>,
    #[serde(default)]
    noun_when: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextFile {
    thing: Vec<ThingFile>,
}

/// What a function word does in a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Function {
    /// Ends one action and starts the next ("then", "然后").
    Sequence,
    /// Puts what follows before what came ("waves after jumping").
    After,
    /// Joins parts of one sentence ("and", "和").
    Joiner,
    /// An article or possessive: a thing follows.
    Determiner,
    /// Makes the next strike word a reaction ("gets", "被").
    Marker,
    /// Names who struck ("by").
    Agent,
    /// Starts a place or a thing ("over", "到").
    Preposition,
    /// A reserved word that means nothing for the motion ("he", "的").
    Filler,
    /// A word that chooses nothing but may be taken by a motion file ("knight", "draws").
    Common,
}

impl Function {
    /// Whether motion files may not use words of this kind.
    pub fn reserved(self) -> bool {
        self != Function::Common
    }
}

/// Whether a number counts repetitions or steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    Times,
    Steps,
}

/// One modifier of `modifiers.toml`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Modifier {
    pub name: String,
    pub speed: f32,
    pub amplitude: f32,
    pub facing: Option<Facing>,
    /// The action played when the prompt names this mood and no action.
    pub alone: Option<String>,
    /// Channel offsets held through the action, per kind of skeleton.
    pub posture: Vec<(RigKind, Vec<(Channel, f32)>)>,
}

/// What a phrase of `phrases.toml` means.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PhraseMeaning {
    /// The action with this name.
    Action(String),
    /// The modifier at this index.
    Modifier(usize),
    Count(u32),
    Sequence,
    Filler,
}

/// A pattern word of an English phrase.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PatternWord {
    Word(String),
    /// Up to three words of anything.
    Gap,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Phrase {
    pub english: Vec<Vec<PatternWord>>,
    pub chinese: Vec<String>,
    pub meaning: PhraseMeaning,
}

/// A thing or place of `context.toml`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Thing {
    pub implies: Option<String>,
    pub noun_when: Vec<String>,
}

/// What the data files say about one word, before motions are added.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct WordInfo {
    pub function: Option<Function>,
    /// Index into [`Vocabulary::modifiers`].
    pub modifier: Option<usize>,
    pub number: Option<u32>,
    pub count: Option<u32>,
    pub measure: Option<Measure>,
    /// Index into [`Vocabulary::things`].
    pub thing: Option<usize>,
    /// Index into [`Vocabulary::phrases`] (Chinese phrases are single words).
    pub phrase: Option<usize>,
    /// The action name this word is a reaction to, after a marker ("hit" → hurt).
    pub reaction: Option<String>,
}

/// Every word table, indexed for reading.
pub(crate) struct Vocabulary {
    pub english: HashMap<String, WordInfo>,
    pub chinese: HashMap<String, WordInfo>,
    pub irregular: HashMap<String, String>,
    pub modifiers: Vec<Modifier>,
    pub phrases: Vec<Phrase>,
    pub things: Vec<Thing>,
}

/// The built-in word tables. They are compiled in and checked by the tests, so a failure
/// here is a broken build, not bad input.
pub(crate) fn vocabulary() -> &'static Vocabulary {
    static VOCABULARY: OnceLock<Vocabulary> = OnceLock::new();
    VOCABULARY.get_or_init(|| match build() {
        Ok(v) => v,
        Err(e) => panic!("the prompt reader's word tables (reader/*.toml) are invalid: {e}"),
    })
}

fn parse<'a, T: Deserialize<'a>>(file: &str, text: &'a str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| format!("reader/{file}: {e}"))
}

fn build() -> Result<Vocabulary, String> {
    let words: FunctionWordsFile = parse("function_words.toml", FUNCTION_WORDS)?;
    let measures: MeasuresFile = parse("measures.toml", MEASURES)?;
    let modifiers: ModifiersFile = parse("modifiers.toml", MODIFIERS)?;
    let phrases: PhrasesFile = parse("phrases.toml", PHRASES)?;
    let context: ContextFile = parse("context.toml", CONTEXT)?;

    let mut v = Vocabulary {
        english: HashMap::new(),
        chinese: HashMap::new(),
        irregular: words.irregular.into_iter().collect(),
        modifiers: Vec::new(),
        phrases: Vec::new(),
        things: Vec::new(),
    };
    for (lists, function) in [
        (&words.sequence, Function::Sequence),
        (&words.after, Function::After),
        (&words.joiners, Function::Joiner),
        (&words.determiners, Function::Determiner),
        (&words.passive_markers, Function::Marker),
        (&words.agents, Function::Agent),
        (&words.prepositions, Function::Preposition),
        (&words.fillers, Function::Filler),
        (&words.common, Function::Common),
    ] {
        v.each(lists, |info, word| {
            if let Some(other) = info.function.filter(|f| *f != function) {
                return Err(format!(
                    "`{word}` is listed as {other:?} and as {function:?} in function_words.toml"
                ));
            }
            info.function = Some(function);
            Ok(())
        })?;
    }
    for r in &words.reaction {
        let lists = Lists {
            english: r.english.clone(),
            chinese: r.chinese.clone(),
        };
        v.each(&lists, |info, _| {
            info.reaction = Some(r.action.clone());
            Ok(())
        })?;
    }
    for (map, english) in [
        (&measures.numbers.english, true),
        (&measures.numbers.chinese, false),
    ] {
        for (word, n) in map {
            v.table(english).entry(word.clone()).or_default().number = Some(*n);
        }
    }
    for (map, english) in [
        (&measures.counts.english, true),
        (&measures.counts.chinese, false),
    ] {
        for (word, n) in map {
            v.table(english).entry(word.clone()).or_default().count = Some(*n);
        }
    }
    v.each(&measures.times, |info, _| {
        info.measure = Some(Measure::Times);
        Ok(())
    })?;
    v.each(&measures.steps, |info, _| {
        info.measure = Some(Measure::Steps);
        Ok(())
    })?;

    for (index, m) in modifiers.modifier.iter().enumerate() {
        v.modifiers.push(modifier(m)?);
        let lists = Lists {
            english: m.english.clone(),
            chinese: m.chinese.clone(),
        };
        v.each(&lists, |info, word| {
            if info.modifier.is_some() {
                return Err(format!("`{word}` belongs to two modifiers"));
            }
            info.modifier = Some(index);
            Ok(())
        })?;
    }

    for p in &phrases.phrase {
        let meaning = phrase_meaning(p, &v.modifiers)?;
        let english = p
            .english
            .iter()
            .map(|text| {
                text.split_whitespace()
                    .map(|w| match w {
                        "..." => PatternWord::Gap,
                        w => PatternWord::Word(w.to_string()),
                    })
                    .collect()
            })
            .collect();
        let index = v.phrases.len();
        for word in &p.chinese {
            v.chinese.entry(word.clone()).or_default().phrase = Some(index);
        }
        v.phrases.push(Phrase {
            english,
            chinese: p.chinese.clone(),
            meaning,
        });
    }

    for t in &context.thing {
        let index = v.things.len();
        let lists = Lists {
            english: t.english.clone(),
            chinese: t.chinese.clone(),
        };
        v.each(&lists, |info, word| {
            if info.thing.is_some() {
                return Err(format!("`{word}` is listed as two things in context.toml"));
            }
            info.thing = Some(index);
            Ok(())
        })?;
        v.things.push(Thing {
            implies: t.implies.clone(),
            noun_when: t.noun_when.clone(),
        });
    }
    Ok(v)
}

impl Vocabulary {
    fn table(&mut self, english: bool) -> &mut HashMap<String, WordInfo> {
        if english {
            &mut self.english
        } else {
            &mut self.chinese
        }
    }

    fn each(
        &mut self,
        lists: &Lists,
        mut set: impl FnMut(&mut WordInfo, &str) -> Result<(), String>,
    ) -> Result<(), String> {
        for (english, words) in [(true, &lists.english), (false, &lists.chinese)] {
            for word in words {
                if english && word.chars().any(|c| c.is_whitespace() || c.is_uppercase()) {
                    return Err(format!(
                        "`{word}` must be one lower-case word (phrases go in phrases.toml)"
                    ));
                }
                set(self.table(english).entry(word.clone()).or_default(), word)?;
            }
        }
        Ok(())
    }

    /// What `word` (English or Chinese) means to the reader by itself, if anything.
    pub fn info(&self, word: &str) -> Option<&WordInfo> {
        if word.is_ascii() {
            self.english.get(word)
        } else {
            self.chinese.get(word)
        }
    }
}

fn modifier(m: &ModifierFile) -> Result<Modifier, String> {
    let facing = match m.facing.as_deref() {
        None => None,
        Some("left") => Some(Facing::Left),
        Some("right") => Some(Facing::Right),
        Some(other) => return Err(format!("modifier {}: facing \"{other}\"", m.name)),
    };
    let mut posture = Vec::new();
    for (kind_name, channels) in &m.posture {
        let kind = RigKind::from_name(kind_name)
            .ok_or_else(|| format!("modifier {}: `{kind_name}` is not a kind", m.name))?;
        let mut offsets = Vec::new();
        for (name, value) in channels {
            let channel = Channel::from_name(name)
                .filter(|c| channels_of(kind).contains(c))
                .ok_or_else(|| {
                    format!("modifier {}: `{name}` is not a {kind_name} channel", m.name)
                })?;
            offsets.push((channel, *value));
        }
        posture.push((kind, offsets));
    }
    for factor in [m.speed, m.amplitude].into_iter().flatten() {
        if !(0.1..=4.0).contains(&factor) {
            return Err(format!(
                "modifier {}: factor {factor} is out of range",
                m.name
            ));
        }
    }
    Ok(Modifier {
        name: m.name.clone(),
        speed: m.speed.unwrap_or(1.0),
        amplitude: m.amplitude.unwrap_or(1.0),
        facing,
        alone: m.alone.clone(),
        posture,
    })
}

fn phrase_meaning(p: &PhraseFile, modifiers: &[Modifier]) -> Result<PhraseMeaning, String> {
    let name = p.english.first().or(p.chinese.first()).cloned();
    let name = name.unwrap_or_default();
    let meanings = [
        p.action.is_some(),
        p.modifier.is_some(),
        p.count.is_some(),
        p.role.is_some(),
    ];
    if meanings.iter().filter(|m| **m).count() != 1 {
        return Err(format!(
            "phrase \"{name}\" needs exactly one of action, modifier, count, role"
        ));
    }
    Ok(if let Some(a) = &p.action {
        PhraseMeaning::Action(a.clone())
    } else if let Some(m) = &p.modifier {
        let index = modifiers
            .iter()
            .position(|x| &x.name == m)
            .ok_or_else(|| format!("phrase \"{name}\": no modifier `{m}`"))?;
        PhraseMeaning::Modifier(index)
    } else if let Some(n) = p.count {
        PhraseMeaning::Count(n)
    } else {
        match p.role.as_deref() {
            Some("sequence") => PhraseMeaning::Sequence,
            Some("filler") => PhraseMeaning::Filler,
            other => return Err(format!("phrase \"{name}\": role {other:?}")),
        }
    })
}

/// What `word` already means to the prompt reader, if a motion file may not use it.
pub(crate) fn reserved_word(word: &str) -> Option<&'static str> {
    let info = vocabulary().info(word)?;
    if info.modifier.is_some() {
        Some("a modifier (speed, size, mood or direction)")
    } else if info.count.is_some() || info.number.is_some() {
        Some("a number or count")
    } else if matches!(
        info.function,
        Some(Function::Sequence | Function::After | Function::Joiner)
    ) {
        Some("a sequence word")
    } else if info.function.is_some_and(Function::reserved) {
        Some("a filler word")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_load_and_index_both_languages() {
        let v = vocabulary();
        assert_eq!(v.english["then"].function, Some(Function::Sequence));
        assert_eq!(v.chinese["然后"].function, Some(Function::Sequence));
        assert_eq!(v.english["twice"].count, Some(2));
        assert_eq!(v.chinese["两"].number, Some(2));
        assert_eq!(v.chinese["次"].measure, Some(Measure::Times));
        let sad = &v.modifiers[v.english["sadly"].modifier.unwrap()];
        assert_eq!(sad.name, "sad");
        assert_eq!(v.chinese["伤心"].modifier, v.english["sadly"].modifier);
        assert!(sad.speed < 1.0 && !sad.posture.is_empty());
        assert_eq!(v.english["hit"].reaction.as_deref(), Some("hurt"));
        assert_eq!(v.irregular["fell"], "fall");
        assert!(v.things[v.english["bow"].thing.unwrap()]
            .noun_when
            .contains(&"arrow".to_string()));
    }

    #[test]
    fn reserved_words_are_the_structural_ones_only() {
        assert!(reserved_word("slowly").is_some());
        assert!(reserved_word("then").is_some());
        assert!(reserved_word("the").is_some());
        assert!(reserved_word("twice").is_some());
        assert!(reserved_word("慢慢").is_some());
        // Subjects, lead-up verbs and things may be taken by a motion file.
        assert_eq!(reserved_word("knight"), None);
        assert_eq!(reserved_word("draw"), None);
        assert_eq!(reserved_word("ladder"), None);
        assert_eq!(reserved_word("prowl"), None);
    }
}
