//! The `wan` engine end to end on the committed tiny random-weight TI2V model
//! (`tests/models/wan-tiny-ti2v`, written by tools/reference/make_tiny_model.py).
//!
//! Random weights make noise, so what is checked here is the plumbing: frame count and size,
//! seeded determinism, seed sensitivity, progress, the `understood` report, and — through the
//! engine's own finishing step applied to a perfect "model" that returns its input — that the
//! key-colour background comes back as transparency.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kinema_core::{Character, ClipSpec, Engine, Frame, Generation, Job, Progress};
use kinema_diffusion::engine::{
    choose_key, compose_canvas, finish_frames, plan, Filter, WanEngine, WanSettings,
};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tiny_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/wan-tiny-ti2v")
}

/// Decodes a PNG to straight-alpha RGBA8 (palette, grey and 16-bit expanded).
fn read_png(path: &Path) -> Frame {
    let file = std::fs::File::open(path).unwrap();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let rgba: Vec<u8> = match info.color_type {
        png::ColorType::Rgba => px.to_vec(),
        png::ColorType::Rgb => px
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => px
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => px.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    Frame::from_rgba(info.width, info.height, rgba).unwrap()
}

fn slime() -> Character {
    Character {
        image: read_png(&repo_root().join("samples/characters/slimeBlue.png")),
        pixel_art: false,
        name: "slimeBlue".into(),
    }
}

fn settings() -> WanSettings {
    WanSettings {
        steps: 2,
        resolution: 64,
        ..WanSettings::default()
    }
}

fn spec(seed: u64) -> ClipSpec {
    ClipSpec {
        frames: 6,
        fps: 12,
        seed,
        looping: false,
    }
}

/// "a slime bounces" with [`spec`]`(seed)`.
fn bounce(
    engine: &WanEngine,
    character: &Character,
    seed: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> Generation {
    engine
        .generate(
            Job {
                character,
                prompt: "a slime bounces",
                spec: &spec(seed),
            },
            progress,
        )
        .unwrap()
}

#[test]
fn generates_deterministic_clips_of_the_requested_shape() {
    let engine = WanEngine::load(&tiny_model(), settings()).unwrap();
    let character = slime();
    let steps = Mutex::new(Vec::new());
    let progress = |p: Progress| {
        if p.stage == "denoising" {
            steps.lock().unwrap().push((p.done, p.total));
        }
    };
    let run = |seed| bounce(&engine, &character, seed, &progress);
    let a = run(7);
    // 6 frames asked → 9 generated (4k+1) → the first 6 kept.
    assert_eq!(a.clip.len(), 6);
    assert_eq!(a.understood["frames"]["generated"], 9);
    let layout = plan(character.width(), character.height(), 64, 32);
    for f in &a.clip.frames {
        assert_eq!((f.width, f.height), (layout.clip_width, layout.clip_height));
    }
    assert_eq!(a.clip.placement, layout.placement);
    assert_eq!(a.clip.fps, 12);
    assert_eq!(*steps.lock().unwrap(), vec![(1, 2), (2, 2)]);
    for key in [
        "steps",
        "guidance",
        "shift",
        "seed",
        "size",
        "memory",
        "timings_ms",
    ] {
        assert!(
            !a.understood[key].is_null(),
            "understood lacks {key}: {}",
            a.understood
        );
    }
    assert_eq!(a.understood["shift"], 5.0);
    assert!(
        a.understood["memory"]["measured_peak_rss_bytes"]
            .as_u64()
            .unwrap_or(1)
            > 0
    );

    let again = run(7);
    assert!(
        a.clip.frames == again.clip.frames,
        "same seed must give the same clip"
    );
    let other = run(8);
    assert!(
        a.clip.frames != other.clip.frames,
        "another seed must give another clip"
    );
}

#[test]
fn key_colour_background_comes_back_transparent() {
    // A perfect model returns the conditioning picture for every frame; the engine's own
    // finishing step must then give back the sprite on transparency.
    let character = slime();
    let layout = plan(character.width(), character.height(), 256, 32);
    let key = choose_key(&character.image);
    let canvas = compose_canvas(&character.image, &layout, Filter::Smooth, &key);
    let frames = finish_frames(vec![canvas; 3], 2, &layout, &key, Filter::Smooth);
    assert_eq!(frames.len(), 2);
    let f = &frames[0];
    let (px, py) = (layout.placement.x as u32, layout.placement.y as u32);
    let mut outside = 0u64;
    let mut alpha_err = 0u64;
    for y in 0..f.height {
        for x in 0..f.width {
            let a = f.pixel(x, y)[3];
            let inside =
                x >= px && y >= py && x - px < character.width() && y - py < character.height();
            if !inside {
                assert!(a <= 8, "pixel ({x},{y}) outside the sprite has alpha {a}");
                outside += 1;
            } else {
                let want = character.image.pixel(x - px, y - py)[3];
                alpha_err += (a as i64 - want as i64).unsigned_abs();
            }
        }
    }
    assert!(outside > 0);
    let mean_err = alpha_err as f64 / (character.width() * character.height()) as f64;
    assert!(
        mean_err < 6.0,
        "mean alpha error inside the sprite {mean_err:.2}"
    );
}

#[test]
fn bad_requests_are_clear_errors() {
    let engine = WanEngine::load(&tiny_model(), settings()).unwrap();
    let character = slime();
    let err = engine
        .generate(
            Job {
                character: &character,
                prompt: "  ",
                spec: &spec(1),
            },
            &|_| {},
        )
        .unwrap_err();
    assert!(err.message.contains("prompt is empty"), "{}", err.message);
    let mut zero = spec(1);
    zero.frames = 0;
    let err = engine
        .generate(
            Job {
                character: &character,
                prompt: "bounce",
                spec: &zero,
            },
            &|_| {},
        )
        .unwrap_err();
    assert!(err.hint.unwrap().contains("--frames"));
    let understood = engine.understand("a slime bounces").unwrap();
    assert!(understood["prompt_tokens"].as_u64().unwrap() > 1);
    assert!(understood["negative_prompt_is_default"].as_bool().unwrap());
}

/// Writes an RGBA frame as PNG.
fn write_png(path: &Path, frame: &Frame) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), frame.width, frame.height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .unwrap()
        .write_image_data(&frame.rgba)
        .unwrap();
}

/// Frames side by side over a grey checkerboard, so transparency is visible in the docs.
fn strip_on_checkerboard(frames: &[Frame]) -> Frame {
    let (w, h) = (frames[0].width, frames[0].height);
    let mut out = Frame::new(w * frames.len() as u32, h);
    for (i, f) in frames.iter().enumerate() {
        for y in 0..h {
            for x in 0..w {
                let bg = if (x / 8 + y / 8) % 2 == 0 {
                    200u32
                } else {
                    150
                };
                let p = f.pixel(x, y);
                let a = p[3] as u32;
                let mix = |c: u8| ((c as u32 * a + bg * (255 - a) + 127) / 255) as u8;
                out.set_pixel(i as u32 * w + x, y, [mix(p[0]), mix(p[1]), mix(p[2]), 255]);
            }
        }
    }
    out
}

/// Regenerates the pictures of docs/WAN.md:
/// `cargo test -p kinema-diffusion --test wan_engine -- --ignored write_doc_images`.
#[test]
#[ignore]
fn write_doc_images() {
    let out_dir = repo_root().join("docs/img");
    std::fs::create_dir_all(&out_dir).unwrap();
    let character = slime();
    let layout = plan(character.width(), character.height(), 256, 32);
    let key = choose_key(&character.image);
    let canvas = compose_canvas(&character.image, &layout, Filter::Smooth, &key);
    write_png(&out_dir.join("wan-composed.png"), &canvas);
    let keyed = finish_frames(vec![canvas], 1, &layout, &key, Filter::Smooth);
    write_png(
        &out_dir.join("wan-keyed.png"),
        &strip_on_checkerboard(&keyed),
    );

    let engine = WanEngine::load(
        &tiny_model(),
        WanSettings {
            steps: 4,
            resolution: 128,
            ..WanSettings::default()
        },
    )
    .unwrap();
    let clip = engine
        .generate(
            Job {
                character: &character,
                prompt: "a slime bounces",
                spec: &spec(3),
            },
            &|_| {},
        )
        .unwrap()
        .clip;
    // Half size: noise compresses badly and the picture only needs to show the path runs.
    let small: Vec<Frame> = clip.frames[..4]
        .iter()
        .map(|f| {
            kinema_diffusion::pipelines::image::resize(f, f.width / 2, f.height / 2, Filter::Smooth)
        })
        .collect();
    write_png(
        &out_dir.join("wan-tiny-output.png"),
        &strip_on_checkerboard(&small),
    );
}

/// The Wan2.1 I2V layout (`tests/models/wan-tiny-i2v`): CLIP image tokens from
/// `image_encoder/`, a 16-channel VAE, the image joined as extra latent channels.
#[test]
fn runs_a_wan21_i2v_checkpoint_with_its_image_encoder() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/wan-tiny-i2v");
    let engine = WanEngine::load(&dir, settings()).unwrap();
    let character = slime();
    let stages = Mutex::new(Vec::new());
    let run = |seed| {
        bounce(&engine, &character, seed, &|p: Progress| {
            stages.lock().unwrap().push(p.stage)
        })
    };
    let a = run(3);
    assert_eq!(a.clip.len(), 6);
    let layout = plan(character.width(), character.height(), 64, 16);
    for f in &a.clip.frames {
        assert_eq!((f.width, f.height), (layout.clip_width, layout.clip_height));
    }
    assert!(stages.lock().unwrap().contains(&"encoding image"));
    assert!(a.understood["timings_ms"]["image_encoder"].is_u64());
    assert!(
        a.understood["memory"]["estimate"]["image_encoder_weights"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(a.understood["shift"], 3.0);
    assert!(a.clip.frames == run(3).clip.frames, "same seed, same clip");

    // Without its image encoder the checkpoint is refused at load, naming what is missing.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("wan-i2v");
    copy_dir(&dir, &copy);
    std::fs::remove_dir_all(copy.join("image_encoder")).unwrap();
    let err = WanEngine::load(&copy, settings()).err().unwrap();
    assert!(err.message.contains("image_encoder/"), "{}", err.message);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dst = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dst);
        } else {
            std::fs::copy(entry.path(), dst).unwrap();
        }
    }
}
