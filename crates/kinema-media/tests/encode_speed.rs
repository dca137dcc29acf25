//! Encoder timings for the performance budget (48 frames of 512x512 in well under 500 ms
//! for MP4). Ignored by default: run with
//! `cargo test --release -p kinema-media --test encode_speed -- --ignored --nocapture`.

use std::time::Instant;

use kinema_core::{Clip, Frame, Placement};
use kinema_media::{parse_output, write_clip, EncodeOptions};

fn moving_sprite(frames: usize, fps: u32) -> Clip {
    let (w, h) = (512u32, 512u32);
    let frames = (0..frames)
        .map(|i| {
            let mut f = Frame::new(w, h);
            let cx = 150.0 + 200.0 * i as f32 / frames as f32;
            for y in 0..h {
                for x in 0..w {
                    let d = ((x as f32 - cx).powi(2) + (y as f32 - 256.0).powi(2)).sqrt();
                    if d < 120.0 {
                        let shade = (255.0 * (1.0 - d / 160.0)) as u8;
                        f.set_pixel(x, y, [shade, (x / 2) as u8, (y / 2) as u8, 255]);
                    }
                }
            }
            f
        })
        .collect();
    Clip {
        frames,
        fps,
        looping: true,
        pixel_art: false,
        placement: Placement::default(),
    }
}

/// Process CPU time (user + system) in ms, from /proc on Linux; 0 elsewhere. Wall time on
/// a shared machine says little, CPU time says what the encoder costs.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name: state is field 0, utime 11, stime 12 (clock ticks of 10 ms).
    (ticks(11) + ticks(12)) * 10.0
}

#[test]
#[ignore]
fn encode_48_frames_of_512() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `a12.mp4`: the same 48 frames at the sprite rate, 12 fps, stored twice each to play
    // at 24 fps (96 encoded pictures, half of them unchanged repeats).
    for (name, fps) in [
        ("a.mp4", 24),
        ("a12.mp4", 12),
        ("a.gif", 24),
        ("a.png", 24),
        ("frames/", 24),
    ] {
        let clip = moving_sprite(48, fps);
        let target = parse_output(&dir.path().join(name)).expect("format");
        let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
        let mut bytes = 0;
        for _ in 0..5 {
            let (t, c) = (Instant::now(), cpu_ms());
            let w = write_clip(
                &clip,
                &target,
                &EncodeOptions {
                    force: true,
                    ..EncodeOptions::default()
                },
            )
            .expect("encodes");
            best = best.min(t.elapsed().as_secs_f64() * 1000.0);
            best_cpu = best_cpu.min(cpu_ms() - c);
            bytes = w.bytes;
        }
        println!("{name:8} 48x512x512: best of 5 {best:7.1} ms wall, {best_cpu:6.0} ms CPU (all threads), {bytes} bytes");
    }
}
