//! Shared helpers for the end-to-end tests: sample decoding and frame measurements.
#![allow(dead_code)]

use std::path::PathBuf;

use kinema_core::{Character, Clip, ClipSpec, Engine, Frame, Job};

pub const SAMPLES: [&str; 5] = [
    "femaleAdventurer_idle",
    "alienBlue_front",
    "slimeBlue",
    "ladybug",
    "bee",
];

/// Every drawn sample: the Kenney characters above and ours (`tools/samples`).
pub const ALL_SAMPLES: [&str; 9] = [
    "femaleAdventurer_idle",
    "alienBlue_front",
    "slimeBlue",
    "ladybug",
    "bee",
    "horse",
    "dog",
    "cat",
    "knight_side",
];

pub fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(format!("{name}.png"))
}

/// Decodes a sample PNG (palette, grey or RGB included) to straight RGBA8.
pub fn load(name: &str) -> Character {
    let file = std::fs::File::open(sample_path(name)).expect("sample exists");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png data");
    let px = (info.width * info.height) as usize;
    let rgba: Vec<u8> = match info.color_type {
        png::ColorType::Rgba => buf[..px * 4].to_vec(),
        png::ColorType::Rgb => buf[..px * 3]
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf[..px * 2]
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buf[..px].iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => panic!("EXPAND should have removed the palette"),
    };
    Character {
        image: Frame::from_rgba(info.width, info.height, rgba).expect("size"),
        pixel_art: false,
        name: name.into(),
    }
}

/// PSNR over RGBA of two equally sized frames, in dB (infinite when identical).
pub fn psnr(a: &Frame, b: &Frame) -> f64 {
    let mse: f64 = a
        .rgba
        .iter()
        .zip(&b.rgba)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum::<f64>()
        / a.rgba.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Mean absolute difference per channel value.
pub fn mean_abs_diff(a: &Frame, b: &Frame) -> f64 {
    a.rgba
        .iter()
        .zip(&b.rgba)
        .map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as f64)
        .sum::<f64>()
        / a.rgba.len() as f64
}

/// Share of opaque pixels (alpha > 127) in the largest 8-connected component.
pub fn dominant_share(f: &Frame) -> f64 {
    let (w, h) = (f.width as usize, f.height as usize);
    let opaque: Vec<bool> = f.rgba.chunks_exact(4).map(|p| p[3] > 127).collect();
    let total = opaque.iter().filter(|&&o| o).count();
    if total == 0 {
        return 0.0;
    }
    let mut seen = vec![false; w * h];
    let mut best = 0;
    for s in 0..w * h {
        if !opaque[s] || seen[s] {
            continue;
        }
        let mut stack = vec![s];
        seen[s] = true;
        let mut n = 0;
        while let Some(i) = stack.pop() {
            n += 1;
            let (x, y) = ((i % w) as i64, (i / w) as i64);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                        let j = ny as usize * w + nx as usize;
                        if opaque[j] && !seen[j] {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        best = best.max(n);
    }
    best as f64 / total as f64
}

/// Writes frames side by side as one RGBA PNG (for eyeballing with the ignored test).
pub fn write_strip(path: &std::path::Path, frames: &[Frame]) {
    let (w, h) = (frames[0].width, frames[0].height);
    let total_w = w * frames.len() as u32;
    let mut data = vec![0u8; (total_w * h * 4) as usize];
    for (k, f) in frames.iter().enumerate() {
        let f = f.over_color([235, 235, 240]);
        for y in 0..h {
            for x in 0..w {
                let p = f.pixel(x, y);
                let i = ((y * total_w + k as u32 * w + x) * 4) as usize;
                data[i..i + 4].copy_from_slice(&p);
            }
        }
    }
    let file = std::fs::File::create(path).expect("create png");
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), total_w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().expect("png header");
    writer.write_image_data(&data).expect("png data");
}

/// Nearest-neighbour enlargement, to inspect small sprites.
pub fn upscale(f: &Frame, k: u32) -> Frame {
    let mut out = Frame::new(f.width * k, f.height * k);
    for y in 0..out.height {
        for x in 0..out.width {
            out.set_pixel(x, y, f.pixel(x / k, y / k));
        }
    }
    out
}

/// `frames` frames of `prompt` at 12 fps on the default rig engine (panics on an error).
pub fn render(character: &Character, prompt: &str, frames: u32, seed: u64, looping: bool) -> Clip {
    let spec = ClipSpec {
        frames,
        fps: 12,
        seed,
        looping,
    };
    let job = Job {
        character,
        prompt,
        spec: &spec,
    };
    kinema_rig::RigEngine::new()
        .generate(job, &|_| {})
        .unwrap_or_else(|e| panic!("{} / {prompt}: {e}", character.name))
        .clip
}
