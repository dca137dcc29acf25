//! The batch manifest: characters × actions, with defaults any character may override.
//!
//! Parsing is strict (unknown keys, wrong types and bad values are errors with their line)
//! because a typo that silently falls back to a default would cost a whole batch run.

use std::path::{Path, PathBuf};

use kinema_core::{Background, Error, Result};
use kinema_media::SubjectBox;
use serde::Deserialize;
use toml::Spanned;

use super::diagnostics::{at_line, closest, from_toml, line_of, location};

/// A clip format a batch can write; each maps to one file (or folder) per action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Gif,
    Mp4,
    Apng,
    Webp,
    /// A folder of numbered PNG frames.
    Frames,
}

impl Format {
    const NAMES: [(&'static str, Format); 5] = [
        ("gif", Format::Gif),
        ("mp4", Format::Mp4),
        ("apng", Format::Apng),
        ("webp", Format::Webp),
        ("frames", Format::Frames),
    ];

    /// File extension the encoders recognise (APNG is written as `.png`); `None` for frames.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Format::Gif => Some("gif"),
            Format::Mp4 => Some("mp4"),
            Format::Apng => Some("png"),
            Format::Webp => Some("webp"),
            Format::Frames => None,
        }
    }

    /// Whether a browser plays this file as an animated `<img>` (usable as a preview).
    pub fn is_animated_image(self) -> bool {
        matches!(self, Format::Gif | Format::Apng | Format::Webp)
    }

    fn parse(name: &str) -> Option<Format> {
        let n = name.trim().to_ascii_lowercase();
        let n = if n == "png" { "apng".to_string() } else { n };
        Self::NAMES.iter().find(|(k, _)| *k == n).map(|(_, f)| *f)
    }
}

/// How long a clip is: a frame count, seconds at the clip's fps, or the default length
/// ([`crate::defaults::SECONDS`]).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Length {
    Frames(u32),
    Seconds(f64),
    TwoSeconds,
}

impl Length {
    pub fn frames_at(self, fps: u32) -> u32 {
        match self {
            Length::Frames(n) => n,
            Length::Seconds(s) => (s * fps as f64).round().max(1.0) as u32,
            Length::TwoSeconds => crate::defaults::frames_at(fps),
        }
    }
}

/// Every output-affecting setting of one character, after defaults and overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The engine that renders the character's clips (`rig` unless set).
    pub engine: String,
    /// For `wan` a model folder or hub id; for a service one of its models.
    pub model: Option<String>,
    /// Provider engines: Luma's resolution or Kling's mode.
    pub quality: Option<String>,
    pub fps: u32,
    pub length: Length,
    pub seed: u64,
    pub looping: bool,
    pub size: Option<(u32, u32)>,
    pub scale: Option<u32>,
    pub background: Background,
    pub formats: Vec<Format>,
    pub sheet: bool,
    /// Atlas format names with their manifest line, checked against the sheet writer's list
    /// when jobs are planned.
    pub atlas: Vec<(String, usize)>,
    pub trim: bool,
    pub columns: Option<u32>,
    pub padding: u32,
    pub extrude: u32,
    pub pot: bool,
}

/// What a manifest leaves out: the shared [`crate::defaults`], plus the batch's own
/// choice of output (one GIF per action, no sheet).
impl Default for Settings {
    fn default() -> Self {
        use crate::defaults;
        let encode = defaults::encode_options();
        let sheet = defaults::sheet_options();
        let spec = defaults::clip_spec();
        Settings {
            engine: defaults::ENGINE.to_string(),
            model: None,
            quality: None,
            fps: spec.fps,
            length: Length::TwoSeconds,
            seed: spec.seed,
            looping: spec.looping,
            size: encode.size,
            scale: encode.scale,
            background: encode.background,
            formats: vec![Format::Gif],
            sheet: false,
            atlas: sheet
                .atlases
                .iter()
                .map(|a| (a.name().to_string(), 0))
                .collect(),
            trim: sheet.trim,
            columns: sheet.columns,
            padding: sheet.padding,
            extrude: sheet.extrude,
            pot: sheet.pot,
        }
    }
}

/// One `[[character]]`: its image (resolved against the manifest's folder) and settings.
#[derive(Clone, Debug)]
pub struct CharacterEntry {
    pub name: String,
    pub image: PathBuf,
    pub mask: Option<PathBuf>,
    /// Where the character is in its image (`box = [x, y, width, height]`).
    pub subject_box: Option<SubjectBox>,
    pub rig: Option<PathBuf>,
    pub settings: Settings,
    pub line: usize,
}

/// What an `[[action]]` asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// Catalogue actions (`idle`, `walk`, …): rendered together per character on one canvas.
    Catalog(Vec<String>),
    /// Free text, rendered as its own clip named `name`.
    Prompt { name: String, text: String },
}

/// Timing a prompt entry may change for its own clip.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpecOverrides {
    pub fps: Option<u32>,
    pub length: Option<Length>,
    pub seed: Option<u64>,
    pub looping: Option<bool>,
}

/// One `[[action]]`.
#[derive(Clone, Debug)]
pub struct ActionEntry {
    pub kind: ActionKind,
    pub overrides: SpecOverrides,
    /// Characters this action applies to; `None` for all.
    pub only: Option<Vec<String>>,
    pub line: usize,
}

/// A parsed, validated manifest with every path made absolute (or manifest-relative).
#[derive(Clone, Debug)]
pub struct Manifest {
    pub path: PathBuf,
    pub out_dir: PathBuf,
    /// A folder of motion files added to the built-in motions for every job.
    pub motions: Option<PathBuf>,
    pub characters: Vec<CharacterEntry>,
    pub actions: Vec<ActionEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    out_dir: Option<Spanned<String>>,
    motions: Option<Spanned<String>>,
    defaults: Option<Spanned<RawTable>>,
    #[serde(default)]
    character: Vec<Spanned<RawTable>>,
    #[serde(default)]
    action: Vec<Spanned<RawAction>>,
}

/// `[defaults]` and `[[character]]` share one shape so every default can be overridden.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: Option<Spanned<String>>,
    engine: Option<Spanned<String>>,
    model: Option<Spanned<String>>,
    quality: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    mask: Option<Spanned<String>>,
    #[serde(rename = "box")]
    subject_box: Option<Spanned<[u32; 4]>>,
    rig: Option<Spanned<String>>,
    fps: Option<Spanned<u32>>,
    frames: Option<Spanned<u32>>,
    duration: Option<Spanned<f64>>,
    seed: Option<u64>,
    #[serde(rename = "loop")]
    looping: Option<bool>,
    size: Option<Spanned<String>>,
    scale: Option<Spanned<u32>>,
    background: Option<Spanned<String>>,
    formats: Option<Vec<Spanned<String>>>,
    sheet: Option<bool>,
    atlas: Option<Vec<Spanned<String>>>,
    trim: Option<bool>,
    columns: Option<Spanned<u32>>,
    padding: Option<Spanned<u32>>,
    extrude: Option<Spanned<u32>>,
    pot: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    name: Option<Spanned<String>>,
    prompt: Option<Spanned<String>>,
    actions: Option<Spanned<Vec<Spanned<String>>>>,
    characters: Option<Vec<Spanned<String>>>,
    fps: Option<Spanned<u32>>,
    frames: Option<Spanned<u32>>,
    duration: Option<Spanned<f64>>,
    seed: Option<u64>,
    #[serde(rename = "loop")]
    looping: Option<bool>,
}

/// The manifest text and its name, so every check can say where it failed.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn line<T>(&self, s: &Spanned<T>) -> usize {
        line_of(self.text, s.span().start)
    }

    fn err<T>(&self, at: &Spanned<T>, message: impl AsRef<str>, hint: impl Into<String>) -> Error {
        at_line(self.path, self.line(at), message, hint)
    }
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(
                format!("cannot read the batch manifest {}: {e}", path.display()),
                "pass the path of a TOML manifest, e.g. `kinema batch samples/batch.toml` (see docs/BATCH.md)",
            )
        })?;
        Manifest::parse(path, &text)
    }

    /// Validates manifest text; `path` names it in errors and anchors relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest> {
        let src = Source { path, text };
        let raw: RawManifest = toml::from_str(text).map_err(|e| from_toml(path, text, &e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        let base = Resolver(base);

        let out_dir = match &raw.out_dir {
            Some(s) if s.get_ref().trim().is_empty() => {
                return Err(src.err(
                    s,
                    "out_dir is empty",
                    "name a folder, e.g. out_dir = \"out\"",
                ))
            }
            Some(s) => base.join(s.get_ref()),
            None => base.join("out"),
        };

        let motions = match &raw.motions {
            Some(s) if s.get_ref().trim().is_empty() => return Err(src.err(
                s,
                "key \"motions\" is empty",
                "name a folder of motion files, e.g. motions = \"motions\" (see docs/MOTIONS.md)",
            )),
            Some(s) => Some(base.join(s.get_ref())),
            None => None,
        };

        let mut defaults = Settings::default();
        if let Some(d) = &raw.defaults {
            for (key, present) in [
                ("name", d.get_ref().name.as_ref().map(|s| s.span())),
                ("image", d.get_ref().image.as_ref().map(|s| s.span())),
                ("mask", d.get_ref().mask.as_ref().map(|s| s.span())),
                ("box", d.get_ref().subject_box.as_ref().map(|s| s.span())),
                ("rig", d.get_ref().rig.as_ref().map(|s| s.span())),
            ] {
                if let Some(span) = present {
                    return Err(at_line(
                        path,
                        line_of(text, span.start),
                        format!("key \"{key}\" cannot be a default"),
                        "set it in each [[character]] table instead",
                    ));
                }
            }
            apply(&src, &mut defaults, d.get_ref())?;
        }

        if raw.character.is_empty() {
            return Err(Error::invalid(
                format!("{}: the manifest names no characters", location(path, None)),
                "add a [[character]] table with `image = \"path/to/sprite.png\"`",
            ));
        }
        let mut characters: Vec<CharacterEntry> = Vec::with_capacity(raw.character.len());
        for table in &raw.character {
            let entry = character(&src, &base, &defaults, table)?;
            if let Some(prev) = characters.iter().find(|c| c.name == entry.name) {
                return Err(at_line(
                    path,
                    entry.line,
                    format!(
                        "character name \"{}\" is already used on line {}",
                        entry.name, prev.line
                    ),
                    "give each [[character]] a distinct `name`",
                ));
            }
            characters.push(entry);
        }

        if raw.action.is_empty() {
            return Err(Error::invalid(
                format!("{}: the manifest names no actions", location(path, None)),
                "add an [[action]] table, e.g. `actions = [\"idle\", \"walk\"]` or `name = \"wave\"` with `prompt = \"waves hello\"`",
            ));
        }
        let names: Vec<String> = characters.iter().map(|c| c.name.clone()).collect();
        let mut actions = Vec::with_capacity(raw.action.len());
        for a in &raw.action {
            actions.push(action(&src, a, &names)?);
        }
        check_clip_names_unique(&src, &actions)?;
        Ok(Manifest {
            path: path.to_path_buf(),
            out_dir,
            motions,
            characters,
            actions,
        })
    }
}

fn character(
    src: &Source,
    base: &Resolver,
    defaults: &Settings,
    table: &Spanned<RawTable>,
) -> Result<CharacterEntry> {
    let line = src.line(table);
    let t = table.get_ref();
    let image = t.image.as_ref().ok_or_else(|| {
        at_line(
            src.path,
            line,
            "this [[character]] has no \"image\"",
            "add `image = \"path/to/sprite.png\"` (relative to the manifest)",
        )
    })?;
    if image.get_ref().trim().is_empty() {
        return Err(src.err(
            image,
            "key \"image\" is empty",
            "give the path of the character's picture",
        ));
    }
    let name = match &t.name {
        Some(n) => {
            check_name(src, n, "character")?;
            n.get_ref().clone()
        }
        None => {
            let stem = Path::new(image.get_ref())
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !is_file_name_safe(&stem) {
                return Err(src.err(
                    image,
                    format!("cannot name this character after its image stem \"{stem}\""),
                    "add `name = \"hero\"` (letters, digits, `-`, `_`)",
                ));
            }
            stem
        }
    };
    let resolve = |s: &Option<Spanned<String>>| s.as_ref().map(|p| base.join(p.get_ref()));
    let mut settings = defaults.clone();
    apply(src, &mut settings, t)?;
    if settings.formats.is_empty() && !settings.sheet {
        return Err(at_line(
            src.path,
            line,
            format!(
                "character \"{name}\" would write nothing: `formats` is empty and `sheet` is false"
            ),
            "list at least one format, e.g. formats = [\"gif\"], or set sheet = true",
        ));
    }
    let subject_box = match &t.subject_box {
        Some(b) => Some(
            SubjectBox::from_array(*b.get_ref())
                .map_err(|e| src.err(b, e.message, e.hint.unwrap_or_default()))?,
        ),
        None => None,
    };
    Ok(CharacterEntry {
        name,
        image: base.join(image.get_ref()),
        mask: resolve(&t.mask),
        subject_box,
        rig: resolve(&t.rig),
        settings,
        line,
    })
}

/// Overlays the keys present in `t` onto `s`, checking each value's range.
fn apply(src: &Source, s: &mut Settings, t: &RawTable) -> Result<()> {
    let limits = crate::defaults::limits();
    if let Some(engine) = &t.engine {
        let name = engine.get_ref().trim().to_string();
        if !crate::ENGINE_NAMES.contains(&name.as_str()) {
            let known: Vec<String> = crate::ENGINE_NAMES.iter().map(|e| e.to_string()).collect();
            let suggestion = closest(&name, &known)
                .map(|k| format!(" (did you mean \"{k}\"?)"))
                .unwrap_or_default();
            return Err(src.err(
                engine,
                format!("engine \"{name}\" is not known{suggestion}"),
                format!("use one of: {}", known.join(", ")),
            ));
        }
        s.engine = name;
    }
    for (value, slot) in [(&t.model, &mut s.model), (&t.quality, &mut s.quality)] {
        if let Some(v) = value {
            *slot = Some(v.get_ref().trim().to_string());
        }
    }
    if let Some(fps) = &t.fps {
        s.fps = in_range(src, fps, 1, limits.max_fps, "fps")?;
    }
    s.length = length(src, &t.frames, &t.duration)?.unwrap_or(s.length);
    s.seed = t.seed.unwrap_or(s.seed);
    s.looping = t.looping.unwrap_or(s.looping);
    if let Some(size) = &t.size {
        s.size = Some(parse_size(src, size, limits.max_side)?);
    }
    if let Some(scale) = &t.scale {
        s.scale = Some(in_range(src, scale, 1, 16, "scale")?);
    }
    if let Some(bg) = &t.background {
        s.background = bg.get_ref().parse::<Background>().map_err(|e| {
            src.err(
                bg,
                format!("key \"background\": {}", e.message),
                e.hint.unwrap_or_default(),
            )
        })?;
    }
    if let Some(list) = &t.formats {
        let mut formats = Vec::new();
        for f in list {
            let parsed = Format::parse(f.get_ref()).ok_or_else(|| {
                let known: Vec<String> = Format::NAMES.iter().map(|(k, _)| k.to_string()).collect();
                let suggestion = closest(&f.get_ref().to_ascii_lowercase(), &known)
                    .map(|k| format!(" (did you mean \"{k}\"?)"))
                    .unwrap_or_default();
                src.err(
                    f,
                    format!("format \"{}\" is not known{suggestion}", f.get_ref()),
                    format!("use any of: {}", known.join(", ")),
                )
            })?;
            if !formats.contains(&parsed) {
                formats.push(parsed);
            }
        }
        s.formats = formats;
    }
    s.sheet = t.sheet.unwrap_or(s.sheet);
    if let Some(list) = &t.atlas {
        s.atlas = list
            .iter()
            .map(|a| (a.get_ref().trim().to_ascii_lowercase(), src.line(a)))
            .collect();
    }
    s.trim = t.trim.unwrap_or(s.trim);
    if let Some(c) = &t.columns {
        s.columns = Some(in_range(src, c, 1, 4096, "columns")?);
    }
    if let Some(p) = &t.padding {
        s.padding = in_range(src, p, 0, 64, "padding")?;
    }
    if let Some(e) = &t.extrude {
        s.extrude = in_range(src, e, 0, 16, "extrude")?;
    }
    s.pot = t.pot.unwrap_or(s.pot);
    Ok(())
}

fn length(
    src: &Source,
    frames: &Option<Spanned<u32>>,
    duration: &Option<Spanned<f64>>,
) -> Result<Option<Length>> {
    match (frames, duration) {
        (Some(_), Some(d)) => Err(src.err(
            d,
            "both \"frames\" and \"duration\" are set",
            "keep one: frames = 24 or duration = 2.0",
        )),
        (Some(f), None) => Ok(Some(Length::Frames(in_range(
            src,
            f,
            1,
            crate::defaults::limits().max_frames,
            "frames",
        )?))),
        (None, Some(d)) => {
            let v = *d.get_ref();
            if !v.is_finite() || v <= 0.0 || v > 60.0 {
                return Err(src.err(
                    d,
                    format!("key \"duration\": {v} seconds is out of range"),
                    "use 0.05 to 60 seconds",
                ));
            }
            Ok(Some(Length::Seconds(v)))
        }
        (None, None) => Ok(None),
    }
}

fn in_range(src: &Source, v: &Spanned<u32>, lo: u32, hi: u32, key: &str) -> Result<u32> {
    let x = *v.get_ref();
    if x < lo || x > hi {
        return Err(src.err(
            v,
            format!("key \"{key}\": {x} is out of range"),
            format!("use {key} between {lo} and {hi}"),
        ));
    }
    Ok(x)
}

fn parse_size(src: &Source, s: &Spanned<String>, max: u32) -> Result<(u32, u32)> {
    let bad = || {
        src.err(
            s,
            format!("key \"size\": \"{}\" is not a size", s.get_ref()),
            "write WIDTHxHEIGHT, e.g. size = \"256x256\"",
        )
    };
    let (w, h) = s
        .get_ref()
        .trim()
        .split_once(['x', 'X', '×'])
        .ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    if w < 2 || h < 2 || w > max || h > max {
        return Err(src.err(
            s,
            format!("key \"size\": {w}x{h} is out of range"),
            format!("each side must be 2 to {max} pixels"),
        ));
    }
    Ok((w, h))
}

fn action(src: &Source, a: &Spanned<RawAction>, characters: &[String]) -> Result<ActionEntry> {
    let line = src.line(a);
    let r = a.get_ref();
    let overrides = SpecOverrides {
        fps: r
            .fps
            .as_ref()
            .map(|f| in_range(src, f, 1, crate::defaults::limits().max_fps, "fps"))
            .transpose()?,
        length: length(src, &r.frames, &r.duration)?,
        seed: r.seed,
        looping: r.looping,
    };
    let kind = match (&r.prompt, &r.actions) {
        (Some(_), Some(list)) => {
            return Err(src.err(list, "an [[action]] has both \"prompt\" and \"actions\"", "split it into two [[action]] tables"))
        }
        (Some(p), None) => {
            let name = r.name.as_ref().ok_or_else(|| {
                src.err(p, "this prompt has no \"name\"", "add `name = \"wave\"`: it names the clip's files")
            })?;
            check_name(src, name, "action")?;
            if p.get_ref().trim().is_empty() {
                return Err(src.err(p, "key \"prompt\" is empty", "say what the character does, e.g. prompt = \"waves hello\""));
            }
            ActionKind::Prompt { name: name.get_ref().clone(), text: p.get_ref().clone() }
        }
        (None, Some(list)) => {
            if let Some(n) = &r.name {
                return Err(src.err(n, "key \"name\" does not go with \"actions\"", "each listed action names its own files; remove `name`"));
            }
            if list.get_ref().is_empty() {
                return Err(src.err(list, "key \"actions\" is an empty list", "list catalogue actions, e.g. actions = [\"idle\", \"walk\"] (see `kinema actions`)"));
            }
            for item in list.get_ref() {
                check_name(src, item, "action")?;
            }
            ActionKind::Catalog(list.get_ref().iter().map(|s| s.get_ref().clone()).collect())
        }
        (None, None) => match &r.name {
            Some(n) => {
                check_name(src, n, "action")?;
                ActionKind::Catalog(vec![n.get_ref().clone()])
            }
            None => {
                return Err(at_line(
                    src.path,
                    line,
                    "this [[action]] has neither \"prompt\" nor \"actions\"",
                    "add `actions = [\"idle\", \"walk\"]`, or `name = \"wave\"` with `prompt = \"waves hello\"`",
                ))
            }
        },
    };
    if matches!(kind, ActionKind::Catalog(_)) && overrides != SpecOverrides::default() {
        return Err(at_line(
            src.path,
            line,
            "catalogue actions cannot change fps, frames, duration, seed or loop",
            "they share their character's canvas and timing: set these on the [[character]], or write a prompt entry",
        ));
    }
    let only = match &r.characters {
        None => None,
        Some(list) => {
            let mut names = Vec::new();
            for c in list {
                if !characters.contains(c.get_ref()) {
                    let suggestion = closest(c.get_ref(), characters)
                        .map(|k| format!(" (did you mean \"{k}\"?)"))
                        .unwrap_or_default();
                    return Err(src.err(
                        c,
                        format!(
                            "character \"{}\" is not in the manifest{suggestion}",
                            c.get_ref()
                        ),
                        format!("characters are: {}", characters.join(", ")),
                    ));
                }
                names.push(c.get_ref().clone());
            }
            Some(names)
        }
    };
    Ok(ActionEntry {
        kind,
        overrides,
        only,
        line,
    })
}

/// Two entries naming the same clip would write the same files.
fn check_clip_names_unique(src: &Source, actions: &[ActionEntry]) -> Result<()> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for a in actions {
        let names: Vec<&String> = match &a.kind {
            ActionKind::Catalog(list) => list.iter().collect(),
            ActionKind::Prompt { name, .. } => vec![name],
        };
        for n in names {
            if let Some((_, prev)) = seen.iter().find(|(s, _)| s == n) {
                return Err(at_line(
                    src.path,
                    a.line,
                    format!("action \"{n}\" is already listed on line {prev}"),
                    "list each action once; give prompts distinct names",
                ));
            }
            seen.push((n.clone(), a.line));
        }
    }
    Ok(())
}

/// Joins manifest-relative paths onto the manifest's folder, then drops `.` and `a/..`
/// so messages and the summary show `/proj/out`, not `/proj/samples/../out`.
struct Resolver(PathBuf);

impl Resolver {
    fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        use std::path::Component;
        let mut out = PathBuf::new();
        for c in self.0.join(p).components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir
                    if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
                {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        if out.as_os_str().is_empty() {
            out.push(".");
        }
        out
    }
}

/// Names become file and folder names, so they stay within a portable character set.
fn is_file_name_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 64
        && !s.starts_with(['.', '-'])
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s != "sheet"
        && !s.ends_with("-sheet")
}

fn check_name(src: &Source, n: &Spanned<String>, what: &str) -> Result<()> {
    if is_file_name_safe(n.get_ref()) {
        return Ok(());
    }
    Err(src.err(
        n,
        format!(
            "{what} name \"{}\" cannot be used in file names",
            n.get_ref()
        ),
        "use letters, digits, `-`, `_` or `.` (not first), at most 64, and not `sheet`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        Manifest::parse(Path::new("/proj/manifest.toml"), text)
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("manifest was accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    const GOOD: &str = r##"
out_dir = "renders"
motions = "my-motions"
[defaults]
fps = 8
frames = 6
formats = ["gif", "frames", "PNG"]
sheet = true
atlas = ["texturepacker", "godot"]

[[character]]
name = "hero"
image = "characters/hero.png"
fps = 24
duration = 0.5

[[character]]
image = "characters/slimeBlue.png"
mask = "masks/slime.png"
background = "#20242c"
scale = 2

[[action]]
actions = ["idle", "walk"]

[[action]]
name = "wave"
prompt = "waves hello"
frames = 10
characters = ["hero"]

[[action]]
name = "jump"
"##;

    #[test]
    fn a_full_manifest_resolves_defaults_and_overrides() {
        let m = parse(GOOD).unwrap();
        assert_eq!(m.out_dir, PathBuf::from("/proj/renders"));
        assert_eq!(m.motions, Some(PathBuf::from("/proj/my-motions")));
        let hero = &m.characters[0];
        assert_eq!(hero.image, PathBuf::from("/proj/characters/hero.png"));
        assert_eq!(hero.settings.fps, 24);
        assert_eq!(hero.settings.length, Length::Seconds(0.5));
        assert_eq!(hero.settings.length.frames_at(hero.settings.fps), 12);
        assert_eq!(
            hero.settings.formats,
            vec![Format::Gif, Format::Frames, Format::Apng]
        );
        assert_eq!(
            hero.settings
                .atlas
                .iter()
                .map(|a| a.0.as_str())
                .collect::<Vec<_>>(),
            ["texturepacker", "godot"]
        );
        let slime = &m.characters[1];
        assert_eq!(slime.name, "slimeBlue");
        assert_eq!(slime.mask, Some(PathBuf::from("/proj/masks/slime.png")));
        assert_eq!(
            slime.settings.background,
            Background::Solid([0x20, 0x24, 0x2c])
        );
        assert_eq!(
            (
                slime.settings.fps,
                slime.settings.length,
                slime.settings.scale
            ),
            (8, Length::Frames(6), Some(2))
        );
        assert_eq!(m.actions.len(), 3);
        assert_eq!(
            m.actions[0].kind,
            ActionKind::Catalog(vec!["idle".into(), "walk".into()])
        );
        assert_eq!(
            m.actions[1].kind,
            ActionKind::Prompt {
                name: "wave".into(),
                text: "waves hello".into()
            }
        );
        assert_eq!(m.actions[1].overrides.length, Some(Length::Frames(10)));
        assert_eq!(m.actions[1].only, Some(vec!["hero".to_string()]));
        assert_eq!(m.actions[2].kind, ActionKind::Catalog(vec!["jump".into()]));
    }

    #[test]
    fn a_character_box_is_read_and_checked() {
        let m = parse(
            "[[character]]\nimage = \"a.png\"\nbox = [4, 8, 100, 110]\n[[action]]\nname = \"idle\"\n",
        )
        .unwrap();
        assert_eq!(
            m.characters[0].subject_box,
            SubjectBox::from_array([4, 8, 100, 110]).ok()
        );
        let e = err(
            "[[character]]\nimage = \"a.png\"\nbox = [4, 8, 0, 110]\n[[action]]\nname = \"idle\"\n",
        );
        assert!(
            e.starts_with("manifest.toml:3: the box 4,8,0,110 is empty"),
            "{e}"
        );
        let e =
            err("[[character]]\nimage = \"a.png\"\nbox = [4, 8]\n[[action]]\nname = \"idle\"\n");
        assert!(e.starts_with("manifest.toml:3: key \"box\""), "{e}");
        let e = err("[defaults]\nbox = [1, 2, 3, 4]\n[[character]]\nimage = \"a.png\"\n[[action]]\nname = \"idle\"\n");
        assert!(e.contains("key \"box\" cannot be a default"), "{e}");
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line_and_a_suggestion() {
        let e = err("[defaults]\nfps = 12\nfsp = 3\n[[character]]\nimage = \"a.png\"\n[[action]]\nname = \"idle\"\n");
        assert!(
            e.starts_with("manifest.toml:3: key \"fsp\" is not known (did you mean \"fps\"?)"),
            "{e}"
        );
        let e = err("[[character]]\nimage = \"a.png\"\nscael = 2\n[[action]]\nname = \"idle\"\n");
        assert!(
            e.contains("manifest.toml:3: key \"scael\" is not known (did you mean \"scale\"?)"),
            "{e}"
        );
        let e =
            err("outdir = \"x\"\n[[character]]\nimage = \"a.png\"\n[[action]]\nname = \"idle\"\n");
        assert!(
            e.contains("manifest.toml:1: key \"outdir\" is not known (did you mean \"out_dir\"?)"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_and_ranges_name_key_and_line() {
        let e = err("[defaults]\nfps = \"twelve\"\n[[character]]\nimage = \"a.png\"\n[[action]]\nname = \"idle\"\n");
        assert!(e.starts_with("manifest.toml:2: key \"fps\""), "{e}");
        let e = err(
            "[defaults]\nfps = 0\n[[character]]\nimage = \"a.png\"\n[[action]]\nname = \"idle\"\n",
        );
        assert!(
            e.starts_with("manifest.toml:2: key \"fps\": 0 is out of range"),
            "{e}"
        );
        let e =
            err("[[character]]\nimage = \"a.png\"\nsize = \"big\"\n[[action]]\nname = \"idle\"\n");
        assert!(e.starts_with("manifest.toml:3: key \"size\""), "{e}");
        let e = err("[[character]]\nimage = \"a.png\"\nbackground = \"blue\"\n[[action]]\nname = \"idle\"\n");
        assert!(e.starts_with("manifest.toml:3: key \"background\""), "{e}");
    }

    #[test]
    fn missing_image_and_unknown_formats_are_explained() {
        let e = err("[[character]]\nname = \"hero\"\n[[action]]\nname = \"idle\"\n");
        assert!(
            e.contains("manifest.toml:1: this [[character]] has no \"image\""),
            "{e}"
        );
        let e = err("[[character]]\nimage = \"a.png\"\nformats = [\"gif\",\n  \"mp5\"]\n[[action]]\nname = \"idle\"\n");
        assert!(
            e.contains("manifest.toml:4: format \"mp5\" is not known (did you mean \"mp4\"?)"),
            "{e}"
        );
    }

    #[test]
    fn conflicting_or_empty_entries_are_refused() {
        let base = "[[character]]\nimage = \"a.png\"\n";
        assert!(err(&format!(
            "{base}[[action]]\nname = \"w\"\nprompt = \"waves\"\nactions = [\"idle\"]\n"
        ))
        .contains("both"));
        assert!(err(&format!("{base}[[action]]\nprompt = \"waves\"\n")).contains("no \"name\""));
        assert!(err(&format!("{base}[[action]]\nactions = []\n")).contains("empty list"));
        assert!(err(&format!("{base}[[action]]\nseed = 3\n")).contains("neither"));
        assert!(err(&format!(
            "{base}[[action]]\nactions = [\"idle\"]\nfps = 3\n"
        ))
        .contains("catalogue actions cannot"));
        assert!(err(&format!(
            "{base}[[action]]\nname = \"../up\"\nprompt = \"x\"\n"
        ))
        .contains("file names"));
        assert!(err(&format!(
            "{base}[[action]]\nactions = [\"idle\"]\n[[action]]\nname = \"idle\"\nprompt = \"x\"\n"
        ))
        .contains("manifest.toml:5: action \"idle\" is already listed on line 3"));
        assert!(err(&format!(
            "{base}[[action]]\nname = \"idle\"\ncharacters = [\"b\"]\n"
        ))
        .contains("character \"b\" is not in the manifest (did you mean \"a\"?)"));
        assert!(err(&format!(
            "{base}frames = 3\nduration = 1.0\n[[action]]\nname = \"idle\"\n"
        ))
        .contains("both \"frames\" and \"duration\""));
        assert!(err(&format!(
            "{base}formats = []\n[[action]]\nname = \"idle\"\n"
        ))
        .contains("would write nothing"));
        assert!(err("[defaults]\nimage = \"a.png\"\n[[character]]\nimage = \"a.png\"\n[[action]]\nname = \"idle\"\n").contains("manifest.toml:2: key \"image\" cannot be a default"));
        assert!(err("[[action]]\nname = \"idle\"\n").contains("no characters"));
        assert!(err(base).contains("no actions"));
        assert!(err(&format!(
            "{base}[[character]]\nname = \"a\"\nimage = \"b.png\"\n[[action]]\nname = \"idle\"\n"
        ))
        .contains("manifest.toml:3: character name \"a\" is already used on line 1"));
    }

    #[test]
    fn paths_resolve_against_the_manifest_folder() {
        let m = Manifest::parse(Path::new("/proj/samples/m.toml"), "out_dir = \"../out/b\"\n[[character]]\nimage = \"./c/../c/a.png\"\n[[action]]\nname = \"idle\"\n").unwrap();
        assert_eq!(m.out_dir, PathBuf::from("/proj/out/b"));
        assert_eq!(
            m.characters[0].image,
            PathBuf::from("/proj/samples/c/a.png")
        );
        let m = Manifest::parse(
            Path::new("m.toml"),
            "out_dir = \"../x\"\n[[character]]\nimage = \"a.png\"\n[[action]]\nname = \"idle\"\n",
        )
        .unwrap();
        assert_eq!(m.out_dir, PathBuf::from("../x"));
        assert_eq!(m.characters[0].image, PathBuf::from("a.png"));
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let e = err("[defaults]\nfps = 12\nframes = = 3\n");
        assert!(e.starts_with("manifest.toml:3:"), "{e}");
    }
}
