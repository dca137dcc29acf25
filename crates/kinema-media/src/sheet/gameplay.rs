//! Gameplay metadata (pivot, root motion, hurt- and hitboxes, events) in each atlas's own
//! terms. Positions stay in untrimmed frame pixels, the frame `sourceSize` describes, so
//! they mean the same on trimmed and untrimmed sheets.
//!
//! - TexturePacker and Aseprite frames get TexturePacker's normalised `pivot` (Phaser
//!   reads it) and a `kinema` object with the frame's full record.
//! - Aseprite also gets `hurtbox` and `hitbox` slices, keyed on every frame (Aseprite's
//!   own way to mark regions per frame; a hitbox key of size 0 means "no hitbox here").
//! - Godot's `SpriteFrames` carries `metadata/kinema_gameplay`, per animation an array
//!   of frame dictionaries with `Vector2` and `Rect2` values.
//! - Unity's meta file carries it in `userData` as JSON, with each animation's events
//!   written as AnimationEvent fields (`time`, `functionName`, `stringParameter`) for an
//!   import script to attach to its clip.

use std::fmt::Write;

use kinema_core::{BoxPx, FrameGameplay};
use serde::Serialize;

use super::texturepacker::OrderedMap;
use super::{SheetFrame, SheetLayout};

/// The method Unity and Godot event tracks call, with the event's callback name.
pub const EVENT_METHOD_UNITY: &str = "OnKinemaEvent";

#[derive(Serialize)]
pub(crate) struct Pivot {
    pub x: f64,
    pub y: f64,
}

/// TexturePacker's `pivot`: the ground point as a fraction of the untrimmed frame.
pub(crate) fn normalised_pivot(layout: &SheetLayout, f: &SheetFrame) -> Option<Pivot> {
    let g = layout.gameplay_of(f.animation, f.index)?;
    let (w, h) = (f.source_size.0.max(1) as f64, f.source_size.1.max(1) as f64);
    Some(Pivot {
        x: round4(g.pivot[0] as f64 / w),
        y: round4(g.pivot[1] as f64 / h),
    })
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

#[derive(Serialize)]
pub(crate) struct Bounds {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

impl Bounds {
    fn of(b: &BoxPx) -> Bounds {
        let r = b.rounded_out();
        Bounds {
            x: r.x as i64,
            y: r.y as i64,
            w: r.w as i64,
            h: r.h as i64,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct SliceKey {
    frame: usize,
    bounds: Bounds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pivot: Option<PivotPx>,
}

#[derive(Serialize)]
struct PivotPx {
    x: i64,
    y: i64,
}

#[derive(Serialize)]
pub(crate) struct Slice {
    name: &'static str,
    color: &'static str,
    keys: Vec<SliceKey>,
}

/// Aseprite slices: the hurtbox (with the ground pivot) on every frame with metadata, and
/// the hitbox on every frame of an animation that strikes (size 0 where it does not).
pub(crate) fn aseprite_slices(layout: &SheetLayout) -> Vec<Slice> {
    let mut hurt = Vec::new();
    let mut hit = Vec::new();
    for (global, f) in layout.frames.iter().enumerate() {
        let Some(g) = layout.gameplay_of(f.animation, f.index) else {
            continue;
        };
        let bounds = Bounds::of(&g.hurtbox);
        let pivot = PivotPx {
            x: (g.pivot[0] as f64).round() as i64 - bounds.x,
            y: (g.pivot[1] as f64).round() as i64 - bounds.y,
        };
        hurt.push(SliceKey {
            frame: global,
            bounds,
            pivot: Some(pivot),
        });
        let strikes = layout.gameplay[f.animation]
            .as_ref()
            .is_some_and(|frames| frames.iter().any(|g| g.hitbox.is_some()));
        if strikes {
            hit.push(SliceKey {
                frame: global,
                bounds: g.hitbox.as_ref().map_or(
                    Bounds {
                        x: 0,
                        y: 0,
                        w: 0,
                        h: 0,
                    },
                    |h| Bounds::of(&h.rect),
                ),
                pivot: None,
            });
        }
    }
    let mut slices = Vec::new();
    if !hurt.is_empty() {
        slices.push(Slice {
            name: "hurtbox",
            color: "#0000ffff",
            keys: hurt,
        });
    }
    if !hit.is_empty() {
        slices.push(Slice {
            name: "hitbox",
            color: "#ff0000ff",
            keys: hit,
        });
    }
    slices
}

/// Godot variant text for one frame's record.
fn godot_frame(g: &FrameGameplay) -> String {
    let rect = |b: &BoxPx| format!("Rect2({}, {}, {}, {})", b.x, b.y, b.w, b.h);
    let mut out = format!(
        "{{\n\"pivot\": Vector2({}, {}),\n\"root_motion\": Vector2({}, {}),\n\"hurtbox\": {}",
        g.pivot[0],
        g.pivot[1],
        g.root_motion[0],
        g.root_motion[1],
        rect(&g.hurtbox)
    );
    if let Some(h) = &g.hitbox {
        let _ = write!(
            out,
            ",\n\"hitbox\": {},\n\"hitbox_limb\": \"{}\"",
            rect(&h.rect),
            escape_godot(&h.limb)
        );
    }
    let events: Vec<String> = g
        .events
        .iter()
        .map(|e| format!("\"{}\"", escape_godot(&e.callback_name())))
        .collect();
    let _ = write!(
        out,
        ",\n\"events\": PackedStringArray({})\n}}",
        events.join(", ")
    );
    out
}

/// The `metadata/kinema_gameplay = {…}` property line for a `SpriteFrames` resource, or
/// `None` when no animation has metadata.
pub(crate) fn godot_metadata(layout: &SheetLayout) -> Option<String> {
    if !layout.has_gameplay() {
        return None;
    }
    let mut out = String::from("metadata/kinema_gameplay = {\n");
    let mut first = true;
    for (a, anim) in layout.animations.iter().enumerate() {
        let Some(frames) = &layout.gameplay[a] else {
            continue;
        };
        if !first {
            out.push_str(",\n");
        }
        first = false;
        let items: Vec<String> = frames.iter().map(godot_frame).collect();
        let _ = write!(
            out,
            "&\"{}\": [{}]",
            escape_godot(&anim.name),
            items.join(", ")
        );
    }
    out.push_str("\n}\n");
    Some(out)
}

/// Escapes a string for a Godot variant string literal.
pub(crate) fn escape_godot(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnityEvent {
    time: f64,
    function_name: &'static str,
    string_parameter: String,
}

#[derive(Serialize)]
struct UnityAnimation<'a> {
    name: &'a str,
    fps: u32,
    /// AnimationEvent fields, one per event, at the start of its frame.
    events: Vec<UnityEvent>,
    /// Sprite names in play order, with their records.
    frames: OrderedMap<&'a str, &'a FrameGameplay>,
}

#[derive(Serialize)]
struct UnityUserData<'a> {
    kinema_gameplay: Vec<UnityAnimation<'a>>,
}

/// The `userData` JSON of a Unity meta file (per animation: AnimationEvents and each
/// sprite's record), or `None` when no animation has metadata.
pub(crate) fn unity_user_data(layout: &SheetLayout) -> Option<String> {
    if !layout.has_gameplay() {
        return None;
    }
    let mut animations = Vec::new();
    for (a, anim) in layout.animations.iter().enumerate() {
        let Some(frames) = &layout.gameplay[a] else {
            continue;
        };
        let sheet_frames = layout.frames_of(a);
        let mut events = Vec::new();
        for (i, g) in frames.iter().enumerate() {
            for e in &g.events {
                events.push(UnityEvent {
                    time: round4(i as f64 / anim.fps.max(1) as f64),
                    function_name: EVENT_METHOD_UNITY,
                    string_parameter: e.callback_name(),
                });
            }
        }
        animations.push(UnityAnimation {
            name: &anim.name,
            fps: anim.fps,
            events,
            frames: OrderedMap(
                sheet_frames
                    .iter()
                    .zip(frames)
                    .map(|(f, g)| (f.name.as_str(), g))
                    .collect(),
            ),
        });
    }
    serde_json::to_string(&UnityUserData {
        kinema_gameplay: animations,
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::super::{layout_sheet, Animation, SheetOptions};
    use super::*;
    use kinema_core::{Clip, EventPhase, Frame, FrameEvent, Hitbox, Placement};

    fn record(hit: bool) -> FrameGameplay {
        FrameGameplay {
            pivot: [4.0, 7.5],
            root_motion: [1.5, 0.0],
            hurtbox: BoxPx {
                x: 1.0,
                y: 1.0,
                w: 5.0,
                h: 6.5,
            },
            hitbox: hit.then(|| Hitbox {
                rect: BoxPx {
                    x: 5.0,
                    y: 2.0,
                    w: 2.0,
                    h: 2.0,
                },
                limb: "hand_right".into(),
                event: "attack_active".into(),
            }),
            events: if hit {
                vec![FrameEvent {
                    name: "attack_active".into(),
                    phase: EventPhase::Start,
                    limb: Some("hand_right".into()),
                }]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn every_format_carries_the_same_records() {
        let clip = Clip {
            frames: vec![Frame::filled(8, 8, [9, 9, 9, 255]); 2],
            fps: 10,
            looping: false,
            pixel_art: true,
            placement: Placement::default(),
        };
        let records = [record(false), record(true)];
        let mut anim = Animation::new("attack", &clip);
        anim.gameplay = Some(&records);
        let l = layout_sheet(&[anim], &SheetOptions::default()).unwrap();
        let p = normalised_pivot(&l, &l.frames[0]).unwrap();
        assert_eq!((p.x, p.y), (0.5, 0.9375));
        let slices = serde_json::to_value(aseprite_slices(&l)).unwrap();
        assert_eq!(slices[0]["name"], "hurtbox");
        assert_eq!(
            slices[0]["keys"][1]["pivot"],
            serde_json::json!({"x": 3, "y": 7})
        );
        assert_eq!(slices[1]["keys"][0]["bounds"]["w"], 0);
        assert_eq!(slices[1]["keys"][1]["bounds"]["x"], 5);
        let godot = godot_metadata(&l).unwrap();
        assert!(godot.contains("&\"attack\": [{"), "{godot}");
        assert!(godot.contains("\"hitbox\": Rect2(5, 2, 2, 2)"), "{godot}");
        assert!(godot.contains("PackedStringArray(\"attack_active_start\")"));
        let unity: serde_json::Value = serde_json::from_str(&unity_user_data(&l).unwrap()).unwrap();
        let ev = &unity["kinema_gameplay"][0]["events"][0];
        assert_eq!(ev["time"], 0.1);
        assert_eq!(ev["functionName"], "OnKinemaEvent");
        assert_eq!(ev["stringParameter"], "attack_active_start");
        // Without metadata the atlases stay as they were.
        let plain = layout_sheet(&[Animation::new("a", &clip)], &SheetOptions::default()).unwrap();
        assert!(godot_metadata(&plain).is_none() && unity_user_data(&plain).is_none());
        assert!(aseprite_slices(&plain).is_empty());
    }
}
