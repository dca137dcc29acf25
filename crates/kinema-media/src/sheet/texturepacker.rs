//! TexturePacker "JSON (Hash)" atlases, the de-facto web format.
//!
//! Phaser 3's JSONHash parser reads `frame`, `trimmed`, `spriteSourceSize`, `sourceSize`
//! and `rotated`; PixiJS's `Spritesheet` reads the same plus `animations` (lists of frame
//! names) and `meta.scale` as a string. We never rotate frames, so `rotated` is false.

use serde::ser::{Serialize, SerializeMap, Serializer};

use kinema_core::{Error, Result};

use super::gameplay::{normalised_pivot, Pivot};
use super::{SheetFrame, SheetLayout};
use kinema_core::FrameGameplay;

#[derive(serde::Serialize)]
pub(crate) struct Xywh {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

#[derive(serde::Serialize)]
pub(crate) struct Wh {
    pub w: u32,
    pub h: u32,
}

/// One frame entry, field names and order as TexturePacker writes them, plus the frame's
/// gameplay record under `kinema` when it has one.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FrameEntry<'a> {
    pub frame: Xywh,
    pub rotated: bool,
    pub trimmed: bool,
    pub sprite_source_size: Xywh,
    pub source_size: Wh,
    pub duration: u32,
    /// The ground point as a fraction of the untrimmed frame (TexturePacker's field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pivot: Option<Pivot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kinema: Option<&'a FrameGameplay>,
}

impl<'a> FrameEntry<'a> {
    pub fn new(f: &SheetFrame, layout: &'a SheetLayout) -> Self {
        FrameEntry {
            pivot: normalised_pivot(layout, f),
            kinema: layout.gameplay_of(f.animation, f.index),
            frame: Xywh {
                x: f.rect.x,
                y: f.rect.y,
                w: f.rect.w,
                h: f.rect.h,
            },
            rotated: false,
            trimmed: f.trimmed(),
            sprite_source_size: Xywh {
                x: f.offset.0,
                y: f.offset.1,
                w: f.rect.w,
                h: f.rect.h,
            },
            source_size: Wh {
                w: f.source_size.0,
                h: f.source_size.1,
            },
            duration: f.duration_ms,
        }
    }
}

/// A JSON object that keeps its keys in the given order (serde_json's map would sort them).
pub(crate) struct OrderedMap<K, V>(pub Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for OrderedMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(serde::Serialize)]
struct Meta<'a> {
    app: &'static str,
    version: &'static str,
    image: &'a str,
    format: &'static str,
    size: Wh,
    scale: &'static str,
}

#[derive(serde::Serialize)]
struct Atlas<'a> {
    frames: OrderedMap<&'a str, FrameEntry<'a>>,
    animations: OrderedMap<&'a str, Vec<&'a str>>,
    meta: Meta<'a>,
}

/// The TexturePacker JSON (hash form) for a sheet saved as `image_file` (a file name
/// relative to the JSON, as loaders resolve it).
pub fn texturepacker_json(layout: &SheetLayout, image_file: &str) -> Result<String> {
    layout.check()?;
    let atlas = Atlas {
        frames: OrderedMap(
            layout
                .frames
                .iter()
                .map(|f| (f.name.as_str(), FrameEntry::new(f, layout)))
                .collect(),
        ),
        animations: OrderedMap(
            layout
                .animations
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    (
                        a.name.as_str(),
                        layout
                            .frames_of(i)
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect(),
                    )
                })
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
        },
    };
    to_pretty_json(&atlas)
}

pub(crate) fn to_pretty_json(value: &impl Serialize) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::internal("could not serialise the atlas JSON").with_source(e))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::super::{layout_sheet, Animation, SheetOptions};
    use super::*;
    use kinema_core::{Clip, Frame, Placement};

    #[test]
    fn hash_keeps_animation_order_and_lists_frames() {
        let mut f = Frame::new(4, 4);
        f.set_pixel(1, 2, [9, 9, 9, 255]);
        let walk = Clip {
            frames: vec![f.clone(), Frame::new(4, 4)],
            fps: 8,
            looping: true,
            pixel_art: true,
            placement: Placement::default(),
        };
        let anims = [
            Animation::new("walk", &walk),
            Animation::new("attack", &walk),
        ];
        let l = layout_sheet(
            &anims,
            &SheetOptions {
                trim: true,
                ..Default::default()
            },
        )
        .unwrap();
        let text = texturepacker_json(&l, "hero.png").unwrap();
        assert!(
            text.find("walk_0000").unwrap() < text.find("attack_0000").unwrap(),
            "insertion order kept"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["animations"]["attack"],
            serde_json::json!(["attack_0000", "attack_0001"])
        );
        let w0 = &v["frames"]["walk_0000"];
        assert_eq!(w0["trimmed"], true);
        assert_eq!(
            w0["spriteSourceSize"],
            serde_json::json!({"x": 1, "y": 2, "w": 1, "h": 1})
        );
        assert_eq!(w0["sourceSize"], serde_json::json!({"w": 4, "h": 4}));
        assert_eq!(w0["duration"], 125);
        assert_eq!(v["meta"]["image"], "hero.png");
        assert_eq!(v["meta"]["scale"], "1");
    }
}
