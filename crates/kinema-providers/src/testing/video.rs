//! The video a fake delivers: the picture it was given, the character bobbing up and down
//! on its key colour twice a second, encoded as a real H.264 MP4 by Kinema's own encoder.

use kinema_core::{Clip, Frame, Placement};
use kinema_media::resize::resize_frame;
use kinema_media::{parse_output, write_clip, EncodeOptions};

/// An MP4 of `seconds` at `fps`, with the longer side `long_side` (services deliver their
/// own resolution; the shape is the picture's).
pub fn delivered_video(picture: &Frame, seconds: u32, fps: u32, long_side: u32) -> Vec<u8> {
    let (w, h) = (f64::from(picture.width), f64::from(picture.height));
    let fit = f64::from(long_side) / w.max(h);
    let even = |v: f64| ((v * fit / 2.0).round() as u32 * 2).max(2);
    let base = resize_frame(picture, even(w), even(h), false);
    let count = (seconds * fps).max(1) as usize;
    let period = (fps / 2).max(2) as f64;
    let amplitude = (f64::from(base.height) / 24.0).max(1.0);
    let frames = (0..count)
        .map(|i| {
            let offset =
                (amplitude * (std::f64::consts::TAU * i as f64 / period).sin()).round() as i64;
            shifted(&base, offset)
        })
        .collect();
    let clip = Clip {
        frames,
        fps,
        looping: false,
        pixel_art: false,
        placement: Placement::default(),
    };
    let dir = tempfile::tempdir().expect("temp dir for the fake video");
    let path = dir.path().join("delivered.mp4");
    let target = parse_output(&path).expect("mp4 target");
    let options = EncodeOptions {
        scale: Some(1),
        ..EncodeOptions::default()
    };
    write_clip(&clip, &target, &options).expect("the fake video encodes");
    std::fs::read(&path).expect("read the fake video")
}

/// The picture moved up by `dy` rows (down when negative); the edge rows (key colour)
/// fill the gap.
fn shifted(picture: &Frame, dy: i64) -> Frame {
    let mut out = picture.clone();
    let h = i64::from(picture.height);
    for y in 0..h {
        let src = (y + dy).clamp(0, h - 1);
        for x in 0..picture.width {
            out.set_pixel(x, y as u32, picture.pixel(x, src as u32));
        }
    }
    out
}
