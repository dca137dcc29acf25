//! Animated WebP written by libwebp must read back exactly, through libwebp and through
//! the pure-Rust decoder in the `image` crate (what other tools will use).

use std::io::Cursor;
use std::path::Path;

use kinema_core::{Clip, Frame, Placement};
use kinema_media::webp::{decode_webp, read_webp, write_webp, write_webp_with, WebpOptions};

fn sample_walk() -> Clip {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/characters");
    let frames = (0..8)
        .map(|i| {
            let img = image::open(dir.join(format!("femaleAdventurer_walk{i}.png")))
                .unwrap()
                .to_rgba8();
            Frame::from_rgba(img.width(), img.height(), img.into_raw()).unwrap()
        })
        .collect();
    Clip {
        frames,
        fps: 12,
        looping: true,
        pixel_art: false,
        placement: Placement::default(),
    }
}

#[test]
fn lossless_webp_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("walk.webp");
    let clip = sample_walk();
    let size = write_webp(&path, &clip, None, false).unwrap();
    assert_eq!(size, std::fs::metadata(&path).unwrap().len());

    let back = read_webp(&path).unwrap();
    assert_eq!(back.frames.len(), clip.frames.len());
    assert_eq!(back.fps, 12);
    assert!(back.looping, "loop count 0 = forever");
    for (a, b) in back.frames.iter().zip(&clip.frames) {
        assert_eq!(a, b, "lossless keeps every byte, alpha included");
    }

    let anim = decode_webp(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(anim.loop_count, 0);
    let expected: Vec<u32> = (1..=8u64).map(|i| ((i * 1000 + 6) / 12) as u32).collect();
    assert_eq!(anim.end_times_ms, expected);

    // An independent decoder agrees on frames, delays and loop count. image-webp only
    // honours "dispose to background" once told the background colour; libwebp (and so
    // browsers) dispose to transparent, which is what we ask for too.
    let bytes = std::fs::read(&path).unwrap();
    let mut dec = image_webp::WebPDecoder::new(Cursor::new(bytes)).unwrap();
    dec.set_background_color([0, 0, 0, 0]).unwrap();
    assert!(dec.is_animated() && dec.has_alpha());
    assert_eq!(dec.num_frames(), 8);
    assert_eq!(dec.loop_count(), image_webp::LoopCount::Forever);
    let mut buf = vec![0; dec.output_buffer_size().unwrap()];
    let mut t = 0u32;
    for (i, want) in clip.frames.iter().enumerate() {
        t += dec.read_frame(&mut buf).unwrap();
        assert_eq!(t, expected[i], "image-webp timestamp {i}");
        assert!(buf == want.rgba, "image-webp frame {i} differs");
    }
}

#[test]
fn loop_count_and_lossy_quality_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let clip = sample_walk();
    let lossless = dir.path().join("a.webp");
    let lossy = dir.path().join("b.webp");
    write_webp_with(
        &lossless,
        &clip,
        &WebpOptions {
            quality: None,
            loop_count: 2,
        },
        false,
    )
    .unwrap();
    let small = write_webp_with(
        &lossy,
        &clip,
        &WebpOptions {
            quality: Some(50.0),
            loop_count: 1,
        },
        false,
    )
    .unwrap();
    assert_eq!(
        decode_webp(&std::fs::read(&lossless).unwrap())
            .unwrap()
            .loop_count,
        2
    );
    let back = decode_webp(&std::fs::read(&lossy).unwrap()).unwrap();
    assert_eq!(back.loop_count, 1);
    assert!(!read_webp(&lossy).unwrap().looping);
    assert_eq!(back.frames.len(), 8);
    // Lossy keeps the silhouette: alpha stays close even if colours move.
    let diff: u64 = back.frames[0]
        .alpha()
        .iter()
        .zip(clip.frames[0].alpha())
        .map(|(a, b)| u64::from(a.abs_diff(b)))
        .sum();
    assert!(
        diff / (clip.frames[0].pixel_count() as u64) < 8,
        "mean alpha error {diff}"
    );
    assert!(small > 0);
}

#[test]
fn single_frame_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let mut clip = sample_walk();
    clip.frames.truncate(1);
    let p = dir.path().join("one.webp");
    write_webp(&p, &clip, None, false).unwrap();
    let back = read_webp(&p).unwrap();
    assert_eq!(back.frames, clip.frames);

    let e = write_webp(&p, &clip, None, false).unwrap_err();
    assert!(e.to_string().contains("--force"), "{e}");
    write_webp(&p, &clip, None, true).unwrap();

    let junk = dir.path().join("junk.webp");
    std::fs::write(&junk, b"RIFF\0\0\0\0WEBPjunkjunk").unwrap();
    let e = read_webp(&junk).unwrap_err();
    assert!(e.to_string().contains("junk.webp"), "{e}");
    assert!(read_webp(&dir.path().join("missing.webp")).is_err());
}
