//! `--bvh` and `--export` as a user runs them: a capture plays whole by default and its
//! rig exports for Spine and Godot; `kinema rig --export` writes the rig alone; mistakes
//! fail with a hint and write nothing.

mod common;

use common::{kinema, s, sample, stderr};

fn repo(path: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
        .display()
        .to_string()
}

#[test]
fn a_capture_plays_whole_and_exports_with_the_rig() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wave.gif");
    let rig = dir.path().join("rig/");
    let o = kinema(&[
        "generate",
        "--image",
        &sample("femaleAdventurer_idle.png"),
        "--bvh",
        &repo("samples/bvh/wave_hello.bvh"),
        "--fps",
        "6",
        "--out",
        &s(&out),
        "--export",
        "spine,godot",
        &s(&rig),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 3.47 s at 6 fps: 22 frames, one per sample of the capture, both ends included.
    assert_eq!(summary["actions"][0]["frames"], 22, "{summary}");
    assert_eq!(summary["export_files"].as_array().unwrap().len(), 5);
    for f in ["json", "atlas", "tscn", "png"] {
        assert!(
            rig.join(format!("femaleAdventurer_idle-rig.{f}")).is_file(),
            "{f}"
        );
    }
    let frames = summary["actions"][0]["gameplay"].as_array().unwrap();
    assert_eq!(frames.len(), 22);
    assert!(frames[0]["pivot"].is_array() && frames[0]["hurtbox"]["w"].as_f64().unwrap() > 0.0);
}

#[test]
fn rig_exports_alone_and_mistakes_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rig = dir.path().join("only/");
    let o = kinema(&[
        "rig",
        "--image",
        &sample("slimeBlue.png"),
        "--export",
        "godot",
        &s(&rig),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let scene = std::fs::read_to_string(rig.join("slimeBlue-rig.tscn")).unwrap();
    assert!(scene.starts_with("[gd_scene"));
    assert!(
        !rig.join("slimeBlue-rig.json").exists(),
        "only Godot was asked for"
    );

    let bad = dir.path().join("bad/");
    let gif = s(&dir.path().join("never.gif"));
    let capture = repo("samples/bvh/wave_hello.bvh");
    let bad_dir = s(&bad);
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec![
                "--prompt", "wave", "--out", &gif, "--export", "blender", &bad_dir,
            ],
            "unknown export format `blender`",
        ),
        (
            vec!["--bvh", "no/such.bvh", "--out", &gif],
            "cannot read the BVH file",
        ),
        (
            vec!["--bvh", &capture, "--bvh-plane", "top", "--out", &gif],
            "not a projection plane",
        ),
    ];
    let image = sample("femaleAdventurer_idle.png");
    for (args, says) in cases {
        let mut all = vec!["generate", "--image", &image];
        all.extend(args);
        let o = kinema(&all);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(!bad.exists() && !dir.path().join("never.gif").exists());
    }
    // A capture drives humanoids; a slime refuses it by name.
    let o = kinema(&[
        "generate",
        "--image",
        &sample("slimeBlue.png"),
        "--bvh",
        &repo("samples/bvh/wave_hello.bvh"),
        "--frames",
        "4",
        "--out",
        &s(&dir.path().join("slime.gif")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("drives humanoid rigs"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("slime.gif").exists());
}
