//! `kinema generate --engine opensora` on the committed tiny random-weight Open-Sora 2.0
//! folder (release layout): an APNG with alpha and the frames asked for comes out (a count
//! that is not 4k+1 is generated at the next 4k+1 and trimmed); a release not pulled yet
//! names the pull command; an incomplete folder names what it lacks.

mod common;

use std::path::Path;

use common::{kinema_hub as kinema, root};

#[test]
fn opensora_engine_writes_an_apng_with_alpha_and_the_frames_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let o = kinema(
        &[
            "generate",
            "--engine",
            "opensora",
            "--model",
            &root("crates/kinema-diffusion/tests/models/tiny-opensora"),
            "--image",
            &root("samples/characters/slimeBlue.png"),
            "--prompt",
            "the slime bounces",
            "--frames",
            "3",
            "--steps",
            "2",
            "--motion-score",
            "6",
            "--image-guidance",
            "2.5",
            "--resolution",
            "64",
            "--seed",
            "7",
            "--out",
            &out.to_string_lossy(),
            "--json",
        ],
        None,
    );
    assert!(
        o.status.success(),
        "kinema failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    common::assert_keyed_apng(&out, 3);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let understood = &summary["actions"][0]["understood"];
    assert_eq!(understood["engine"], "opensora", "{summary}");
    assert_eq!(understood["frames"]["requested"], 3);
    assert_eq!(understood["frames"]["generated"], 5);
    assert_eq!(understood["motion_score"], 6);
    assert_eq!(understood["image_guidance"], 2.5);
    assert_eq!(
        understood["model_prompt"],
        "the slime bounces. 24 FPS. 6 motion score."
    );
    assert_eq!(understood["timesteps"].as_array().unwrap().len(), 3);
}

#[test]
fn a_missing_opensora_model_names_the_pull_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let hf = dir.path().join("hf");
    let o = kinema(
        &[
            "generate",
            "--engine",
            "opensora",
            "--image",
            &root("samples/characters/slimeBlue.png"),
            "--prompt",
            "waves",
            "--out",
            &out.to_string_lossy(),
        ],
        Some(&hf),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("kinema models pull hpcai-tech/Open-Sora-v2"),
        "{err}"
    );
    assert!(!out.exists());

    // A release folder without its text encoders names them and the repos to pull.
    let partial = dir.path().join("Open-Sora-v2");
    std::fs::create_dir_all(&partial).unwrap();
    for f in ["Open_Sora_v2.safetensors", "hunyuan_vae.safetensors"] {
        std::fs::copy(
            Path::new(&root("crates/kinema-diffusion/tests/models/tiny-opensora")).join(f),
            partial.join(f),
        )
        .unwrap();
    }
    let o = kinema(
        &[
            "generate",
            "--engine",
            "opensora",
            "--model",
            &partial.to_string_lossy(),
            "--image",
            &root("samples/characters/slimeBlue.png"),
            "--prompt",
            "waves",
            "--out",
            &out.to_string_lossy(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("google/t5-v1_1-xxl/config.json"), "{err}");
    assert!(
        err.contains("kinema models pull google/t5-v1_1-xxl"),
        "{err}"
    );
    assert!(!out.exists());

    // An opensora-only flag on another engine is refused by name.
    let o = kinema(
        &[
            "generate",
            "--image",
            &root("samples/characters/slimeBlue.png"),
            "--prompt",
            "runs",
            "--motion-score",
            "3",
            "--out",
            &out.to_string_lossy(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--motion-score"), "{err}");
}
