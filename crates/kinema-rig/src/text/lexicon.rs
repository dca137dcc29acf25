//! One motion library's vocabulary: the word tables plus the motions' own words, and the
//! Chinese segmenter that knows them all. Built once per library, on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use jieba_rs::Jieba;

use super::vocabulary::{vocabulary, PatternWord, PhraseMeaning, WordInfo};
use crate::library::MotionLibrary;

/// Everything known about one word in one library.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Entry {
    pub info: WordInfo,
    /// Index into the library's motions, when a motion file lists the word.
    pub action: Option<usize>,
}

/// An English phrase with its meaning resolved against the library.
#[derive(Clone, Debug)]
pub(crate) struct EnglishPhrase {
    pub words: Vec<PatternWord>,
    pub meaning: Meaning,
}

/// A phrase's meaning in one library.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Meaning {
    Action(usize),
    Modifier(usize),
    Count(u32),
    Sequence,
    Filler,
}

/// The prompt reader's vocabulary for one motion library (kept in the library).
pub(crate) struct Lexicon {
    pub english: HashMap<String, Entry>,
    pub chinese: HashMap<String, Entry>,
    /// Longest Chinese word, in characters, for cutting inside unknown words.
    pub longest_zh: usize,
    /// English phrases, longest first.
    pub phrases: Vec<EnglishPhrase>,
    /// Chinese phrases by word.
    pub chinese_phrases: HashMap<String, Meaning>,
    /// A segmenter with this library's own Chinese words; `None` uses the built-in one.
    own_segmenter: Option<Jieba>,
}

impl Lexicon {
    pub fn segmenter(&self) -> &Jieba {
        self.own_segmenter
            .as_ref()
            .unwrap_or_else(|| builtin_segmenter())
    }
}

/// jieba's dictionary with every Chinese word of the word tables and the built-in motions
/// added, so that they are cut out whole ("开心/地/跳舞", not "开/心地/跳舞").
fn builtin_segmenter() -> &'static Jieba {
    static SEGMENTER: OnceLock<Jieba> = OnceLock::new();
    SEGMENTER.get_or_init(|| {
        let mut jieba = Jieba::new();
        let v = vocabulary();
        let builtin = MotionLibrary::builtin();
        let words = v
            .chinese
            .keys()
            .chain(builtin.motions().iter().flat_map(|m| m.chinese.iter()));
        for w in words {
            add(&mut jieba, w);
        }
        jieba
    })
}

/// Adds `word` with a few times the frequency that just keeps it whole on its own, so it
/// also stays whole beside its neighbours ("中箭/倒地", not "中/箭/倒地").
fn add(jieba: &mut Jieba, word: &str) {
    if word.chars().count() > 1 {
        let freq = jieba.suggest_freq(word).saturating_mul(4);
        jieba.add_word(word, Some(freq), None);
    }
}

fn resolve(meaning: &PhraseMeaning, library: &MotionLibrary) -> Option<Meaning> {
    Some(match meaning {
        PhraseMeaning::Action(name) => {
            Meaning::Action(library.motions().iter().position(|m| &m.name == name)?)
        }
        PhraseMeaning::Modifier(i) => Meaning::Modifier(*i),
        PhraseMeaning::Count(n) => Meaning::Count(*n),
        PhraseMeaning::Sequence => Meaning::Sequence,
        PhraseMeaning::Filler => Meaning::Filler,
    })
}

pub(crate) fn lexicon(library: &MotionLibrary) -> &Lexicon {
    library.lexicon.get_or_init(|| {
        let v = vocabulary();
        let entry = |info: &WordInfo| Entry {
            info: info.clone(),
            action: None,
        };
        let mut english: HashMap<String, Entry> = v
            .english
            .iter()
            .map(|(w, i)| (w.clone(), entry(i)))
            .collect();
        let mut chinese: HashMap<String, Entry> = v
            .chinese
            .iter()
            .map(|(w, i)| (w.clone(), entry(i)))
            .collect();
        for (index, m) in library.motions().iter().enumerate() {
            for w in &m.english {
                english.entry(w.clone()).or_default().action = Some(index);
            }
            for w in &m.chinese {
                chinese.entry(w.clone()).or_default().action = Some(index);
            }
        }
        let mut phrases = Vec::new();
        let mut chinese_phrases = HashMap::new();
        for p in &v.phrases {
            let Some(meaning) = resolve(&p.meaning, library) else {
                continue;
            };
            for words in &p.english {
                phrases.push(EnglishPhrase {
                    words: words.clone(),
                    meaning: meaning.clone(),
                });
            }
            for w in &p.chinese {
                chinese_phrases.insert(w.clone(), meaning.clone());
            }
        }
        phrases.sort_by_key(|p| std::cmp::Reverse(p.words.len()));
        let builtin = MotionLibrary::builtin();
        let own: Vec<&String> = library
            .motions()
            .iter()
            .flat_map(|m| m.chinese.iter())
            .filter(|w| !builtin.motions().iter().any(|b| b.chinese.contains(w)))
            .collect();
        let own_segmenter = (!own.is_empty()).then(|| {
            let mut jieba = builtin_segmenter().clone();
            for w in own {
                add(&mut jieba, w);
            }
            jieba
        });
        let longest_zh = chinese.keys().map(|w| w.chars().count()).max().unwrap_or(1);
        Lexicon {
            english,
            chinese,
            longest_zh,
            phrases,
            chinese_phrases,
            own_segmenter,
        }
    })
}
