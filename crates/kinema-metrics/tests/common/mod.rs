//! Synthetic clips whose right answers are known by construction.
#![allow(dead_code)]

use kinema_core::{Clip, Frame, Placement};

/// Broadband smooth texture (wavelengths 9..80 px in eight directions), 0..=255.
pub fn texture(x: f32, y: f32, phase: f32) -> f32 {
    let mut v = 128.0;
    for k in 0..8 {
        let angle = k as f32 * 0.785 + 0.3;
        let wavelength = 9.0 * 1.37f32.powi(k);
        let f = std::f32::consts::TAU / wavelength;
        v += 14.0 * ((x * angle.cos() + y * angle.sin()) * f + k as f32 + phase).sin();
    }
    v.clamp(0.0, 255.0)
}

/// A round, textured, coloured sprite of diameter `size` on a transparent background.
pub fn sprite(size: u32) -> Frame {
    let mut f = Frame::new(size, size);
    let r = size as f32 / 2.0;
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (x as f32 + 0.5 - r, y as f32 + 0.5 - r);
            if dx * dx + dy * dy <= r * r {
                let (xf, yf) = (x as f32, y as f32);
                let c = [
                    texture(xf, yf, 0.0),
                    texture(xf, yf, 1.7) * 0.6,
                    texture(xf, yf, 3.1) * 0.8 + 40.0,
                ];
                f.set_pixel(x, y, [c[0] as u8, c[1] as u8, c[2].min(255.0) as u8, 255]);
            }
        }
    }
    f
}

/// `sprite` drawn with its top-left corner at `(x, y)` (may be partly off-canvas).
pub fn place(canvas: (u32, u32), sprite: &Frame, x: i32, y: i32) -> Frame {
    let mut out = Frame::new(canvas.0, canvas.1);
    for sy in 0..sprite.height {
        for sx in 0..sprite.width {
            let (cx, cy) = (x + sx as i32, y + sy as i32);
            if cx >= 0 && cy >= 0 && (cx as u32) < canvas.0 && (cy as u32) < canvas.1 {
                let p = sprite.pixel(sx, sy);
                if p[3] > 0 {
                    out.set_pixel(cx as u32, cy as u32, p);
                }
            }
        }
    }
    out
}

pub fn clip(frames: Vec<Frame>, fps: u32) -> Clip {
    Clip {
        frames,
        fps,
        looping: false,
        pixel_art: false,
        placement: Placement::default(),
    }
}

/// The sprite moving `k` px right per frame across a canvas.
pub fn translating(k: i32, frames: usize) -> (Clip, Frame) {
    let s = sprite(48);
    let canvas = (160, 96);
    let frames = (0..frames)
        .map(|i| place(canvas, &s, 20 + k * i as i32, 24))
        .collect();
    (clip(frames, 8), s)
}

/// SplitMix64 with Box–Muller: deterministic Gaussian noise for fixtures.
pub struct Noise(pub u64);

impl Noise {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Decodes one of the shipped sample PNGs to RGBA.
pub fn sample(name: &str) -> Frame {
    let path = format!(
        "{}/../../samples/characters/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    let mut reader = decoder.read_info().expect("sample PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("sample size")];
    let info = reader.next_frame(&mut buf).expect("sample PNG data");
    let data = &buf[..info.buffer_size()];
    let rgba: Vec<u8> = match info.color_type {
        png::ColorType::Rgba => data.to_vec(),
        png::ColorType::GrayscaleAlpha => data
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => panic!("unexpected colour type {other:?} after ALPHA expansion"),
    };
    Frame::from_rgba(info.width, info.height, rgba).expect("sample size")
}
