//! `kinema models list|pull|info` as a user runs them, against a fake hub on loopback.
//! Every child gets its own HF_HOME and HF_ENDPOINT, so tests can run in parallel.

use std::path::Path;
use std::process::{Command, Output};

use kinema_models::testing::{
    fake_commit, tiny_pipeline, write_files, FakeHub, FakeRepo, TINY_TEXT_ENCODER_PARAMS,
    TINY_TRANSFORMER_PARAMS, TINY_VAE_PARAMS,
};

const REPO: &str = "kinema-test/tiny-wan";

fn kinema(hf_home: &Path, endpoint: &str, extra_env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kinema"));
    cmd.args(args)
        .env("HF_HOME", hf_home)
        .env("HF_ENDPOINT", endpoint)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_OFFLINE");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().expect("run kinema")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(o)))
}

fn hub() -> FakeHub {
    FakeHub::start(vec![FakeRepo {
        id: REPO.into(),
        commit: fake_commit("cli"),
        files: tiny_pipeline(),
        token: None,
    }])
}

#[test]
fn pull_then_list_and_info_from_the_cache() {
    let hub = hub();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| kinema(home.path(), &hub.endpoint, &[], args);

    let o = run(&["models", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no models"), "{}", stdout(&o));

    let o = run(&["models", "pull", REPO]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("11 files"), "{out}");
    assert!(out.contains("--model kinema-test/tiny-wan"), "{out}");
    // Not a terminal: one progress line per file on stderr.
    assert!(stderr(&o).contains("[11/11]"), "{}", stderr(&o));
    let snapshot = home
        .path()
        .join("hub/models--kinema-test--tiny-wan/snapshots")
        .join(fake_commit("cli"));
    assert!(snapshot.join("model_index.json").is_file());

    let o = run(&["models", "pull", REPO, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["downloaded_bytes"], 0);
    assert_eq!(report["files"][0]["status"], "cached");

    let o = run(&["models", "list", "--json"]);
    let list = json(&o);
    assert_eq!(list[0]["repo"], REPO);
    assert_eq!(list[0]["complete"], true);
    assert_eq!(list[0]["pipeline"], true);
    let o = run(&["models", "list"]);
    assert!(stdout(&o).contains("complete"), "{}", stdout(&o));

    let o = run(&["models", "info", REPO, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let info = json(&o);
    assert_eq!(info["pipeline_class"], "WanPipeline");
    assert_eq!(
        info["parameters"],
        TINY_TRANSFORMER_PARAMS + TINY_VAE_PARAMS + TINY_TEXT_ENCODER_PARAMS
    );
    let o = run(&["models", "info", REPO]);
    let table = stdout(&o);
    assert!(
        table.contains("AutoencoderKLWan") && table.contains("z_dim=48"),
        "{table}"
    );

    // Offline: pull refuses with the fix, info still reads the cache.
    let offline = [("HF_HUB_OFFLINE", "1")];
    let o = kinema(
        home.path(),
        &hub.endpoint,
        &offline,
        &["models", "pull", REPO],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("HF_HUB_OFFLINE"), "{}", stderr(&o));
    let o = kinema(
        home.path(),
        &hub.endpoint,
        &offline,
        &["models", "info", REPO],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn failures_explain_themselves() {
    let hub = hub();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| kinema(home.path(), &hub.endpoint, &[], args);

    let o = run(&["models", "info", "org/name"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("hint: run `kinema models pull org/name`"),
        "{}",
        stderr(&o)
    );

    let o = run(&["models", "pull", "nobody/nothing"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("was not found"), "{}", stderr(&o));

    let o = run(&["models", "pull", "not-an-id"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("org/name"), "{}", stderr(&o));

    let empty = tempfile::tempdir().unwrap();
    let o = run(&["models", "info", &empty.path().to_string_lossy()]);
    assert!(
        stderr(&o).contains("model_index.json is missing"),
        "{}",
        stderr(&o)
    );

    let o = run(&["models", "--help"]);
    assert!(stdout(&o).contains("kinema models pull Wan-AI/Wan2.2-TI2V-5B-Diffusers"));
}

#[test]
fn info_describes_a_local_folder() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("wan");
    write_files(&model, &tiny_pipeline()).unwrap();
    let o = kinema(
        &dir.path().join("hf"),
        "http://127.0.0.1:1",
        &[],
        &["models", "info", &model.to_string_lossy(), "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let info = json(&o);
    assert_eq!(info["source"]["kind"], "local");
    let transformer = info["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "transformer")
        .unwrap()
        .clone();
    assert_eq!(transformer["parameters"], TINY_TRANSFORMER_PARAMS);
    assert_eq!(transformer["weight_files"], 2);
    assert_eq!(transformer["config"]["num_attention_heads"], 2);
}

/// `kinema engines` (and so `GET /v1/engines`, which lists the same statuses) says whether
/// `wan` can run here from the local cache alone: not before its default model is pulled,
/// with the pull command as the reason; yes right after.
#[test]
fn engines_say_wan_can_run_once_its_default_model_is_pulled() {
    let default = kinema_models::DEFAULT_MODEL;
    let hub = FakeHub::start(vec![FakeRepo {
        id: default.into(),
        commit: fake_commit("engines"),
        files: tiny_pipeline(),
        token: None,
    }]);
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| kinema(home.path(), &hub.endpoint, &[], args);
    let wan = |o: &Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", stderr(o));
        json(o)
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "wan")
            .cloned()
            .expect("wan is listed")
    };

    let before = wan(&run(&["engines", "--json"]));
    assert_eq!(before["available"], false, "{before}");
    let why = before["unavailable"].as_str().unwrap();
    assert!(
        why.contains(&format!("kinema models pull {default}")),
        "{why}"
    );

    let o = run(&["models", "pull", default]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = wan(&run(&["engines", "--json"]));
    assert_eq!(after["available"], true, "{after}");
    assert!(after.get("unavailable").is_none(), "{after}");
}
