//! Loading opaque character pictures: plain-background matting and the graph cut.
//!
//! `cargo bench -p kinema-media --bench matting_bench`. Prints the median wall time of
//! `decode_character` (decode + matting, what `generate` pays before rendering) for a
//! character on white at 512², and for "photos" (the character on a painted backdrop,
//! which takes the graph-cut path) at 512² and 1024².

#[path = "../tests/matting_support/mod.rs"]
mod matting_support;

use std::time::{Duration, Instant};

use kinema_media::{decode_character, LoadOptions};
use matting_support::{iou, jpeg_bytes, over, painted, plain, png_bytes, scaled};

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn bench(label: &str, bytes: &[u8], truth: &[u8], runs: usize) {
    let c = decode_character(bytes, label, &LoadOptions::default()).expect("extracts");
    let alpha: Vec<u8> = c.image.rgba.chunks_exact(4).map(|p| p[3]).collect();
    let t = median(runs, || {
        decode_character(bytes, label, &LoadOptions::default()).expect("extracts");
    });
    println!(
        "{label:<34} median {:>7.1} ms  (IoU {:.3})",
        t.as_secs_f64() * 1000.0,
        iou(&alpha, truth)
    );
}

fn main() {
    for side in [512u32, 1024] {
        let hero = scaled("femaleAdventurer_idle.png", side as f32 * 0.75 / 128.0);
        let (x0, y0) = ((side - hero.width()) / 2, (side - hero.height()) / 2);
        let runs = if side > 512 { 5 } else { 9 };
        let (flat, truth) = over(&hero, &plain(side, side, [255, 255, 255]), x0, y0);
        bench(
            &format!("on white, PNG, {side}²"),
            &png_bytes(&flat),
            &truth,
            runs,
        );
        bench(
            &format!("on white, JPEG q88, {side}²"),
            &jpeg_bytes(&flat, 88),
            &truth,
            runs,
        );
        let (photo, truth) = over(&hero, &painted(side, side, 7), x0, y0);
        bench(
            &format!("photo (graph cut), PNG, {side}²"),
            &png_bytes(&photo),
            &truth,
            runs,
        );
        bench(
            &format!("photo (graph cut), JPEG q88, {side}²"),
            &jpeg_bytes(&photo, 88),
            &truth,
            runs,
        );
    }
}
