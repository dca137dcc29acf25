//! Kling's image-to-video API as its documentation describes it, including the HS256
//! token: signature, issuer, `exp` and `nbf`, checked with an independent JWT library.

use std::ops::ControlFlow;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::server::{header, injected, json_body, lock, only_fields, picture, polled, reply, Fake};
use super::{Created, FakeTask, Step, KLING_ACCESS_KEY, KLING_SECRET_KEY};

const MODELS: [&str; 7] = [
    "kling-v1",
    "kling-v1-5",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
];

pub(crate) fn router() -> Router<Fake> {
    Router::new()
        .route("/v1/videos/image2video", post(create))
        .route("/v1/videos/image2video/{id}", get(query))
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Claims {
    iss: String,
    exp: u64,
    nbf: u64,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn kling_error(status: u16, code: i64, message: &str) -> Response {
    reply(
        status,
        json!({"code": code, "message": message, "request_id": "fake-request"}),
    )
}

/// The refusal to send when the request is not authorised.
fn authorise(fake: &Fake, headers: &HeaderMap, method: &str, path: &str) -> Option<Response> {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let refuse = |code: i64, why: String| {
        fake.violation(format!("{method} {path}: {why}"));
        fake.log(method, path, None, 401);
        Some(kling_error(401, code, &why))
    };
    let Some(token) = header(headers, "authorization").and_then(|a| a.strip_prefix("Bearer "))
    else {
        return refuse(1001, "Authorization is empty".into());
    };
    match decode_header(token) {
        Ok(h) if h.alg == Algorithm::HS256 && h.typ.as_deref() == Some("JWT") => {}
        Ok(h) => return refuse(1002, format!("token header {h:?} is not HS256/JWT")),
        Err(e) => return refuse(1002, format!("Authorization is invalid: {e}")),
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[KLING_ACCESS_KEY]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss"]);
    validation.validate_nbf = true;
    validation.leeway = 0;
    match decode::<Claims>(
        token,
        &DecodingKey::from_secret(KLING_SECRET_KEY.as_bytes()),
        &validation,
    ) {
        Ok(data) => {
            let c = data.claims;
            // The documented token: exp = now + 1800, nbf = now - 5.
            if c.exp > now() + 1800 + 5 || c.nbf + 5 < c.exp.saturating_sub(1800) {
                return refuse(
                    1002,
                    format!(
                        "claims exp {} nbf {} differ from the documented lifetime",
                        c.exp, c.nbf
                    ),
                );
            }
            None
        }
        Err(e) => {
            let code = match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => 1004,
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => 1003,
                _ => 1002,
            };
            refuse(code, format!("Authorization is invalid: {e}"))
        }
    }
}

fn check_image(value: &Value, field: &str) -> Result<kinema_core::Frame, String> {
    let text = value.as_str().ok_or(format!("{field} must be a string"))?;
    let (frame, _) =
        picture(text, !text.starts_with("http"), 10 << 20).map_err(|e| format!("{field}: {e}"))?;
    let a = f64::from(frame.width) / f64::from(frame.height);
    if frame.width.min(frame.height) < 300 || !(0.4..=2.5).contains(&a) {
        return Err(format!(
            "{field} is {}x{}: sides must be 300 px or more and the aspect 1:2.5 to 2.5:1",
            frame.width, frame.height
        ));
    }
    Ok(frame)
}

fn check_create(body: &Value) -> Result<kinema_core::Frame, String> {
    only_fields(
        body,
        &[
            "model_name",
            "image",
            "image_tail",
            "prompt",
            "negative_prompt",
            "cfg_scale",
            "mode",
            "duration",
            "callback_url",
            "external_task_id",
            "static_mask",
            "dynamic_masks",
            "camera_control",
        ],
    )?;
    let model = body["model_name"]
        .as_str()
        .ok_or("model_name must be a string")?;
    if !MODELS.contains(&model) {
        return Err(format!("unknown model_name {model}"));
    }
    for (field, max) in [("prompt", 2500), ("negative_prompt", 2500)] {
        if let Some(v) = body.get(field) {
            let s = v.as_str().ok_or(format!("{field} must be a string"))?;
            if s.chars().count() > max {
                return Err(format!("{field} is longer than {max} characters"));
            }
        }
    }
    match body.get("mode").map(|m| m.as_str()) {
        None | Some(Some("std" | "pro")) => {}
        Some(other) => return Err(format!("mode {other:?} is not std or pro")),
    }
    match body.get("duration").map(|d| d.as_str()) {
        None | Some(Some("5" | "10")) => {}
        Some(other) => {
            return Err(format!(
                "duration {other:?} is not the string \"5\" or \"10\""
            ))
        }
    }
    if let Some(tail) = body.get("image_tail") {
        if body.get("mode").and_then(Value::as_str) != Some("pro") {
            return Err("image_tail needs mode pro".into());
        }
        check_image(tail, "image_tail")?;
    }
    check_image(&body["image"], "image")
}

fn task_json(task: &FakeTask, status: &str) -> Value {
    json!({
        "task_id": task.id,
        "task_info": {"external_task_id": task.external_id},
        "task_status": status,
        "task_status_msg": "",
        "created_at": 1_722_769_557_708u64,
        "updated_at": 1_722_769_557_708u64,
    })
}

async fn create(AxState(fake): AxState<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    fake.blocking(move |fake| {
        let path = "/v1/videos/image2video";
        if let Some(r) = authorise(&fake, &headers, "POST", path) {
            return r;
        }
        let body = match json_body(&fake, &headers, &body) {
            Ok(b) => b,
            Err(e) => {
                fake.violation(format!("POST {path}: {e}"));
                return kling_error(400, 1200, &e);
            }
        };
        let prompt = body["prompt"].as_str().unwrap_or("").to_string();
        let picture = match check_create(&body) {
            Ok(p) => p,
            Err(e) => {
                fake.violation(format!("POST {path}: {e}"));
                fake.log("POST", path, Some(&prompt), 400);
                return kling_error(400, 1201, &e);
            }
        };
        let external = body["external_task_id"].as_str().map(str::to_string);
        let mut st = lock(&fake.state);
        if external
            .as_ref()
            .is_some_and(|e| st.tasks.iter().any(|t| t.external_id.as_ref() == Some(e)))
        {
            drop(st);
            fake.violation(format!("POST {path}: external_task_id reused"));
            fake.log("POST", path, Some(&prompt), 400);
            return kling_error(400, 1201, "external_task_id must be unique");
        }
        let duration = body["duration"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(5);
        let stored = body.clone();
        let created = st.create(&prompt, "CjMkling", |id| FakeTask {
            external_id: external.clone(),
            ..FakeTask::new(id, &prompt, stored, picture, duration)
        });
        let made = match &created {
            Created::Made(id) => st.task_mut(id).cloned(),
            _ => None,
        };
        drop(st);
        match (created, made) {
            (Created::Refused(answer) | Created::Lost(answer), _) => {
                fake.log("POST", path, Some(&prompt), answer.status);
                injected(&answer)
            }
            (Created::Made(_), Some(task)) => {
                fake.log("POST", path, Some(&prompt), 200);
                reply(
                    200,
                    json!({"code": 0, "message": "SUCCEED", "request_id": "fake-request",
                    "data": task_json(&task, "submitted")}),
                )
            }
            (Created::Made(id), None) => kling_error(500, 5000, &format!("task {id} vanished")),
        }
    })
    .await
}

async fn query(
    AxState(fake): AxState<Fake>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/v1/videos/image2video/{id}");
    if let Some(r) = authorise(&fake, &headers, "GET", &path) {
        return r;
    }
    // The path takes the task id or the external_task_id.
    let real_id = lock(&fake.state)
        .task_mut(&id)
        .map_or_else(|| id.clone(), |t| t.id.clone());
    let (task, step) = match polled(&fake, &real_id, &path, || {
        kling_error(404, 1203, "task not found")
    }) {
        ControlFlow::Continue(found) => found,
        ControlFlow::Break(answer) => return answer,
    };
    let mut data = task_json(&task, "submitted");
    match step {
        Step::Queued | Step::Throttled => {}
        Step::Running(_) => data["task_status"] = json!("processing"),
        Step::Succeeded => {
            data["task_status"] = json!("succeed");
            data["task_result"] = json!({"videos": [{"id": "v-1", "url": fake.link(&task.id), "duration": task.duration_s.to_string()}]});
        }
        Step::Failed { message, .. } => {
            data["task_status"] = json!("failed");
            data["task_status_msg"] = json!(message);
        }
    }
    fake.log("GET", &path, Some(&task.prompt), 200);
    reply(
        200,
        json!({"code": 0, "message": "SUCCEED", "request_id": "fake-request", "data": data}),
    )
}
