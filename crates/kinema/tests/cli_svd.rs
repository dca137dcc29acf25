//! `kinema generate --engine svd` on the committed tiny random-weight Stable Video Diffusion
//! folder: an APNG with alpha comes out; a model not pulled yet names the pull command; and
//! `kinema models pull` shows SVD's licence and will not download it unaccepted.

mod common;

use std::process::Command;

use common::{kinema_hub as kinema, root};

use kinema_models::testing::{fake_commit, tiny_pipeline, FakeHub, FakeRepo};

const SVD_REPO: &str = "stabilityai/stable-video-diffusion-img2vid-xt";

#[test]
fn svd_engine_writes_an_apng_with_alpha() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let o = kinema(
        &[
            "generate",
            "--engine",
            "svd",
            "--model",
            &root("crates/kinema-diffusion/tests/models/tiny-svd"),
            "--image",
            &root("samples/characters/slimeBlue.png"),
            "--prompt",
            "bounces gently",
            "--frames",
            "3",
            "--steps",
            "2",
            "--decode-chunk",
            "2",
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
    assert_eq!(understood["engine"], "svd", "{summary}");
    assert_eq!(understood["motion_source"]["motion_bucket"], "prompt");
    assert_eq!(
        understood["motion_source"]["prompt_reader"]["action"],
        "bounce"
    );
    assert_eq!(understood["decode_chunk"], 2);
}

#[test]
fn a_missing_svd_model_names_the_pull_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let hf = dir.path().join("hf");
    let o = kinema(
        &[
            "generate",
            "--engine",
            "svd",
            "--image",
            &root("samples/characters/slimeBlue.png"),
            "--prompt",
            "runs",
            "--out",
            &out.to_string_lossy(),
        ],
        Some(&hf),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("kinema models pull {SVD_REPO}")),
        "{err}"
    );
    assert!(!out.exists());
    // An svd-only flag on another engine is refused by name.
    let o = kinema(
        &[
            "generate",
            "--image",
            &root("samples/characters/slimeBlue.png"),
            "--prompt",
            "runs",
            "--motion-bucket",
            "40",
            "--out",
            &out.to_string_lossy(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--motion-bucket"), "{err}");
}

#[test]
fn pulling_svd_shows_its_licence_and_needs_acceptance() {
    let hub = FakeHub::start(vec![FakeRepo {
        id: SVD_REPO.into(),
        commit: fake_commit("svd-cli"),
        files: tiny_pipeline(),
        token: None,
    }]);
    let home = tempfile::tempdir().unwrap();
    let pull = |extra: &[&str]| {
        let mut args = vec!["models", "pull", SVD_REPO];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_kinema"))
            .args(&args)
            .env("HF_HOME", home.path())
            .env("HF_ENDPOINT", &hub.endpoint)
            .env_remove("HF_HUB_CACHE")
            .env_remove("HF_TOKEN")
            .env_remove("HF_HUB_OFFLINE")
            .output()
            .unwrap()
    };
    // No terminal to ask on: the terms are shown and the pull is refused, untouched hub.
    let o = pull(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("Stability AI Community License"), "{err}");
    assert!(err.contains("US$1M") && err.contains("https://"), "{err}");
    assert!(err.contains("--accept-licence"), "{err}");
    assert!(hub.requests().is_empty());
    let o = pull(&["--accept-license"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Accepted once: the next pull neither asks nor shows the terms again.
    let o = pull(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("US$1M"));
}
