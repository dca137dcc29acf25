//! The `svd` engine end to end on the committed tiny random-weight Stable Video Diffusion
//! folder (`tests/models/tiny-svd`, written by tools/reference/make_tiny_model.py).
//!
//! Random weights make noise, so what is checked is the plumbing: frame count and size,
//! seeded determinism and seed sensitivity, progress, the motion conditions and where they
//! came from, the `understood` report, and the errors for folders that are not SVD.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kinema_core::{ClipSpec, Engine, Generation, Job, Progress};
use kinema_diffusion::engine::{plan, PromptMotion, SvdEngine, SvdSettings};

use common::blob;

fn tiny_model() -> PathBuf {
    common::tiny_model("tiny-svd")
}

fn settings() -> SvdSettings {
    SvdSettings {
        steps: 2,
        resolution: Some(64),
        ..SvdSettings::default()
    }
}

fn run(
    engine: &SvdEngine,
    prompt: &str,
    seed: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> Generation {
    engine
        .generate(
            Job {
                character: &blob(),
                prompt,
                spec: &ClipSpec {
                    frames: 3,
                    fps: 8,
                    seed,
                    looping: false,
                },
            },
            progress,
        )
        .unwrap()
}

#[test]
fn generates_deterministic_clips_with_motion_from_the_prompt() {
    let reader = Arc::new(|prompt: &str| {
        prompt.contains("runs").then(|| PromptMotion {
            motion_bucket: 200,
            fps_id: 4,
            reason: serde_json::json!({"action": "run"}),
        })
    });
    let engine = SvdEngine::load(&tiny_model(), settings())
        .unwrap()
        .with_motion_reader(reader);
    let steps = Mutex::new(Vec::new());
    let progress = |p: Progress| {
        if p.stage == "denoising" {
            steps.lock().unwrap().push((p.done, p.total));
        }
    };
    let a = run(&engine, "the blob runs", 7, &progress);
    assert_eq!(a.clip.len(), 3);
    let layout = plan(20, 28, 64, 8);
    for f in &a.clip.frames {
        assert_eq!((f.width, f.height), (layout.clip_width, layout.clip_height));
    }
    assert_eq!(a.clip.fps, 8);
    assert_eq!(*steps.lock().unwrap(), vec![(0, 2), (1, 2), (2, 2)]);
    let u = &a.understood;
    assert_eq!(
        (u["motion_bucket"].as_u64(), u["fps_id"].as_u64()),
        (Some(200), Some(4))
    );
    assert_eq!(u["motion_source"]["motion_bucket"], "prompt");
    assert_eq!(u["motion_source"]["prompt_reader"]["action"], "run");
    for key in [
        "steps",
        "guidance",
        "seed",
        "size",
        "memory",
        "timings_ms",
        "decode_chunk",
    ] {
        assert!(!u[key].is_null(), "understood lacks {key}: {u}");
    }
    // Visible pixels survive keying; the key-coloured margin does not all stay opaque.
    let alpha: Vec<u8> = a.clip.frames[0].alpha();
    assert!(alpha.iter().any(|&v| v > 0));

    let again = run(&engine, "the blob runs", 7, &|_| {});
    assert!(a.clip.frames == again.clip.frames, "same seed, same clip");
    let other = run(&engine, "the blob runs", 8, &|_| {});
    assert!(
        a.clip.frames != other.clip.frames,
        "another seed, another clip"
    );
    // A prompt the reader cannot place falls back to the defaults, and says so.
    let idle = run(&engine, "the blob waits", 7, &|_| {});
    assert_eq!(idle.understood["motion_bucket"], 127);
    assert_eq!(idle.understood["motion_source"]["motion_bucket"], "default");
    assert!(
        idle.clip.frames != a.clip.frames,
        "motion conditions change the clip"
    );
    // Settings win over the prompt.
    let fixed = SvdEngine::load(
        &tiny_model(),
        SvdSettings {
            motion_bucket: Some(30),
            ..settings()
        },
    )
    .unwrap()
    .with_motion_reader(Arc::new(|_: &str| None));
    let u = fixed.understand("the blob runs").unwrap();
    assert_eq!(
        (
            u["motion_bucket"].as_u64(),
            u["motion_source"]["motion_bucket"].as_str()
        ),
        (Some(30), Some("setting"))
    );
}

#[test]
fn folders_that_are_not_svd_are_named() {
    let err = SvdEngine::load(Path::new("/nonexistent/svd"), settings())
        .err()
        .unwrap();
    assert!(
        err.message.contains("is not a model folder"),
        "{}",
        err.message
    );
    let wan = common::tiny_model("wan-tiny-ti2v");
    let err = SvdEngine::load(&wan, settings()).err().unwrap();
    assert!(
        err.message.contains("WanImageToVideoPipeline")
            && err.message.contains("StableVideoDiffusionPipeline"),
        "{}",
        err.message
    );
    // A folder missing a component says which.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(tiny_model()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "unet" {
            continue;
        }
        let to = dir.path().join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir(&to).unwrap();
            for f in std::fs::read_dir(entry.path()).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
    let err = SvdEngine::load(dir.path(), settings()).err().unwrap();
    assert!(err.message.contains("unet/"), "{}", err.message);
    let err = SvdEngine::load(
        &tiny_model(),
        SvdSettings {
            steps: 0,
            ..settings()
        },
    )
    .err()
    .unwrap();
    assert!(err.message.contains("0 steps"), "{}", err.message);
}
