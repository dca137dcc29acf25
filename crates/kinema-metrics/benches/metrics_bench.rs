//! All metrics for a 48-frame 512×512 clip; the budget is under one second on two cores.
//!
//! Run with `cargo bench -p kinema-metrics`. Prints the best and median of several runs
//! for a sprite clip (transparent background) and a fully opaque, textured clip.

use std::time::{Duration, Instant};

use kinema_core::{Clip, Frame, Placement};
use kinema_metrics::evaluate;

fn texture(x: f32, y: f32, phase: f32) -> u8 {
    let mut v = 128.0;
    for k in 0..8 {
        let angle = k as f32 * 0.785 + 0.3;
        let f = std::f32::consts::TAU / (9.0 * 1.37f32.powi(k));
        v += 14.0 * ((x * angle.cos() + y * angle.sin()) * f + k as f32 + phase).sin();
    }
    v.clamp(0.0, 255.0) as u8
}

/// A 256 px textured disc circling on a 512² canvas, optionally over a textured backdrop.
fn clip(opaque_background: bool) -> (Clip, Frame) {
    let (size, radius) = (512u32, 128.0f32);
    let mut reference = Frame::new(256, 256);
    for y in 0..256 {
        for x in 0..256 {
            let (dx, dy) = (x as f32 - radius, y as f32 - radius);
            if dx * dx + dy * dy <= radius * radius {
                let (xf, yf) = (x as f32, y as f32);
                reference.set_pixel(x, y, [texture(xf, yf, 0.0), texture(xf, yf, 2.0), 90, 255]);
            }
        }
    }
    let frames = (0..48)
        .map(|i| {
            let t = std::f32::consts::TAU * i as f32 / 48.0;
            let (ox, oy) = (
                (128.0 + 60.0 * t.cos()) as i64,
                (128.0 + 60.0 * t.sin()) as i64,
            );
            let mut f = Frame::new(size, size);
            for y in 0..size {
                for x in 0..size {
                    let (sx, sy) = (x as i64 - ox, y as i64 - oy);
                    let p = if (0..256).contains(&sx) && (0..256).contains(&sy) {
                        reference.pixel(sx as u32, sy as u32)
                    } else {
                        [0, 0, 0, 0]
                    };
                    if p[3] > 0 {
                        f.set_pixel(x, y, p);
                    } else if opaque_background {
                        f.set_pixel(x, y, [texture(x as f32, y as f32, 4.0), 120, 60, 255]);
                    }
                }
            }
            f
        })
        .collect();
    let clip = Clip {
        frames,
        fps: 24,
        looping: true,
        pixel_art: false,
        placement: Placement::default(),
    };
    (clip, reference)
}

/// CPU seconds this process has used (user + system), from /proc; `None` off Linux.
///
/// Other builds share the machine, so wall time alone overstates the cost: CPU time over
/// the thread count is what an idle two-core machine would take.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// 16-colour 64 px pixel art shown 4x, hopping across a 512² canvas: exercises the
/// palette-escape path, which only runs for references with a palette.
fn pixel_art_clip() -> (Clip, Frame) {
    let mut reference = Frame::new(64, 64);
    for y in 8..60u32 {
        for x in 16..48u32 {
            let shade = ((x / 4 + y / 6) % 4) as u8 * 40;
            let band = (y / 13) as u8;
            reference.set_pixel(x, y, [60 + shade, 40 + band * 50, 200 - shade, 255]);
        }
    }
    let frames = (0..48)
        .map(|i| {
            let (ox, oy) = (64 + 4 * (i % 12) as u32, 100 + 4 * ((i / 12) % 2) as u32);
            let mut f = Frame::new(512, 512);
            for y in 0..256u32 {
                for x in 0..256u32 {
                    let p = reference.pixel(x / 4, y / 4);
                    if p[3] > 0 {
                        f.set_pixel(ox + x, oy + y, p);
                    }
                }
            }
            f
        })
        .collect();
    let clip = Clip {
        frames,
        fps: 12,
        looping: true,
        pixel_art: true,
        placement: Placement::default(),
    };
    (clip, reference)
}

/// Builds one bench clip and its reference image.
type MakeClip = fn() -> (Clip, Frame);

fn main() {
    println!("rayon threads: {}", rayon::current_num_threads());
    let cases: [(&str, MakeClip); 3] = [
        ("sprite on transparent", || clip(false)),
        ("fully opaque textured", || clip(true)),
        ("4x pixel art, palette", pixel_art_clip),
    ];
    for (name, make) in cases {
        let (clip, reference) = make();
        let mut times: Vec<Duration> = Vec::new();
        let mut last = None;
        let cpu_start = cpu_seconds();
        let runs = 5;
        for _ in 0..runs {
            let start = Instant::now();
            last = Some(evaluate(&clip, &reference).expect("bench clip is valid"));
            times.push(start.elapsed());
        }
        let cpu_per_run = match (cpu_start, cpu_seconds()) {
            (Some(a), Some(b)) => format!("{:.0} ms", (b - a) / runs as f64 * 1e3),
            _ => "n/a".to_string(),
        };
        times.sort();
        let r = last.expect("ran at least once");
        println!(
            "48x512x512 {name}: wall best {:.0} ms, median {:.0} ms; CPU {cpu_per_run} per run (mean flow {:.2} px, dynamic {}, seam {:.2}, palette escape {:?})",
            times[0].as_secs_f64() * 1e3,
            times[times.len() / 2].as_secs_f64() * 1e3,
            r.dynamic.mean_flow_px,
            r.dynamic.dynamic,
            r.loop_seam.unwrap_or(f64::NAN),
            r.palette_escape
        );
    }
}
