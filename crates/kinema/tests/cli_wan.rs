//! `kinema generate --engine wan` on the committed tiny random-weight Wan2.2 TI2V model: a
//! real MP4 comes out and decodes; a missing model folder fails with exit 2, a hint and no
//! file.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::root;
use std::time::Instant;

fn kinema<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kinema"))
        .args(args)
        .output()
        .expect("run kinema")
}

/// `generate --engine wan --model MODEL` of the slime bouncing: 5 frames, 2 steps, `--json`.
fn bounce_args(model: &str, out: &std::path::Path) -> Vec<String> {
    [
        "generate",
        "--engine",
        "wan",
        "--model",
        model,
        "--image",
        &root("samples/characters/slimeBlue.png"),
        "--prompt",
        "bounces",
        "--frames",
        "5",
        "--steps",
        "2",
        "--out",
        &out.to_string_lossy(),
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn wan_engine_writes_a_decodable_mp4() {
    // Wan2.2 TI2V layout, and Wan2.1 I2V with its CLIP image encoder.
    for model in ["wan-tiny-ti2v", "wan-tiny-i2v"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("slime.mp4");
        let started = Instant::now();
        let model = root(&format!("crates/kinema-diffusion/tests/models/{model}"));
        let o = kinema(&bounce_args(&model, &out));
        let elapsed = started.elapsed();
        assert!(
            o.status.success(),
            "kinema failed with {model}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        eprintln!("tiny wan generate ({model}) took {elapsed:?}");
        let clip = kinema_media::read_clip(&out).unwrap();
        assert_eq!(clip.len(), 5);
        assert!(clip.width() > 0 && clip.height() > 0);
        let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let text = summary.to_string();
        assert!(text.contains("\"steps\":2"), "{text}");
    }
}

#[test]
fn missing_model_folder_fails_with_a_hint_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.mp4");
    let o = kinema(&[
        "generate",
        "--engine",
        "wan",
        "--model",
        &dir.path().join("no-such-model").to_string_lossy(),
        "--image",
        &root("samples/characters/slimeBlue.png"),
        "--prompt",
        "bounces",
        "--out",
        &out.to_string_lossy(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("hint"), "{err}");
    assert!(!out.exists(), "a failed run wrote {}", out.display());
}

#[test]
fn a_model_not_pulled_yet_names_the_pull_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.mp4");
    let o = Command::new(env!("CARGO_BIN_EXE_kinema"))
        .args([
            "generate",
            "--engine",
            "wan",
            "--image",
            &root("samples/characters/slimeBlue.png"),
            "--prompt",
            "bounces",
            "--out",
            &out.to_string_lossy(),
        ])
        .env("HF_HOME", dir.path().join("hf"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("kinema models pull Wan-AI/Wan2.2-TI2V-5B-Diffusers"),
        "{err}"
    );
    assert!(!out.exists(), "a failed run wrote {}", out.display());
}

/// The whole path a user takes with a hub model: `kinema models pull` from a hub (a fake
/// one on loopback serving the committed tiny model's files), then `generate --model
/// org/name` resolves the cached snapshot, offline, and writes a clip.
#[test]
fn pull_the_tiny_model_from_a_hub_then_generate_by_repo_id() {
    use kinema_models::testing::{fake_commit, FakeHub, FakeRepo, RepoFile};

    let model_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kinema-diffusion/tests/models/wan-tiny-ti2v");
    let mut files = Vec::new();
    let mut stack = vec![model_dir.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(&model_dir).unwrap();
            files.push(RepoFile {
                path: rel.to_string_lossy().replace('\\', "/"),
                lfs: path.extension().is_some_and(|e| e == "safetensors"),
                data: std::fs::read(&path).unwrap(),
            });
        }
    }
    let repo = "kinema-test/wan-tiny-ti2v";
    let hub = FakeHub::start(vec![FakeRepo {
        id: repo.into(),
        commit: fake_commit("wan-tiny"),
        files,
        token: None,
    }]);
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str], offline: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kinema"));
        cmd.args(args)
            .env("HF_HOME", home.path())
            .env("HF_ENDPOINT", &hub.endpoint)
            .env_remove("HF_HUB_CACHE")
            .env_remove("HF_TOKEN");
        if offline {
            cmd.env("HF_HUB_OFFLINE", "1");
        } else {
            cmd.env_remove("HF_HUB_OFFLINE");
        }
        cmd.output().expect("run kinema")
    };
    let o = run(&["models", "pull", repo], false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let out = home.path().join("slime.gif");
    let args = bounce_args(repo, &out);
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let clip = kinema_media::read_clip(&out).expect("the GIF decodes");
    assert_eq!(clip.len(), 5);
    // The engine's own account of the run reaches --json: steps and measured memory.
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let understood = &report["actions"][0]["understood"];
    assert_eq!(understood["steps"], 2, "{understood}");
    assert!(
        understood.to_string().contains("peak"),
        "no memory figures in {understood}"
    );
}
