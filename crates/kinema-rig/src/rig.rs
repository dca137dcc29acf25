//! The rig file: named joints on the character image, editable by hand as JSON.

use kinema_core::{Character, Error, Result};
use serde::{Deserialize, Serialize};

/// Which skeleton template a rig follows; decides which motions drive which joints.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RigKind {
    /// Head, torso, two arms and two legs.
    Humanoid,
    /// A base–body–top chain that squashes, stretches and bends (slimes, bugs, blobs).
    BodyChain,
    /// A four-legged animal seen from the side: spine, neck and head, a tail, and four
    /// legs in front and hind pairs (horse, dog, cat, wolf).
    Quadruped,
}

/// One joint in image pixels (x right, y down). "left"/"right" in names mean the
/// image's left and right, not the character's.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Joint {
    pub name: String,
    pub x: f32,
    pub y: f32,
    /// The joint this one hangs from; `None` only for the root.
    pub parent: Option<String>,
}

/// A character's skeleton. Saved so users can fix a bad auto-rig and reuse it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Rig {
    pub version: u32,
    pub kind: RigKind,
    /// Size of the image the joints were placed on.
    pub width: u32,
    pub height: u32,
    pub joints: Vec<Joint>,
}

pub const RIG_VERSION: u32 = 1;

/// Humanoid joints and their parents, root first. `head` is the top of the head, `neck`
/// its base, `pelvis` the middle of the hips.
pub const HUMANOID_JOINTS: [(&str, Option<&str>); 15] = [
    ("pelvis", None),
    ("neck", Some("pelvis")),
    ("head", Some("neck")),
    ("shoulder_left", Some("neck")),
    ("elbow_left", Some("shoulder_left")),
    ("hand_left", Some("elbow_left")),
    ("shoulder_right", Some("neck")),
    ("elbow_right", Some("shoulder_right")),
    ("hand_right", Some("elbow_right")),
    ("hip_left", Some("pelvis")),
    ("knee_left", Some("hip_left")),
    ("foot_left", Some("knee_left")),
    ("hip_right", Some("pelvis")),
    ("knee_right", Some("hip_right")),
    ("foot_right", Some("knee_right")),
];

/// Body-chain joints, root (the ground contact) first.
pub const CHAIN_JOINTS: [(&str, Option<&str>); 3] = [
    ("base", None),
    ("body", Some("base")),
    ("top", Some("body")),
];

/// Quadruped joints, root (the hips) first. Legs are named by pair (`front`, `hind`) and
/// depth (`near`, `far`: the leg drawn in front of the body, and the one behind it); each
/// has its top (shoulder or hip), knee and foot.
pub const QUADRUPED_JOINTS: [(&str, Option<&str>); 18] = [
    ("hips", None),
    ("withers", Some("hips")),
    ("neck", Some("withers")),
    ("head", Some("neck")),
    ("tail", Some("hips")),
    ("tail_tip", Some("tail")),
    ("front_near_top", Some("withers")),
    ("front_near_knee", Some("front_near_top")),
    ("front_near_foot", Some("front_near_knee")),
    ("front_far_top", Some("withers")),
    ("front_far_knee", Some("front_far_top")),
    ("front_far_foot", Some("front_far_knee")),
    ("hind_near_top", Some("hips")),
    ("hind_near_knee", Some("hind_near_top")),
    ("hind_near_foot", Some("hind_near_knee")),
    ("hind_far_top", Some("hips")),
    ("hind_far_knee", Some("hind_far_top")),
    ("hind_far_foot", Some("hind_far_knee")),
];

impl RigKind {
    /// Every kind with the name rig and motion files use.
    pub const ALL: [RigKind; 3] = [RigKind::Humanoid, RigKind::BodyChain, RigKind::Quadruped];

    pub fn name(self) -> &'static str {
        match self {
            RigKind::Humanoid => "humanoid",
            RigKind::BodyChain => "body_chain",
            RigKind::Quadruped => "quadruped",
        }
    }

    pub fn from_name(name: &str) -> Option<RigKind> {
        RigKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn template(self) -> &'static [(&'static str, Option<&'static str>)] {
        match self {
            RigKind::Humanoid => &HUMANOID_JOINTS,
            RigKind::BodyChain => &CHAIN_JOINTS,
            RigKind::Quadruped => &QUADRUPED_JOINTS,
        }
    }
}

impl Rig {
    /// Pretty JSON, one joint per line group, for editing.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Parses and checks a rig file; errors name the bad field or joint.
    pub fn from_json(text: &str) -> Result<Rig> {
        let rig: Rig = serde_json::from_str(text).map_err(|e| {
            Error::invalid(
                format!("rig file is not valid: {e}"),
                "fix the JSON at that line, or regenerate it with `kinema rig IMAGE -o rig.json`",
            )
        })?;
        rig.validate()?;
        Ok(rig)
    }

    /// Position of joint `name`, if present.
    pub fn joint(&self, name: &str) -> Option<[f32; 2]> {
        self.joints
            .iter()
            .find(|j| j.name == name)
            .map(|j| [j.x, j.y])
    }

    /// Index of joint `name` in `joints`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.joints.iter().position(|j| j.name == name)
    }

    /// Parent index of each joint (`None` for the root); valid after [`Rig::validate`].
    pub fn parents(&self) -> Vec<Option<usize>> {
        self.joints
            .iter()
            .map(|j| j.parent.as_deref().and_then(|p| self.index(p)))
            .collect()
    }

    /// Structural checks independent of any image: version, names, hierarchy, numbers.
    pub fn validate(&self) -> Result<()> {
        let fix = "edit the rig file, or regenerate it with `kinema rig IMAGE -o rig.json`";
        if self.version != RIG_VERSION {
            return Err(Error::invalid(
                format!(
                    "rig `version` is {}, this Kinema reads version {RIG_VERSION}",
                    self.version
                ),
                fix,
            ));
        }
        for (name, parent) in self.kind.template() {
            let Some(j) = self.joints.iter().find(|j| j.name == *name) else {
                return Err(Error::invalid(
                    format!("rig is missing joint `{name}` (kind {:?})", self.kind),
                    fix,
                ));
            };
            if j.parent.as_deref() != *parent {
                return Err(Error::invalid(
                    format!(
                        "joint `{name}` must have parent {:?}, found {:?}",
                        parent, j.parent
                    ),
                    fix,
                ));
            }
        }
        for (i, j) in self.joints.iter().enumerate() {
            if self.joints[..i].iter().any(|o| o.name == j.name) {
                return Err(Error::invalid(
                    format!("joint `{}` appears twice", j.name),
                    fix,
                ));
            }
            if !self.kind.template().iter().any(|(n, _)| *n == j.name) {
                let known: Vec<&str> = self.kind.template().iter().map(|(n, _)| *n).collect();
                return Err(Error::invalid(
                    format!("unknown joint `{}` for a {:?} rig", j.name, self.kind),
                    format!("use only these joints: {}", known.join(", ")),
                ));
            }
            if !j.x.is_finite() || !j.y.is_finite() {
                return Err(Error::invalid(
                    format!("joint `{}` has a non-finite position", j.name),
                    fix,
                ));
            }
        }
        Ok(())
    }

    /// Checks that this rig belongs to `character`: same image size, joints on the image.
    pub fn check_fits(&self, character: &Character) -> Result<()> {
        self.validate()?;
        let (w, h) = (character.width(), character.height());
        if (self.width, self.height) != (w, h) {
            return Err(Error::invalid(
                format!(
                    "rig was made for a {}x{} image but `{}` is {w}x{h}",
                    self.width, self.height, character.name
                ),
                "use the rig saved for this image, or regenerate it with `kinema rig IMAGE -o rig.json`",
            ));
        }
        let slack = 2.0;
        for j in &self.joints {
            if j.x < -slack || j.y < -slack || j.x > w as f32 + slack || j.y > h as f32 + slack {
                return Err(Error::invalid(
                    format!(
                        "joint `{}` at ({}, {}) lies outside the {w}x{h} image",
                        j.name, j.x, j.y
                    ),
                    "move the joint onto the character in the rig file",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Rig {
        Rig {
            version: RIG_VERSION,
            kind: RigKind::BodyChain,
            width: 10,
            height: 20,
            joints: CHAIN_JOINTS
                .iter()
                .enumerate()
                .map(|(i, (n, p))| Joint {
                    name: n.to_string(),
                    x: 5.0,
                    y: 18.0 - 7.0 * i as f32,
                    parent: p.map(String::from),
                })
                .collect(),
        }
    }

    #[test]
    fn json_round_trips() {
        let rig = chain();
        let back = Rig::from_json(&rig.to_json()).unwrap();
        assert_eq!(back, rig);
        assert!(rig.to_json().contains("\"body_chain\""));
        // Motion files name kinds as rig files do.
        for kind in RigKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            assert_eq!(RigKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn errors_name_the_bad_joint() {
        let mut rig = chain();
        rig.joints[1].name = "belly".into();
        let e = Rig::from_json(&rig.to_json()).unwrap_err();
        assert!(e.message.contains("body"), "{e}");
        let mut rig = chain();
        rig.joints[2].x = f32::NAN;
        assert!(rig.validate().unwrap_err().message.contains("top"));
        let e = Rig::from_json("{\"version\": 1").unwrap_err();
        assert!(e.message.contains("not valid"), "{e}");
    }

    #[test]
    fn check_fits_rejects_other_sizes_and_stray_joints() {
        let image = kinema_core::Frame::new(10, 20);
        let c = Character {
            image,
            pixel_art: false,
            name: "t".into(),
        };
        assert!(chain().check_fits(&c).is_ok());
        let mut rig = chain();
        rig.joints[2].y = -40.0;
        assert!(rig.check_fits(&c).unwrap_err().message.contains("`top`"));
        let c2 = Character {
            image: kinema_core::Frame::new(11, 20),
            pixel_art: false,
            name: "t".into(),
        };
        assert!(chain()
            .check_fits(&c2)
            .unwrap_err()
            .message
            .contains("10x20"));
    }
}
