//! Runway's API (version 2024-11-06) as its documentation describes it.

use std::ops::ControlFlow;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::server::{
    cancel_task, header, injected, json_body, lock, only_fields, picture, polled, reply, Fake,
};
use super::{Created, FakeTask, Step, RUNWAY_KEY};

const GEN4_RATIOS: [&str; 6] = [
    "1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672",
];
const SEEDANCE_RATIOS: [&str; 6] = [
    "1280:720", "720:1280", "960:960", "1112:834", "834:1112", "1470:630",
];
/// Data URIs must be under 5 MB.
const MAX_DATA_URI: usize = 5 * 1024 * 1024;

/// Ratios, durations and whether a last frame is taken, per model.
fn model_rules(
    model: &str,
) -> Option<(&'static [&'static str], std::ops::RangeInclusive<u64>, bool)> {
    match model {
        "gen4_turbo" | "gen4.5" => Some((&GEN4_RATIOS, 2..=10, false)),
        "seedance2" => Some((&SEEDANCE_RATIOS, 5..=15, true)),
        _ => None,
    }
}

pub(crate) fn router() -> Router<Fake> {
    Router::new()
        .route("/v1/image_to_video", post(create))
        .route("/v1/tasks/{id}", get(get_task).delete(cancel))
}

/// Checks the key and the version header; `Err` is the answer to send.
/// The refusal to send when the request is not authorised.
fn authorise(fake: &Fake, headers: &HeaderMap, method: &str, path: &str) -> Option<Response> {
    if header(headers, "authorization") != Some(format!("Bearer {RUNWAY_KEY}").as_str()) {
        fake.violation(format!("{method} {path}: missing or wrong Authorization"));
        fake.log(method, path, None, 401);
        return Some(reply(401, json!({"error": "Invalid API key"})));
    }
    if header(headers, "x-runway-version") != Some("2024-11-06") {
        fake.violation(format!(
            "{method} {path}: X-Runway-Version is not 2024-11-06"
        ));
        fake.log(method, path, None, 400);
        return Some(reply(
            400,
            json!({"error": "Invalid or missing X-Runway-Version header"}),
        ));
    }
    None
}

fn check_create(body: &Value) -> Result<(&'static [&'static str], bool), String> {
    only_fields(
        body,
        &[
            "model",
            "promptImage",
            "promptText",
            "ratio",
            "duration",
            "seed",
            "contentModeration",
        ],
    )?;
    let model = body["model"].as_str().ok_or("model must be a string")?;
    let (ratios, durations, last_frame) =
        model_rules(model).ok_or(format!("unknown model {model}"))?;
    if let Some(text) = body.get("promptText") {
        let text = text.as_str().ok_or("promptText must be a string")?;
        if text.chars().count() > 1000 {
            return Err("promptText is longer than 1000 characters".into());
        }
    }
    let ratio = body["ratio"].as_str().ok_or("ratio must be a string")?;
    if !ratios.contains(&ratio) {
        return Err(format!(
            "ratio {ratio} is not one of {ratios:?} for {model}"
        ));
    }
    let duration = body["duration"]
        .as_u64()
        .ok_or("duration must be an integer")?;
    if !durations.contains(&duration) {
        return Err(format!("duration {duration} is out of range for {model}"));
    }
    if let Some(seed) = body.get("seed") {
        if seed.as_u64().is_none_or(|s| s > u64::from(u32::MAX)) {
            return Err("seed must be an integer from 0 to 4294967295".into());
        }
    }
    Ok((ratios, last_frame))
}

/// The first picture (and a last one) of `promptImage`, checked against the ratio.
fn check_images(body: &Value, last_frame_ok: bool) -> Result<kinema_core::Frame, String> {
    let ratio = body["ratio"].as_str().unwrap_or("1:1");
    let (rw, rh) = ratio.split_once(':').ok_or("bad ratio")?;
    let want =
        rw.parse::<f64>().map_err(|_| "bad ratio")? / rh.parse::<f64>().map_err(|_| "bad ratio")?;
    let load = |uri: &str| -> Result<kinema_core::Frame, String> {
        if uri.starts_with("data:") && uri.len() > MAX_DATA_URI {
            return Err("the data URI is 5 MB or more".into());
        }
        let (frame, _) = picture(uri, false, 16 << 20)?;
        let a = f64::from(frame.width) / f64::from(frame.height);
        if !(0.5..=2.0).contains(&a) || frame.width.max(frame.height) > 8000 {
            return Err(format!(
                "a {}x{} picture is outside the accepted sizes",
                frame.width, frame.height
            ));
        }
        if (a / want - 1.0).abs() > 0.01 {
            return Err(format!(
                "a {}x{} picture does not have the ratio {ratio}",
                frame.width, frame.height
            ));
        }
        Ok(frame)
    };
    match &body["promptImage"] {
        Value::String(uri) => load(uri),
        Value::Array(items) if !items.is_empty() && items.len() <= 2 => {
            let mut first = None;
            let mut seen = Vec::new();
            for item in items {
                only_fields(item, &["uri", "position"])?;
                let uri = item["uri"]
                    .as_str()
                    .ok_or("promptImage[].uri must be a string")?;
                let position = item["position"]
                    .as_str()
                    .ok_or("promptImage[].position must be a string")?;
                match position {
                    "first" => first = Some(load(uri)?),
                    "last" if last_frame_ok => {
                        load(uri)?;
                    }
                    "last" => return Err("this model takes no last frame".into()),
                    other => return Err(format!("unknown position {other}")),
                }
                if seen.contains(&position) {
                    return Err(format!("position {position} given twice"));
                }
                seen.push(position);
            }
            first.ok_or_else(|| "promptImage has no first frame".to_string())
        }
        _ => Err("promptImage must be a URI or a list of {uri, position}".into()),
    }
}

async fn create(AxState(fake): AxState<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    fake.blocking(move |fake| {
        let path = "/v1/image_to_video";
        if let Some(r) = authorise(&fake, &headers, "POST", path) {
            return r;
        }
        let body = match json_body(&fake, &headers, &body) {
            Ok(b) => b,
            Err(e) => {
                fake.violation(format!("POST {path}: {e}"));
                fake.log("POST", path, None, 400);
                return reply(400, json!({"error": e}));
            }
        };
        let prompt = body["promptText"].as_str().unwrap_or("").to_string();
        let checked = check_create(&body).and_then(|(_, last)| check_images(&body, last));
        let picture = match checked {
            Ok(p) => p,
            Err(e) => {
                fake.violation(format!("POST {path}: {e}"));
                fake.log("POST", path, Some(&prompt), 400);
                return reply(400, json!({"error": e}));
            }
        };
        let duration = body["duration"].as_u64().unwrap_or(5) as u32;
        let created = lock(&fake.state).create(&prompt, "4d1b6c2e-0000-4000-8000-", |id| {
            FakeTask::new(id, &prompt, body, picture, duration)
        });
        match created {
            Created::Refused(answer) | Created::Lost(answer) => {
                fake.log("POST", path, Some(&prompt), answer.status);
                injected(&answer)
            }
            Created::Made(id) => {
                fake.log("POST", path, Some(&prompt), 200);
                reply(200, json!({"id": id}))
            }
        }
    })
    .await
}

async fn get_task(
    AxState(fake): AxState<Fake>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/v1/tasks/{id}");
    if let Some(r) = authorise(&fake, &headers, "GET", &path) {
        return r;
    }
    let (task, step) = match polled(&fake, &id, &path, || {
        reply(404, json!({"error": "Task not found"}))
    }) {
        ControlFlow::Continue(found) => found,
        ControlFlow::Break(answer) => return answer,
    };
    let mut body = json!({"id": id, "createdAt": "2024-11-06T00:00:00.000Z"});
    if task.cancelled {
        body["status"] = json!("CANCELLED");
    } else {
        match step {
            Step::Queued => body["status"] = json!("PENDING"),
            Step::Throttled => body["status"] = json!("THROTTLED"),
            Step::Running(p) => {
                body["status"] = json!("RUNNING");
                body["progress"] = json!(p);
            }
            Step::Succeeded => {
                body["status"] = json!("SUCCEEDED");
                body["output"] = json!([fake.link(&id)]);
            }
            Step::Failed { code, message } => {
                body["status"] = json!("FAILED");
                body["failure"] = json!(message);
                body["failureCode"] = json!(code);
            }
        }
    }
    fake.log("GET", &path, Some(&task.prompt), 200);
    reply(200, body)
}

async fn cancel(
    AxState(fake): AxState<Fake>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/v1/tasks/{id}");
    if let Some(r) = authorise(&fake, &headers, "DELETE", &path) {
        return r;
    }
    match cancel_task(&fake, &id, &path) {
        Some(_) => axum::http::StatusCode::NO_CONTENT.into_response(),
        None => reply(404, json!({"error": "Task not found"})),
    }
}
