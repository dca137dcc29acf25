//! Motion capture (BVH) as motions: `kinema generate --bvh walk.bvh`, and motion files
//! whose `[bvh]` table names a capture. The capture is read when the motion is loaded
//! (so a broken file fails before any render) and fitted to each character when it is
//! drawn, since the fit depends on the character's bones and view. Format and options:
//! docs/MOTIONS.md#motion-capture-bvh.

mod mapping;
mod parse;
mod retarget;

use std::path::Path;
use std::sync::Arc;

use kinema_core::{Error, Result};

use crate::library::{Motion, MotionEvent, MotionSource};

pub use mapping::{parse_table, MappingTable};
pub use parse::{parse_bvh, Bvh, BvhJoint};
pub use retarget::{retarget, Fit, Plane};

/// Which plane to project a capture onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PlaneChoice {
    /// By the character's view: front views get the front plane, profiles and
    /// three-quarter views the side plane.
    #[default]
    Auto,
    Front,
    Side,
}

impl PlaneChoice {
    pub fn parse(s: &str) -> Result<PlaneChoice> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(PlaneChoice::Auto),
            "front" => Ok(PlaneChoice::Front),
            "side" => Ok(PlaneChoice::Side),
            other => Err(Error::invalid(
                format!("`{other}` is not a projection plane"),
                "use auto (by the character's view), front or side",
            )),
        }
    }
}

/// Which joint-name table to read a capture's skeleton with.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum MappingChoice {
    /// The first built-in table (mixamo, rokoko, cmu) that names every joint.
    #[default]
    Auto,
    Table(MappingTable),
}

impl MappingChoice {
    /// `auto`, a built-in table's name, or a path to a table file (relative to `base`).
    pub fn parse(value: &str, base: &Path) -> Result<MappingChoice> {
        let v = value.trim();
        if v.eq_ignore_ascii_case("auto") {
            return Ok(MappingChoice::Auto);
        }
        if let Some(t) = MappingTable::builtin(&v.to_ascii_lowercase()) {
            return Ok(MappingChoice::Table(t));
        }
        let path = base.join(v);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::invalid(
                format!(
                    "cannot read the joint mapping table {}: {e}",
                    path.display()
                ),
                format!(
                    "give auto, a built-in table ({}) or a TOML mapping file",
                    MappingTable::builtin_names().join(", ")
                ),
            )
        })?;
        Ok(MappingChoice::Table(parse_table(
            &path.display().to_string(),
            &text,
        )?))
    }
}

/// A capture ready to be fitted to characters.
#[derive(Clone, Debug, PartialEq)]
pub struct Mocap {
    /// The file, as errors name it.
    pub label: String,
    pub bvh: Bvh,
    pub plane: PlaneChoice,
    pub mapping: MappingChoice,
    /// Events of the motion file (footsteps are also found in the capture itself).
    pub events: Vec<MotionEvent>,
}

/// Reads a BVH file into a [`Mocap`].
pub fn load_mocap(path: &Path, plane: PlaneChoice, mapping: MappingChoice) -> Result<Mocap> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(
            format!("cannot read the BVH file {}: {e}", path.display()),
            "give a BVH motion-capture file (Mixamo, Rokoko, CMU and similar exports)",
        )
    })?;
    let label = path.display().to_string();
    let bvh = parse_bvh(&label, &text)?;
    if let MappingChoice::Table(t) = &mapping {
        mapping::resolve_with(&label, &bvh, t)?;
    } else {
        mapping::auto_resolve(&label, &bvh)?;
    }
    Ok(Mocap {
        label,
        bvh,
        plane,
        mapping,
        events: Vec::new(),
    })
}

/// The action name a capture file gets: its file name made into a motion name
/// (`Walk Cycle 02.bvh` → `walk-cycle-02`).
pub fn motion_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name
        .trim_end_matches('-')
        .chars()
        .take(32)
        .collect::<String>();
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        format!(
            "mocap{}",
            if name.is_empty() {
                String::new()
            } else {
                format!("-{name}")
            }
        )
    } else {
        name
    }
}

/// A capture as a motion of its own, named after the file: a one-shot as long as the
/// capture (a cycle when `looping`).
pub fn mocap_motion(path: &Path, mocap: Mocap, looping: bool) -> Motion {
    let name = motion_name(path);
    let seconds = (mocap.bvh.duration() as f32).clamp(0.05, 600.0);
    Motion {
        summary: format!("motion capture from {}", path.display()),
        english: vec![name.clone()],
        chinese: Vec::new(),
        looping,
        seconds,
        kinds: Vec::new(),
        source: MotionSource::File {
            path: path.to_path_buf(),
            replaces_builtin: false,
        },
        mocap: Some(Arc::new(mocap)),
        name,
    }
}

#[cfg(test)]
mod tests;
