//! Which BVH joint stands for each of our humanoid joints: the built-in tables for the
//! common rigs (Mixamo, Rokoko, CMU; data files in `crates/kinema-rig/bvh/`) and a user's
//! table in the same format. In a table `left` and `right` are the performer's sides;
//! the retargeting decides which side of the drawing each becomes.

use kinema_core::{Error, Result};

use super::parse::Bvh;
use crate::rig::HUMANOID_JOINTS;
use crate::toml_reader::Doc;

/// A mapping table: for each humanoid joint, BVH joint names to try in order (`NAME:end`
/// is NAME's End Site).
#[derive(Clone, Debug, PartialEq)]
pub struct MappingTable {
    pub name: String,
    pub summary: String,
    pub joints: Vec<(String, Vec<String>)>,
}

const BUILTIN: [(&str, &str); 3] = [
    ("mixamo", include_str!("../../bvh/mixamo.toml")),
    ("rokoko", include_str!("../../bvh/rokoko.toml")),
    ("cmu", include_str!("../../bvh/cmu.toml")),
];

/// Where a mapped joint is: a joint's position, or the position of its End Site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    Joint(usize),
    End(usize),
}

/// A table resolved against one file: a [`Point`] for each of our 15 humanoid joints,
/// in [`HUMANOID_JOINTS`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub table: String,
    pub points: Vec<Point>,
}

impl MappingTable {
    /// Names of the built-in tables, in the order `auto` tries them.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// A built-in table by name.
    pub fn builtin(name: &str) -> Option<MappingTable> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(n, text)| {
            match parse_table(&format!("bvh/{n}.toml (built in)"), text) {
                Ok(t) => t,
                // Compiled in and parsed by the tests: a failure is a broken build.
                Err(e) => panic!("built-in BVH mapping {n} is invalid: {e}"),
            }
        })
    }

    /// Resolves the table against `bvh`, or says which joints it could not find.
    pub fn resolve(&self, bvh: &Bvh) -> std::result::Result<Resolved, Vec<String>> {
        let mut points = Vec::with_capacity(HUMANOID_JOINTS.len());
        let mut missing = Vec::new();
        for (ours, _) in HUMANOID_JOINTS {
            let candidates = self
                .joints
                .iter()
                .find(|(j, _)| j == ours)
                .map(|(_, c)| c.as_slice())
                .unwrap_or_default();
            let found = candidates.iter().find_map(|c| find(bvh, c));
            match found {
                Some(p) => points.push(p),
                None => missing.push(format!(
                    "{ours} ({})",
                    if candidates.is_empty() {
                        "not in the table".to_string()
                    } else {
                        candidates.join(" or ")
                    }
                )),
            }
        }
        if missing.is_empty() {
            Ok(Resolved {
                table: self.name.clone(),
                points,
            })
        } else {
            Err(missing)
        }
    }
}

/// A BVH joint by name, ignoring a `prefix:` before the name (Mixamo's `mixamorig:`);
/// `NAME:end` is its End Site.
fn find(bvh: &Bvh, wanted: &str) -> Option<Point> {
    let (name, end) = match wanted.strip_suffix(":end") {
        Some(n) => (n, true),
        None => (wanted, false),
    };
    let bare = |s: &str| s.rsplit(':').next().unwrap_or(s).to_ascii_lowercase();
    let i = bvh
        .joints
        .iter()
        .position(|j| bare(&j.name) == name.to_ascii_lowercase())?;
    if end {
        bvh.joints[i].end.map(|_| Point::End(i))
    } else {
        Some(Point::Joint(i))
    }
}

/// The first built-in table that maps every joint of `bvh`, or an error naming what the
/// closest one lacks.
pub fn auto_resolve(label: &str, bvh: &Bvh) -> Result<Resolved> {
    let mut closest: Option<(String, Vec<String>)> = None;
    for name in MappingTable::builtin_names() {
        let table = MappingTable::builtin(name).expect("listed");
        match table.resolve(bvh) {
            Ok(r) => return Ok(r),
            Err(missing) => {
                if closest
                    .as_ref()
                    .is_none_or(|(_, m)| missing.len() < m.len())
                {
                    closest = Some((name.to_string(), missing));
                }
            }
        }
    }
    let (name, missing) = closest.unwrap_or_default();
    Err(Error::invalid(
        format!(
            "{label}: no built-in joint mapping fits this skeleton (closest, {name}, lacks {})",
            missing.join(", ")
        ),
        "write a mapping table for its joint names (see docs/MOTIONS.md#motion-capture-bvh) \
         and pass it with --bvh-map, or `mapping = \"table.toml\"` in the motion file",
    ))
}

/// Resolves a named built-in table (`mixamo`, `rokoko`, `cmu`) or a user's table.
pub fn resolve_with(label: &str, bvh: &Bvh, table: &MappingTable) -> Result<Resolved> {
    table.resolve(bvh).map_err(|missing| {
        Error::invalid(
            format!(
                "{label}: the `{}` joint mapping does not fit this skeleton: no {}",
                table.name,
                missing.join(", ")
            ),
            "use the joint names the file has in the mapping table, or try --bvh-map auto",
        )
    })
}

/// Reads a mapping table; `label` names the file in errors.
pub fn parse_table(label: &str, text: &str) -> Result<MappingTable> {
    let doc = Doc { label, text };
    let tree = doc.parse()?;
    let root = doc.root(&tree);
    root.allow(&["name", "summary", "joints"])?;
    let name = root
        .require("name", "name = \"my-rig\"")?
        .string("name = \"my-rig\"")?
        .to_string();
    let summary = match root.get("summary") {
        Some(v) => v.string("summary = \"…\"")?.to_string(),
        None => String::new(),
    };
    let joints_value = root.require("joints", "[joints] with pelvis = [\"Hips\"]")?;
    let table = joints_value.table("[joints]")?;
    let ours: Vec<&str> = HUMANOID_JOINTS.iter().map(|(n, _)| *n).collect();
    table.allow(&ours)?;
    let mut joints = Vec::new();
    for (key, _, value) in table.entries() {
        let example = format!("{key} = [\"Hips\"]");
        let names = match value.array(&example) {
            Ok(items) => items
                .iter()
                .map(|v| v.string(&example).map(str::to_string))
                .collect::<Result<Vec<_>>>()?,
            Err(_) => vec![value.string(&example)?.to_string()],
        };
        if names.is_empty() {
            return Err(value.error("lists no BVH joint", example));
        }
        joints.push((key.to_string(), names));
    }
    Ok(MappingTable {
        name,
        summary,
        joints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_cover_every_joint() {
        for name in MappingTable::builtin_names() {
            let t = MappingTable::builtin(name).unwrap();
            assert_eq!(t.name, name);
            for (ours, _) in HUMANOID_JOINTS {
                assert!(
                    t.joints.iter().any(|(j, _)| j == ours),
                    "{name} lacks {ours}"
                );
            }
        }
    }

    #[test]
    fn user_tables_are_checked() {
        let e = parse_table("m.toml", "name = \"x\"\n[joints]\nelbow = [\"A\"]\n").unwrap_err();
        assert!(e.message.starts_with("m.toml:3:"), "{e}");
        assert!(e.message.contains("elbow"), "{e}");
        let t = parse_table("m.toml", "name = \"x\"\n[joints]\npelvis = \"Root\"\n").unwrap();
        assert_eq!(t.joints, [("pelvis".to_string(), vec!["Root".to_string()])]);
    }
}
