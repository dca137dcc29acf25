//! The rig exported for animation tools: Spine 4.2 (JSON skeleton + atlas) and Godot 4
//! (a `.tscn` scene with Skeleton2D, Bone2D, skinned Polygon2D parts and an
//! AnimationPlayer), both sharing one texture page.
//!
//! An export holds the setup pose (the character as drawn) and, per action rendered, one
//! animation keyed on every frame, so the tool plays exactly what the sprite sheet shows,
//! with the gameplay events on their frames. The artist then edits bones, weights and
//! keys in their own tool. Format notes and the round trip: docs/EXPORT.md.

mod bones;
mod godot;
mod pieces;
mod spine;

use std::fmt;
use std::str::FromStr;

use kinema_core::{BoxPx, Error, Frame, FrameGameplay, Placement, Result};

use crate::parts::Model;
use crate::timeline::FramePose;

pub use bones::{drawn_vertices, Axes, Bones, Local, M};
pub use pieces::{cut, part_name, Piece, Pieces};

/// A tool the rig can be exported to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// `NAME.json` + `NAME.atlas` (+ the page `NAME.png`), Spine 4.2.
    Spine,
    /// `NAME.tscn` + `NAME_events.gd` (+ the page `NAME.png`), Godot 4.
    Godot,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 2] = [ExportFormat::Spine, ExportFormat::Godot];

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Spine => "spine",
            ExportFormat::Godot => "godot",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExportFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.name() == wanted)
            .ok_or_else(|| {
                Error::invalid(
                    format!("unknown export format `{s}`"),
                    "use spine, godot or both: --export spine,godot",
                )
            })
    }
}

/// One action to export as an animation: the frames as the timeline made them.
#[derive(Clone, Debug)]
pub struct ExportAnimation {
    pub name: String,
    pub fps: u32,
    pub looping: bool,
    pub frames: Vec<FramePose>,
    /// One record per frame, or empty when there is none.
    pub gameplay: Vec<FrameGameplay>,
}

impl ExportAnimation {
    /// Seconds from the animation's start to frame `i`.
    pub fn time_of(&self, i: usize) -> f64 {
        i as f64 / self.fps.max(1) as f64
    }

    /// The animation's length: every frame shown for one frame time.
    pub fn length(&self) -> f64 {
        self.time_of(self.frames.len())
    }
}

/// What a file of an export holds.
#[derive(Clone, Debug, PartialEq)]
pub enum ExportContent {
    Text(String),
    /// A PNG to encode.
    Image(Frame),
}

/// One file of an export, named relative to the export folder.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportFile {
    pub name: String,
    pub content: ExportContent,
}

/// Everything one export needs.
pub struct RigExport<'a> {
    /// The file stem: `hero` gives `hero.json`, `hero.atlas`, `hero.tscn`, `hero.png`.
    pub name: &'a str,
    pub model: &'a Model,
    /// Where the character image sits in the animations' frames (gameplay boxes are in
    /// frame pixels).
    pub placement: Placement,
    pub animations: &'a [ExportAnimation],
}

impl RigExport<'_> {
    /// Whether any animation carries gameplay records (boxes, events, root motion).
    pub fn has_gameplay(&self) -> bool {
        self.animations.iter().any(|a| !a.gameplay.is_empty())
    }

    /// A frame-pixel box's corners in a tool's axes (counter-clockwise on screen in
    /// y-up axes).
    pub fn corners(&self, axes: &Axes, b: &BoxPx) -> [[f64; 2]; 4] {
        let (ox, oy) = (self.placement.x as f32, self.placement.y as f32);
        let p = |x: f32, y: f32| axes.point([x - ox, y - oy]);
        [
            p(b.x, b.y + b.h),
            p(b.x + b.w, b.y + b.h),
            p(b.x + b.w, b.y),
            p(b.x, b.y),
        ]
    }

    /// A frame's root motion (frame pixels) in a tool's axes.
    pub fn travel(&self, axes: &Axes, g: &FrameGameplay) -> [f64; 2] {
        let [x, y] = g.root_motion;
        [x as f64, if axes.y_up { -y as f64 } else { y as f64 }]
    }
}

/// The files of `formats` (each once), the shared texture page first.
pub fn export(rig: &RigExport, formats: &[ExportFormat]) -> Result<Vec<ExportFile>> {
    check_name(rig.name)?;
    for (i, a) in rig.animations.iter().enumerate() {
        if rig.animations[..i].iter().any(|b| b.name == a.name) {
            return Err(Error::invalid(
                format!("two animations are both named `{}`", a.name),
                "export each action once",
            ));
        }
        if !a.gameplay.is_empty() && a.gameplay.len() != a.frames.len() {
            return Err(Error::internal(format!(
                "animation `{}` has gameplay data for {} of its {} frames",
                a.name,
                a.gameplay.len(),
                a.frames.len()
            )));
        }
    }
    let pieces = cut(rig.model);
    let page_file = format!("{}.png", rig.name);
    let mut files = vec![ExportFile {
        name: page_file.clone(),
        content: ExportContent::Image(pieces.page.clone()),
    }];
    let mut done = Vec::new();
    for &f in formats {
        if done.contains(&f) {
            continue;
        }
        done.push(f);
        match f {
            ExportFormat::Spine => {
                let (json, atlas) = spine::spine_files(rig, &pieces, &page_file)?;
                files.push(ExportFile {
                    name: format!("{}.json", rig.name),
                    content: ExportContent::Text(json),
                });
                files.push(ExportFile {
                    name: format!("{}.atlas", rig.name),
                    content: ExportContent::Text(atlas),
                });
            }
            ExportFormat::Godot => {
                let script = format!("{}_events.gd", rig.name);
                files.push(ExportFile {
                    name: format!("{}.tscn", rig.name),
                    content: ExportContent::Text(godot::godot_scene(
                        rig, &pieces, &page_file, &script,
                    )),
                });
                files.push(ExportFile {
                    name: script,
                    content: ExportContent::Text(godot::EVENTS_SCRIPT.to_string()),
                });
            }
        }
    }
    Ok(files)
}

/// The names of every file an export of `formats` writes for `name`, page first.
pub fn export_file_names(name: &str, formats: &[ExportFormat]) -> Vec<String> {
    let mut out = vec![format!("{name}.png")];
    for f in ExportFormat::ALL {
        if formats.contains(&f) {
            match f {
                ExportFormat::Spine => {
                    out.push(format!("{name}.json"));
                    out.push(format!("{name}.atlas"));
                }
                ExportFormat::Godot => {
                    out.push(format!("{name}.tscn"));
                    out.push(format!("{name}_events.gd"));
                }
            }
        }
    }
    out
}

/// Export names become file names and node names: plain words only.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("`{name}` cannot name an export"),
            "use letters, digits, `_` and `-` (the character image's file name usually works)",
        ))
    }
}

/// A character's file stem made into an export name (`my hero.png` → `my_hero`).
pub fn export_name(stem: &str) -> String {
    let s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() {
        "character".into()
    } else {
        s
    }
}

/// Unwraps a sequence of angles (radians) so neighbours never jump by more than half a
/// turn: tools interpolate key values numerically.
pub(crate) fn unwrap_angles(values: &mut [f64]) {
    for i in 1..values.len() {
        let mut d = values[i] - values[i - 1];
        while d > std::f64::consts::PI {
            d -= std::f64::consts::TAU;
        }
        while d < -std::f64::consts::PI {
            d += std::f64::consts::TAU;
        }
        values[i] = values[i - 1] + d;
    }
}

/// Rounds for text output: positions to 1/1000 px, which is plenty and keeps files small.
pub(crate) fn r3(v: f64) -> f64 {
    let r = (v * 1000.0).round() / 1000.0;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_names_are_checked() {
        assert_eq!(
            "Spine".parse::<ExportFormat>().unwrap(),
            ExportFormat::Spine
        );
        let e = "dragonbones".parse::<ExportFormat>().unwrap_err();
        assert!(e.message.contains("dragonbones"), "{e}");
        assert!(check_name("hero_1").is_ok() && check_name("a b").is_err());
        assert_eq!(export_name("my hero.v2"), "my_hero_v2");
        assert_eq!(
            export_file_names("h", &[ExportFormat::Godot, ExportFormat::Spine]),
            ["h.png", "h.json", "h.atlas", "h.tscn", "h_events.gd"]
        );
        let mut a = [3.0, -3.0, 3.1];
        unwrap_angles(&mut a);
        assert!(
            (a[1] - (-3.0 + std::f64::consts::TAU)).abs() < 1e-9,
            "{a:?}"
        );
    }
}
