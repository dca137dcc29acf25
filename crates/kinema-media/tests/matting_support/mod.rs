//! Test scenes for matting, made in code so no fixture files are needed: the sample
//! characters flattened onto white, and "photos" (characters composed onto painted,
//! textured backgrounds) whose true alpha is known. Shared by the tests and the bench.

#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use image::{imageops::FilterType, Rgba, RgbaImage};

pub const SAMPLES: [&str; 5] = [
    "femaleAdventurer_idle.png",
    "alienBlue_front.png",
    "bee.png",
    "ladybug.png",
    "slimeBlue.png",
];

pub fn sample(file: &str) -> RgbaImage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(file);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_rgba8()
}

/// A sample scaled by `factor` (smooth filter on premultiplied colour, as a larger
/// render of the same art would be: no dark fringe from the transparent pixels' black).
pub fn scaled(file: &str, factor: f32) -> RgbaImage {
    let mut img = sample(file);
    for p in img.pixels_mut() {
        let a = u16::from(p.0[3]);
        for c in 0..3 {
            p.0[c] = ((u16::from(p.0[c]) * a + 127) / 255) as u8;
        }
    }
    let (w, h) = (
        (img.width() as f32 * factor).round() as u32,
        (img.height() as f32 * factor).round() as u32,
    );
    let mut out = image::imageops::resize(&img, w, h, FilterType::Triangle);
    for p in out.pixels_mut() {
        let a = u16::from(p.0[3]);
        for c in 0..3 {
            if let Some(v) = (u16::from(p.0[c]) * 255 + a / 2).checked_div(a) {
                p.0[c] = v.min(255) as u8;
            }
        }
    }
    out
}

/// `fg` composed over `bg` at `(x0, y0)`: the flat picture and the true alpha of each
/// of its pixels.
pub fn over(fg: &RgbaImage, bg: &RgbaImage, x0: u32, y0: u32) -> (RgbaImage, Vec<u8>) {
    let mut out = bg.clone();
    let mut alpha = vec![0u8; (bg.width() * bg.height()) as usize];
    for (x, y, p) in fg.enumerate_pixels() {
        let (bx, by) = (x + x0, y + y0);
        if bx >= bg.width() || by >= bg.height() {
            continue;
        }
        let a = f32::from(p.0[3]) / 255.0;
        let q = out.get_pixel_mut(bx, by);
        for c in 0..3 {
            q.0[c] = (f32::from(p.0[c]) * a + f32::from(q.0[c]) * (1.0 - a)).round() as u8;
        }
        alpha[(by * bg.width() + bx) as usize] = p.0[3];
    }
    (out, alpha)
}

pub fn plain(w: u32, h: u32, rgb: [u8; 3]) -> RgbaImage {
    RgbaImage::from_pixel(w, h, Rgba([rgb[0], rgb[1], rgb[2], 255]))
}

/// A painted landscape backdrop: a sky gradient, a wavy line of hills, textured ground,
/// broad brush-like colour variation and fine noise, different for every `seed`.
pub fn painted(w: u32, h: u32, seed: u32) -> RgbaImage {
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 1000) as f32 / 1000.0
    };
    let tau = std::f32::consts::TAU;
    let phase = [rnd() * tau, rnd() * tau, rnd() * tau];
    let (wf, hf) = (w as f32, h as f32);
    RgbaImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / wf, y as f32 / hf);
        let hill = 0.45 + 0.08 * (u * 9.0 + phase[0]).sin() + 0.04 * (u * 23.0 + phase[1]).sin();
        let ground = 0.78 + 0.03 * (u * 5.0 + phase[2]).sin();
        let mut c = if v < hill {
            // Sky: deep blue at the top, pale near the hills.
            let t = v / hill;
            [110.0 + 110.0 * t, 160.0 + 70.0 * t, 235.0 - 10.0 * t]
        } else if v < ground {
            [70.0, 140.0 - 40.0 * (v - hill), 60.0]
        } else {
            [150.0, 110.0, 70.0]
        };
        // Brush strokes: broad, slanted variation of each channel.
        let stroke = ((x as f32 * 0.07 + y as f32 * 0.03 + phase[1]).sin()
            * (y as f32 * 0.05 - x as f32 * 0.02 + phase[2]).cos())
            * 18.0;
        c = [c[0] + stroke, c[1] + stroke * 0.6, c[2] - stroke * 0.4];
        let n = (rnd() - 0.5) * 20.0;
        let px = c.map(|v| (v + n).clamp(0.0, 255.0) as u8);
        Rgba([px[0], px[1], px[2], 255])
    })
}

/// A soft-edged disc painted into `img` (a sun, a bush): scenery, not the subject.
pub fn paint_disc(img: &mut RgbaImage, cx: f32, cy: f32, r: f32, rgb: [u8; 3]) {
    for (x, y, p) in img.enumerate_pixels_mut() {
        let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
        let a = (r + 0.5 - d).clamp(0.0, 1.0);
        for (c, &v) in rgb.iter().enumerate() {
            p.0[c] = (f32::from(v) * a + f32::from(p.0[c]) * (1.0 - a)).round() as u8;
        }
    }
}

pub fn png_bytes(img: &RgbaImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

pub fn jpeg_bytes(img: &RgbaImage, quality: u8) -> Vec<u8> {
    let rgb = image::DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&rgb)
        .expect("jpeg");
    out.into_inner()
}

/// IoU of two alpha masks at alpha ≥ 128, over the pixels where `counted` holds.
pub fn iou_where(a: &[u8], b: &[u8], counted: impl Fn(usize) -> bool) -> f32 {
    let (mut inter, mut union) = (0usize, 0usize);
    for i in 0..a.len() {
        if !counted(i) {
            continue;
        }
        let (p, q) = (a[i] >= 128, b[i] >= 128);
        inter += usize::from(p && q);
        union += usize::from(p || q);
    }
    inter as f32 / union.max(1) as f32
}

pub fn iou(a: &[u8], b: &[u8]) -> f32 {
    iou_where(a, b, |_| true)
}

pub fn alpha_of(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4).map(|p| p[3]).collect()
}
