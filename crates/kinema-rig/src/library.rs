//! The motion library: the built-in motions (motion files embedded at build time) plus
//! a user's folder of motion files, as one value that the prompt reader, the timeline,
//! the engine and every front end share.
//!
//! A user file whose `name` is a built-in's replaces it in place; any other adds a motion
//! after the built-ins. Words must select one motion only, so a user word that another
//! motion already owns is an error at that word's line, never a silent shadowing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use kinema_core::{Error, Result};
use serde::Serialize;

use crate::motion::{stand_in, Keyframes};
use crate::motion_file::{parse_motion, ParsedMotion};
use crate::rig::RigKind;
use crate::view::View;

/// One motion (an action the prompt reader can choose), as its motion file describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Motion {
    /// The action's name: a prompt word, an `--actions` entry and part of output file names.
    pub name: String,
    /// A few words for listings ("walk cycle in place").
    pub summary: String,
    /// Prompt words that select it; the name is always one of them.
    pub english: Vec<String>,
    pub chinese: Vec<String>,
    /// A cycle (idle, walk…) rather than a one-shot (attack, die…).
    pub looping: bool,
    /// Seconds of one cycle (or of the whole one-shot) at normal speed.
    pub seconds: f32,
    /// Per skeleton kind it applies to, in [`RigKind::ALL`] order.
    pub kinds: Vec<KindMotion>,
    pub source: MotionSource,
    /// A motion capture that drives humanoids: fitted to each character as it is drawn
    /// (see [`crate::bvh`]), taking the place of a humanoid section.
    pub mocap: Option<Arc<crate::bvh::Mocap>>,
}

/// A motion's keys, travel and events for one kind of skeleton.
#[derive(Clone, Debug, PartialEq)]
pub struct KindMotion {
    pub kind: RigKind,
    pub keyframes: Keyframes,
    pub root_motion: RootMotion,
    /// Sorted by time.
    pub events: Vec<MotionEvent>,
    /// Keys (and optionally events) for characters drawn three-quarter or in profile,
    /// replacing the front-view ones: a strike drawn from the side winds up behind and
    /// lands in front, one drawn from the front raises the arm out to the side.
    pub turned: Option<TurnedMotion>,
}

/// A kind's keys for turned views (three-quarter and side).
#[derive(Clone, Debug, PartialEq)]
pub struct TurnedMotion {
    pub keyframes: Keyframes,
    /// `None`: the front view's events apply.
    pub events: Option<Vec<MotionEvent>>,
}

impl KindMotion {
    /// The keys for a character seen from `view`.
    pub fn keyframes_for(&self, view: View) -> &Keyframes {
        match (&self.turned, view) {
            (Some(t), View::ThreeQuarter | View::Side) => &t.keyframes,
            _ => &self.keyframes,
        }
    }

    /// The events for a character seen from `view`, sorted by time.
    pub fn events_for(&self, view: View) -> &[MotionEvent] {
        match (&self.turned, view) {
            (
                Some(TurnedMotion {
                    events: Some(e), ..
                }),
                View::ThreeQuarter | View::Side,
            ) => e,
            _ => &self.events,
        }
    }
}

/// How far the character travels while the motion plays. Frames are always drawn in
/// place; this is what a game adds to the character's position (or removes, to keep a
/// walk on the spot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RootMotion {
    /// Character heights travelled per cycle (or over a whole one-shot) toward the way
    /// the character faces; negative goes backward.
    #[serde(serialize_with = "as_written")]
    pub forward: f32,
}

impl RootMotion {
    /// Heights travelled after `progress` cycles (whole cycles plus the fraction of the
    /// current one), spread evenly over each cycle.
    pub fn travelled(&self, progress: f32) -> f32 {
        self.forward * progress
    }
}

/// A named instant (or interval, with `end`) of a motion, in motion time 0..=1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MotionEvent {
    /// `footstep`, `attack_active`, `release`, `land`, or a name of the user's own.
    pub name: String,
    #[serde(serialize_with = "as_written")]
    pub time: f32,
    /// Where an interval (such as `attack_active`) ends.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_as_written"
    )]
    pub end: Option<f32>,
    /// The rig joint the event happens at (the striking hand or foot), from the kind's
    /// rig template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limb: Option<String>,
}

/// `value` as the shortest decimal that reads back as it, so JSON says 0.15 rather than
/// the nearest f64 to the f32 (0.15000000596046448).
pub fn as_written_f64(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(value as f64)
}

fn as_written<S: serde::Serializer>(value: &f32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(as_written_f64(*value))
}

fn opt_as_written<S: serde::Serializer>(
    value: &Option<f32>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_f64(as_written_f64(*v)),
        None => s.serialize_none(),
    }
}

/// Where a motion came from.
#[derive(Clone, Debug, PartialEq)]
pub enum MotionSource {
    /// Embedded in the binary from `crates/kinema-rig/motions/`.
    BuiltIn,
    /// A user's motion file; `replaces_builtin` when its name is a built-in's.
    File {
        path: PathBuf,
        replaces_builtin: bool,
    },
}

impl Motion {
    /// This motion's keys for `kind`: its own section, or that of its stand-in kind
    /// ([`stand_in`]: a quadruped plays `body_chain` keys until it has its own). The
    /// result's `kind` says which section it is, and so which joints its events' `limb`
    /// names.
    pub fn for_kind(&self, kind: RigKind) -> Option<&KindMotion> {
        let own = |k: RigKind| self.kinds.iter().find(|m| m.kind == k);
        own(kind).or_else(|| stand_in(kind).and_then(own))
    }

    /// Names of the kinds it has sections for (`humanoid`, `body_chain`).
    /// A motion capture counts as a humanoid section: it is fitted to humanoids.
    pub fn kind_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.kinds.iter().map(|k| k.kind.name()).collect();
        if self.mocap.is_some() && !names.contains(&RigKind::Humanoid.name()) {
            names.insert(0, RigKind::Humanoid.name());
        }
        names
    }

    /// A motion that lacks `kind`: the error a render of such a character gets.
    pub fn require_kind(&self, kind: RigKind, character: &str) -> Result<&KindMotion> {
        self.for_kind(kind).ok_or_else(|| {
            let file = match &self.source {
                MotionSource::File { path, .. } => path.display().to_string(),
                MotionSource::BuiltIn => format!("the built-in {}.toml", self.name),
            };
            Error::invalid(
                format!(
                    "motion `{}` has no keys for {} rigs, and `{character}` is rigged as a {}",
                    self.name,
                    kind.name(),
                    kind.name()
                ),
                format!(
                    "add a [kinds.{}] section to {file}{} (it has: {}), or choose another action",
                    kind.name(),
                    stand_in(kind)
                        .map(|k| format!(
                            " (or [kinds.{}], which {} rigs play until they have their own)",
                            k.name(),
                            kind.name()
                        ))
                        .unwrap_or_default(),
                    self.kind_names().join(", ")
                ),
            )
        })
    }
}

/// The built-in motion files, in the order users see them: `kinema actions`, help texts
/// and "use one of" hints list them this way.
const BUILTIN: [(&str, &str); 33] = [
    ("idle.toml", include_str!("../motions/idle.toml")),
    ("walk.toml", include_str!("../motions/walk.toml")),
    ("run.toml", include_str!("../motions/run.toml")),
    ("trot.toml", include_str!("../motions/trot.toml")),
    ("gallop.toml", include_str!("../motions/gallop.toml")),
    ("jump.toml", include_str!("../motions/jump.toml")),
    ("wave.toml", include_str!("../motions/wave.toml")),
    ("attack.toml", include_str!("../motions/attack.toml")),
    ("punch.toml", include_str!("../motions/punch.toml")),
    ("kick.toml", include_str!("../motions/kick.toml")),
    ("crouch.toml", include_str!("../motions/crouch.toml")),
    ("hurt.toml", include_str!("../motions/hurt.toml")),
    ("die.toml", include_str!("../motions/die.toml")),
    ("cast.toml", include_str!("../motions/cast.toml")),
    ("cheer.toml", include_str!("../motions/cheer.toml")),
    ("dance.toml", include_str!("../motions/dance.toml")),
    ("nod.toml", include_str!("../motions/nod.toml")),
    ("bow.toml", include_str!("../motions/bow.toml")),
    ("hover.toml", include_str!("../motions/hover.toml")),
    ("bounce.toml", include_str!("../motions/bounce.toml")),
    ("shoot.toml", include_str!("../motions/shoot.toml")),
    ("block.toml", include_str!("../motions/block.toml")),
    ("dodge.toml", include_str!("../motions/dodge.toml")),
    ("throw.toml", include_str!("../motions/throw.toml")),
    ("climb.toml", include_str!("../motions/climb.toml")),
    ("fall.toml", include_str!("../motions/fall.toml")),
    ("land.toml", include_str!("../motions/land.toml")),
    ("talk.toml", include_str!("../motions/talk.toml")),
    ("push.toml", include_str!("../motions/push.toml")),
    ("pickup.toml", include_str!("../motions/pickup.toml")),
    ("sit.toml", include_str!("../motions/sit.toml")),
    ("sleep.toml", include_str!("../motions/sleep.toml")),
    ("taunt.toml", include_str!("../motions/taunt.toml")),
];

/// The motions a render may use. Cheap to share: front ends build one per run (or per
/// server) and hand it to the engine as an `Arc`.
pub struct MotionLibrary {
    motions: Vec<Arc<Motion>>,
    /// The user files read, with their text, so a batch can tell when they change.
    user_files: Vec<(PathBuf, String)>,
    /// The prompt reader's vocabulary, built on first use.
    pub(crate) lexicon: OnceLock<crate::text::Lexicon>,
}

impl MotionLibrary {
    /// The built-in motions only.
    pub fn builtin() -> Arc<MotionLibrary> {
        static BUILT_IN: OnceLock<Arc<MotionLibrary>> = OnceLock::new();
        BUILT_IN
            .get_or_init(|| {
                let motions = BUILTIN
                    .iter()
                    .map(|(file, text)| {
                        let label = format!("motions/{file} (built in)");
                        // The files are compiled in and parsed by the tests, so a failure
                        // here is a broken build, not bad input.
                        match parse_motion(&label, text, MotionSource::BuiltIn) {
                            Ok(parsed) if parsed.bvh.is_none() => Arc::new(parsed.motion),
                            Ok(_) => panic!("built-in motion {file} names a BVH file"),
                            Err(e) => panic!("built-in motion {file} is invalid: {e}"),
                        }
                    })
                    .collect();
                Arc::new(MotionLibrary::new(motions, Vec::new()))
            })
            .clone()
    }

    /// The built-ins with the motion files in `dir` added (or replacing the built-in of
    /// the same name): what `--motions DIR` means.
    pub fn load(dir: &Path) -> Result<Arc<MotionLibrary>> {
        Ok(Arc::new(MotionLibrary::builtin().with_folder(dir)?))
    }

    fn new(motions: Vec<Arc<Motion>>, user_files: Vec<(PathBuf, String)>) -> Self {
        MotionLibrary {
            motions,
            user_files,
            lexicon: OnceLock::new(),
        }
    }

    /// This library with every `*.toml` file of `dir` added (or replacing the motion of
    /// the same name). Every file is checked before any is used.
    pub fn with_folder(&self, dir: &Path) -> Result<MotionLibrary> {
        let hint = "give a folder of .toml motion files (see docs/MOTIONS.md)";
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Error::invalid(
                format!("cannot read the motions folder {}: {e}", dir.display()),
                hint,
            )
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("toml"))
            })
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(Error::invalid(
                format!("the motions folder {} holds no .toml files", dir.display()),
                hint,
            ));
        }
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::invalid(
                    format!("cannot read the motion file {}: {e}", path.display()),
                    "motion files are UTF-8 TOML text (see docs/MOTIONS.md)",
                )
            })?;
            files.push((path, text));
        }
        self.with_files(files)
    }

    /// This library with motion files given as `(path, text)`; `path` names them in errors.
    pub fn with_files(&self, files: Vec<(PathBuf, String)>) -> Result<MotionLibrary> {
        let mut parsed: Vec<ParsedMotion> = Vec::with_capacity(files.len());
        let mut captures: Vec<(PathBuf, String)> = Vec::new();
        for (path, text) in &files {
            let source = MotionSource::File {
                path: path.clone(),
                replaces_builtin: false,
            };
            let mut p = parse_motion(&path.display().to_string(), text, source)?;
            if let Some(capture) = load_capture(&mut p, path)? {
                captures.push(capture);
            }
            p.motion.source = MotionSource::File {
                path: path.clone(),
                replaces_builtin: self.get(&p.motion.name).is_some(),
            };
            if let Some(first) = parsed.iter().find(|q| q.motion.name == p.motion.name) {
                return Err(p.error_at_name(
                    format!(
                        "motion `{}` is already defined by {}:{}",
                        p.motion.name, first.label, first.name_line
                    ),
                    "give each motion file its own name, or remove one of them",
                ));
            }
            parsed.push(p);
        }
        let mut motions = self.motions.clone();
        for p in &parsed {
            let motion = Arc::new(p.motion.clone());
            match motions.iter().position(|m| m.name == motion.name) {
                Some(i) => motions[i] = motion,
                None => motions.push(motion),
            }
        }
        check_words_unique(&motions, &parsed)?;
        let mut user_files = self.user_files.clone();
        user_files.extend(files);
        // The captures too: a batch redoes its jobs when one changes.
        user_files.extend(captures);
        Ok(MotionLibrary::new(motions, user_files))
    }

    /// This library with `motion` added, or replacing the motion of the same name (as
    /// `--bvh walk.bvh` adds `walk`). Its words must not select another motion.
    pub fn with_motion(&self, motion: Motion) -> Result<MotionLibrary> {
        for m in &self.motions {
            if m.name == motion.name {
                continue;
            }
            if let Some(w) = motion
                .english
                .iter()
                .chain(&motion.chinese)
                .find(|w| m.english.contains(w) || m.chinese.contains(w))
            {
                return Err(Error::invalid(
                    format!(
                        "the motion `{}` cannot be added: the word `{w}` already selects motion `{}`",
                        motion.name, m.name
                    ),
                    "rename the file (its name becomes the action's name), or name the built-in it replaces",
                ));
            }
        }
        let mut motions = self.motions.clone();
        let motion = Arc::new(motion);
        match motions.iter().position(|m| m.name == motion.name) {
            Some(i) => motions[i] = motion,
            None => motions.push(motion),
        }
        Ok(MotionLibrary::new(motions, self.user_files.clone()))
    }

    /// Every motion, built-ins first in their order, then the user's by file name.
    pub fn motions(&self) -> &[Arc<Motion>] {
        &self.motions
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Motion>> {
        self.motions.iter().find(|m| m.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.motions.iter().map(|m| m.name.as_str()).collect()
    }

    /// The user motion files read into this library, with their text (empty for the
    /// built-ins alone); a batch hashes them to know when its outputs are stale.
    pub fn user_files(&self) -> &[(PathBuf, String)] {
        &self.user_files
    }
}

/// Loads the capture a motion file's `[bvh]` table names (relative to the file) into
/// its motion; returns the capture's path and text for the library's file list.
fn load_capture(p: &mut ParsedMotion, path: &Path) -> Result<Option<(PathBuf, String)>> {
    let Some(r) = &p.bvh else { return Ok(None) };
    let (file, plane, mapping, events, seconds_given) = (
        r.file.clone(),
        r.plane,
        r.mapping.clone(),
        r.events.clone(),
        r.seconds_given,
    );
    let base = path.parent().unwrap_or(Path::new(""));
    let file = base.join(&file);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        p.error_at_bvh(
            format!("cannot read the BVH file {}: {e}", file.display()),
            "give file = the capture's path, relative to this motion file",
        )
    })?;
    let mapping = crate::bvh::MappingChoice::parse(&mapping, base)?;
    let mut mocap = crate::bvh::load_mocap(&file, plane, mapping)?;
    mocap.events = events;
    if !seconds_given {
        p.motion.seconds = (mocap.bvh.duration() as f32).clamp(0.05, 600.0);
    }
    p.motion.mocap = Some(Arc::new(mocap));
    Ok(Some((file, text)))
}

/// Each word selects one motion. Built-ins never clash (a test checks), so a clash
/// always involves a user file, and the error points at the word there.
fn check_words_unique(motions: &[Arc<Motion>], parsed: &[ParsedMotion]) -> Result<()> {
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for m in motions {
        for w in m.english.iter().chain(&m.chinese) {
            if let Some(other) = owner.insert(w.as_str(), m.name.as_str()) {
                if other == m.name {
                    continue;
                }
                // Point at whichever of the two is a user file (the later one if both).
                let (file, taken_by) = match parsed.iter().find(|p| p.motion.name == m.name) {
                    Some(p) => (p, other),
                    None => match parsed.iter().find(|p| p.motion.name == other) {
                        Some(p) => (p, m.name.as_str()),
                        None => continue,
                    },
                };
                return Err(file.error_at_word(
                    w,
                    format!("the word `{w}` already selects motion `{taken_by}`"),
                    format!(
                        "a word may select one motion only: remove it here, or override `{taken_by}` \
                         with a file whose name is \"{taken_by}\""
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl Clone for MotionLibrary {
    fn clone(&self) -> Self {
        MotionLibrary::new(self.motions.clone(), self.user_files.clone())
    }
}

impl PartialEq for MotionLibrary {
    fn eq(&self, other: &Self) -> bool {
        self.motions == other.motions && self.user_files == other.user_files
    }
}

impl std::fmt::Debug for MotionLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotionLibrary")
            .field("motions", &self.names())
            .field(
                "user_files",
                &self.user_files.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROWL: &str = include_str!("../../../samples/motions/prowl.toml");

    fn with(files: &[(&str, &str)]) -> Result<MotionLibrary> {
        MotionLibrary::builtin().with_files(
            files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_builtins_are_the_catalogue_in_order_with_both_kinds_and_languages() {
        let lib = MotionLibrary::builtin();
        assert_eq!(
            lib.names(),
            [
                "idle", "walk", "run", "trot", "gallop", "jump", "wave", "attack", "punch", "kick",
                "crouch", "hurt", "die", "cast", "cheer", "dance", "nod", "bow", "hover", "bounce",
                "shoot", "block", "dodge", "throw", "climb", "fall", "land", "talk", "push",
                "pickup", "sit", "sleep", "taunt",
            ]
        );
        for m in lib.motions() {
            assert_eq!(m.source, MotionSource::BuiltIn);
            assert!(!m.english.is_empty() && !m.chinese.is_empty(), "{}", m.name);
            // Gaits only animals have are theirs alone; everything else is for people and
            // body chains, and for quadrupeds where it has their keys.
            let kinds = m.kind_names();
            if ["trot", "gallop"].contains(&m.name.as_str()) {
                assert_eq!(kinds, ["quadruped"], "{}", m.name);
            } else {
                assert_eq!(kinds[..2], ["humanoid", "body_chain"], "{}", m.name);
            }
            assert!(m.english.contains(&m.name), "{}", m.name);
        }
        assert!(lib.user_files().is_empty());
    }

    #[test]
    fn every_file_in_the_motions_folder_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("motions");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = BUILTIN.iter().map(|(f, _)| f.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "add new motion files to BUILTIN");
    }

    #[test]
    fn builtin_words_each_select_one_motion() {
        let mut seen = HashMap::new();
        for m in MotionLibrary::builtin().motions() {
            for w in m.english.iter().chain(&m.chinese) {
                assert_eq!(seen.insert(w.clone(), m.name.clone()), None, "{w}");
            }
        }
    }

    #[test]
    fn events_and_root_motion_are_exposed_per_kind() {
        let lib = MotionLibrary::builtin();
        let walk = lib
            .get("walk")
            .unwrap()
            .for_kind(RigKind::Humanoid)
            .unwrap();
        let steps: Vec<f32> = walk.events.iter().map(|e| e.time).collect();
        assert_eq!(steps, [0.25, 0.75]);
        assert!(walk.events.iter().all(|e| e.name == "footstep"));
        assert!(walk.root_motion.forward > 0.0);
        assert_eq!(
            walk.root_motion.travelled(1.5),
            1.5 * walk.root_motion.forward
        );
        for strike in ["attack", "punch", "kick"] {
            for kind in RigKind::ALL {
                let k = lib.get(strike).unwrap().for_kind(kind).unwrap();
                let active = k.events.iter().find(|e| e.name == "attack_active").unwrap();
                assert!(active.end.is_some() && active.limb.is_some(), "{strike}");
            }
        }
        let jump = lib
            .get("jump")
            .unwrap()
            .for_kind(RigKind::BodyChain)
            .unwrap();
        assert_eq!(jump.events[0].name, "land");
        assert_eq!(
            lib.get("wave").unwrap().kinds[0].root_motion,
            RootMotion::default()
        );
    }

    #[test]
    fn a_quadruped_plays_its_own_section_or_the_body_chains() {
        let lib = MotionLibrary::builtin();
        let wave = lib.get("wave").unwrap();
        let stand_in = wave.for_kind(RigKind::Quadruped).unwrap();
        assert_eq!(stand_in.kind, RigKind::BodyChain);
        let own = PROWL.replace("[kinds.body_chain", "[kinds.quadruped");
        let lib = with(&[("q/prowl.toml", &own)]).unwrap();
        let prowl = lib.get("prowl").unwrap();
        assert_eq!(prowl.kind_names(), ["humanoid", "quadruped"]);
        assert_eq!(
            prowl.for_kind(RigKind::Quadruped).unwrap().kind,
            RigKind::Quadruped
        );
        let e = prowl.require_kind(RigKind::BodyChain, "slime").unwrap_err();
        assert!(e.message.contains("no keys for body_chain rigs"), "{e}");
        let humanoid_only = PROWL.split("\n[kinds.body_chain]").next().unwrap();
        let lib = with(&[("q/prowl.toml", humanoid_only)]).unwrap();
        let e = lib
            .get("prowl")
            .unwrap()
            .require_kind(RigKind::Quadruped, "horse")
            .unwrap_err();
        assert!(
            e.hint
                .as_deref()
                .unwrap_or_default()
                .contains("or [kinds.body_chain], which quadruped rigs play"),
            "{e}"
        );
        // Its own section may key only what a quadruped reads.
        let legs = own.replace("squash_y = ", "leg_l = ");
        let e = with(&[("q/prowl.toml", &legs)]).err().unwrap();
        assert!(
            e.message
                .contains("channel `leg_l` does not move quadruped rigs"),
            "{e}"
        );
    }

    #[test]
    fn a_user_motion_joins_after_the_builtins_and_an_override_replaces_in_place() {
        let lib = with(&[("mine/prowl.toml", PROWL)]).unwrap();
        assert_eq!(lib.names().last(), Some(&"prowl"));
        assert_eq!(
            lib.motions().len(),
            MotionLibrary::builtin().motions().len() + 1
        );
        let prowl = lib.get("prowl").unwrap();
        assert_eq!(
            prowl.source,
            MotionSource::File {
                path: PathBuf::from("mine/prowl.toml"),
                replaces_builtin: false
            }
        );
        assert_eq!(lib.user_files().len(), 1);

        let wave = PROWL.replace("name = \"prowl\"", "name = \"wave\"").replace(
            "english = [\"prowl\", \"prowls\", \"prowling\", \"prowled\", \"creep\", \"creeps\", \"creeping\", \"tiptoe\"]",
            "english = [\"wave\", \"tiptoe\"]",
        );
        let lib = with(&[("mine/wave.toml", &wave)]).unwrap();
        assert_eq!(lib.names(), MotionLibrary::builtin().names());
        let w = lib.get("wave").unwrap();
        assert!(w.looping && w.summary == "prowls forward on tiptoe, bent low");
        assert!(matches!(
            w.source,
            MotionSource::File {
                replaces_builtin: true,
                ..
            }
        ));
        // The built-in's words went with it: "greet" no longer selects anything.
        assert!(lib.understand("greet").is_err());
        assert_eq!(lib.understand("tiptoe").unwrap().steps[0].action, "wave");
    }

    #[test]
    fn two_files_with_one_name_are_refused() {
        let e = with(&[("a/one.toml", PROWL), ("a/two.toml", PROWL)])
            .err()
            .unwrap();
        assert!(
            e.message.starts_with(
                "a/two.toml:3: key `name`: motion `prowl` is already defined by a/one.toml:3"
            ),
            "{e}"
        );
        assert!(e.hint.unwrap().contains("its own name"));
    }

    #[test]
    fn a_word_of_another_motion_is_refused_at_its_line() {
        let text = PROWL.replace("\"tiptoe\"]", "\"tiptoe\", \"stroll\"]");
        let e = with(&[("m/prowl.toml", &text)]).err().unwrap();
        assert!(
            e.message.starts_with(
                "m/prowl.toml:9: key `words`: the word `stroll` already selects motion `walk`"
            ),
            "{e}"
        );
    }

    #[test]
    fn folders_are_read_sorted_and_must_hold_motion_files() {
        let dir = std::env::temp_dir().join(format!("kinema-motions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = MotionLibrary::builtin().with_folder(&dir).err().unwrap();
        assert!(e.message.contains("holds no .toml files"), "{e}");
        std::fs::write(dir.join("README.md"), "notes").unwrap();
        std::fs::write(dir.join("prowl.toml"), PROWL).unwrap();
        let lib = MotionLibrary::load(&dir).unwrap();
        assert!(lib.get("prowl").is_some());
        assert_eq!(lib.user_files()[0].0, dir.join("prowl.toml"));
        std::fs::remove_dir_all(&dir).unwrap();
        let e = MotionLibrary::load(&dir).err().unwrap();
        assert!(e.message.contains("cannot read the motions folder"), "{e}");
    }
}
