//! Every endpoint over loopback, with its success path and its errors.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{error_code, sample_bytes, serve, small_request};

const LONG: Duration = Duration::from_secs(60);

#[tokio::test]
async fn capabilities_and_actions_describe_the_server() {
    let s = serve(|_| {});
    let v: Value = s.get(None, "/v1/engines").await.json().await.unwrap();
    assert_eq!(v["engines"][0]["name"], "rig");
    assert_eq!(v["engines"][0]["default"], true);
    assert_eq!(
        v["formats"],
        json!(["mp4", "gif", "apng", "webp", "frames", "sheet"])
    );
    assert_eq!(v["atlases"].as_array().unwrap().len(), 4);
    assert_eq!(v["limits"]["max_frames"], 480);
    let v: Value = s.get(None, "/v1/actions").await.json().await.unwrap();
    let walk = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "walk")
        .expect("walk");
    assert_eq!(walk["looping"], true);
    assert!(!walk["chinese"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_servers_motion_files_join_the_catalogue_and_drive_tasks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/motions");
    let motions = kinema_rig::MotionLibrary::load(&dir).unwrap();
    let s = serve(|c| c.motions = Some(motions));
    let v: Value = s.get(None, "/v1/actions").await.json().await.unwrap();
    let prowl = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "prowl")
        .expect("the user motion is listed");
    assert_eq!(prowl["kinds"], json!(["humanoid", "body_chain"]));
    assert_eq!(prowl["looping"], true);

    let image = s.upload_id(None).await;
    for body in [
        json!({"image": image, "actions": ["prowl"], "frames": 4, "fps": 8, "size": 64,
            "outputs": ["gif"]}),
        json!({"image": image, "prompt": "悄悄走然后挥手", "frames": 4, "fps": 8, "size": 64,
            "outputs": ["gif"]}),
    ] {
        let r = s.submit(None, &body).await;
        assert_eq!(r.status(), 202);
        let v: Value = r.json().await.unwrap();
        let task = s.wait(None, v["id"].as_str().unwrap(), LONG).await;
        assert_eq!(task["status"], "SUCCEEDED", "{task}");
        // The reading `kinema generate` prints: on the task for a prompt, per clip for
        // an action set.
        if body.get("prompt").is_some() {
            assert_eq!(task["reading"], "prowl → wave (2 + 2 frames)", "{task}");
        } else {
            assert!(task["reading"].is_null(), "{task}");
            assert_eq!(task["outputs"][0]["reading"], "prowl (4 frames)", "{task}");
        }
    }

    // A server without them refuses the same request at submit time.
    let plain = serve(|_| {});
    let image = plain.upload_id(None).await;
    let r = plain
        .submit(None, &json!({"image": image, "actions": ["prowl"]}))
        .await;
    assert_eq!(error_code(r).await, (422, "unknown_action".to_string()));
}

#[tokio::test]
async fn a_motion_capture_named_by_a_motion_file_drives_tasks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/mocap");
    let motions = kinema_rig::MotionLibrary::load(&dir).unwrap();
    let s = serve(|c| c.motions = Some(motions));
    let v: Value = s.get(None, "/v1/actions").await.json().await.unwrap();
    let wave = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "mocapwave")
        .expect("the capture is listed");
    assert_eq!(wave["kinds"], json!(["humanoid"]));
    let image = s.upload_id(None).await;
    let body = json!({"image": image, "actions": ["mocapwave"], "frames": 6, "fps": 6,
        "size": 64, "outputs": ["gif"]});
    let r = s.submit(None, &body).await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    let task = s.wait(None, v["id"].as_str().unwrap(), LONG).await;
    assert_eq!(task["status"], "SUCCEEDED", "{task}");
}

#[tokio::test]
async fn openapi_lists_every_route_and_errors_have_one_shape() {
    let s = serve(|_| {});
    let doc: Value = s.get(None, "/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/engines", "get"),
        ("/v1/actions", "get"),
        ("/v1/uploads", "post"),
        ("/v1/image_to_video", "post"),
        ("/v1/tasks", "get"),
        ("/v1/tasks/{id}", "get"),
        ("/v1/tasks/{id}", "delete"),
        ("/v1/events/{id}", "get"),
        ("/v1/outputs/{task}/{file}", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
    for schema in [
        "TaskBody",
        "ImageToVideoRequest",
        "ErrorBody",
        "Capabilities",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "{schema}"
        );
    }
    let (status, code) = error_code(s.get(None, "/v2/nothing").await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let r = s.client.put(s.url("/v1/engines")).send().await.unwrap();
    assert_eq!(error_code(r).await, (405, "method_not_allowed".into()));
    // No web page may be present yet; either way `/` must not be a server error.
    let r = s.get(None, "/").await;
    assert!(r.status() == 200 || r.status() == 404, "{}", r.status());
    let (status, _) = error_code(s.get(None, "/assets/no-such-file.js").await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn uploads_are_validated_on_arrival() {
    let s = serve(|c| c.max_upload_bytes = 64 << 10);
    let r = s.upload(None, sample_bytes()).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("upl_"));
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(96), Some(128))
    );
    assert_eq!(v["pixel_art"], false);

    let (status, code) = error_code(s.upload(None, b"hello, not an image".to_vec()).await).await;
    assert_eq!((status, code.as_str()), (422, "not_an_image"));
    let (status, _) = error_code(s.upload(None, vec![0x89; 70 << 10]).await).await;
    assert_eq!(status, 413);
    let form = reqwest::multipart::Form::new().text("other", "x");
    let r = s
        .client
        .post(s.url("/v1/uploads"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (400, "missing_file".into()));
    let r = s
        .client
        .post(s.url("/v1/uploads"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, 400);
}

#[tokio::test]
async fn pixel_budget_is_checked_before_decoding() {
    let s = serve(|c| c.max_pixels = 1000);
    let (status, code) = error_code(s.upload(None, sample_bytes()).await).await;
    assert_eq!((status, code.as_str()), (422, "not_an_image"));
}

#[tokio::test]
async fn a_task_runs_to_success_and_its_outputs_download_with_ranges() {
    let s = serve(|_| {});
    let image = s.upload_id(None).await;
    let body = json!({"image": image, "actions": ["idle", "walk"], "frames": 4, "fps": 8,
        "size": 64, "outputs": ["gif", "frames", "sheet"], "atlases": ["godot"]});
    let r = s.submit(None, &body).await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["status"], "PENDING");
    let task = s.wait(None, &id, LONG).await;
    assert_eq!(task["status"], "SUCCEEDED", "{task}");
    assert_eq!(task["progress"], 1.0);
    assert_eq!(task["request"]["image"], image.as_str());
    assert!(task["finished_at"].as_str().unwrap().ends_with('Z'));
    let outputs = task["outputs"].as_array().unwrap();
    let formats: Vec<(&str, Option<&str>)> = outputs
        .iter()
        .map(|o| (o["format"].as_str().unwrap(), o["action"].as_str()))
        .collect();
    assert_eq!(
        formats,
        [
            ("gif", Some("idle")),
            ("frames", Some("idle")),
            ("gif", Some("walk")),
            ("frames", Some("walk")),
            ("sheet", None),
            ("godot", None)
        ]
    );
    let gif = &outputs[0];
    assert_eq!(
        (gif["width"].as_u64(), gif["frames"].as_u64()),
        (Some(64), Some(4))
    );
    let frames = outputs[1]["files"].as_array().unwrap();
    assert!(frames.len() >= 4, "{frames:?}");

    let url = gif["url"].as_str().unwrap();
    let full = s.get(None, url).await;
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["content-type"], "image/gif");
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    let bytes = full.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, gif["bytes"].as_u64().unwrap());
    assert_eq!(&bytes[..3], b"GIF");
    let part = s
        .client
        .get(s.url(url))
        .header("Range", "bytes=0-5")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[..6]);
    let sheet = s.get(None, outputs[4]["url"].as_str().unwrap()).await;
    assert_eq!(sheet.headers()["content-type"], "image/png");

    // Nothing outside the task's folder can be named.
    for bad in [
        "../../kinema.sqlite3",
        "..%2F..%2Fkinema.sqlite3",
        "frames",
        ".x",
    ] {
        let r = s.get(None, &format!("/v1/outputs/{id}/{bad}")).await;
        assert_eq!(r.status(), 404, "{bad}");
    }
    let r = s
        .get(None, "/v1/outputs/tsk_..%2F..%2F/kinema.sqlite3")
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn inline_images_and_idempotent_retries() {
    use base64::Engine as _;
    let s = serve(|_| {});
    let data = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(sample_bytes())
    );
    let body = small_request(&data);
    let send = || async {
        s.client
            .post(s.url("/v1/image_to_video"))
            .header("Idempotency-Key", "retry-1")
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let first = send().await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let again = send().await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    let task = s.wait(None, first["id"].as_str().unwrap(), LONG).await;
    assert_eq!(task["status"], "SUCCEEDED", "{task}");
    assert!(task["request"]["image"]
        .as_str()
        .unwrap()
        .starts_with("upl_"));
    let page: Value = s.get(None, "/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);

    // The same key for a different request is a client bug: refused, never a silent reuse.
    let mut other = body.clone();
    other["prompt"] = json!("jumps");
    let r = s
        .client
        .post(s.url("/v1/image_to_video"))
        .header("Idempotency-Key", "retry-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "idempotency_key_reused", "{err}");
}

#[tokio::test]
async fn a_misspelt_field_gets_a_did_you_mean_like_batch_manifests() {
    let s = serve(|_| {});
    let image = s.upload_id(None).await;
    let r = s
        .submit(None, &json!({"image": image, "promt": "waves hello"}))
        .await;
    assert_eq!(r.status(), 422);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_field", "{err}");
    assert_eq!(
        err["error"]["message"], "field `promt` is not known (did you mean `prompt`?)",
        "{err}"
    );
    assert!(
        err["error"]["hint"].as_str().unwrap().contains("actions"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_requests_get_precise_errors_never_500() {
    let s = serve(|_| {});
    let image = s.upload_id(None).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"image": image}), 422, "missing_prompt"),
        (
            json!({"image": image, "prompt": "wave", "frames": -3}),
            422,
            "invalid_field",
        ),
        (
            json!({"image": image, "prompt": "wave", "frames": "many"}),
            422,
            "invalid_field",
        ),
        (json!({"prompt": "wave"}), 422, "invalid_field"),
        (
            json!({"image": image, "prompt": "wave", "colour": "red"}),
            422,
            "invalid_field",
        ),
        (
            json!({"image": image, "prompt": "wave", "atlases": ["godot"]}),
            422,
            "atlases_without_sheet",
        ),
        (
            json!({"image": image, "prompt": "wave", "frames": 100000}),
            422,
            "frames_out_of_range",
        ),
        (
            json!({"image": "upl_00000000000000000000000000000000", "prompt": "wave"}),
            422,
            "unknown_image",
        ),
        (
            json!({"image": "../../etc/passwd", "prompt": "wave"}),
            422,
            "unknown_image",
        ),
        (
            json!({"image": "data:image/png;base64,aGVsbG8=", "prompt": "wave"}),
            422,
            "not_an_image",
        ),
        (json!([1, 2, 3]), 422, "invalid_field"),
    ];
    for (body, status, code) in cases {
        let r = s.submit(None, &body).await;
        assert_eq!(error_code(r).await, (status, code.to_string()), "{body}");
    }
    let r = s
        .client
        .post(s.url("/v1/image_to_video"))
        .header("content-type", "application/json")
        .body("{\"image\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (400, "invalid_json".into()));
    let r = s
        .client
        .post(s.url("/v1/image_to_video"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (415, "unsupported_media_type".into()));
    let big = "x".repeat(20 << 20);
    // Its own connection: the server stops reading the oversized body and closes it.
    let once = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = once
        .post(s.url("/v1/image_to_video"))
        .json(&json!({"image": big, "prompt": "wave"}))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    for (path, status) in [
        ("/v1/tasks/tsk_00000000000000000000000000000000", 404),
        ("/v1/tasks/not-an-id", 404),
        ("/v1/tasks?limit=0", 400),
        ("/v1/tasks?status=DONE", 400),
        ("/v1/tasks?cursor=zzz", 400),
        ("/v1/tasks?limit=abc", 400),
        ("/v1/events/tsk_00000000000000000000000000000000", 404),
    ] {
        assert_eq!(
            error_code(s.get(None, path).await).await.0,
            status,
            "{path}"
        );
    }
}

#[tokio::test]
async fn listing_pages_and_cancelling() {
    // One worker busy with a long task keeps the rest pending.
    let s = serve(|c| c.workers = 1);
    let image = s.upload_id(None).await;
    let long = json!({"image": image, "prompt": "walks then jumps then waves", "frames": 240,
        "size": 512, "outputs": ["mp4", "webp"]});
    let mut ids = Vec::new();
    for _ in 0..3 {
        let v: Value = s.submit(None, &long).await.json().await.unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let p1: Value = s.get(None, "/v1/tasks?limit=2").await.json().await.unwrap();
    let got: Vec<&str> = p1["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2: Value = s
        .get(None, &format!("/v1/tasks?limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p2["tasks"][0]["id"], ids[0].as_str());
    assert!(p2["next_cursor"].is_null());

    // Cancel the pending ones and the running one; each ends CANCELLED exactly once.
    for id in ids.iter().rev() {
        let r = s
            .client
            .delete(s.url(&format!("/v1/tasks/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "CANCELLED");
    }
    let r = s
        .client
        .delete(s.url(&format!("/v1/tasks/{}", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (409, "already_finished".into()));
    let cancelled: Value = s
        .get(None, "/v1/tasks?status=cancelled")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["tasks"].as_array().unwrap().len(), 3);
    // The worker notices and frees itself: a new task still runs.
    let v: Value = s
        .submit(None, &small_request(&image))
        .await
        .json()
        .await
        .unwrap();
    let t = s.wait(None, v["id"].as_str().unwrap(), LONG).await;
    assert_eq!(t["status"], "SUCCEEDED");
    for id in &ids {
        let log = s.server.state().store.transitions(id).await.unwrap();
        let ends = log.iter().filter(|(_, to)| to == "CANCELLED").count();
        assert_eq!(ends, 1, "{id}: {log:?}");
        assert!(!s.dir.path().join("data/outputs").join(id).exists());
    }
}

#[tokio::test]
async fn events_stream_progress_then_done() {
    let s = serve(|_| {});
    let image = s.upload_id(None).await;
    let v: Value = s
        .submit(None, &small_request(&image))
        .await
        .json()
        .await
        .unwrap();
    let id = v["id"].as_str().unwrap();
    let r = s.get(None, &format!("/v1/events/{id}")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = tokio::time::timeout(LONG, r.text())
        .await
        .expect("stream ends")
        .unwrap();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.last(), Some(&"done"), "{text}");
    assert_eq!(events.iter().filter(|e| **e == "done").count(), 1);
    let last_data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .unwrap();
    let body: Value = serde_json::from_str(last_data).unwrap();
    assert_eq!(body["status"], "SUCCEEDED");
}

#[tokio::test]
async fn tokens_are_required_and_isolate_owners() {
    let alice = "alice-token-0123456789";
    let bob = "bob-token-0123456789ab";
    let s = serve(|c| c.tokens = vec![alice.into(), bob.into()]);
    let (status, code) = error_code(s.get(None, "/v1/engines").await).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    let r = s.get(Some("wrong-token-0123456789"), "/v1/engines").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    // The page itself and the spec need no token.
    assert_ne!(s.get(None, "/openapi.json").await.status(), 401);
    assert_ne!(s.get(None, "/").await.status(), 401);

    let image = s.upload_id(Some(alice)).await;
    // Bob cannot use Alice's upload, nor see her task.
    let r = s.submit(Some(bob), &small_request(&image)).await;
    assert_eq!(error_code(r).await, (422, "unknown_image".into()));
    let v: Value = s
        .submit(Some(alice), &small_request(&image))
        .await
        .json()
        .await
        .unwrap();
    let id = v["id"].as_str().unwrap();
    assert_eq!(
        s.get(Some(bob), &format!("/v1/tasks/{id}")).await.status(),
        404
    );
    let r = s
        .client
        .delete(s.url(&format!("/v1/tasks/{id}")))
        .bearer_auth(bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let page: Value = s.get(Some(bob), "/v1/tasks").await.json().await.unwrap();
    assert!(page["tasks"].as_array().unwrap().is_empty());
    // EventSource-style access with the token in the query, for events and outputs only.
    let url = s.url(&format!("/v1/events/{id}?access_token={alice}"));
    let text = s
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("event: done"), "{text}");
    let r = s
        .client
        .get(s.url(&format!("/v1/tasks/{id}?access_token={alice}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let task = s.wait(Some(alice), id, LONG).await;
    let url = task["outputs"][0]["url"].as_str().unwrap();
    let r = s
        .client
        .get(s.url(&format!("{url}?access_token={alice}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .get(s.url(&format!("{url}?access_token={bob}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_quota_answers_429_with_retry_after() {
    let s = serve(|c| {
        c.quota = 2;
        c.workers = 1;
    });
    let image = s.upload_id(None).await;
    let long =
        json!({"image": image, "prompt": "walks", "frames": 200, "size": 512, "outputs": ["mp4"]});
    assert_eq!(s.submit(None, &long).await.status(), 202);
    assert_eq!(s.submit(None, &long).await.status(), 202);
    let r = s.submit(None, &long).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .is_ok());
    assert_eq!(error_code(r).await.1, "quota_exceeded");
}

#[test]
fn an_open_address_without_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = kinema_server::ServeConfig::new("0.0.0.0:0".parse().unwrap(), dir.path());
    let err = kinema_server::start(config).err().expect("refused");
    assert!(err.to_string().contains("--token"), "{err}");
}
