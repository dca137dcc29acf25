//! Every encoder written through `write_clip` and read back through `read_clip`.

use std::path::Path;

use kinema_core::{Background, Clip, ErrorKind, Frame, Placement};
use kinema_media::{
    check_targets, parse_output, read_clip, visit_video, write_clip, EncodeOptions, OutputFormat,
};

/// A smooth moving pattern: a soft-edged disc drifting over a transparent canvas, with a
/// colour gradient inside. Smooth content is what video codecs are judged on.
fn pattern(w: u32, h: u32, frames: usize, fps: u32) -> Clip {
    let frames = (0..frames)
        .map(|i| {
            let mut f = Frame::new(w, h);
            let cx = w as f32 * (0.3 + 0.4 * i as f32 / frames as f32);
            let cy = h as f32 * 0.5;
            let r = h as f32 * 0.35;
            for y in 0..h {
                for x in 0..w {
                    let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                    let a = ((r - d) / 2.0 + 0.5).clamp(0.0, 1.0);
                    let rgb = [
                        (60.0 + 150.0 * x as f32 / w as f32) as u8,
                        (40.0 + 160.0 * y as f32 / h as f32) as u8,
                        120,
                    ];
                    f.set_pixel(x, y, [rgb[0], rgb[1], rgb[2], (a * 255.0).round() as u8]);
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
        placement: Placement { x: 3, y: 4 },
    }
}

fn native() -> EncodeOptions {
    EncodeOptions {
        scale: Some(1),
        ..EncodeOptions::default()
    }
}

fn write(clip: &Clip, path: &Path, opts: &EncodeOptions) -> kinema_media::Written {
    let target = parse_output(path).expect("known format");
    check_targets(std::slice::from_ref(&target), opts.force).expect("targets ok");
    let written = write_clip(clip, &target, opts).expect("encodes");
    assert_eq!(written.frames, clip.len());
    assert!(written.bytes > 0);
    written
}

fn psnr(a: &Frame, b: &Frame) -> f64 {
    let mse = a
        .rgba
        .chunks_exact(4)
        .zip(b.rgba.chunks_exact(4))
        .flat_map(|(p, q)| (0..3).map(move |c| (f64::from(p[c]) - f64::from(q[c])).powi(2)))
        .sum::<f64>()
        / (a.pixel_count() * 3) as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

#[test]
fn apng_keeps_every_frame_and_full_alpha() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = pattern(64, 48, 10, 12);
    let w = write(
        &clip,
        &dir.path().join("hero.png"),
        &EncodeOptions::default(),
    );
    assert_eq!(
        (w.format, w.width, w.height),
        (OutputFormat::Apng, 64, 48),
        "APNG keeps native size"
    );
    let back = read_clip(&dir.path().join("hero.png")).expect("reads");
    assert_eq!(
        (back.len(), back.width(), back.height(), back.fps),
        (10, 64, 48, 12)
    );
    assert_eq!(back.frames, clip.frames, "lossless, alpha included");
}

#[test]
fn webp_written_through_write_clip_reads_back_losslessly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("clip.webp");
    let clip = pattern(40, 30, 6, 12);
    let written = write(&clip, &path, &native());
    assert_eq!(written.format, OutputFormat::Webp);
    let back = read_clip(&path).expect("reads back");
    assert_eq!(back.len(), 6);
    assert_eq!(back.fps, 12);
    for (a, b) in clip.frames.iter().zip(&back.frames) {
        // Lossless: every visible pixel and every alpha value come back exactly.
        for (p, q) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)) {
            assert_eq!(p[3], q[3]);
            if p[3] > 0 {
                assert_eq!(p, q);
            }
        }
    }
}

#[test]
fn frame_folders_round_trip_exactly_with_their_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = pattern(40, 30, 5, 8);
    let path = dir.path().join("frames/");
    write(&clip, &path, &EncodeOptions::default());
    assert!(path.join("frame_0000.png").is_file() && path.join("frame_0004.png").is_file());
    let back = read_clip(&path).expect("reads");
    assert_eq!(
        (back.len(), back.fps, back.looping, back.placement),
        (5, 8, true, clip.placement)
    );
    assert_eq!(back.frames, clip.frames);

    // Without --force an existing folder is refused; with it, stale extra frames go away.
    let shorter = pattern(40, 30, 3, 8);
    let target = parse_output(&path).expect("dir");
    let e = write_clip(&shorter, &target, &EncodeOptions::default()).expect_err("exists");
    assert_eq!(e.kind, ErrorKind::Output);
    std::fs::write(path.join("notes.txt"), b"keep me").expect("user file");
    write_clip(
        &shorter,
        &target,
        &EncodeOptions {
            force: true,
            ..EncodeOptions::default()
        },
    )
    .expect("forced");
    assert_eq!(read_clip(&path).expect("reads").len(), 3);
    assert!(
        path.join("notes.txt").is_file(),
        "other files are left alone"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no staging folder left: {leftovers:?}");
}

#[test]
fn gif_loops_with_binary_transparency_and_close_colours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = pattern(64, 48, 12, 24);
    let path = dir.path().join("hero.gif");
    write(&clip, &path, &native());
    let bytes = std::fs::read(&path).expect("read");
    assert!(
        bytes.windows(11).any(|w| w == b"NETSCAPE2.0"),
        "loop extension present"
    );
    let back = read_clip(&path).expect("reads");
    assert_eq!(
        (back.len(), back.width(), back.height(), back.fps),
        (12, 64, 48, 24)
    );
    let (mut total_err, mut opaque) = (0i64, 0i64);
    for (a, b) in clip.frames.iter().zip(&back.frames) {
        for (p, q) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)) {
            if p[3] < 128 {
                assert_eq!(q[3], 0, "holes stay transparent");
            } else {
                assert_eq!(q[3], 255);
                // A 2-D gradient has thousands of colours; 255 palette entries must stay close.
                let err = (0..3)
                    .map(|c| (i32::from(p[c]) - i32::from(q[c])).abs())
                    .max()
                    .unwrap_or(0);
                assert!(err <= 48, "{p:?} vs {q:?}");
                total_err += i64::from(err);
                opaque += 1;
            }
        }
    }
    let mean = total_err as f64 / opaque as f64;
    assert!(mean < 8.0, "mean channel error {mean:.2}");
}

#[test]
fn gif_scales_when_asked_and_flattens_onto_a_solid_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = pattern(64, 48, 3, 10);
    let opts = EncodeOptions {
        background: Background::Solid([20, 30, 40]),
        ..EncodeOptions::default()
    };
    let w = write(&clip, &dir.path().join("native.gif"), &opts);
    assert_eq!((w.width, w.height), (64, 48), "no size change unless asked");
    let opts = EncodeOptions {
        scale: Some(6),
        ..opts
    };
    let w = write(&clip, &dir.path().join("big.gif"), &opts);
    assert_eq!((w.width, w.height), (384, 288));
    let back = read_clip(&dir.path().join("big.gif")).expect("reads");
    assert_eq!(back.frames[0].pixel(0, 0), [20, 30, 40, 255]);
}

#[test]
fn mp4_decodes_back_with_high_psnr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = pattern(128, 96, 24, 24);
    let path = dir.path().join("hero.mp4");
    let w = write(&clip, &path, &native());
    assert_eq!((w.width, w.height), (128, 96));
    let back = read_clip(&path).expect("decodes");
    assert_eq!(
        (back.len(), back.width(), back.height(), back.fps),
        (24, 128, 96, 24)
    );
    let mut worst = f64::MAX;
    for (i, (a, b)) in clip.frames.iter().zip(&back.frames).enumerate() {
        let reference = a.over_color([255, 255, 255]);
        let db = psnr(&reference, b);
        assert!(db > 30.0, "frame {i}: {db:.1} dB");
        assert!(b.rgba.chunks_exact(4).all(|p| p[3] == 255));
        worst = worst.min(db);
    }
    eprintln!(
        "MP4 round trip: worst frame PSNR {worst:.1} dB, {} bytes",
        w.bytes
    );
    let head = std::fs::read(&path).expect("read");
    assert_eq!(&head[4..12], b"ftypisom");
}

#[test]
fn mp4_frames_stream_in_order_with_their_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = pattern(64, 48, 10, 20);
    let path = dir.path().join("stream.mp4");
    write(&clip, &path, &native());
    let whole = read_clip(&path).expect("decodes");
    let mut seen = Vec::new();
    let info = visit_video(&path, &mut |f| {
        seen.push((f.index, f.time, f.frame));
        Ok(())
    })
    .expect("streams");
    assert_eq!((info.width, info.height, info.frames), (64, 48, 10));
    assert!((info.seconds - 0.5).abs() < 1e-6, "{info:?}");
    for (i, (index, time, frame)) in seen.iter().enumerate() {
        assert_eq!(*index, i);
        assert!((time - i as f64 / 20.0).abs() < 1e-6, "frame {i} at {time}");
        assert_eq!(frame, &whole.frames[i], "same pixels as read_clip");
    }
    // A visitor's error stops decoding and comes back unchanged.
    let stop = visit_video(&path, &mut |f| {
        if f.index == 3 {
            Err(kinema_core::Error::internal("enough"))
        } else {
            Ok(())
        }
    });
    assert_eq!(stop.expect_err("stopped").message, "enough");
}

#[test]
fn mp4_pads_odd_sizes_to_even_and_scales_small_sprites_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let odd = pattern(65, 47, 4, 30);
    let w = write(&odd, &dir.path().join("odd.mp4"), &native());
    assert_eq!((w.width, w.height), (66, 48));
    let back = read_clip(&dir.path().join("odd.mp4")).expect("decodes");
    assert_eq!(
        (back.width(), back.height(), back.fps, back.len()),
        (66, 48, 30, 4)
    );
    let sprite = pattern(96, 128, 2, 12);
    let w = write(
        &sprite,
        &dir.path().join("native.mp4"),
        &EncodeOptions::default(),
    );
    assert_eq!(
        (w.width, w.height),
        (96, 128),
        "the same size as every other format"
    );
    let w = write(
        &sprite,
        &dir.path().join("auto.mp4"),
        &EncodeOptions {
            scale: Some(3),
            ..EncodeOptions::default()
        },
    );
    assert_eq!((w.width, w.height), (288, 384));
    // The upscaled video shows the sprite, not a blank canvas: compare with a 3x
    // nearest-neighbour enlargement of the source over white (a loose bound: the
    // encoder's filter and H.264 both blur edges).
    let back = read_clip(&dir.path().join("auto.mp4")).expect("decodes");
    for (src, got) in sprite.frames.iter().zip(&back.frames) {
        let expect =
            kinema_media::resize::resize_frame(src, 288, 384, true).over_color([255, 255, 255]);
        let db = psnr(&expect, got);
        assert!(
            db > 24.0,
            "upscaled MP4 frame is {db:.1} dB from the source"
        );
    }
}

#[test]
fn mp4_plays_sprite_rates_at_a_standard_rate_without_inventing_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (fps, stored_rate) in [(12, 24), (8, 24), (10, 30), (24, 24), (7, 7)] {
        let clip = pattern(64, 48, 6, fps);
        let path = dir.path().join(format!("at{fps}.mp4"));
        write(&clip, &path, &native());
        let repeat = (stored_rate / fps) as usize;
        // The container: `repeat` samples a frame at the standard rate, same duration.
        let bytes = std::fs::read(&path).expect("read");
        let mp4 = mp4::Mp4Reader::read_header(std::io::Cursor::new(&bytes), bytes.len() as u64)
            .expect("mp4 header");
        let track = mp4.tracks().values().next().expect("a track");
        assert_eq!(track.sample_count() as usize, 6 * repeat, "{fps} fps");
        assert!(
            (track.frame_rate() - f64::from(stored_rate)).abs() < 0.01,
            "{fps} fps plays at {}",
            track.frame_rate()
        );
        assert_eq!(track.duration().as_millis(), 6 * 1000 / u128::from(fps));
        // Reading gives back the clip's own frames and rate: nothing was invented.
        let back = read_clip(&path).expect("decodes");
        assert_eq!((back.len(), back.fps), (6, fps), "{fps} fps");
        for (i, (a, b)) in clip.frames.iter().zip(&back.frames).enumerate() {
            let db = psnr(&a.over_color([255, 255, 255]), b);
            assert!(db > 30.0, "{fps} fps, frame {i}: {db:.1} dB");
        }
    }
}

#[test]
fn existing_files_need_force_and_failed_encodes_leave_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = pattern(32, 32, 2, 10);
    let path = dir.path().join("a.gif");
    write(&clip, &path, &native());
    let target = parse_output(&path).expect("gif");
    let e = write_clip(&clip, &target, &native()).expect_err("exists");
    assert!(e.hint.is_some_and(|h| h.contains("--force")));
    write_clip(
        &clip,
        &target,
        &EncodeOptions {
            force: true,
            ..native()
        },
    )
    .expect("forced");

    // Too large for H.264: fails inside the encoder, after the temporary file exists.
    let wide = Clip {
        frames: vec![Frame::new(4000, 8)],
        fps: 10,
        looping: false,
        pixel_art: false,
        placement: Placement::default(),
    };
    let target = parse_output(&dir.path().join("wide.mp4")).expect("mp4");
    assert!(write_clip(&wide, &target, &native()).is_err());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("a.gif")],
        "no partial or temp file"
    );

    // The target's folder vanished between the check and the write.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    let target = parse_output(&sub.join("c.png")).expect("png");
    check_targets(std::slice::from_ref(&target), false).expect("fine now");
    std::fs::remove_dir(&sub).expect("rmdir");
    assert!(write_clip(&clip, &target, &native()).is_err());
    assert!(!sub.exists());
}

#[test]
fn unknown_files_are_not_clips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("x.mp4");
    std::fs::write(&p, b"definitely not a video").expect("write");
    assert!(read_clip(&p).is_err());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    assert!(read_clip(&empty).is_err());
    assert!(read_clip(&dir.path().join("missing.gif")).is_err());
}

#[test]
fn ffprobe_accepts_the_mp4_when_available() {
    let Ok(out) = std::process::Command::new("ffprobe")
        .arg("-version")
        .output()
    else {
        eprintln!("ffprobe not on PATH; skipping");
        return;
    };
    if !out.status.success() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("probe.mp4");
    write(&pattern(64, 48, 12, 24), &path, &native());
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,pix_fmt,width,height,nb_frames,r_frame_rate",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    assert!(
        text.contains("h264")
            && text.contains("yuv420p")
            && text.contains("64,48")
            && text.contains("24/1"),
        "{text}"
    );
}
