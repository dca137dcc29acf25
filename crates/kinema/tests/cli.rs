//! The `kinema` binary as a user runs it: outputs decode, bad input fails cleanly with a
//! hint and no output file, nothing is overwritten without --force.

mod common;

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

use common::{fails, kinema, s, sample, stderr};

#[test]
fn generate_writes_every_format_and_a_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (mp4, gif, apng, frames) = (
        dir.path().join("a.mp4"),
        dir.path().join("a.gif"),
        dir.path().join("a.png"),
        dir.path().join("f/"),
    );
    let o = kinema(&[
        "generate",
        "--image",
        &sample("femaleAdventurer_idle.png"),
        "--prompt",
        "waves hello",
        "--frames",
        "12",
        "--fps",
        "12",
        "--out",
        &s(&mp4),
        "--out",
        &s(&gif),
        "--out",
        &s(&apng),
        "--out",
        &s(&frames),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON summary");
    assert_eq!(summary["outputs"].as_array().unwrap().len(), 4);
    assert_eq!(summary["actions"][0]["frames"], 12);
    assert_eq!(summary["actions"][0]["fps"], 12);
    assert!(
        summary["actions"][0]["understood"]
            .to_string()
            .contains("wave"),
        "{summary}"
    );
    assert!(summary["timings"]["total_ms"].as_f64().unwrap() > 0.0);
    for path in [&mp4, &gif, &apng, &frames] {
        let clip =
            kinema_media::read_clip(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(clip.len(), 12, "{}", path.display());
        assert_eq!(clip.fps, 12, "{}", path.display());
    }
    assert!(frames.join("frame_0011.png").is_file());
    // Every format has the same pixel size; MP4 only rounds odd sides up to even.
    let mp4_clip = kinema_media::read_clip(&mp4).unwrap();
    let apng_clip = kinema_media::read_clip(&apng).unwrap();
    assert_eq!(mp4_clip.width() % 2, 0);
    assert_eq!(mp4_clip.height() % 2, 0);
    assert_eq!(mp4_clip.width(), apng_clip.width().next_multiple_of(2));
    assert_eq!(mp4_clip.height(), apng_clip.height().next_multiple_of(2));
    for w in summary["outputs"].as_array().unwrap() {
        assert_eq!(
            w["width"].as_u64().unwrap(),
            u64::from(apng_clip.width()).next_multiple_of(if w["format"] == "mp4" { 2 } else { 1 }),
            "{w}"
        );
    }
    // The video shows the character on white, not an empty canvas.
    let first = &mp4_clip.frames[0];
    let inked = first
        .rgba
        .chunks_exact(4)
        .filter(|p| p[0].min(p[1]).min(p[2]) < 200)
        .count();
    assert!(
        inked * 20 > first.pixel_count(),
        "MP4 frame 0 is nearly blank ({inked} dark pixels)"
    );
    assert_eq!(summary["outputs"][0]["format"], "mp4");
    if let Ok(o) = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_streams", &s(&mp4)])
        .output()
    {
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("codec_name=h264") && text.contains("pix_fmt=yuv420p"),
            "{text}"
        );
        // 12 fps plays at 24 fps in MP4: each frame shown twice, none invented.
        assert!(text.contains("nb_read_frames=24"), "{text}");
        assert!(text.contains("r_frame_rate=24/1"), "{text}");
    }
}

#[test]
fn existing_outputs_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.gif");
    std::fs::write(&out, b"mine").unwrap();
    let args = [
        "generate",
        "--image",
        &sample("slimeBlue.png"),
        "--prompt",
        "bounce",
        "--frames",
        "4",
        "--out",
        &s(&out),
    ];
    let o = kinema(&args);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"mine");
    let mut forced = args.to_vec();
    forced.push("--force");
    let o = kinema(&forced);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(kinema_media::read_clip(&out).unwrap().len(), 4);
}

#[test]
fn same_seed_gives_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let p = dir.path().join(name);
        let o = kinema(&[
            "generate",
            "--image",
            &sample("alienBlue_front.png"),
            "--prompt",
            "dance",
            "--frames",
            "8",
            "--seed",
            "7",
            "--out",
            &s(&p),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(p).unwrap()
    };
    assert_eq!(run("a.png"), run("b.png"));
}

#[test]
fn bad_arguments_are_refused_with_a_hint_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.gif");
    let img = sample("femaleAdventurer_idle.png");
    let o = s(&out);
    let base = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = ["generate", "--image", &img, "--prompt", "wave", "--out", &o]
            .iter()
            .map(|x| x.to_string())
            .collect();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let cases: &[(&[&str], &str)] = &[
        (&["--frames", "0"], "frames"),
        (&["--frames", "lots"], "frames"),
        (&["--frames", "99999999"], "frames"),
        (&["--fps", "0"], "fps"),
        (&["--fps", "-3"], "fps"),
        (&["--size", "0x0"], "size"),
        (&["--size", "100000x100000"], "size"),
        (&["--size", "big"], "size"),
        (&["--duration", "0"], "duration"),
        (&["--scale", "0"], "scale"),
        (&["--background", "blurple"], "colour"),
        (&["--box", "1,2,3"], "4 numbers"),
        (&["--box", "1,2,0,5"], "empty"),
        (&["--box", "90,120,50,50"], "outside the 96x128 image"),
    ];
    for (extra, word) in cases {
        let args = base(extra);
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        fails(&refs, word, &out);
    }
    fails(
        &["generate", "--image", &img, "--prompt", "  ", "--out", &o],
        "prompt",
        &out,
    );
    let e = fails(
        &["generate", "--image", &img, "--prompt", "wavv", "--out", &o],
        "wave",
        &out,
    );
    assert!(e.contains("hint"), "{e}");
    fails(
        &[
            "generate",
            "--image",
            &img,
            "--prompt",
            "wave",
            "--out",
            &s(&dir.path().join("x.avi")),
        ],
        ".mp4",
        &dir.path().join("x.avi"),
    );
    let unwritable = dir.path().join("no/such/dir/x.gif");
    fails(
        &[
            "generate",
            "--image",
            &img,
            "--prompt",
            "wave",
            "--out",
            &s(&unwritable),
        ],
        "",
        &unwritable,
    );
}

fn png_bytes(w: u32, h: u32, rgba: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut enc = png::Encoder::new(&mut buf, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(rgba).unwrap();
    buf
}

/// A PNG whose header claims a huge size: a decompression bomb must be refused from the header.
fn bomb_png() -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    v.extend_from_slice(&13u32.to_be_bytes());
    v.extend_from_slice(&ihdr);
    v.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // A little compressed data and the end marker: structurally complete, so only the
    // claimed size can make a decoder refuse it.
    for (kind, body) in [
        (
            &b"IDAT"[..],
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01][..],
        ),
        (b"IEND", &[]),
    ] {
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(body);
        v.extend_from_slice(&(body.len() as u32).to_be_bytes());
        v.extend_from_slice(&chunk);
        v.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    v
}

#[test]
fn bad_images_are_refused_with_a_hint_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.mp4");
    let o = s(&out);
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        s(&p)
    };
    let good = std::fs::read(sample("slimeBlue.png")).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (s(&dir.path().join("missing.png")), "missing.png"),
        (
            write("truncated.png", &good[..good.len() / 2]),
            "truncated.png",
        ),
        (
            write("garbage.png", b"this is not an image at all, just text"),
            "format",
        ),
        (
            write("clear.png", &png_bytes(16, 16, &[0u8; 16 * 16 * 4])),
            "transparent",
        ),
        (write("dot.png", &png_bytes(1, 1, &[255, 0, 0, 255])), "1x1"),
        (write("bomb.png", &bomb_png()), "100000"),
    ];
    for (image, word) in &cases {
        fails(
            &[
                "generate", "--image", image, "--prompt", "wave", "--out", &o,
            ],
            word,
            &out,
        );
    }
}

#[test]
fn generate_says_how_it_read_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hit.gif");
    let o = kinema(&[
        "generate",
        "--image",
        &sample("slimeBlue.png"),
        "--prompt",
        "gets hit and falls down",
        "--frames",
        "24",
        "--out",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read as: hurt → die (8 + 16 frames)\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn actions_lists_english_and_chinese_words() {
    let o = kinema(&["actions"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for word in [
        "idle",
        "walk",
        "wave",
        "attack",
        "挥手",
        "走",
        "shoot",
        "射箭",
        "quadruped",
    ] {
        assert!(text.contains(word), "`{word}` missing from:\n{text}");
    }
}

fn sample_motions() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/motions")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn actions_lists_user_motions_with_their_kinds() {
    let motions = sample_motions();
    let o = kinema(&["actions", "--motions", &motions]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let row = text
        .lines()
        .find(|l| l.starts_with("prowl "))
        .unwrap_or_else(|| panic!("no prowl row in:\n{text}"));
    assert!(
        row.contains("yes") && row.contains("humanoid,body_chain") && row.contains("悄悄走"),
        "{row}"
    );
    assert!(text.contains("prowl (prowl.toml)"), "{text}");
    let o = kinema(&["actions", "--motions", &motions, "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let prowl = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "prowl")
        .unwrap();
    assert_eq!(prowl["kinds"][0]["kind"], "humanoid");
    assert_eq!(prowl["kinds"][0]["events"][0]["name"], "footstep");
    assert_eq!(prowl["kinds"][1]["root_motion"]["forward"], 0.15);
    let walk = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "walk");
    assert_eq!(walk.unwrap()["source"], "built-in");
}

#[test]
fn generate_plays_user_motions_and_names_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prowl.gif");
    let img = sample("femaleAdventurer_idle.png");
    let motions = sample_motions();
    let o = kinema(&[
        "generate",
        "--image",
        &img,
        "--motions",
        &motions,
        "--prompt",
        "prowls then waves",
        "--frames",
        "8",
        "--fps",
        "8",
        "--out",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(kinema_media::read_clip(&out).unwrap().len(), 8);

    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    let text = std::fs::read_to_string(Path::new(&motions).join("prowl.toml")).unwrap();
    std::fs::write(
        broken.join("prowl.toml"),
        text.replace("[0.25, 16.0], [0.5, 0.0]", "[0.5, 16.0], [0.25, 0.0]"),
    )
    .unwrap();
    let out2 = dir.path().join("never.gif");
    let err = fails(
        &[
            "generate",
            "--image",
            &img,
            "--motions",
            &s(&broken),
            "--prompt",
            "prowl",
            "--out",
            &s(&out2),
        ],
        "keys are out of order",
        &out2,
    );
    assert!(
        err.contains("prowl.toml:") && err.contains("key `kinds.humanoid.keys.leg_l[2]`"),
        "{err}"
    );
    let o = kinema(&["serve", "--addr", "127.0.0.1:0", "--motions", &s(&broken)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("keys are out of order"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rig_json_can_be_edited_and_fed_back() {
    let dir = tempfile::tempdir().unwrap();
    let rig = dir.path().join("hero.rig.json");
    let overlay = dir.path().join("overlay.png");
    let img = sample("femaleAdventurer_idle.png");
    let o = kinema(&[
        "rig",
        "--image",
        &img,
        "--out",
        &s(&rig),
        "--overlay",
        &s(&overlay),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&rig).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(json.to_string().contains("head"), "{json}");
    assert!(kinema_media::read_clip(&overlay).is_ok());
    let clip = dir.path().join("w.gif");
    let o = kinema(&[
        "generate",
        "--image",
        &img,
        "--rig",
        &s(&rig),
        "--prompt",
        "wave",
        "--frames",
        "6",
        "--out",
        &s(&clip),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A rig that does not fit the picture is refused by name, before anything is written.
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        text.replacen('{', "{\"nonsense\": 1, ", 1)
            .replace("\"x\":", "\"x\": 99999, \"_x\":"),
    )
    .unwrap();
    let clip2: PathBuf = dir.path().join("w2.gif");
    fails(
        &[
            "generate",
            "--image",
            &img,
            "--rig",
            &s(&broken),
            "--prompt",
            "wave",
            "--out",
            &s(&clip2),
        ],
        "rig",
        &clip2,
    );
}

#[test]
fn eval_prints_every_metric_for_a_generated_clip() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("c.png");
    let img = sample("ladybug.png");
    let o = kinema(&[
        "generate",
        "--image",
        &img,
        "--prompt",
        "walk",
        "--loop",
        "--frames",
        "12",
        "--out",
        &s(&clip),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = kinema(&["eval", "--clip", &s(&clip), "--reference", &img, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // A looping walk starts mid-stride, so frame 0 is close to, not equal to, the input.
    assert!(r["ssim"].as_f64().unwrap() > 0.8, "{r}");
    assert!(r["identity_min"].as_f64().unwrap() > 0.9, "{r}");
    assert!(r["dynamic"]["dynamic"].as_bool().unwrap(), "{r}");
    assert!(r["loop_seam"].as_f64().unwrap() < 1.6, "{r}");
    // Without --json, every figure is worded for people, the JSON key only in brackets.
    let o = kinema(&["eval", "--clip", &s(&clip), "--reference", &img]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    for line in [
        "First frame",
        "your image",
        "Colours kept",
        "Movement",
        "moves clearly",
        "Loop seam",
        "12 frames at 12 fps",
        "[flicker",
    ] {
        assert!(text.contains(line), "`{line}` missing from\n{text}");
    }
    assert!(!text.contains("pairs >"), "{text}");
}
