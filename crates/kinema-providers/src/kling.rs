//! Kling: `POST /v1/videos/image2video`, `GET /v1/videos/image2video/{id}`. Every answer
//! is wrapped as `{code, message, request_id, data}`; `code` 0 is success.

use kinema_core::Result;
use serde_json::{json, Value};

use crate::adapter::{str_field, unexpected, Adapter, Phase};
use crate::http::error_message;
use crate::request::ProviderRequest;

pub struct Kling;

/// Kling's `data`, or an error carrying its code and message.
fn data(answer: &Value) -> Result<&Value> {
    match answer.get("code").and_then(Value::as_i64) {
        Some(0) => answer
            .get("data")
            .ok_or_else(|| unexpected("Kling", "`data`", answer)),
        Some(code) => Err(kinema_core::Error::model(format!(
            "Kling answered with code {code}: {}",
            error_message(answer)
        ))),
        None => Err(unexpected("Kling", "`code`", answer)),
    }
}

impl Adapter for Kling {
    fn create_path(&self) -> String {
        "/v1/videos/image2video".into()
    }

    fn create_body(&self, r: &ProviderRequest) -> Value {
        let mut body = json!({
            "model_name": r.model,
            "image": r.first_image.base64_or_url(),
            "prompt": r.prompt,
            "duration": r.duration_s.to_string(),
            "external_task_id": r.external_id,
        });
        if let Some(last) = &r.last_image {
            body["image_tail"] = json!(last.base64_or_url());
        }
        if let Some(n) = &r.negative_prompt {
            body["negative_prompt"] = json!(n);
        }
        if let Some(mode) = &r.quality {
            body["mode"] = json!(mode);
        }
        body
    }

    fn created_id(&self, answer: &Value) -> Result<String> {
        str_field("Kling", data(answer)?, "/task_id").map(str::to_string)
    }

    fn task_path(&self, id: &str) -> String {
        format!("/v1/videos/image2video/{id}")
    }

    fn lookup_path(&self, external_id: &str) -> Option<String> {
        Some(format!("/v1/videos/image2video/{external_id}"))
    }

    fn phase(&self, answer: &Value) -> Result<Phase> {
        let task = data(answer)?;
        Ok(match str_field("Kling", task, "/task_status")? {
            "submitted" => Phase::Queued("submitted".into()),
            "processing" => Phase::Running(None),
            "succeed" => {
                Phase::Succeeded(str_field("Kling", task, "/task_result/videos/0/url")?.to_string())
            }
            "failed" => {
                let message = task
                    .get("task_status_msg")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given")
                    .to_string();
                let lower = message.to_ascii_lowercase();
                Phase::Failed {
                    moderation: ["risk", "security", "policy", "sensitive", "moderation"]
                        .iter()
                        .any(|w| lower.contains(w)),
                    code: None,
                    message,
                }
            }
            _ => return Err(unexpected("Kling", "a known task_status", task)),
        })
    }

    fn cancel_path(&self, _id: &str) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ImageRef;

    #[test]
    fn bodies_and_states_follow_the_documented_api() {
        let r = ProviderRequest {
            model: "kling-v2-1".into(),
            prompt: "jumps".into(),
            negative_prompt: Some("blur".into()),
            first_image: ImageRef::Inline {
                bytes: vec![255, 0],
                mime: "image/png",
            },
            last_image: Some(ImageRef::Inline {
                bytes: vec![1],
                mime: "image/png",
            }),
            duration_s: 10,
            ratio: None,
            seed: None,
            looping: false,
            quality: Some("pro".into()),
            external_id: "kinema-abc".into(),
        };
        let b = Kling.create_body(&r);
        assert_eq!(b["image"], "/wA=", "bare base64, no data: prefix");
        assert_eq!(b["image_tail"], "AQ==");
        assert_eq!(
            (b["duration"].as_str(), b["mode"].as_str()),
            (Some("10"), Some("pro"))
        );
        assert_eq!(b["external_task_id"], "kinema-abc");
        let created = json!({"code": 0, "message": "SUCCEED", "request_id": "r",
            "data": {"task_id": "T1", "task_status": "submitted", "created_at": 1, "updated_at": 1}});
        assert_eq!(Kling.created_id(&created).unwrap(), "T1");
        let done = json!({"code": 0, "data": {"task_id": "T1", "task_status": "succeed",
            "task_result": {"videos": [{"id": "v", "url": "https://k/v.mp4", "duration": "5"}]}}});
        assert_eq!(
            Kling.phase(&done).unwrap(),
            Phase::Succeeded("https://k/v.mp4".into())
        );
        let refused = json!({"code": 0, "data": {"task_status": "failed",
            "task_status_msg": "Failure to pass the risk control system"}});
        assert!(matches!(
            Kling.phase(&refused).unwrap(),
            Phase::Failed {
                moderation: true,
                ..
            }
        ));
        let err = Kling
            .phase(&json!({"code": 1201, "message": "bad"}))
            .unwrap_err();
        assert!(err.message.contains("1201"));
    }
}
