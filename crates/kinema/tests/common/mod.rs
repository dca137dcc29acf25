//! What every `kinema` binary test needs: run it, find the samples, check a failure.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn kinema(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kinema"))
        .args(args)
        .output()
        .expect("run kinema")
}

/// `rel` (relative to the repository root) as an absolute path string.
pub fn root(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Runs kinema without the user's Hugging Face token or cache override; with `hf_home`,
/// against an offline hub cache there (so a model that is not pulled is not found).
pub fn kinema_hub(args: &[&str], hf_home: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kinema"));
    cmd.args(args)
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_CACHE");
    if let Some(hf) = hf_home {
        cmd.env("HF_HOME", hf).env("HF_HUB_OFFLINE", "1");
    }
    cmd.output().expect("run kinema")
}

pub fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

pub fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a command that must fail; checks the exit code, the message and that `must_not_exist`
/// was not created.
pub fn fails(args: &[&str], expect_in_message: &str, must_not_exist: &Path) -> String {
    let o = kinema(args);
    let err = stderr(&o);
    assert!(!o.status.success(), "expected failure for {args:?}");
    assert_ne!(o.status.code(), Some(101), "panicked for {args:?}: {err}");
    assert!(
        err.to_lowercase()
            .contains(&expect_in_message.to_lowercase()),
        "message for {args:?} lacks `{expect_in_message}`:\n{err}"
    );
    assert!(
        !must_not_exist.exists(),
        "{} was written by a failed run",
        must_not_exist.display()
    );
    err
}

/// Checks that `path` is an animated RGBA PNG of `frames` frames whose every frame went
/// through the keyer. A tiny model's random weights make noise, not the picture on its key
/// colour, so most pixels come back partly transparent rather than cleanly cut out (keying
/// a faithful frame is checked in kinema-diffusion's wan_engine test, on the finishing step
/// every diffusion engine shares).
pub fn assert_keyed_apng(path: &Path, frames: usize) {
    // IHDR colour type 6 (RGBA), and an acTL chunk.
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!(bytes[25], 6, "not an RGBA PNG");
    assert!(bytes.windows(4).any(|w| w == b"acTL"), "not an APNG");
    let clip = kinema_media::read_clip(path).unwrap();
    assert_eq!(clip.len(), frames);
    for (i, frame) in clip.frames.iter().enumerate() {
        let keyed = frame.alpha().iter().filter(|&&a| a < 255).count();
        assert!(
            keyed * 2 > frame.alpha().len(),
            "frame {i}: only {keyed} pixels keyed"
        );
    }
}
