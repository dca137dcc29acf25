//! What a new user meets first: one set of defaults, outputs of one size, messages that
//! name the fix, `--help` that lists every format. (`kinema eval` in words: cli.rs.)

mod common;

use common::{fails, kinema, s, sample, stderr};

/// `kinema generate --image IMAGE --prompt bounce`, then `rest`.
fn bounce<'a>(image: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["generate", "--image", image, "--prompt", "bounce"];
    v.extend_from_slice(rest);
    v
}

#[test]
fn every_output_of_a_run_has_the_same_size_unless_scaled() {
    let dir = tempfile::tempdir().unwrap();
    let outs = ["a.gif", "a.png", "a.webp", "a.mp4", "f/"];
    let run = |scale: &str| -> Vec<(String, u64, u64)> {
        let mut args = vec![
            "generate".to_string(),
            "--image".into(),
            sample("femaleAdventurer_idle.png"),
            "--prompt".into(),
            "wave".into(),
            "--frames".into(),
            "3".into(),
            "--scale".into(),
            scale.into(),
            "--json".into(),
            "--force".into(),
        ];
        for o in outs {
            args.push("--out".into());
            args.push(s(&dir.path().join(format!("{scale}{o}"))));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = kinema(&refs);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["format"].as_str().unwrap().to_string(),
                    w["width"].as_u64().unwrap(),
                    w["height"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let native = run("1");
    let (_, w, h) = native[1].clone();
    for (format, fw, fh) in &native {
        // MP4 alone rounds an odd side up to even (H.264 needs even sides).
        let even = |x: u64| {
            if format == "mp4" {
                x.next_multiple_of(2)
            } else {
                x
            }
        };
        assert_eq!((*fw, *fh), (even(w), even(h)), "{format}: {native:?}");
    }
    for (format, fw, fh) in run("2") {
        assert_eq!((fw, fh), (2 * w, 2 * h), "{format} at --scale 2");
    }
}

#[test]
fn generate_defaults_to_twelve_fps_and_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let out = s(&dir.path().join("a.png"));
    let img = sample("slimeBlue.png");
    let o = kinema(&bounce(&img, &["--out", &out, "--json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            v["actions"][0]["fps"].as_u64(),
            v["actions"][0]["frames"].as_u64()
        ),
        (Some(12), Some(24))
    );
    let help = String::from_utf8_lossy(&kinema(&["generate", "--help"]).stdout).into_owned();
    assert!(help.contains("[default: 12]"), "{help}");
    assert!(help.contains("--no-trim"), "{help}");
}

#[test]
fn missing_output_or_action_names_the_flags_that_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let img = sample("slimeBlue.png");
    let nothing = dir.path().join("nothing");
    let e = fails(&bounce(&img, &[]), "--sheet", &nothing);
    assert!(e.contains("--out"), "{e}");
    let out = dir.path().join("a.gif");
    let e = fails(
        &["generate", "--image", &img, "--out", &s(&out)],
        "--actions",
        &out,
    );
    assert!(e.contains("--prompt"), "{e}");
    let o = kinema(&["generate", "--image", &img, "--out", &s(&out)]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_output_below_a_file_says_so_instead_of_advising_mkdir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    std::fs::write(&file, b"mine").unwrap();
    let img = sample("slimeBlue.png");
    for below in ["x.gif", "sub/x.gif", "frames/"] {
        let target = file.join(below);
        let out = format!("{}/{below}", file.display());
        let e = fails(
            &bounce(&img, &["--out", &out]),
            "a.png is a file, not a folder",
            &target,
        );
        assert!(!e.contains("mkdir"), "{e}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
}

#[test]
fn help_lists_every_output_format_and_atlas() {
    let top = String::from_utf8_lossy(&kinema(&["--help"]).stdout).into_owned();
    let generate = String::from_utf8_lossy(&kinema(&["generate", "--help"]).stdout).into_owned();
    for help in [&top, &generate] {
        for word in [
            ".mp4", ".gif", ".png", ".webp", "frames", "sheet", "Godot", "Unity",
        ] {
            assert!(
                help.to_lowercase().contains(&word.to_lowercase()),
                "`{word}` missing from\n{help}"
            );
        }
    }
    for atlas in ["texturepacker", "aseprite", "godot", "unity"] {
        assert!(generate.contains(atlas), "{atlas} missing from\n{generate}");
    }
    let batch = String::from_utf8_lossy(&kinema(&["batch", "--help"]).stdout).into_owned();
    for word in ["gif", "mp4", "apng", "webp", "frames", "sheet"] {
        assert!(batch.contains(word), "`{word}` missing from\n{batch}");
    }
}
