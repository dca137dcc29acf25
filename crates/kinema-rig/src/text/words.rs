//! From prompt text to words with meanings: English split at spaces and reduced to the
//! forms the tables list ("falling" → "fall"), Chinese cut by jieba with the tables'
//! words in its dictionary, numbers with their measure words (两下, "three times"), and
//! phrases of several words read as one ("falls down", "被击中").

use super::lexicon::{Entry, Lexicon, Meaning};
use super::vocabulary::{vocabulary, Function, Measure, PatternWord};

/// One word (or phrase) of a prompt, as written, with what the tables say about it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Word {
    /// The text as written (lower case); a phrase's words joined by spaces.
    pub text: String,
    /// What the tables say about the word (empty when unknown).
    pub entry: Entry,
    /// A phrase's meaning, which wins over the words' own.
    pub phrase: Option<Meaning>,
    /// Punctuation that ends a clause.
    pub punct: bool,
    /// Whether the word came from the English side (for noun compounds such as
    /// "victory dance", which Chinese does not build the same way).
    pub english: bool,
    /// The forms the word may stand for ("falls" → falls, fall), for phrases and context.
    pub forms: Vec<String>,
}

impl Word {
    pub fn known(&self) -> bool {
        self.phrase.is_some() || self.entry != Entry::default()
    }

    pub fn function(&self) -> Option<Function> {
        self.entry.info.function
    }
}

/// The forms an English word may be written for: itself, its irregular base, and the
/// bases regular endings leave ("running" → run, "danced" → dance, "cries" → cry).
pub(crate) fn forms(word: &str) -> Vec<String> {
    let mut out = vec![word.to_string()];
    let mut push = |w: String| {
        if w.len() >= 2 && !out.contains(&w) {
            out.push(w);
        }
    };
    if let Some(base) = vocabulary().irregular.get(word) {
        push(base.clone());
    }
    for (suffix, add) in [
        ("ing", ""),
        ("ing", "e"),
        ("ies", "y"),
        ("ied", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
        ("ly", ""),
    ] {
        if let Some(stem) = word.strip_suffix(suffix) {
            push(format!("{stem}{add}"));
            // "running" → "run", "stopped" → "stop".
            let b = stem.as_bytes();
            if add.is_empty() && b.len() >= 3 && b[b.len() - 1] == b[b.len() - 2] {
                push(stem[..stem.len() - 1].to_string());
            }
        }
    }
    out
}

fn english_word(lex: &Lexicon, text: &str) -> Word {
    let forms = forms(text);
    let entry = forms
        .iter()
        .find_map(|f| lex.english.get(f))
        .cloned()
        .unwrap_or_default();
    let mut word = Word {
        text: text.to_string(),
        entry,
        english: true,
        forms,
        ..Word::default()
    };
    if word.entry == Entry::default() {
        if let Ok(n) = text.parse::<u32>() {
            word.entry.info.number = Some(n.clamp(1, 100));
        } else if let Some(n) = text
            .strip_prefix('x')
            .or_else(|| text.strip_suffix('x'))
            .and_then(|d| d.parse::<u32>().ok())
        {
            word.entry.info.count = Some(n.clamp(1, 100));
        }
    }
    word
}

fn chinese_word(lex: &Lexicon, text: &str) -> Word {
    let mut word = Word {
        text: text.to_string(),
        entry: lex.chinese.get(text).cloned().unwrap_or_default(),
        phrase: lex.chinese_phrases.get(text).cloned(),
        forms: vec![text.to_string()],
        ..Word::default()
    };
    if word.entry == Entry::default() {
        if let Some(n) = text.parse::<u32>().ok().filter(|_| text.is_ascii()) {
            word.entry.info.number = Some(n.clamp(1, 100));
        }
    }
    word
}

/// Cuts a run of Chinese (jieba first; then, inside a piece jieba leaves whole that the
/// tables do not know, the longest known words), splitting a number from its measure
/// word ("三次" → 三, 次).
fn chinese_words(lex: &Lexicon, run: &str, out: &mut Vec<Word>) {
    for token in lex.segmenter().cut(run, false) {
        let piece = token.word;
        let known = |w: &str| lex.chinese.contains_key(w) || lex.chinese_phrases.contains_key(w);
        if known(piece) {
            out.push(chinese_word(lex, piece));
            continue;
        }
        let chars: Vec<char> = piece.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let longest = (1..=lex.longest_zh.min(chars.len() - i))
                .rev()
                .find(|len| known(&chars[i..i + len].iter().collect::<String>()));
            match longest {
                Some(len) => {
                    out.push(chinese_word(
                        lex,
                        &chars[i..i + len].iter().collect::<String>(),
                    ));
                    i += len;
                }
                None => {
                    // Unknown characters are joined again by `merge_unknown_chinese`.
                    out.push(chinese_word(lex, &chars[i].to_string()));
                    i += 1;
                }
            }
        }
    }
}

fn is_punct(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | '.' | '!' | '?' | ':' | '，' | '、' | '。' | '；' | '！' | '？' | '：' | '…'
    )
}

/// The prompt's words in order, phrases joined.
pub(crate) fn words(lex: &Lexicon, prompt: &str) -> Vec<Word> {
    let text = prompt.to_lowercase();
    let mut raw: Vec<Word> = Vec::new();
    let mut chinese_run = String::new();
    let mut english_run = String::new();
    let flush_en = |run: &mut String, out: &mut Vec<Word>| {
        let w = run.trim_matches(|c| c == '\'' || c == '-');
        let w = w.strip_suffix("'s").unwrap_or(w);
        if !w.is_empty() {
            out.push(english_word(lex, w));
        }
        run.clear();
    };
    for c in text.chars() {
        let latin = c.is_ascii_alphanumeric() || c == '\'' || c == '-';
        if latin {
            if !chinese_run.is_empty() {
                chinese_words(lex, &chinese_run, &mut raw);
                chinese_run.clear();
            }
            english_run.push(c);
            continue;
        }
        flush_en(&mut english_run, &mut raw);
        if c.is_whitespace() || is_punct(c) {
            if !chinese_run.is_empty() {
                chinese_words(lex, &chinese_run, &mut raw);
                chinese_run.clear();
            }
            if is_punct(c) {
                raw.push(Word {
                    text: c.to_string(),
                    punct: true,
                    ..Word::default()
                });
            }
            continue;
        }
        chinese_run.push(c);
    }
    flush_en(&mut english_run, &mut raw);
    if !chinese_run.is_empty() {
        chinese_words(lex, &chinese_run, &mut raw);
    }
    merge_unknown_chinese(&mut raw);
    split_measures(lex, &mut raw);
    join_phrases(lex, raw)
}

/// Adjacent unknown Chinese characters become one word ("瞬移", not "瞬", "移").
fn merge_unknown_chinese(words: &mut Vec<Word>) {
    let mut out: Vec<Word> = Vec::with_capacity(words.len());
    for w in words.drain(..) {
        let unknown_zh = |w: &Word| !w.known() && !w.english && !w.punct;
        match out.last_mut() {
            Some(prev) if unknown_zh(prev) && unknown_zh(&w) => prev.text.push_str(&w.text),
            _ => out.push(w),
        }
    }
    *words = out;
}

/// "三次" / "两步" that jieba kept whole, split into the number and its measure word; and a
/// measure word jieba joined to what follows the number ("两/下手" → 两, 下, 手).
fn split_measures(lex: &Lexicon, words: &mut Vec<Word>) {
    let is_number = |w: &str| lex.chinese.get(w).and_then(|e| e.info.number).is_some();
    let is_measure = |w: &str| lex.chinese.get(w).and_then(|e| e.info.measure).is_some();
    let mut out: Vec<Word> = Vec::with_capacity(words.len());
    for w in words.drain(..) {
        let chinese = !w.english && !w.punct && w.entry.info.count.is_none() && w.phrase.is_none();
        let mut chars = w.text.chars();
        if let (true, Some(first)) = (chinese, chars.next()) {
            let (first, rest) = (first.to_string(), chars.as_str());
            if !rest.is_empty() && is_number(&first) && is_measure(rest) {
                out.push(chinese_word(lex, &first));
                out.push(chinese_word(lex, rest));
                continue;
            }
            let after_number = out.last().is_some_and(|p| !p.english && is_number(&p.text));
            if !rest.is_empty() && after_number && is_measure(&first) && w.entry.action.is_none() {
                out.push(chinese_word(lex, &first));
                out.push(chinese_word(lex, rest));
                continue;
            }
        }
        out.push(w);
    }
    *words = out;
}

/// English phrases ("falls down", "pick the coin up") joined into one word each.
fn join_phrases(lex: &Lexicon, words: Vec<Word>) -> Vec<Word> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let found = lex
            .phrases
            .iter()
            .find_map(|p| match_at(&words, i, &p.words).map(|end| (end, p.meaning.clone())));
        match found {
            Some((end, meaning)) => {
                let text = words[i..end]
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push(Word {
                    text,
                    phrase: Some(meaning),
                    english: true,
                    ..Word::default()
                });
                i = end;
            }
            None => {
                out.push(words[i].clone());
                i += 1;
            }
        }
    }
    out
}

/// Where the phrase `pattern` ends if it starts at `start`. Articles the pattern does not
/// write are skipped; "..." takes up to three words.
fn match_at(words: &[Word], start: usize, pattern: &[PatternWord]) -> Option<usize> {
    let mut i = start;
    let mut p = 0;
    while p < pattern.len() {
        match &pattern[p] {
            PatternWord::Gap => {
                // The shortest gap after which the rest matches.
                for skip in 0..=3 {
                    if i + skip > words.len() || words[i..i + skip].iter().any(|w| w.punct) {
                        break;
                    }
                    if let Some(end) = match_at(words, i + skip, &pattern[p + 1..]) {
                        return (skip > 0 || p + 1 < pattern.len()).then_some(end);
                    }
                }
                return None;
            }
            PatternWord::Word(want) => {
                let w = words.get(i)?;
                if !w.english || w.punct {
                    return None;
                }
                if w.forms.iter().any(|f| f == want) {
                    i += 1;
                    p += 1;
                } else if i > start && w.function() == Some(Function::Determiner) {
                    i += 1;
                } else {
                    return None;
                }
            }
        }
    }
    Some(i)
}

/// Whether `word` counts what follows as steps (`Measure::Steps`) or times.
pub(crate) fn measure(word: &Word) -> Option<Measure> {
    word.entry.info.measure
}
