//! Godot 4 `SpriteFrames` text resources (`.tres`) for `AnimatedSprite2D`.
//!
//! The sheet is an `ext_resource` with a path *relative to the .tres* (just the PNG's
//! file name): Godot 4's text loader resolves a relative ext_resource path against the
//! directory of the resource being loaded, so the pair works wherever it is copied inside
//! a project. The editor rewrites it to a `res://` path the next time it saves the file.
//! No `uid` is written; Godot falls back to the path and assigns one on import.
//!
//! Each frame is an `AtlasTexture` with `region` = its rect on the sheet. Trimmed frames
//! also get `margin = Rect2(offset_x, offset_y, source_w - w, source_h - h)`: Godot draws
//! the region shifted by the margin's position and reports a size of region + margin size,
//! which restores the untrimmed placement so nothing jitters. Frame `duration` is relative
//! (1.0 = one tick of the animation's `speed` in frames per second).

use std::collections::HashMap;
use std::fmt::Write;

use kinema_core::Result;

use super::gameplay::{escape_godot as escape, godot_metadata};
use super::{Rect, SheetLayout};

const SHEET_ID: &str = "1_sheet";

/// The `.tres` text for a sheet saved as `image_file` next to it.
pub fn godot_sprite_frames(layout: &SheetLayout, image_file: &str) -> Result<String> {
    layout.check()?;
    // Frames with the same rect and offset (de-duplicated poses) share one AtlasTexture.
    let mut ids: HashMap<(Rect, (u32, u32)), String> = HashMap::new();
    let mut subs = String::new();
    let mut frame_ids = Vec::with_capacity(layout.frames.len());
    for f in &layout.frames {
        let key = (f.rect, f.offset);
        if let Some(id) = ids.get(&key) {
            frame_ids.push(id.clone());
            continue;
        }
        let id = format!("AtlasTexture_{:04}", ids.len());
        let r = f.rect;
        let _ = write!(
            subs,
            "[sub_resource type=\"AtlasTexture\" id=\"{id}\"]\natlas = ExtResource(\"{SHEET_ID}\")\nregion = Rect2({}, {}, {}, {})\n",
            r.x, r.y, r.w, r.h
        );
        if f.trimmed() {
            let _ = writeln!(
                subs,
                "margin = Rect2({}, {}, {}, {})",
                f.offset.0,
                f.offset.1,
                f.source_size.0 - r.w,
                f.source_size.1 - r.h
            );
        }
        if layout.extrude == 0 {
            // Without extruded edges, clip sampling to the region so filtering cannot
            // pull in the neighbouring frame.
            subs.push_str("filter_clip = true\n");
        }
        subs.push('\n');
        ids.insert(key, id.clone());
        frame_ids.push(id);
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "[gd_resource type=\"SpriteFrames\" load_steps={} format=3]\n",
        ids.len() + 2
    );
    let _ = writeln!(
        out,
        "[ext_resource type=\"Texture2D\" path=\"{}\" id=\"{SHEET_ID}\"]\n",
        escape(image_file)
    );
    out.push_str(&subs);
    out.push_str("[resource]\nanimations = [");
    for (ai, a) in layout.animations.iter().enumerate() {
        if ai > 0 {
            out.push_str(", ");
        }
        out.push_str("{\n\"frames\": [");
        for (k, id) in frame_ids[a.first..a.first + a.len].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            let _ = write!(
                out,
                "{{\n\"duration\": 1.0,\n\"texture\": SubResource(\"{id}\")\n}}"
            );
        }
        let _ = write!(
            out,
            "],\n\"loop\": {},\n\"name\": &\"{}\",\n\"speed\": {:.1}\n}}",
            a.looping,
            escape(&a.name),
            f64::from(a.fps)
        );
    }
    out.push_str("]\n");
    if let Some(meta) = godot_metadata(layout) {
        out.push_str(&meta);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{layout_sheet, Animation, SheetOptions};
    use super::*;
    use kinema_core::{Clip, Frame, Placement};

    #[test]
    fn trimmed_frames_get_margins_and_shared_poses_share_textures() {
        let mut a = Frame::new(8, 6);
        a.set_pixel(2, 3, [1, 1, 1, 255]);
        let b = Frame::filled(8, 6, [5, 5, 5, 255]);
        let clip = Clip {
            frames: vec![a.clone(), b, a],
            fps: 12,
            looping: false,
            pixel_art: true,
            placement: Placement::default(),
        };
        let l = layout_sheet(
            &[Animation::new("wave", &clip)],
            &SheetOptions {
                trim: true,
                ..Default::default()
            },
        )
        .unwrap();
        let text = godot_sprite_frames(&l, "my \"hero\".png").unwrap();
        assert!(
            text.starts_with("[gd_resource type=\"SpriteFrames\" load_steps=4 format=3]"),
            "{text}"
        );
        assert!(text.contains("path=\"my \\\"hero\\\".png\""));
        assert!(text.contains("margin = Rect2(2, 3, 7, 5)"), "{text}");
        assert_eq!(text.matches("[sub_resource").count(), 2);
        assert!(text.contains("\"loop\": false"));
        assert!(text.contains("\"name\": &\"wave\""));
        assert!(text.contains("\"speed\": 12.0"));
    }
}
