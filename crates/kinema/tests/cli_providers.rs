//! `kinema generate`, `batch` and `engines` with the video services, against their
//! loopback fakes (whose base URLs and keys this process puts in the environment the
//! `kinema` children inherit): cost consent, capability refusals before any request,
//! a missing key, Ctrl-C cancelling the provider's task, and kill -9 resuming a batch.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kinema_providers::testing::{FakeProvider, Script, Step, Vendor};

fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn kinema() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kinema"));
    // Not a terminal: consent must come from flags.
    c.stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    kinema().args(args).output().expect("run kinema")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn generate_args<'a>(prompt: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "generate", "--engine", "runway", "--prompt", prompt, "--frames", "12", "--fps", "12",
        "--out", out,
    ];
    args.extend_from_slice(extra);
    args
}

fn image() -> String {
    sample("femaleAdventurer_idle.png")
}

fn with_image<'a>(mut args: Vec<&'a str>, image: &'a str) -> Vec<&'a str> {
    args.extend_from_slice(&["--image", image]);
    args
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn held(fake: &FakeProvider, prompt: &str) -> Arc<AtomicBool> {
    let hold = Arc::new(AtomicBool::new(true));
    fake.script(
        prompt,
        Script {
            steps: vec![Step::Queued, Step::Running(0.3), Step::Succeeded],
            hold: Some(hold.clone()),
            ..Script::default()
        },
    );
    hold
}

#[test]
fn runway_clip_becomes_an_apng_with_alpha_and_a_godot_sheet_with_the_task_id_in_json() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bow.png").to_string_lossy().into_owned();
    let sheet = dir
        .path()
        .join("bow-sheet.png")
        .to_string_lossy()
        .into_owned();
    let prompt = "cli: the hero bows";
    let img = image();
    let args = with_image(
        generate_args(
            prompt,
            &out,
            &["--sheet", &sheet, "--atlas", "godot", "--json", "--yes"],
        ),
        &img,
    );
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let understood = &report["actions"][0]["understood"];
    assert!(
        understood["task_id"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{report}"
    );
    assert_eq!(understood["model"], "gen4_turbo");
    assert!(
        stderr(&o).contains("estimate: Runway gen4_turbo"),
        "{}",
        stderr(&o)
    );
    let clip = kinema_media::read_clip(Path::new(&out)).unwrap();
    assert_eq!(clip.len(), 12);
    let f = &clip.frames[0];
    assert_eq!(f.pixel(0, 0)[3], 0, "transparent around the hero");
    assert!(
        f.rgba.chunks_exact(4).any(|p| p[3] == 255),
        "opaque on the hero"
    );
    assert!(dir.path().join("bow-sheet.tres").exists());
    assert_eq!(fake.create_requests(prompt), 1);
}

#[test]
fn paying_needs_consent_when_there_is_no_terminal() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.png").to_string_lossy().into_owned();
    let prompt = "cli: consent first";
    let img = image();
    let o = run(&with_image(generate_args(prompt, &out, &[]), &img));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("about $0.10") && err.contains("--yes") && err.contains("--max-cost"),
        "{err}"
    );
    let o = run(&with_image(
        generate_args(prompt, &out, &["--max-cost", "0.05"]),
        &img,
    ));
    assert!(
        stderr(&o).contains("is over --max-cost 0.05"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        fake.create_requests(prompt),
        0,
        "nothing was sent without consent"
    );
    assert!(!Path::new(&out).exists());
    let o = run(&with_image(
        generate_args(prompt, &out, &["--max-cost", "0.50"]),
        &img,
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fake.create_requests(prompt), 1);
}

#[test]
fn refusals_happen_before_any_request_and_name_the_fix() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.png").to_string_lossy().into_owned();
    let prompt = "cli: refused";
    let img = image();
    let last = sample("femaleAdventurer_walk3.png");
    let o = run(&with_image(
        generate_args(prompt, &out, &["--yes", "--last-image", &last]),
        &img,
    ));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("takes no last frame") && stderr(&o).contains("seedance2"),
        "{}",
        stderr(&o)
    );
    let o = run(&with_image(
        vec![
            "generate",
            "--engine",
            "wan",
            "--prompt",
            "x",
            "--out",
            &out,
            "--last-image",
            &last,
        ],
        &img,
    ));
    assert!(
        stderr(&o).contains("--last-image is not supported by the `wan` engine"),
        "{}",
        stderr(&o)
    );
    let too_long = [
        "generate", "--engine", "runway", "--prompt", prompt, "--frames", "400", "--fps", "24",
        "--out", &out, "--yes",
    ];
    let o = run(&with_image(too_long.to_vec(), &img));
    assert!(stderr(&o).contains("makes clips of"), "{}", stderr(&o));
    let o = kinema()
        .args(with_image(generate_args(prompt, &out, &["--yes"]), &img))
        .env_remove("RUNWAYML_API_SECRET")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(
        err.contains("RUNWAYML_API_SECRET is not set") && err.contains("dev.runwayml.com"),
        "{err}"
    );
    assert_eq!(fake.create_requests(prompt), 0);
    assert!(!Path::new(&out).exists());
}

#[test]
fn ctrl_c_cancels_the_providers_task_and_writes_nothing() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "cli: interrupted";
    let _hold = held(fake, prompt);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.png").to_string_lossy().into_owned();
    let img = image();
    let child = kinema()
        .args(with_image(generate_args(prompt, &out, &["--yes"]), &img))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the task to run", || fake.polls(prompt) >= 2);
    // The shell's builtin `kill`: present wherever `sh` is, unlike /bin/kill.
    let sent = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("was cancelled"), "{}", stderr(&o));
    assert_eq!(
        fake.cancels(prompt),
        1,
        "DELETE /v1/tasks/{{id}} reached Runway"
    );
    assert!(!Path::new(&out).exists());
}

fn batch_manifest(dir: &Path, prompt: &str) -> PathBuf {
    let path = dir.join("batch.toml");
    std::fs::write(
        &path,
        format!(
            "[defaults]\nengine = \"runway\"\nfps = 8\nframes = 8\nformats = [\"apng\"]\n\
             [[character]]\nname = \"hero\"\nimage = {:?}\n[[action]]\nname = \"bow\"\nprompt = {prompt:?}\n",
            image()
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_batch_killed_mid_task_resumes_it_without_paying_again() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "cli batch: resumed after kill -9";
    let hold = held(fake, prompt);
    let dir = tempfile::tempdir().unwrap();
    let manifest = batch_manifest(dir.path(), prompt);
    let manifest = manifest.to_string_lossy().into_owned();
    let mut child: Child = kinema()
        .args(["batch", &manifest, "--yes", "--jobs", "1"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = dir.path().join("out/.kinema-batch.json");
    wait_for("the task id in the state file", || {
        std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"task_id\": \""))
            && fake.requests(prompt).iter().any(|l| l.method == "GET")
    });
    child.kill().unwrap();
    child.wait().unwrap();
    hold.store(false, Ordering::SeqCst);
    let o = run(&["batch", &manifest, "--yes", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["done"], 1, "{summary}");
    assert!(summary["jobs"][0]["provider_tasks"][0]["task_id"].is_string());
    assert_eq!(fake.create_requests(prompt), 1, "resumed by polling");
    let o = run(&["batch", &manifest]);
    assert!(
        o.status.success(),
        "up to date: no consent needed: {}",
        stderr(&o)
    );
}

#[test]
fn engines_lists_every_engine_with_what_it_needs() {
    FakeProvider::shared(Vendor::Runway);
    let o = kinema()
        .args(["engines", "--json"])
        .env_remove("LUMAAI_API_KEY")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["rig", "wan", "svd", "opensora", "runway", "luma", "kling"]
    );
    let by_name = |n: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == n)
            .unwrap()
    };
    assert_eq!(by_name("runway")["available"], true);
    assert_eq!(by_name("luma")["available"], false);
    assert!(by_name("luma")["unavailable"]
        .as_str()
        .unwrap()
        .contains("LUMAAI_API_KEY"));
    let o = run(&["engines"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("runway") && text.contains("from $0.050/s"),
        "{text}"
    );
}
