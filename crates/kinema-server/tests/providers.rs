//! Paid engines through the service, against the providers' loopback fakes: availability
//! in /v1/engines, a task from submit to sheet with its provider task id, cancelling a
//! running task at the provider, the per-token spend limit, and refusals at submit time.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kinema_providers::testing::{FakeProvider, Script, Step, Vendor};
use serde_json::{json, Value};
use support::{error_code, serve};

const LONG: Duration = Duration::from_secs(60);

#[tokio::test]
async fn engines_say_which_can_run_here_with_capabilities_and_prices() {
    FakeProvider::shared(Vendor::Runway);
    let s = serve(|_| {});
    let v: Value = s.get(None, "/v1/engines").await.json().await.unwrap();
    let engines = v["engines"].as_array().unwrap();
    let names: Vec<&str> = engines
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["rig", "wan", "svd", "opensora", "runway", "luma", "kling"]
    );
    let runway = engines.iter().find(|e| e["name"] == "runway").unwrap();
    assert_eq!(runway["kind"], "service");
    assert_eq!(
        runway["available"], true,
        "the key is in the server's environment"
    );
    assert_eq!(runway["usd_per_second_from"], 0.05);
    assert_eq!(runway["capabilities"]["alpha"], "keyed");
    assert!(runway["models"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "gen4.5"));
    assert_eq!(engines[0]["available"], true);
    for e in engines {
        assert_eq!(e["available"] == false, e["unavailable"].is_string(), "{e}");
    }
}

#[tokio::test]
async fn a_runway_task_ends_with_its_provider_task_id_and_a_sheet() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let s = serve(|_| {});
    let image = s.upload_id(None).await;
    let prompt = "service: hero bows";
    let body = json!({"image": image, "engine": "runway", "prompt": prompt, "frames": 8, "fps": 8,
        "outputs": ["apng", "sheet"], "atlases": ["godot"]});
    let r = s.submit(None, &body).await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = s.wait(None, &id, LONG).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let tasks = done["provider_tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{done}");
    assert_eq!(tasks[0]["provider"], "runway");
    assert!(tasks[0]["task_id"].as_str().is_some_and(|t| !t.is_empty()));
    let formats: Vec<&str> = done["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["format"].as_str())
        .collect();
    assert!(
        formats.contains(&"apng") && formats.contains(&"godot"),
        "{formats:?}"
    );
    assert_eq!(fake.create_requests(prompt), 1);
}

#[tokio::test]
async fn cancelling_a_running_task_cancels_it_at_the_provider() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "service: cancelled while generating";
    let hold = Arc::new(AtomicBool::new(true));
    fake.script(
        prompt,
        Script {
            steps: vec![Step::Running(0.1), Step::Running(0.2), Step::Succeeded],
            hold: Some(hold.clone()),
            ..Script::default()
        },
    );
    let s = serve(|_| {});
    let image = s.upload_id(None).await;
    let body = json!({"image": image, "engine": "runway", "prompt": prompt, "frames": 8, "fps": 8});
    let id = s.submit(None, &body).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let start = std::time::Instant::now();
    while fake.tasks_created(prompt) == 0 {
        assert!(
            start.elapsed() < LONG,
            "the task never reached the provider"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = s
        .client
        .delete(s.url(&format!("/v1/tasks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    while fake.cancels(prompt) == 0 {
        assert!(start.elapsed() < LONG, "no DELETE reached the provider");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hold.store(false, Ordering::SeqCst);
    let ended = s.wait(None, &id, LONG).await;
    assert_eq!(ended["status"], "CANCELLED");
}

#[tokio::test]
async fn a_tokens_spend_limit_is_enforced_at_submit() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "service: spend limit";
    let hold = Arc::new(AtomicBool::new(true));
    fake.script(
        prompt,
        Script {
            hold: Some(hold.clone()),
            ..Script::default()
        },
    );
    // Two seconds of gen4_turbo cost $0.10: one fits under $0.15, two do not.
    let s = serve(|c| c.spend_limit_usd = Some(0.15));
    let image = s.upload_id(None).await;
    let body =
        json!({"image": image, "engine": "runway", "prompt": prompt, "frames": 16, "fps": 8});
    assert_eq!(s.submit(None, &body).await.status(), 202);
    let (status, code) = error_code(s.submit(None, &body).await).await;
    assert_eq!((status, code.as_str()), (402, "spend_limit_exceeded"));
    // Free engines are never limited.
    let free =
        json!({"image": image, "prompt": "waves hello", "frames": 4, "fps": 8, "outputs": ["gif"]});
    assert_eq!(s.submit(None, &free).await.status(), 202);
    hold.store(false, Ordering::SeqCst);
    let v: Value = s.get(None, "/v1/engines").await.json().await.unwrap();
    assert_eq!(v["limits"]["spend_limit_usd"], 0.15);
}

#[tokio::test]
async fn impossible_provider_requests_are_refused_at_submit() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let s = serve(|_| {});
    let image = s.upload_id(None).await;
    let prompt = "service: far too long";
    let body =
        json!({"image": image, "engine": "runway", "prompt": prompt, "frames": 400, "fps": 24});
    let (status, code) = error_code(s.submit(None, &body).await).await;
    assert_eq!((status, code.as_str()), (422, "not_supported_by_engine"));
    let body = json!({"image": image, "engine": "runway", "prompt": prompt, "model": "gen9"});
    let (status, _) = error_code(s.submit(None, &body).await).await;
    assert_eq!(status, 422);
    let body = json!({"image": image, "prompt": "waves hello", "model": "/etc"});
    let (_, code) = error_code(s.submit(None, &body).await).await;
    assert_eq!(
        code, "setting_not_applicable",
        "clients cannot point wan or rig at server paths"
    );
    assert_eq!(fake.create_requests(prompt), 0);
}
