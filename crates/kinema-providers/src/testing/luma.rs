//! Luma's Dream Machine API v1 as its documentation describes it.

use std::ops::ControlFlow;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::server::{
    cancel_task, header, injected, json_body, lock, only_fields, picture, polled, reply, Fake,
};
use super::{Created, FakeTask, Step, LUMA_KEY};

const MODELS: [&str; 3] = ["ray-2", "ray-flash-2", "ray-1-6"];
const ASPECTS: [&str; 7] = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"];
const DURATIONS: [&str; 2] = ["5s", "9s"];
const RESOLUTIONS: [&str; 4] = ["540p", "720p", "1080p", "4k"];

pub(crate) fn router() -> Router<Fake> {
    Router::new()
        .route("/generations/video", post(create))
        .route("/generations/{id}", get(get_generation).delete(delete))
}

/// The refusal to send when the request is not authorised.
fn authorise(fake: &Fake, headers: &HeaderMap, method: &str, path: &str) -> Option<Response> {
    if header(headers, "authorization") != Some(format!("Bearer {LUMA_KEY}").as_str()) {
        fake.violation(format!("{method} {path}: missing or wrong Authorization"));
        fake.log(method, path, None, 401);
        return Some(reply(401, json!({"detail": "Invalid API key is provided"})));
    }
    None
}

fn one_of(body: &Value, field: &str, allowed: &[&str]) -> Result<(), String> {
    match body.get(field) {
        None => Ok(()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        Some(other) => Err(format!("{field} {other} is not one of {allowed:?}")),
    }
}

/// The keyframe's picture, refusing data URIs when the script says Luma does.
fn keyframe(frame: &Value, refuse_data: bool) -> Result<kinema_core::Frame, String> {
    only_fields(frame, &["type", "url", "id"])?;
    if frame["type"] != "image" {
        return Err("keyframes must be {type: \"image\", url}".into());
    }
    let url = frame["url"]
        .as_str()
        .ok_or("keyframe url must be a string")?;
    if refuse_data && url.starts_with("data:") {
        return Err("REFUSED: keyframe url must be an http(s) URL".into());
    }
    Ok(picture(url, false, 10 << 20)?.0)
}

fn check_create(body: &Value, refuse_data: bool) -> Result<kinema_core::Frame, String> {
    only_fields(
        body,
        &[
            "model",
            "prompt",
            "aspect_ratio",
            "duration",
            "resolution",
            "loop",
            "keyframes",
            "callback_url",
            "generation_type",
            "concepts",
        ],
    )?;
    one_of(body, "model", &MODELS)?;
    one_of(body, "aspect_ratio", &ASPECTS)?;
    one_of(body, "duration", &DURATIONS)?;
    one_of(body, "resolution", &RESOLUTIONS)?;
    if !body["prompt"].is_string() {
        return Err("prompt must be a string".into());
    }
    if body.get("loop").is_some_and(|l| !l.is_boolean()) {
        return Err("loop must be a boolean".into());
    }
    let keyframes = body
        .get("keyframes")
        .ok_or("image to video needs keyframes")?;
    only_fields(keyframes, &["frame0", "frame1"])?;
    let first = keyframe(
        keyframes
            .get("frame0")
            .ok_or("keyframes.frame0 is missing")?,
        refuse_data,
    )?;
    if let Some(last) = keyframes.get("frame1") {
        keyframe(last, refuse_data)?;
    }
    if let Some(aspect) = body["aspect_ratio"].as_str() {
        let (a, b) = aspect.split_once(':').unwrap_or(("1", "1"));
        let want = a.parse::<f64>().unwrap_or(1.0) / b.parse::<f64>().unwrap_or(1.0);
        let got = f64::from(first.width) / f64::from(first.height);
        if (got / want - 1.0).abs() > 0.01 {
            return Err(format!(
                "the {}x{} keyframe does not have the aspect {aspect}",
                first.width, first.height
            ));
        }
    }
    Ok(first)
}

fn not_found() -> Response {
    reply(404, json!({"detail": "Generation not found"}))
}

fn generation(id: &str, state: &str, body: &Value) -> Value {
    json!({
        "id": id,
        "generation_type": "video",
        "state": state,
        "failure_reason": null,
        "created_at": "2025-01-01T00:00:00Z",
        "assets": null,
        "model": body["model"],
        "request": body,
    })
}

async fn create(AxState(fake): AxState<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    fake.blocking(move |fake| {
        let path = "/generations/video";
        if let Some(r) = authorise(&fake, &headers, "POST", path) {
            return r;
        }
        let body = match json_body(&fake, &headers, &body) {
            Ok(b) => b,
            Err(e) => {
                fake.violation(format!("POST {path}: {e}"));
                return reply(400, json!({"detail": e}));
            }
        };
        let prompt = body["prompt"].as_str().unwrap_or("").to_string();
        let refuse = lock(&fake.state).script(&prompt).refuse_data_uris;
        let picture = match check_create(&body, refuse) {
            Ok(p) => p,
            Err(e) if e.starts_with("REFUSED") => {
                // The documented refusal, not a client bug.
                fake.log("POST", path, Some(&prompt), 400);
                return reply(400, json!({"detail": e}));
            }
            Err(e) => {
                fake.violation(format!("POST {path}: {e}"));
                fake.log("POST", path, Some(&prompt), 400);
                return reply(400, json!({"detail": e}));
            }
        };
        let duration = body["duration"]
            .as_str()
            .unwrap_or("5s")
            .trim_end_matches('s')
            .parse()
            .unwrap_or(5);
        let stored = body.clone();
        let created = lock(&fake.state).create(&prompt, "9f0e1d2c-0000-4000-8000-", |id| {
            FakeTask::new(id, &prompt, stored, picture, duration)
        });
        match created {
            Created::Refused(answer) | Created::Lost(answer) => {
                fake.log("POST", path, Some(&prompt), answer.status);
                injected(&answer)
            }
            Created::Made(id) => {
                fake.log("POST", path, Some(&prompt), 201);
                reply(201, generation(&id, "queued", &body))
            }
        }
    })
    .await
}

async fn get_generation(
    AxState(fake): AxState<Fake>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/generations/{id}");
    if let Some(r) = authorise(&fake, &headers, "GET", &path) {
        return r;
    }
    let (task, step) = match polled(&fake, &id, &path, not_found) {
        ControlFlow::Continue(found) => found,
        ControlFlow::Break(answer) => return answer,
    };
    if task.cancelled {
        fake.log("GET", &path, Some(&task.prompt), 404);
        return not_found();
    }
    let mut body = generation(&id, "queued", &task.body);
    match step {
        Step::Queued | Step::Throttled => {}
        Step::Running(_) => body["state"] = json!("dreaming"),
        Step::Succeeded => {
            body["state"] = json!("completed");
            body["assets"] = json!({"video": fake.link(&id), "image": null});
        }
        Step::Failed { message, .. } => {
            body["state"] = json!("failed");
            body["failure_reason"] = json!(message);
        }
    }
    fake.log("GET", &path, Some(&task.prompt), 200);
    reply(200, body)
}

async fn delete(
    AxState(fake): AxState<Fake>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/generations/{id}");
    if let Some(r) = authorise(&fake, &headers, "DELETE", &path) {
        return r;
    }
    match cancel_task(&fake, &id, &path) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(),
    }
}
