//! A motion capture (BVH) drives a request (`generate --bvh`, with a rig export) and a
//! batch (through a motion file that names it), and the batch redoes its jobs when the
//! capture changes.

use std::path::{Path, PathBuf};

use kinema_core::ClipSpec;
use kinema_jobs::batch::{run_batch, BatchOptions, JobStatus, Manifest};
use kinema_jobs::{add_capture, EngineOptions, ExportRequest, Request, What};
use kinema_media::EncodeOptions;
use kinema_rig::export::ExportFormat;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn a_capture_renders_whole_with_its_gameplay_and_exports_with_the_rig() {
    let tmp = tempfile::tempdir().unwrap();
    let capture = add_capture(
        None,
        &repo("samples/bvh/wave_hello.bvh"),
        "auto",
        "auto",
        false,
    )
    .unwrap();
    let fps = 8;
    let request = Request {
        image: repo("samples/characters/femaleAdventurer_idle.png"),
        mask: None,
        subject_box: None,
        engine: "rig".into(),
        engine_options: EngineOptions {
            motions: Some(capture.motions.clone()),
            ..EngineOptions::default()
        },
        what: What::Prompt(capture.action.clone()),
        spec: ClipSpec {
            frames: capture.frames_at(fps),
            fps,
            seed: 0,
            looping: false,
        },
        outs: vec![tmp.path().join("wave.gif")],
        sheet: None,
        export: Some(ExportRequest {
            dir: tmp.path().join("rig"),
            formats: vec![ExportFormat::Spine, ExportFormat::Godot],
        }),
        encode: EncodeOptions::default(),
    };
    let report = kinema_jobs::run(&request, &|_| {}).unwrap();
    assert_eq!(report.actions[0].frames as u32, capture.frames_at(fps));
    assert!(tmp.path().join("wave.gif").is_file());
    let names: Vec<String> = report
        .export_files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "femaleAdventurer_idle-rig.png",
            "femaleAdventurer_idle-rig.json",
            "femaleAdventurer_idle-rig.atlas",
            "femaleAdventurer_idle-rig.tscn",
            "femaleAdventurer_idle-rig_events.gd",
        ]
    );
    let spine = std::fs::read_to_string(&report.export_files[1]).unwrap();
    assert!(
        spine.contains("\"wave-hello\""),
        "the animation is named after the capture"
    );
    let gameplay = report.actions[0].gameplay.as_ref().unwrap();
    assert_eq!(gameplay.len(), report.actions[0].frames);
    // Running it again refuses to overwrite the export without --force.
    let e = kinema_jobs::run(
        &Request {
            outs: vec![tmp.path().join("again.gif")],
            ..request.clone()
        },
        &|_| {},
    )
    .unwrap_err();
    assert!(e.message.contains("already exists"), "{e}");
    assert!(!tmp.path().join("again.gif").exists());
    // Another engine cannot export a rig.
    let e = kinema_jobs::run(
        &Request {
            engine: "wan".into(),
            engine_options: EngineOptions::default(),
            ..request
        },
        &|_| {},
    )
    .unwrap_err();
    assert!(e.message.contains("--export needs the rig engine"), "{e}");
}

#[test]
fn a_batch_plays_a_capture_named_by_a_motion_file() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("mocap");
    std::fs::create_dir(&folder).unwrap();
    let bvh = std::fs::read_to_string(repo("samples/bvh/wave_hello.bvh")).unwrap();
    std::fs::write(folder.join("wave.bvh"), &bvh).unwrap();
    let motion = std::fs::read_to_string(repo("samples/mocap/mocapwave.toml"))
        .unwrap()
        .replace("../bvh/wave_hello.bvh", "wave.bvh");
    std::fs::write(folder.join("mocapwave.toml"), motion).unwrap();
    let body = format!(
        "out_dir = \"out\"\nmotions = \"mocap\"\n[defaults]\nfps = 6\nframes = 8\n\
         [[character]]\nname = \"hero\"\nimage = {:?}\n\
         [[character]]\nname = \"knight\"\nimage = {:?}\n\
         [[action]]\nactions = [\"mocapwave\"]\n",
        repo("samples/characters/femaleAdventurer_idle.png")
            .display()
            .to_string(),
        repo("samples/characters/knight_side.png")
            .display()
            .to_string(),
    );
    let path = tmp.path().join("manifest.toml");
    std::fs::write(&path, body).unwrap();
    let manifest = Manifest::load(&path).unwrap();
    let opts = BatchOptions {
        force: false,
        jobs: 2,
    };
    let first = run_batch(&manifest, &opts, &|_| {}).unwrap();
    assert_eq!((first.done, first.failed), (2, 0), "{}", first.to_text());
    assert!(tmp.path().join("out/hero/hero-mocapwave.gif").is_file());
    let again = run_batch(&manifest, &opts, &|_| {}).unwrap();
    assert_eq!(again.skipped, 2, "{}", again.to_text());
    // A changed capture is a changed input.
    let lines: Vec<&str> = bvh.lines().collect();
    let shorter = lines[..lines.len() - 10]
        .join("\n")
        .replace("Frames: 105", "Frames: 95");
    std::fs::write(folder.join("wave.bvh"), shorter).unwrap();
    let third = run_batch(&manifest, &opts, &|_| {}).unwrap();
    assert!(
        third.jobs.iter().all(|j| j.status == JobStatus::Done),
        "{}",
        third.to_text()
    );
    // A broken capture stops the batch before any job, naming the file and line.
    std::fs::write(
        folder.join("wave.bvh"),
        bvh.replace("JOINT Spine1", "JIONT Spine1"),
    )
    .unwrap();
    let e = run_batch(&manifest, &opts, &|_| {}).unwrap_err();
    assert!(
        e.message.contains("wave.bvh:") && e.message.contains("`JIONT`"),
        "{e}"
    );
}
