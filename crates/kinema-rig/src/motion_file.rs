//! Motion files: one TOML file per motion (format in docs/MOTIONS.md), checked key by key
//! so a mistake is reported with the file, the line and the dotted key, and a fix.

use std::ops::Range;

use kinema_core::{Error, Result};

use crate::library::{KindMotion, Motion, MotionEvent, MotionSource, RootMotion, TurnedMotion};
use crate::motion::{channels_of, Channel, Ease, Keyframes, Track, Unit};
use crate::rig::RigKind;
use crate::toml_reader::{Doc, Table, Value};

const TOP_KEYS: [&str; 7] = [
    "name", "summary", "loops", "seconds", "words", "kinds", "bvh",
];
const BVH_KEYS: [&str; 4] = ["file", "plane", "mapping", "events"];
const WORDS_KEYS: [&str; 2] = ["english", "chinese"];
const KIND_KEYS: [&str; 5] = ["easing", "keys", "events", "root_motion", "turned"];
/// What a `turned` section (keys for characters drawn three-quarter or in profile) may hold.
const TURNED_KEYS: [&str; 3] = ["easing", "keys", "events"];
const EVENT_KEYS: [&str; 4] = ["name", "time", "end", "limb"];
const ROOT_MOTION_KEYS: [&str; 1] = ["forward"];

/// A parsed motion with where its name and words were written, for errors the library
/// finds later (a name or a word that another file already uses).
pub(crate) struct ParsedMotion {
    pub motion: Motion,
    pub label: String,
    pub name_line: usize,
    words: Vec<(String, usize)>,
    /// The `[bvh]` table: a motion capture the library loads beside the file.
    pub bvh: Option<BvhRef>,
}

/// What a motion file's `[bvh]` table asks for; paths are relative to the motion file.
pub(crate) struct BvhRef {
    pub file: String,
    pub plane: crate::bvh::PlaneChoice,
    pub mapping: String,
    pub events: Vec<MotionEvent>,
    /// Whether the file gave `seconds` (else the capture's own length is used).
    pub seconds_given: bool,
    pub line: usize,
}

impl ParsedMotion {
    /// An error about the `[bvh]` table, at its line.
    pub fn error_at_bvh(&self, message: String, hint: impl Into<String>) -> Error {
        let line = self.bvh.as_ref().map_or(self.name_line, |b| b.line);
        self.at(line, format!("key `bvh`: {message}"), hint)
    }
}

impl ParsedMotion {
    fn at(&self, line: usize, message: String, hint: impl Into<String>) -> Error {
        Error::invalid(format!("{}:{line}: {message}", self.label), hint)
    }

    pub fn error_at_name(&self, message: String, hint: impl Into<String>) -> Error {
        self.at(self.name_line, format!("key `name`: {message}"), hint)
    }

    pub fn error_at_word(&self, word: &str, message: String, hint: impl Into<String>) -> Error {
        let line = self
            .words
            .iter()
            .find(|(w, _)| w == word)
            .map_or(self.name_line, |(_, l)| *l);
        self.at(line, format!("key `words`: {message}"), hint)
    }
}

/// Reads one motion file; `label` names it in errors.
pub(crate) fn parse_motion(label: &str, text: &str, source: MotionSource) -> Result<ParsedMotion> {
    let doc = Doc { label, text };
    let tree = doc.parse()?;
    let root = doc.root(&tree);
    root.allow(&TOP_KEYS)?;

    let name_value = root.require("name", "name = \"prowl\"")?;
    let name = name_value.string("name = \"prowl\"")?.to_string();
    if let Some(problem) = english_word_problem(&name) {
        return Err(name_value.error(
            format!("\"{name}\" cannot be a motion name: it {problem}"),
            "use one lower-case English word (letters, digits, inner hyphens), e.g. name = \"prowl\"",
        ));
    }
    let summary_value = root.require("summary", "summary = \"creeps forward on tiptoe\"")?;
    let summary = summary_value.string("summary = \"creeps forward\"")?.trim();
    if summary.is_empty() {
        return Err(summary_value.error(
            "is empty",
            "say in a few words what the motion does; `kinema actions` shows it",
        ));
    }
    let looping = root
        .require("loops", "loops = true")?
        .boolean("loops = true (a cycle) or loops = false (a one-shot)")?;
    let bvh_value = root.get("bvh");
    let seconds = match (root.get("seconds"), &bvh_value) {
        // A capture has its own length.
        (None, Some(_)) => 1.0,
        _ => {
            let seconds_value = root.require("seconds", "seconds = 1.0")?;
            let seconds = seconds_value.number("seconds = 1.0")?;
            if !(0.05..=60.0).contains(&seconds) {
                return Err(seconds_value.error(
                    format!("{seconds} seconds is out of range"),
                    "give the natural length of one cycle (or of the whole one-shot), 0.05 to 60 seconds",
                ));
            }
            seconds
        }
    };
    let bvh = match &bvh_value {
        None => None,
        Some(v) => {
            let table = v.table("[bvh] with file = \"walk.bvh\"")?;
            table.allow(&BVH_KEYS)?;
            let file = table
                .require("file", "file = \"walk.bvh\"")?
                .string("file = \"walk.bvh\"")?
                .to_string();
            let plane = match table.get("plane") {
                None => crate::bvh::PlaneChoice::Auto,
                Some(p) => {
                    let text = p.string("plane = \"side\"")?;
                    crate::bvh::PlaneChoice::parse(text).map_err(|e| {
                        p.error(e.message, "plane = \"auto\", \"front\" or \"side\"")
                    })?
                }
            };
            let mapping = match table.get("mapping") {
                None => "auto".to_string(),
                Some(m) => m.string("mapping = \"mixamo\"")?.to_string(),
            };
            let events = match table.get("events") {
                None => Vec::new(),
                Some(e) => events(RigKind::Humanoid, &e, looping)?,
            };
            Some(BvhRef {
                file,
                plane,
                mapping,
                events,
                seconds_given: root.get("seconds").is_some(),
                line: v.line(),
            })
        }
    };

    let mut words = Vec::new();
    let words_value = root.require("words", "[words] with english = [\"prowl\", \"prowls\"]")?;
    let words_table = words_value.table("[words]")?;
    words_table.allow(&WORDS_KEYS)?;
    let english = word_list(&words_table, "english", true, &mut words)?;
    let chinese = word_list(&words_table, "chinese", false, &mut words)?;
    let mut english = english;
    if !english.contains(&name) {
        // The name always selects the motion (`--actions prowl`).
        english.insert(0, name.clone());
        words.push((name.clone(), name_value.line()));
    }

    let kinds_value = match (root.get("kinds"), &bvh) {
        (Some(v), _) => Some(v),
        // A capture drives humanoids; other kinds are optional.
        (None, Some(_)) => None,
        (None, None) => return Err(root.error(
            "the motion has no [kinds.…] section, so no skeleton could play it",
            "add [kinds.humanoid] and/or [kinds.body_chain] with `easing` and [kinds.KIND.keys]",
        )),
    };
    let kinds_table = kinds_value
        .as_ref()
        .map(|v| v.table("[kinds.humanoid]"))
        .transpose()?;
    let mut kinds = Vec::new();
    for (key, key_span, value) in kinds_table.iter().flat_map(|t| t.entries()) {
        let Some(kind) = RigKind::from_name(key) else {
            let names: Vec<&str> = RigKind::ALL.iter().map(|k| k.name()).collect();
            return Err(value.error_at(
                &key_span,
                format!("`{key}` is not a kind of skeleton{}", suggest(key, &names)),
                format!("kinds are: {}", names.join(", ")),
            ));
        };
        kinds.push(kind_motion(kind, &value, looping)?);
    }
    if let (true, Some(kinds_value)) = (kinds.is_empty(), &kinds_value) {
        return Err(kinds_value.error(
            "names no kind of skeleton",
            "add [kinds.humanoid] and/or [kinds.body_chain] with their keys",
        ));
    }
    kinds.sort_by_key(|k| RigKind::ALL.iter().position(|&r| r == k.kind));

    Ok(ParsedMotion {
        motion: Motion {
            name,
            summary: summary.to_string(),
            english,
            chinese,
            looping,
            seconds,
            kinds,
            source,
            mocap: None,
        },
        label: label.to_string(),
        name_line: name_value.line(),
        words,
        bvh,
    })
}

/// The `english` or `chinese` list of `[words]`; each word's line goes into `lines`.
fn word_list(
    table: &Table,
    key: &str,
    required: bool,
    lines: &mut Vec<(String, usize)>,
) -> Result<Vec<String>> {
    let example = if key == "english" {
        "english = [\"prowl\", \"prowls\", \"prowling\"]"
    } else {
        "chinese = [\"悄悄走\", \"偷偷走\"]"
    };
    let value = match table.get(key) {
        Some(v) => v,
        None if required => table.require(key, example)?,
        None => return Ok(Vec::new()),
    };
    let items = value.array(example)?;
    if required && items.is_empty() {
        return Err(value.error(
            "is empty",
            format!("list the words that choose this motion: {example}"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let word = item.string(example)?.to_string();
        let problem = if key == "english" {
            english_word_problem(&word)
        } else {
            chinese_word_problem(&word)
        };
        if let Some(problem) = problem {
            return Err(item.error(
                format!("\"{word}\" cannot be a prompt word: it {problem}"),
                if key == "english" {
                    "English words are single lower-case words (letters, digits, inner hyphens); \
                     inflections such as -s, -ing and -ed are understood anyway"
                } else {
                    "Chinese words are runs of Chinese characters without spaces or punctuation"
                },
            ));
        }
        if out.contains(&word) {
            return Err(item.error(format!("\"{word}\" is listed twice"), "list each word once"));
        }
        lines.push((word.clone(), item.line()));
        out.push(word);
    }
    Ok(out)
}

/// Why `word` cannot be an English prompt word, if it cannot.
fn english_word_problem(word: &str) -> Option<String> {
    let shape_ok = word.split('-').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) && word.starts_with(|c: char| c.is_ascii_lowercase());
    if word.is_empty() {
        Some("is empty".into())
    } else if word.chars().any(char::is_whitespace) {
        Some("is more than one word (prompts are read a word at a time)".into())
    } else if word.chars().any(|c| c.is_ascii_uppercase()) {
        Some("has capitals (prompts are read in lower case)".into())
    } else if !shape_ok {
        Some("is not a plain word of a-z, 0-9 and inner hyphens".into())
    } else if word.len() > 32 {
        Some("is longer than 32 letters".into())
    } else {
        crate::text::reserved_word(word)
            .map(|what| format!("is {what} the prompt reader already uses"))
    }
}

/// Why `word` cannot be a Chinese prompt word, if it cannot.
fn chinese_word_problem(word: &str) -> Option<String> {
    if word.is_empty() {
        Some("is empty".into())
    } else if word.chars().any(|c| c.is_ascii() || c.is_whitespace()) {
        Some("mixes in Latin letters, digits, spaces or ASCII punctuation".into())
    } else if word.chars().any(|c| "，、。；！？：".contains(c)) {
        Some("holds punctuation, which ends a clause in a prompt".into())
    } else if word.chars().count() > 8 {
        Some("is longer than 8 characters".into())
    } else {
        crate::text::reserved_word(word)
            .map(|what| format!("is {what} the prompt reader already uses"))
    }
}

/// ` (did you mean `x`?)` when `word` is a near miss of one of `options`.
fn suggest(word: &str, options: &[&str]) -> String {
    options
        .iter()
        .map(|o| (crate::text::edit_distance(word, o), *o))
        .filter(|(d, _)| *d <= (word.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| format!(" (did you mean `{o}`?)"))
        .unwrap_or_default()
}

/// One `[kinds.KIND]` section.
fn kind_motion(kind: RigKind, value: &Value, looping: bool) -> Result<KindMotion> {
    let table = value.table(&format!("[kinds.{}]", kind.name()))?;
    table.allow(&KIND_KEYS)?;
    let keyframes = keyframes_of(kind, &table, looping, "")?;
    let turned = match table.get("turned") {
        None => None,
        Some(v) => {
            let section = format!("[kinds.{}.turned]", kind.name());
            let t = v.table(&section)?;
            t.allow(&TURNED_KEYS)?;
            Some(TurnedMotion {
                keyframes: keyframes_of(kind, &t, looping, ".turned")?,
                events: match t.get("events") {
                    None => None,
                    Some(e) => Some(events(kind, &e, looping)?),
                },
            })
        }
    };
    let events = match table.get("events") {
        None => Vec::new(),
        Some(v) => events(kind, &v, looping)?,
    };
    let root_motion = match table.get("root_motion") {
        None => RootMotion::default(),
        Some(v) => {
            let t = v.table("root_motion = { forward = 0.8 }")?;
            t.allow(&ROOT_MOTION_KEYS)?;
            let forward = match t.get("forward") {
                None => 0.0,
                Some(f) => {
                    let x = f.number("forward = 0.8")?;
                    if x.abs() > 10.0 {
                        return Err(f.error(
                            format!("{x} character heights per cycle is out of range"),
                            "root motion is in character heights per cycle (the built-in walk: 0.2); use -10 to 10",
                        ));
                    }
                    x
                }
            };
            RootMotion { forward }
        }
    };
    Ok(KindMotion {
        kind,
        keyframes,
        root_motion,
        events,
        turned,
    })
}

/// The easing and keys of a kind section, or of its `turned` part (`sub` = ".turned").
fn keyframes_of(kind: RigKind, table: &Table, looping: bool, sub: &str) -> Result<Keyframes> {
    let ease = match table.get("easing") {
        None => Ease::Spline,
        Some(v) => {
            let name = v.string("easing = \"spline\"")?;
            let names: Vec<&str> = Ease::ALL.iter().map(|(_, n)| *n).collect();
            Ease::from_name(name).ok_or_else(|| {
                v.error(
                    format!("\"{name}\" is not an easing{}", suggest(name, &names)),
                    "use \"spline\" (smooth curves through the keys, for cycles) or \"smooth\" \
                     (ease in and out of each key, for strikes with holds)",
                )
            })?
        }
    };
    let keys_value = table.require(
        "keys",
        &format!(
            "[kinds.{}{sub}.keys] with e.g. arm_r = [[0.0, 0.0], [0.5, 90.0], [1.0, 0.0]]",
            kind.name()
        ),
    )?;
    let keys_table = keys_value.table("[kinds.KIND.keys]")?;
    let mut tracks = Vec::new();
    for (channel_name, span, v) in keys_table.entries() {
        let channel = channel_of(kind, channel_name, &span, &v)?;
        tracks.push(Track {
            channel,
            keys: track_keys(channel, &v, looping)?,
        });
    }
    if tracks.is_empty() {
        return Err(keys_value.error(
            "keys no channel, so nothing would move",
            "key at least one channel, e.g. spine = [[0.0, 0.0], [0.5, 10.0], [1.0, 0.0]]",
        ));
    }
    Ok(Keyframes { ease, tracks })
}

/// The channel a `keys` entry names, if `kind` has it.
fn channel_of(kind: RigKind, name: &str, key_span: &Range<usize>, v: &Value) -> Result<Channel> {
    let allowed: Vec<&str> = channels_of(kind).iter().map(|c| c.name()).collect();
    let hint = format!(
        "{} channels: {} (see docs/MOTIONS.md)",
        kind.name(),
        allowed.join(", ")
    );
    match Channel::from_name(name) {
        Some(c) if channels_of(kind).contains(&c) => Ok(c),
        Some(_) => Err(v.error_at(
            key_span,
            format!("channel `{name}` does not move {} rigs", kind.name()),
            hint,
        )),
        None => Err(v.error_at(
            key_span,
            format!("`{name}` is not a channel{}", suggest(name, &allowed)),
            hint,
        )),
    }
}

/// A channel's `[[time, value], …]`, checked for order, range and closure.
fn track_keys(channel: Channel, v: &Value, looping: bool) -> Result<Vec<(f32, f32)>> {
    let example = "[[0.0, 0.0], [0.5, 10.0], [1.0, 0.0]]";
    let items = v.array(example)?;
    if items.is_empty() {
        return Err(v.error(
            "has no keys",
            format!("give at least one [time, value] pair, e.g. {example}"),
        ));
    }
    let (limit, unit) = match channel.unit() {
        Unit::Degrees => ((-360.0, 360.0), "degrees"),
        Unit::Heights => ((-2.0, 2.0), "character heights"),
        Unit::Scale => ((-0.95, 3.0), "relative scale (0.1 = 10 % larger)"),
    };
    let mut keys: Vec<(f32, f32)> = Vec::with_capacity(items.len());
    for item in &items {
        let pair = item.array("[time, value]")?;
        if pair.len() != 2 {
            return Err(item.error(
                format!("a key has {} numbers", pair.len()),
                "write each key as [time, value], e.g. [0.5, 10.0]",
            ));
        }
        let time = pair[0].number("[0.5, 10.0]")?;
        let value = pair[1].number("[0.5, 10.0]")?;
        if !(0.0..=1.0).contains(&time) {
            return Err(item.error(
                format!("time {time} is outside 0..=1"),
                "key times are fractions of the motion: 0 is its start, 1 its end",
            ));
        }
        if let Some(&(prev, _)) = keys.last() {
            if time <= prev {
                return Err(item.error(
                    format!("keys are out of order: time {time} comes after {prev}"),
                    "list keys by increasing time, each time once",
                ));
            }
        }
        if value < limit.0 || value > limit.1 {
            return Err(item.error(
                format!("value {value} is out of range for `{}`", channel.name()),
                format!(
                    "`{}` is in {unit}: use {} to {}",
                    channel.name(),
                    limit.0,
                    limit.1
                ),
            ));
        }
        keys.push((time, value));
    }
    let (first, last) = (keys[0].1, keys[keys.len() - 1].1);
    if looping && first != last {
        return Err(v.error(
            format!("a looping motion must end where it starts, but goes from {first} to {last}"),
            "make the last key's value equal the first's, so the cycle closes without a jump",
        ));
    }
    if !looping && first != 0.0 {
        return Err(v.error(
            format!("a one-shot must start from the drawn pose, but starts at {first}"),
            "make the first key's value 0 (the character as drawn); it may end anywhere",
        ));
    }
    Ok(keys)
}

/// The `events` array of a kind section.
fn events(kind: RigKind, v: &Value, looping: bool) -> Result<Vec<MotionEvent>> {
    let example = "events = [{ name = \"footstep\", time = 0.25 }]";
    let mut out = Vec::new();
    for item in v.array(example)? {
        let t = item.table("{ name = \"footstep\", time = 0.25 }")?;
        t.allow(&EVENT_KEYS)?;
        let name_value = t.require("name", "name = \"footstep\"")?;
        let name = name_value.string("name = \"footstep\"")?.to_string();
        let name_ok = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(name_value.error(
                format!("\"{name}\" is not an event name"),
                "use lower-case letters, digits and `_`, e.g. footstep, attack_active, release, land",
            ));
        }
        let time_value = t.require("time", "time = 0.25")?;
        let time = event_time(&time_value, looping)?;
        let end = match t.get("end") {
            None => None,
            Some(e) => {
                let end = event_time(&e, false)?;
                if end <= time {
                    return Err(e.error(
                        format!("end {end} is not after time {time}"),
                        "an interval ends after it starts",
                    ));
                }
                Some(end)
            }
        };
        if name == "attack_active" && end.is_none() {
            return Err(t.error(
                "attack_active is an interval and needs an `end`",
                "add end = …, the time the strike stops being able to hit",
            ));
        }
        let limb = match t.get("limb") {
            None => None,
            Some(l) => {
                let joint = l.string("limb = \"hand_right\"")?;
                let joints: Vec<&str> = kind.template().iter().map(|(n, _)| *n).collect();
                if !joints.contains(&joint) {
                    return Err(l.error(
                        format!(
                            "`{joint}` is not a {} joint{}",
                            kind.name(),
                            suggest(joint, &joints)
                        ),
                        format!("{} joints: {}", kind.name(), joints.join(", ")),
                    ));
                }
                Some(joint.to_string())
            }
        };
        out.push(MotionEvent {
            name,
            time,
            end,
            limb,
        });
    }
    out.sort_by(|a, b| a.time.total_cmp(&b.time));
    Ok(out)
}

fn event_time(v: &Value, looping: bool) -> Result<f32> {
    let t = v.number("time = 0.25")?;
    if !(0.0..=1.0).contains(&t) {
        return Err(v.error(
            format!("time {t} is outside 0..=1"),
            "event times are fractions of the motion: 0 is its start, 1 its end",
        ));
    }
    if looping && t == 1.0 {
        return Err(v.error(
            "in a looping motion time 1 is time 0 of the next cycle",
            "write 0.0 instead",
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROWL: &str = include_str!("../../../samples/motions/prowl.toml");

    fn parse(text: &str) -> Result<Motion> {
        let source = MotionSource::File {
            path: "m/prowl.toml".into(),
            replaces_builtin: false,
        };
        parse_motion("m/prowl.toml", text, source).map(|p| p.motion)
    }

    /// The error for `PROWL` with `from` replaced by `to`: (message, hint).
    fn error(from: &str, to: &str) -> (String, String) {
        assert!(PROWL.contains(from), "the sample has no {from:?}");
        let e = parse(&PROWL.replacen(from, to, 1)).err().unwrap();
        (e.message, e.hint.unwrap_or_default())
    }

    fn line_of(text: &str) -> usize {
        PROWL.lines().position(|l| l.contains(text)).unwrap() + 1
    }

    #[test]
    fn the_sample_user_motion_reads_completely() {
        let m = parse(PROWL).unwrap();
        assert_eq!(
            (m.name.as_str(), m.looping, m.seconds),
            ("prowl", true, 1.6)
        );
        assert_eq!(m.kind_names(), ["humanoid", "body_chain"]);
        let h = &m.kinds[0];
        assert_eq!(h.keyframes.ease, Ease::Spline);
        assert_eq!(h.keyframes.tracks[0].channel, Channel::Spine);
        assert_eq!(h.keyframes.tracks[0].keys[1], (0.5, 16.0));
        assert_eq!(h.root_motion.forward, 0.12);
        assert_eq!(h.events.len(), 2);
        assert_eq!(m.chinese, ["悄悄走", "偷偷走", "蹑手蹑脚"]);
    }

    #[test]
    fn an_unknown_channel_is_named_with_its_line_and_the_kinds_channels() {
        let (m, h) = error("leg_l = ", "leg_x = ");
        let line = line_of("leg_l = ");
        assert!(
            m.starts_with(&format!(
                "m/prowl.toml:{line}: key `kinds.humanoid.keys.leg_x`: `leg_x` is not a channel (did you mean `leg_l`?)"
            )),
            "{m}"
        );
        assert!(
            h.contains("humanoid channels: root_x") && h.contains("knee_r"),
            "{h}"
        );
        let (m, _) = error(
            "neck = [[0.0, -8.0], [1.0, -8.0]]",
            "flap = [[0.0, 8.0], [1.0, 8.0]]",
        );
        assert!(
            m.contains("channel `flap` does not move humanoid rigs"),
            "{m}"
        );
    }

    #[test]
    fn keys_out_of_order_or_outside_the_motion_are_refused() {
        let line = line_of("leg_l = ");
        let (m, h) = error("[0.25, 16.0], [0.5, 0.0]", "[0.5, 16.0], [0.25, 0.0]");
        assert!(
            m.starts_with(&format!(
                "m/prowl.toml:{line}: key `kinds.humanoid.keys.leg_l[2]`: keys are out of order: time 0.25 comes after 0.5"
            )),
            "{m}"
        );
        assert!(h.contains("increasing time"), "{h}");
        let (m, h) = error("[0.75, -12.0], [1.0, 0.0]]", "[0.75, -12.0], [1.5, 0.0]]");
        assert!(m.contains("leg_l[4]`: time 1.5 is outside 0..=1"), "{m}");
        assert!(h.contains("fractions of the motion"), "{h}");
        let (m, _) = error("[0.25, 16.0]", "[0.25, 16.0, 3.0]");
        assert!(m.contains("a key has 3 numbers"), "{m}");
        let (m, _) = error("[0.25, 16.0]", "[0.25, 900.0]");
        assert!(m.contains("value 900 is out of range for `leg_l`"), "{m}");
    }

    #[test]
    fn cycles_must_close_and_one_shots_start_at_rest() {
        let (m, h) = error("[0.75, -12.0], [1.0, 0.0]]", "[0.75, -12.0], [1.0, 5.0]]");
        assert!(
            m.contains("a looping motion must end where it starts"),
            "{m}"
        );
        assert!(h.contains("cycle closes"), "{h}");
        let one_shot = PROWL.replace("loops = true", "loops = false");
        let e = parse(&one_shot).err().unwrap();
        assert!(
            e.message.contains(
                "key `kinds.humanoid.keys.spine`: a one-shot must start from the drawn pose"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_missing_or_unknown_kind_section_is_explained() {
        let without: String = PROWL
            .split("\n[kinds.humanoid]")
            .next()
            .unwrap()
            .to_string();
        let e = parse(&without).err().unwrap();
        assert!(
            e.message
                .starts_with("m/prowl.toml:1: the motion has no [kinds.…] section"),
            "{e}"
        );
        assert!(e.hint.unwrap().contains("[kinds.humanoid]"));
        let (m, h) = error("[kinds.body_chain]\n", "[kinds.bodychain]\n");
        let line = line_of("[kinds.body_chain]");
        assert!(
            m.starts_with(&format!(
                "m/prowl.toml:{line}: key `kinds.bodychain`: `bodychain` is not a kind of skeleton (did you mean `body_chain`?)"
            )),
            "{m}"
        );
        assert!(h.contains("humanoid, body_chain"), "{h}");
        let (m, _) = error("[kinds.humanoid.keys]\n", "[kinds.humanoid.keyz]\n");
        assert!(
            m.contains(
                "key `kinds.humanoid.keyz`: is not part of a motion file (did you mean `keys`?)"
            ),
            "{m}"
        );
        let (start, end) = (
            PROWL.find("[kinds.humanoid.keys]").unwrap(),
            PROWL.find("[kinds.body_chain]").unwrap(),
        );
        let no_keys = format!("{}{}", &PROWL[..start], &PROWL[end..]);
        let e = parse(&no_keys).err().unwrap();
        let line = line_of("[kinds.humanoid]");
        assert!(
            e.message.starts_with(&format!(
                "m/prowl.toml:{line}: key `kinds.humanoid.keys`: required key is missing from [kinds.humanoid]"
            )),
            "{e}"
        );
    }

    #[test]
    fn a_bad_easing_lists_the_easings() {
        let (m, h) = error("easing = \"spline\"", "easing = \"linear\"");
        let line = line_of("easing = \"spline\"");
        assert!(
            m.starts_with(&format!(
                "m/prowl.toml:{line}: key `kinds.humanoid.easing`: \"linear\" is not an easing"
            )),
            "{m}"
        );
        assert!(h.contains("\"spline\"") && h.contains("\"smooth\""), "{h}");
        let (m, _) = error("easing = \"spline\"", "easing = 3");
        assert!(m.contains("expected a string, found integer"), "{m}");
    }

    #[test]
    fn unknown_keys_missing_keys_and_wrong_types_name_the_key() {
        let (m, h) = error("summary = ", "sumary = ");
        assert!(
            m.starts_with("m/prowl.toml:4: key `sumary`: is not part of a motion file (did you mean `summary`?)"),
            "{m}"
        );
        assert!(h.contains("keys allowed here: name, summary"), "{h}");
        let (m, _) = error("loops = true", "loops = \"yes\"");
        assert!(
            m.starts_with("m/prowl.toml:5: key `loops`: expected true or false"),
            "{m}"
        );
        let (m, _) = error("seconds = 1.6", "seconds = 0");
        assert!(
            m.contains("key `seconds`: 0 seconds is out of range"),
            "{m}"
        );
        let (m, _) = error("name = \"prowl\"\n", "");
        assert!(
            m.contains("key `name`: required key is missing from the file"),
            "{m}"
        );
        let (m, _) = error(
            "root_motion = { forward = 0.12 }",
            "root_motion = { forwards = 0.12 }",
        );
        assert!(
            m.contains("key `kinds.humanoid.root_motion.forwards`"),
            "{m}"
        );
        let (m, _) = error("seconds = 1.6", "seconds = 1.6\nseconds = 2");
        assert!(m.contains("this is not valid TOML"), "{m}");
    }

    #[test]
    fn words_must_be_usable_by_the_prompt_reader() {
        let (m, h) = error("\"tiptoe\"]", "\"tip toe\"]");
        assert!(m.contains("key `words.english[7]`: \"tip toe\" cannot be a prompt word: it is more than one word"), "{m}");
        assert!(h.contains("inflections"), "{h}");
        assert!(error("\"tiptoe\"]", "\"Tiptoe\"]")
            .0
            .contains("has capitals"));
        assert!(error("\"tiptoe\"]", "\"slowly\"]")
            .0
            .contains("is a modifier"));
        assert!(error("\"tiptoe\"]", "\"then\"]").0.contains("sequence"));
        assert!(error("\"tiptoe\"]", "\"prowl\"]")
            .0
            .contains("listed twice"));
        assert!(error("\"悄悄走\"", "\"悄悄走 \"")
            .0
            .contains("key `words.chinese[0]`"));
        assert!(error("\"悄悄走\"", "\"向左\"").0.contains("is a modifier"));
        let (m, _) = error("name = \"prowl\"", "name = \"Sneak!\"");
        assert!(m.contains("\"Sneak!\" cannot be a motion name"), "{m}");
        // The name is always a word, even when the list leaves it out.
        let m = parse(&PROWL.replacen("\"prowl\", ", "", 1)).unwrap();
        assert_eq!(m.english[0], "prowl");
    }

    #[test]
    fn events_are_checked() {
        let e = |to: &str| error("{ name = \"footstep\", time = 0.25 }", to).0;
        assert!(
            e("{ name = \"footstep\", time = 1.0 }").contains("time 1 is time 0 of the next cycle")
        );
        assert!(e("{ name = \"foot step\", time = 0.25 }").contains("is not an event name"));
        assert!(e("{ name = \"attack_active\", time = 0.25 }").contains("needs an `end`"));
        assert!(e("{ name = \"hit\", time = 0.5, end = 0.25 }")
            .contains("end 0.25 is not after time 0.5"));
        let m = e("{ name = \"hit\", time = 0.25, limb = \"hand\" }");
        assert!(m.contains("`hand` is not a humanoid joint"), "{m}");
        assert!(
            e("{ name = \"footstep\", tim = 0.25 }").contains("key `kinds.humanoid.events[0].tim`")
        );
        let ok = PROWL.replacen(
            "{ name = \"footstep\", time = 0.25 }",
            "{ name = \"swipe\", time = 0.2, end = 0.4, limb = \"hand_right\" }",
            1,
        );
        let m = parse(&ok).unwrap();
        let ev = &m.kinds[0].events[0];
        assert_eq!(
            (ev.name.as_str(), ev.end, ev.limb.as_deref()),
            ("swipe", Some(0.4), Some("hand_right"))
        );
    }
}
