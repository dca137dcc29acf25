//! Fixtures and small independent readers for the sheet tests.

pub mod tres;

use std::path::Path;

use kinema_core::{Clip, Frame, Placement};

/// A made-up character: a blob that moves and changes, with soft edges, a fully
/// transparent frame and a repeated frame, so trimming and de-duplication all matter.
pub fn synthetic_clip(
    frames: usize,
    w: u32,
    h: u32,
    fps: u32,
    looping: bool,
    pixel_art: bool,
) -> Clip {
    let mut out: Vec<Frame> = Vec::new();
    for i in 0..frames {
        if i == 2 {
            out.push(Frame::new(w, h));
            continue;
        }
        if i == 4 {
            out.push(out[1].clone());
            continue;
        }
        let mut f = Frame::new(w, h);
        let (cx, cy) = (3 + (i as u32 * 3) % (w - 8), 2 + (i as u32 * 5) % (h - 8));
        for y in cy..cy + 5 + (i as u32 % 3) {
            for x in cx..cx + 4 + (i as u32 % 4) {
                if x < w && y < h {
                    let a = if x == cx || y == cy { 96 } else { 255 };
                    f.set_pixel(x, y, [(x * 9) as u8, (y * 11) as u8, (i * 30) as u8, a]);
                }
            }
        }
        out.push(f);
    }
    Clip {
        frames: out,
        fps,
        looping,
        pixel_art,
        placement: Placement::default(),
    }
}

/// The artist's walk cycle shipped in `samples/`, as a clip.
pub fn sample_walk() -> Clip {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/characters");
    let frames = (0..8)
        .map(|i| {
            let img = image::open(dir.join(format!("femaleAdventurer_walk{i}.png")))
                .expect("sample walk frame")
                .to_rgba8();
            Frame::from_rgba(img.width(), img.height(), img.into_raw()).expect("rgba")
        })
        .collect();
    Clip {
        frames,
        fps: 10,
        looping: true,
        pixel_art: false,
        placement: Placement::default(),
    }
}

/// Reads a PNG with the `image` crate (a decoder independent of the one we encode with).
pub fn read_png(path: &Path) -> Frame {
    let img = image::open(path).expect("sheet png").to_rgba8();
    Frame::from_rgba(img.width(), img.height(), img.into_raw()).expect("rgba")
}

/// Rebuilds a frame's full canvas from a sheet region placed at `offset`.
pub fn restore(
    sheet: &Frame,
    rect: (u32, u32, u32, u32),
    offset: (u32, u32),
    source: (u32, u32),
) -> Frame {
    let (x, y, w, h) = rect;
    assert!(
        x + w <= sheet.width && y + h <= sheet.height,
        "rect {rect:?} outside {}x{}",
        sheet.width,
        sheet.height
    );
    assert!(
        offset.0 + w <= source.0 && offset.1 + h <= source.1,
        "trimmed rect overflows its source size"
    );
    let part = sheet.crop(x as i64, y as i64, w, h);
    let mut out = Frame::new(source.0, source.1);
    for yy in 0..h {
        for xx in 0..w {
            out.set_pixel(offset.0 + xx, offset.1 + yy, part.pixel(xx, yy));
        }
    }
    out
}
