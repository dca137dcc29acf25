//! Sprite sheets: several animations of one character packed into one PNG, plus the
//! atlas files game engines import (TexturePacker JSON for Phaser/PixiJS, Aseprite JSON,
//! Godot 4 `SpriteFrames`, Unity `TextureImporter` meta).
//!
//! The work is split so each step can be checked on its own: [`layout_sheet`] decides
//! where every frame goes (no pixels touched), [`render_sheet`] copies the pixels, the
//! atlas modules turn a [`SheetLayout`] into text, and [`write_sheet`] puts it all on
//! disk atomically.

mod aseprite;
mod gameplay;
mod godot;
mod names;
mod pack;
mod render;
mod texturepacker;
mod unity;
mod write;

use std::fmt;
use std::str::FromStr;

use kinema_core::{Clip, Error, FrameGameplay, Result};

pub use aseprite::aseprite_json;
pub use godot::godot_sprite_frames;
pub use pack::{layout_sheet, MAX_SHEET_SIDE};
pub use render::render_sheet;
pub use texturepacker::texturepacker_json;
pub use unity::{unity_guid, unity_meta};
pub use write::{atlas_path, check_sheet_targets, sheet_paths, write_sheet};
pub(crate) use write::{encode_png, write_atomically};

/// One action of a character (idle, walk, attack) to put on the sheet.
///
/// `looping` is separate from `clip.looping` because a clip may be rendered as a cycle
/// yet be meant to play once in the game (or the other way round); atlases follow this.
#[derive(Clone, Debug)]
pub struct Animation<'a> {
    pub name: String,
    pub clip: &'a Clip,
    pub looping: bool,
    /// Per-frame gameplay metadata (pivot, root motion, boxes, events) for the atlases to
    /// carry, one entry per frame of `clip`; `None` when the engine gave none.
    pub gameplay: Option<&'a [FrameGameplay]>,
}

impl<'a> Animation<'a> {
    /// An animation that loops the way the clip was rendered.
    pub fn new(name: impl Into<String>, clip: &'a Clip) -> Self {
        Animation {
            name: name.into(),
            clip,
            looping: clip.looping,
            gameplay: None,
        }
    }
}

/// The engine atlas files [`write_sheet`] can write beside the sheet PNG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtlasFormat {
    /// `PATH.json`, TexturePacker "JSON (Hash)": Phaser 3 and PixiJS load it directly.
    TexturePacker,
    /// `PATH.aseprite.json`, Aseprite's export with frame tags (Phaser `createFromAseprite`).
    Aseprite,
    /// `PATH.tres`, a Godot 4 `SpriteFrames` resource for `AnimatedSprite2D`.
    Godot,
    /// `PATH.png.meta`, Unity import settings slicing the PNG into sprites.
    Unity,
}

impl AtlasFormat {
    pub const ALL: [AtlasFormat; 4] = [
        AtlasFormat::TexturePacker,
        AtlasFormat::Aseprite,
        AtlasFormat::Godot,
        AtlasFormat::Unity,
    ];

    /// The name used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            AtlasFormat::TexturePacker => "texturepacker",
            AtlasFormat::Aseprite => "aseprite",
            AtlasFormat::Godot => "godot",
            AtlasFormat::Unity => "unity",
        }
    }
}

impl fmt::Display for AtlasFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AtlasFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        let alias = match wanted.as_str() {
            "tp" | "phaser" | "pixi" | "pixijs" => "texturepacker",
            other => other,
        };
        AtlasFormat::ALL
            .into_iter()
            .find(|f| f.name() == alias)
            .ok_or_else(|| {
                let valid: Vec<&str> = AtlasFormat::ALL.iter().map(|f| f.name()).collect();
                Error::invalid(
                    format!("unknown atlas format `{s}`"),
                    format!("use one of: {}", valid.join(", ")),
                )
            })
    }
}

/// How frames are arranged on the sheet and which atlases accompany it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetOptions {
    /// Frames per row; `None` picks the layout with the shortest longest side.
    pub columns: Option<u32>,
    /// Transparent pixels between neighbouring frames (outside any extrusion).
    pub padding: u32,
    /// Edge pixels repeated around each frame so bilinear filtering and mipmaps never
    /// sample a neighbour; frame rects exclude it.
    pub extrude: u32,
    /// Store only each frame's visible box; atlases carry the offsets that restore it.
    pub trim: bool,
    /// Round sheet dimensions up to powers of two (old GPUs, some compression formats).
    pub pot: bool,
    /// Store pixel-identical frames once (held poses cost no space); rects then repeat.
    pub dedupe: bool,
    pub atlases: Vec<AtlasFormat>,
}

impl Default for SheetOptions {
    fn default() -> Self {
        SheetOptions {
            columns: None,
            padding: 2,
            extrude: 0,
            trim: false,
            pot: false,
            dedupe: true,
            atlases: AtlasFormat::ALL.to_vec(),
        }
    }
}

/// A rectangle in pixels, origin top-left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn right(&self) -> u32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }
}

/// Where one frame of one animation lives on the sheet and how to restore it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetFrame {
    /// `<animation>_<index:04>`, unique on the sheet.
    pub name: String,
    /// Index into [`SheetLayout::animations`].
    pub animation: usize,
    /// Index of the frame inside its animation.
    pub index: usize,
    /// The stored pixels on the sheet (extrusion excluded).
    pub rect: Rect,
    /// Where the stored pixels sit in the untrimmed frame (x, y); (0, 0) when untrimmed.
    pub offset: (u32, u32),
    /// The untrimmed frame size (the clip's canvas).
    pub source_size: (u32, u32),
    /// Display time in milliseconds; rounded so an animation's total stays exact.
    pub duration_ms: u32,
}

impl SheetFrame {
    /// True when the stored rect is smaller than the frame (offsets matter).
    pub fn trimmed(&self) -> bool {
        (self.rect.w, self.rect.h) != self.source_size
    }
}

/// What atlases need to know about an animation besides its frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetAnimation {
    pub name: String,
    pub fps: u32,
    pub looping: bool,
    pub pixel_art: bool,
    /// The frames of this animation: `layout.frames[first..first + len]`.
    pub first: usize,
    pub len: usize,
}

/// The full placement plan of a sheet; atlases are written from this alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetLayout {
    pub width: u32,
    pub height: u32,
    pub frames: Vec<SheetFrame>,
    pub animations: Vec<SheetAnimation>,
    /// The extrusion the pixels were rendered with (needed by [`render_sheet`]).
    pub extrude: u32,
    /// Gameplay metadata per animation (one entry per frame), in untrimmed frame pixels.
    pub gameplay: Vec<Option<Vec<FrameGameplay>>>,
}

impl SheetLayout {
    /// True when any animation is pixel art (engines must then sample nearest-neighbour).
    pub fn pixel_art(&self) -> bool {
        self.animations.iter().any(|a| a.pixel_art)
    }

    /// Refuses a layout whose numbers do not fit together (only possible when built by
    /// hand), so the atlas writers can do plain arithmetic without overflow.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |what: String| {
            Err(Error::internal(format!(
                "inconsistent sheet layout: {what}"
            )))
        };
        for f in &self.frames {
            let r = f.rect;
            let right = u64::from(r.x) + u64::from(r.w);
            let bottom = u64::from(r.y) + u64::from(r.h);
            if r.w == 0
                || r.h == 0
                || right > u64::from(self.width)
                || bottom > u64::from(self.height)
            {
                return bad(format!(
                    "frame {} lies outside the {}x{} sheet",
                    f.name, self.width, self.height
                ));
            }
            let fits_x = u64::from(f.offset.0) + u64::from(r.w) <= u64::from(f.source_size.0);
            let fits_y = u64::from(f.offset.1) + u64::from(r.h) <= u64::from(f.source_size.1);
            if !fits_x || !fits_y {
                return bad(format!("frame {} is larger than its source", f.name));
            }
        }
        for a in &self.animations {
            if a.len == 0
                || a.first
                    .checked_add(a.len)
                    .is_none_or(|end| end > self.frames.len())
            {
                return bad(format!("animation {} points past the frame list", a.name));
            }
        }
        Ok(())
    }

    /// The gameplay metadata of frame `index` of animation `animation`, if any.
    pub fn gameplay_of(&self, animation: usize, index: usize) -> Option<&FrameGameplay> {
        self.gameplay.get(animation)?.as_ref()?.get(index)
    }

    /// Whether any animation carries gameplay metadata.
    pub fn has_gameplay(&self) -> bool {
        self.gameplay.iter().any(Option::is_some)
    }

    /// The frames of one animation.
    pub fn frames_of(&self, animation: usize) -> &[SheetFrame] {
        match self.animations.get(animation) {
            Some(a) => &self.frames[a.first..a.first + a.len],
            None => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlas_format_parses_names_and_aliases() {
        for f in AtlasFormat::ALL {
            assert_eq!(f.name().parse::<AtlasFormat>().unwrap(), f);
            assert_eq!(
                f.to_string().to_uppercase().parse::<AtlasFormat>().unwrap(),
                f
            );
        }
        assert_eq!(
            "phaser".parse::<AtlasFormat>().unwrap(),
            AtlasFormat::TexturePacker
        );
        let e = "spine".parse::<AtlasFormat>().unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("spine") && text.contains("texturepacker, aseprite, godot, unity"),
            "{text}"
        );
    }

    #[test]
    fn tampered_layouts_are_refused_by_every_writer() {
        let clip = Clip {
            frames: vec![kinema_core::Frame::filled(4, 4, [1, 2, 3, 255])],
            fps: 10,
            looping: true,
            pixel_art: true,
            placement: kinema_core::Placement::default(),
        };
        let anims = [Animation::new("a", &clip)];
        let good = layout_sheet(&anims, &SheetOptions::default()).unwrap();
        let mut outside = good.clone();
        outside.frames[0].rect.x = u32::MAX - 1;
        let mut past_end = good.clone();
        past_end.animations[0].len = 5;
        for bad in [outside, past_end] {
            assert!(texturepacker_json(&bad, "s.png").is_err());
            assert!(aseprite_json(&bad, "s.png").is_err());
            assert!(godot_sprite_frames(&bad, "s.png").is_err());
            assert!(unity_meta(&bad, "s.png").is_err());
            assert!(render_sheet(&anims, &bad).is_err());
        }
    }
}
