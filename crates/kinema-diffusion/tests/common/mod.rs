//! What the engine tests share: the committed tiny models and a small soft-edged sprite.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kinema_core::{Character, Frame};

/// `tests/models/NAME`, a tiny random-weight model written by tools/reference/make_tiny_model.py.
pub fn tiny_model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/models")
        .join(name)
}

/// A 20×28 blob with a soft edge on transparency.
pub fn blob() -> Character {
    let mut f = Frame::new(20, 28);
    for y in 0..28u32 {
        for x in 0..20u32 {
            let d = ((x as f32 - 9.5).powi(2) + (y as f32 - 13.5).powi(2)).sqrt();
            let a = ((9.0 - d) * 128.0).clamp(0.0, 255.0) as u8;
            f.set_pixel(x, y, [200, 60, 40, a]);
        }
    }
    Character {
        image: f,
        pixel_art: false,
        name: "blob".into(),
    }
}
