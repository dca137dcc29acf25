//! The three provider engines against their loopback fakes: every documented state, the
//! retry rules, cancel, resume, moderation, expired links, and the clip that comes back.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kinema_core::{Character, ClipSpec, Engine, ErrorKind, Job, Progress};
use kinema_providers::testing::{FakeProvider, Injected, Script, Step, Vendor};
use kinema_providers::{FileJournal, Journal, ProviderEngine, ProviderOptions, TaskJournal};
use serde_json::json;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name)
}

fn hero() -> Character {
    kinema_media::load_character(&sample("femaleAdventurer_idle.png"), &Default::default())
        .expect("sample loads")
}

fn spec(frames: u32, fps: u32) -> ClipSpec {
    ClipSpec {
        frames,
        fps,
        seed: 0,
        looping: false,
    }
}

fn engine(vendor: Vendor, options: ProviderOptions) -> ProviderEngine {
    FakeProvider::shared(vendor);
    ProviderEngine::new(vendor.engine(), options).expect("engine builds")
}

fn run(
    engine: &ProviderEngine,
    prompt: &str,
    spec: &ClipSpec,
) -> kinema_core::Result<kinema_core::Generation> {
    let character = hero();
    engine.generate(
        Job {
            character: &character,
            prompt,
            spec,
        },
        &|_| {},
    )
}

/// Runs `prompt` on `vendor`'s default model after scripting its first create answer.
fn refused_create(vendor: Vendor, prompt: &str, answer: Injected) -> kinema_core::Error {
    FakeProvider::shared(vendor).script(
        prompt,
        Script {
            create_failures: vec![answer],
            ..Script::default()
        },
    );
    run(
        &engine(vendor, ProviderOptions::default()),
        prompt,
        &spec(12, 12),
    )
    .unwrap_err()
}

fn statuses(fake: &FakeProvider, prompt: &str, method: &str) -> Vec<u16> {
    fake.requests(prompt)
        .iter()
        .filter(|l| l.method == method && !l.path.starts_with("/files"))
        .map(|l| l.status)
        .collect()
}

fn opaque(frame: &kinema_core::Frame) -> usize {
    frame.rgba.chunks_exact(4).filter(|p| p[3] == 255).count()
}

/// Transparent around the character, opaque on it: keyed back to alpha. The video was
/// compressed, so a few edge pixels may come back partly transparent.
fn assert_keyed(frame: &kinema_core::Frame) {
    let corner = frame.pixel(1, 1);
    assert_eq!(corner[3], 0, "corners are keyed out: {corner:?}");
    let (got, drawn) = (opaque(frame), opaque(&hero().image));
    assert!(
        got * 100 >= drawn * 85 && got <= drawn * 11 / 10,
        "opaque pixels {got} vs {drawn} drawn"
    );
}

#[test]
fn runway_walks_every_state_and_retries_only_what_is_safe() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "runway: waves hello";
    fake.script(
        prompt,
        Script {
            create_failures: vec![
                Injected::new(429, json!({"error": "Too many requests"})).retry_after(2)
            ],
            poll_failures: vec![(1, Injected::new(500, json!({"error": "internal"})))],
            steps: vec![
                Step::Queued,
                Step::Throttled,
                Step::Running(0.3),
                Step::Running(0.8),
                Step::Succeeded,
            ],
            expired_links: 1,
            ..Script::default()
        },
    );
    let e = engine(Vendor::Runway, ProviderOptions::default());
    let stages = std::sync::Mutex::new(Vec::new());
    let character = hero();
    let g = e
        .generate(
            Job {
                character: &character,
                prompt,
                spec: &spec(24, 12),
            },
            &|p: Progress| {
                let mut s = stages.lock().unwrap();
                if s.last() != Some(&p.stage) {
                    s.push(p.stage);
                }
            },
        )
        .expect("generates");
    assert_eq!(
        statuses(fake, prompt, "POST"),
        [429, 200],
        "429 retried, once"
    );
    assert!(
        statuses(fake, prompt, "GET").contains(&500),
        "a 500 poll was retried"
    );
    let downloads: Vec<u16> = fake
        .requests(prompt)
        .iter()
        .filter(|l| l.path.starts_with("/files"))
        .map(|l| l.status)
        .collect();
    assert_eq!(
        downloads,
        [403, 200],
        "an expired link is replaced by a fresh one"
    );
    let stages = stages.into_inner().unwrap();
    for s in [
        "submitting",
        "queued",
        "throttled",
        "generating",
        "downloading",
        "keying",
    ] {
        assert!(stages.contains(&s), "stage {s} reported: {stages:?}");
    }
    let body = fake.created_body(prompt).unwrap();
    assert_eq!(body["model"], "gen4_turbo");
    assert_eq!(
        body["ratio"], "832:1104",
        "the nearest shape to the hero's 160x192 box"
    );
    assert_eq!(body["duration"], 2);
    assert!(
        body.get("seed").is_none(),
        "Kinema's default seed is not forwarded"
    );
    // The picture sent is the hero on a key colour, not stretched.
    let pic = fake.received_picture(prompt).unwrap();
    assert_eq!((pic.width, pic.height), (832, 1104));
    let key = g.understood["key_colour"]["rgb"].clone();
    let corner = pic.pixel(0, 0);
    assert_eq!(json!([corner[0], corner[1], corner[2]]), key);

    let clip = &g.clip;
    assert_eq!((clip.len(), clip.fps), (24, 12));
    assert_eq!(
        (clip.width(), clip.height()),
        (160, 192),
        "the hero's own scale, with margin"
    );
    assert_eq!((clip.placement.x, clip.placement.y), (32, 32));
    for f in &clip.frames {
        assert_keyed(f);
    }
    // The fake's hero bobs twice a second: at 12 fps frames 0 and 6 match, 0 and 2 differ.
    let diff = |a: usize, b: usize| {
        clip.frames[a]
            .rgba
            .iter()
            .zip(&clip.frames[b].rgba)
            .filter(|(x, y)| x != y)
            .count()
    };
    assert!(diff(0, 2) > diff(0, 6), "the motion survives resampling");
    assert!(g.understood["task_id"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(
        g.understood["video"]["frames"], 48,
        "2 s at 24 fps delivered"
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn a_real_mp4_from_a_fake_becomes_an_apng_with_alpha_and_a_godot_sheet() {
    let prompt = "runway: hops to an apng";
    let e = engine(Vendor::Runway, ProviderOptions::default());
    let g = run(&e, prompt, &spec(8, 8)).expect("generates");
    let dir = tempfile::tempdir().unwrap();
    let apng = dir.path().join("hop.png");
    let target = kinema_media::parse_output(&apng).unwrap();
    kinema_media::write_clip(&g.clip, &target, &kinema_media::EncodeOptions::default()).unwrap();
    let back = kinema_media::read_clip(&apng).unwrap();
    assert_eq!(back.len(), 8);
    assert_keyed(&back.frames[0]);
    let options = kinema_media::sheet::SheetOptions {
        atlases: vec![kinema_media::sheet::AtlasFormat::Godot],
        ..Default::default()
    };
    let sheet = dir.path().join("hop-sheet.png");
    let files = kinema_media::sheet::write_sheet(
        &sheet,
        &[kinema_media::sheet::Animation::new("hop", &g.clip)],
        &options,
        false,
    )
    .unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "tres")),
        "{files:?}"
    );
    let tres = std::fs::read_to_string(
        files
            .iter()
            .find(|f| f.extension().unwrap() == "tres")
            .unwrap(),
    )
    .unwrap();
    assert!(tres.contains("\"hop\""), "{tres}");
}

#[test]
fn moderation_failures_show_the_providers_code_and_message() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "runway: something moderated";
    fake.script(
        prompt,
        Script {
            steps: vec![
                Step::Running(0.1),
                Step::Failed {
                    code: "SAFETY.INPUT.IMAGE".into(),
                    message: "Input image was flagged".into(),
                },
            ],
            ..Script::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(FileJournal::new(dir.path().join("j.json")));
    let e = engine(
        Vendor::Runway,
        ProviderOptions {
            journal: Some(Journal(journal.clone())),
            ..Default::default()
        },
    );
    let err = run(&e, prompt, &spec(12, 12)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message
            .contains("SAFETY.INPUT.IMAGE: Input image was flagged"),
        "{err}"
    );
    assert!(
        journal.all().unwrap().is_empty(),
        "a failed task is not resumed"
    );
}

#[test]
fn a_lost_create_answer_is_never_resent_blindly() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "runway: create answer lost";
    fake.script(
        prompt,
        Script {
            lose_create_answer: Some(Injected::new(500, json!({"error": "internal"}))),
            ..Script::default()
        },
    );
    let e = engine(Vendor::Runway, ProviderOptions::default());
    let err = run(&e, prompt, &spec(12, 12)).unwrap_err();
    assert!(err.message.contains("may have been accepted"), "{err}");
    assert_eq!(fake.create_requests(prompt), 1, "sent once");
}

#[test]
fn an_unwinding_generation_cancels_the_task() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "runway: cancelled by the service";
    let hold = Arc::new(AtomicBool::new(true));
    fake.script(
        prompt,
        Script {
            steps: vec![Step::Running(0.2), Step::Running(0.4), Step::Succeeded],
            hold: Some(hold.clone()),
            ..Script::default()
        },
    );
    let e = engine(Vendor::Runway, ProviderOptions::default());
    let character = hero();
    struct Cancelled;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        e.generate(
            Job {
                character: &character,
                prompt,
                spec: &spec(12, 12),
            },
            &|p: Progress| {
                if p.stage == "generating" {
                    std::panic::resume_unwind(Box::new(Cancelled));
                }
            },
        )
    }));
    assert!(result.is_err_and(|p| p.is::<Cancelled>()));
    assert_eq!(fake.cancels(prompt), 1, "DELETE /v1/tasks/{{id}} was sent");
}

#[test]
fn a_second_run_resumes_the_recorded_task_without_paying_again() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "runway: resumed";
    let dir = tempfile::tempdir().unwrap();
    let journal: Arc<dyn TaskJournal> = Arc::new(FileJournal::new(dir.path().join("j.json")));
    let options = ProviderOptions {
        journal: Some(Journal(journal.clone())),
        ..Default::default()
    };
    let first = run(
        &engine(Vendor::Runway, options.clone()),
        prompt,
        &spec(12, 12),
    )
    .unwrap();
    let second = run(&engine(Vendor::Runway, options), prompt, &spec(12, 12)).unwrap();
    assert_eq!(first.understood["task_id"], second.understood["task_id"]);
    assert_eq!(second.understood["resumed"], true);
    assert_eq!(fake.create_requests(prompt), 1);
}

#[test]
fn expired_links_that_stay_expired_are_a_clear_error() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "runway: expired for good";
    fake.script(
        prompt,
        Script {
            expired_links: 10,
            ..Script::default()
        },
    );
    let err = run(
        &engine(Vendor::Runway, ProviderOptions::default()),
        prompt,
        &spec(12, 12),
    )
    .unwrap_err();
    assert!(err.message.contains("has expired (HTTP 403)"), "{err}");
}

#[test]
fn capability_refusals_happen_before_any_request() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "runway: too long";
    let e = engine(Vendor::Runway, ProviderOptions::default());
    let err = run(&e, prompt, &spec(400, 24)).unwrap_err();
    assert!(err.message.contains("makes clips of"), "{err}");
    assert!(e.check(&spec(400, 24)).is_err());
    let last = ProviderOptions {
        last_image: Some(sample("femaleAdventurer_walk3.png")),
        ..Default::default()
    };
    let err = run(&engine(Vendor::Runway, last), prompt, &spec(12, 12)).unwrap_err();
    assert!(err.message.contains("takes no last frame"), "{err}");
    assert!(fake.requests(prompt).is_empty(), "nothing was sent");
    let estimate = e.estimate(&spec(48, 24)).unwrap();
    assert_eq!(estimate.usd, 0.1);
    assert!(estimate.what.contains("gen4_turbo"));
}

#[test]
fn kling_signs_its_token_retries_rate_limits_and_finds_a_lost_task() {
    let fake = FakeProvider::shared(Vendor::Kling);
    let prompt = "kling: jumps";
    fake.script(
        prompt,
        Script {
            create_failures: vec![Injected::new(
                429,
                json!({"code": 1302, "message": "too fast", "request_id": "r"}),
            )],
            lose_create_answer: Some(Injected::new(
                500,
                json!({"code": 5000, "message": "server error", "request_id": "r"}),
            )),
            steps: vec![Step::Queued, Step::Running(0.5), Step::Succeeded],
            ..Script::default()
        },
    );
    let options = ProviderOptions {
        quality: Some("pro".into()),
        negative_prompt: Some("blurry".into()),
        last_image: Some(sample("femaleAdventurer_walk3.png")),
        ..Default::default()
    };
    let g = run(&engine(Vendor::Kling, options), prompt, &spec(24, 12)).expect("generates");
    assert_eq!(
        statuses(fake, prompt, "POST"),
        [429, 500],
        "1302 retried; a 500 is not"
    );
    assert_eq!(
        fake.tasks_created(prompt),
        1,
        "the lost task was found by external_task_id"
    );
    let body = fake.created_body(prompt).unwrap();
    assert_eq!(
        (body["mode"].as_str(), body["duration"].as_str()),
        (Some("pro"), Some("5"))
    );
    assert!(body["image_tail"]
        .as_str()
        .is_some_and(|s| !s.starts_with("data:")));
    assert_eq!(body["negative_prompt"], "blurry");
    let pic = fake.received_picture(prompt).unwrap();
    assert!(
        pic.width.min(pic.height) >= 300,
        "small sprites are scaled up to Kling's minimum"
    );
    assert_eq!(g.clip.len(), 24);
    assert_keyed(&g.clip.frames[5]);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn kling_moderation_and_account_errors_say_what_happened() {
    let fake = FakeProvider::shared(Vendor::Kling);
    let body =
        |code: i64, message: &str| json!({"code": code, "message": message, "request_id": "r"});
    let err = refused_create(
        Vendor::Kling,
        "kling: refused",
        Injected::new(400, body(1301, "content security policy")),
    );
    assert!(err.message.contains("moderation (code 1301)"), "{err}");
    let prompt = "kling: broke";
    let err = refused_create(
        Vendor::Kling,
        prompt,
        Injected::new(429, body(1102, "resource pack exhausted")),
    );
    assert!(err.message.contains("because of the account"), "{err}");
    assert_eq!(
        fake.create_requests(prompt),
        1,
        "1102 is not a rate limit: not retried"
    );
}

#[test]
fn luma_loops_itself_and_takes_a_data_uri_keyframe() {
    let fake = FakeProvider::shared(Vendor::Luma);
    let prompt = "luma: idles in a loop";
    let mut s = spec(12, 12);
    s.looping = true;
    let options = ProviderOptions {
        quality: Some("540p".into()),
        ..Default::default()
    };
    let g = run(&engine(Vendor::Luma, options), prompt, &s).expect("generates");
    let body = fake.created_body(prompt).unwrap();
    assert_eq!(body["loop"], true);
    assert_eq!(
        (body["duration"].as_str(), body["resolution"].as_str()),
        (Some("5s"), Some("540p"))
    );
    assert!(body["keyframes"]["frame0"]["url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    assert_eq!(g.clip.len(), 12);
    assert!(g.clip.looping);
    let window = &g.understood["looping"]["window"];
    assert!(
        window["seam"].as_f64().unwrap() < 0.02,
        "a 0.5 s bob loops cleanly in 1 s: {window}"
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn luma_refusing_data_uris_points_at_the_upload_setting() {
    let fake = FakeProvider::shared(Vendor::Luma);
    let prompt = "luma: no data uris";
    fake.script(
        prompt,
        Script {
            refuse_data_uris: true,
            ..Script::default()
        },
    );
    let err = run(
        &engine(Vendor::Luma, ProviderOptions::default()),
        prompt,
        &spec(12, 12),
    )
    .unwrap_err();
    assert!(
        err.hint
            .unwrap_or_default()
            .contains("KINEMA_LUMA_UPLOAD_URL"),
        "{}",
        err.message
    );
}

#[test]
fn runway_loops_are_cut_at_the_best_window() {
    let prompt = "runway: loops by search";
    let mut s = spec(12, 24);
    s.looping = true;
    let g = run(
        &engine(Vendor::Runway, ProviderOptions::default()),
        prompt,
        &s,
    )
    .unwrap();
    let window = &g.understood["looping"]["window"];
    assert_eq!(g.understood["looping"]["provider_loop"], false);
    assert!(window["seam"].as_f64().unwrap() < 0.02, "{window}");
    let _ = Ordering::SeqCst;
}
