//! Gameplay metadata of a clip: what a game needs beside the pixels of each frame.
//!
//! Engines that know the character's body (the rig engine) describe every frame with the
//! point it stands on, how far it has travelled, where it can be hit and, on the frames
//! of a strike, what hits; and they name the moments a game reacts to (footsteps, a
//! strike's active window, a projectile's release, a landing). Sprite-sheet atlases, rig
//! exports and `--json` all write this one description, so they always agree.
//!
//! Every position is in the clip's frame pixels (x right, y down, origin at the frame's
//! top-left, before any `--scale`), the same frame an untrimmed sheet cell shows.

use serde::{Deserialize, Serialize};

/// An axis-aligned box in frame pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BoxPx {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BoxPx {
    /// The smallest box holding every point (an empty box at the origin for none).
    pub fn around(points: impl IntoIterator<Item = [f32; 2]>) -> BoxPx {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for [x, y] in points {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            return BoxPx::default();
        }
        BoxPx {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }

    /// Whether the point lies inside (edges included).
    pub fn contains(&self, p: [f32; 2]) -> bool {
        p[0] >= self.x && p[0] <= self.x + self.w && p[1] >= self.y && p[1] <= self.y + self.h
    }

    /// The box rounded outward to whole pixels.
    pub fn rounded_out(&self) -> BoxPx {
        let (x0, y0) = (self.x.floor(), self.y.floor());
        BoxPx {
            x: x0,
            y: y0,
            w: (self.x + self.w).ceil() - x0,
            h: (self.y + self.h).ceil() - y0,
        }
    }
}

/// Whether an event marks an instant, or the start or end of an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventPhase {
    Instant,
    Start,
    End,
}

/// A named moment that falls on a frame (`footstep`, `attack_active`, `release`, `land`,
/// or a name from a user's motion file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameEvent {
    pub name: String,
    pub phase: EventPhase,
    /// The joint it happens at (the striking hand, the foot that lands), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limb: Option<String>,
}

impl FrameEvent {
    /// The name a game callback receives: `footstep`, `attack_active_start`,
    /// `attack_active_end`.
    pub fn callback_name(&self) -> String {
        match self.phase {
            EventPhase::Instant => self.name.clone(),
            EventPhase::Start => format!("{}_start", self.name),
            EventPhase::End => format!("{}_end", self.name),
        }
    }
}

/// A strike's reach on one frame: the striking limb's box.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hitbox {
    #[serde(flatten)]
    pub rect: BoxPx,
    /// The striking joint (`hand_right`, `foot_right`, `top`).
    pub limb: String,
    /// The event it belongs to (`attack_active`).
    pub event: String,
}

/// Everything a game needs about one frame besides its pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameGameplay {
    /// The point the character stands on: under its feet, on the ground line. A game
    /// places this point at the character's position.
    pub pivot: [f32; 2],
    /// Pixels the character has travelled since the clip's first frame (x toward screen
    /// right, y down). Frames are drawn in place; a game adds this to play a walk that
    /// moves, or ignores it for a treadmill.
    pub root_motion: [f32; 2],
    /// Where the character can be hit: its body's box on this frame.
    pub hurtbox: BoxPx,
    /// Where it hits, on frames inside an `attack_active` interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hitbox: Option<Hitbox>,
    /// Events that fall on this frame, in motion order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<FrameEvent>,
}

/// Exact comparison is what tests and layouts need; engines never write NaN here.
impl Eq for FrameGameplay {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_hold_their_points_and_round_outward() {
        let b = BoxPx::around([[1.5, 2.0], [4.0, 7.25], [3.0, 1.0]]);
        assert_eq!(
            b,
            BoxPx {
                x: 1.5,
                y: 1.0,
                w: 2.5,
                h: 6.25
            }
        );
        assert!(b.contains([2.0, 2.0]) && !b.contains([0.0, 2.0]));
        let r = b.rounded_out();
        assert_eq!((r.x, r.y, r.w, r.h), (1.0, 1.0, 3.0, 7.0));
        assert_eq!(BoxPx::around([]), BoxPx::default());
    }

    #[test]
    fn events_name_their_callbacks_and_serialise_plainly() {
        let e = FrameEvent {
            name: "attack_active".into(),
            phase: EventPhase::Start,
            limb: Some("hand_right".into()),
        };
        assert_eq!(e.callback_name(), "attack_active_start");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["phase"], "start");
        let g = FrameGameplay {
            pivot: [10.0, 20.0],
            root_motion: [0.0, 0.0],
            hurtbox: BoxPx::default(),
            hitbox: Some(Hitbox {
                rect: BoxPx {
                    x: 1.0,
                    y: 2.0,
                    w: 3.0,
                    h: 4.0,
                },
                limb: "hand_right".into(),
                event: "attack_active".into(),
            }),
            events: vec![e],
        };
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(v["hitbox"]["w"], 3.0);
        assert_eq!(v["hitbox"]["limb"], "hand_right");
        let back: FrameGameplay = serde_json::from_value(v).unwrap();
        assert_eq!(back, g);
    }
}
