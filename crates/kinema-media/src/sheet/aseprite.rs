//! Aseprite's JSON export: per-frame durations and `frameTags` naming each animation.
//!
//! Frames are a hash keyed by the global frame index (`"0"`, `"1"`, …), the layout
//! Aseprite writes with `--filename-format '{frame}'`. That is what Phaser's
//! `anims.createFromAseprite` needs: it looks tag frames up as `frames[String(i)]`.
//! Tags cover every frame exactly once, in sheet order. One-shot animations carry
//! Aseprite 1.3's `"repeat": "1"`; loops omit it (Aseprite's "infinite").

use kinema_core::Result;

use super::gameplay::{aseprite_slices, Slice};
use super::texturepacker::{to_pretty_json, FrameEntry, OrderedMap, Wh};
use super::SheetLayout;

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FrameTag<'a> {
    name: &'a str,
    from: usize,
    to: usize,
    direction: &'static str,
    color: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat: Option<&'static str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta<'a> {
    app: &'static str,
    version: &'static str,
    image: &'a str,
    format: &'static str,
    size: Wh,
    scale: &'static str,
    frame_tags: Vec<FrameTag<'a>>,
    layers: Vec<()>,
    /// `hurtbox` and `hitbox` per frame when the animations carry gameplay metadata.
    slices: Vec<Slice>,
}

#[derive(serde::Serialize)]
struct Atlas<'a> {
    frames: OrderedMap<String, FrameEntry<'a>>,
    meta: Meta<'a>,
}

/// The Aseprite JSON for a sheet saved as `image_file` (relative to the JSON).
pub fn aseprite_json(layout: &SheetLayout, image_file: &str) -> Result<String> {
    layout.check()?;
    let frame_tags = layout
        .animations
        .iter()
        .map(|a| FrameTag {
            name: &a.name,
            from: a.first,
            to: a.first + a.len - 1,
            direction: "forward",
            color: "#000000ff",
            repeat: (!a.looping).then_some("1"),
        })
        .collect();
    let atlas = Atlas {
        frames: OrderedMap(
            layout
                .frames
                .iter()
                .enumerate()
                .map(|(i, f)| (i.to_string(), FrameEntry::new(f, layout)))
                .collect(),
        ),
        meta: Meta {
            app: "kinema",
            version: env!("CARGO_PKG_VERSION"),
            image: image_file,
            format: "RGBA8888",
            size: Wh {
                w: layout.width,
                h: layout.height,
            },
            scale: "1",
            frame_tags,
            layers: Vec::new(),
            slices: aseprite_slices(layout),
        },
    };
    to_pretty_json(&atlas)
}

#[cfg(test)]
mod tests {
    use super::super::{layout_sheet, Animation, SheetOptions};
    use super::*;
    use kinema_core::{Clip, Frame, Placement};

    #[test]
    fn tags_span_each_animation_and_mark_one_shots() {
        let c = |n: usize| Clip {
            frames: (0..n)
                .map(|i| Frame::filled(3, 3, [i as u8, 0, 0, 255]))
                .collect(),
            fps: 10,
            looping: true,
            pixel_art: false,
            placement: Placement::default(),
        };
        let (idle, hit) = (c(3), c(2));
        let mut once = Animation::new("hit", &hit);
        once.looping = false;
        let l = layout_sheet(
            &[Animation::new("idle", &idle), once],
            &SheetOptions::default(),
        )
        .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&aseprite_json(&l, "s.png").unwrap()).unwrap();
        let tags = v["meta"]["frameTags"].as_array().unwrap();
        assert_eq!(tags[0]["from"], 0);
        assert_eq!(tags[0]["to"], 2);
        assert!(tags[0].get("repeat").is_none());
        assert_eq!(tags[1]["from"], 3);
        assert_eq!(tags[1]["to"], 4);
        assert_eq!(tags[1]["repeat"], "1");
        assert_eq!(v["frames"]["4"]["duration"], 100);
    }
}
