//! Runway (API version 2024-11-06): `POST /v1/image_to_video`, `GET/DELETE /v1/tasks/{id}`.

use kinema_core::Result;
use serde_json::{json, Value};

use crate::adapter::{str_field, unexpected, Adapter, Phase};
use crate::request::ProviderRequest;

pub const API_VERSION: &str = "2024-11-06";

pub struct Runway;

impl Adapter for Runway {
    fn create_path(&self) -> String {
        "/v1/image_to_video".into()
    }

    fn create_body(&self, r: &ProviderRequest) -> Value {
        let prompt_image = match &r.last_image {
            None => json!(r.first_image.data_uri_or_url()),
            Some(last) => json!([
                {"uri": r.first_image.data_uri_or_url(), "position": "first"},
                {"uri": last.data_uri_or_url(), "position": "last"},
            ]),
        };
        let mut body = json!({
            "model": r.model,
            "promptImage": prompt_image,
            "promptText": r.prompt,
            "duration": r.duration_s,
        });
        if let Some(ratio) = &r.ratio {
            body["ratio"] = json!(ratio);
        }
        if let Some(seed) = r.seed {
            body["seed"] = json!(seed);
        }
        body
    }

    fn created_id(&self, answer: &Value) -> Result<String> {
        str_field("Runway", answer, "/id").map(str::to_string)
    }

    fn task_path(&self, id: &str) -> String {
        format!("/v1/tasks/{id}")
    }

    fn phase(&self, task: &Value) -> Result<Phase> {
        Ok(match str_field("Runway", task, "/status")? {
            "PENDING" => Phase::Queued("PENDING".into()),
            "THROTTLED" => Phase::Throttled,
            "RUNNING" => Phase::Running(task.get("progress").and_then(Value::as_f64)),
            "SUCCEEDED" => Phase::Succeeded(str_field("Runway", task, "/output/0")?.to_string()),
            "FAILED" => {
                let code = task
                    .get("failureCode")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Phase::Failed {
                    moderation: code
                        .as_deref()
                        .is_some_and(|c| c.starts_with("SAFETY") || c.contains(".SAFETY")),
                    message: task
                        .get("failure")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given")
                        .to_string(),
                    code,
                }
            }
            "CANCELLED" => Phase::Cancelled,
            _ => return Err(unexpected("Runway", "a known task status", task)),
        })
    }

    fn cancel_path(&self, id: &str) -> Option<String> {
        Some(format!("/v1/tasks/{id}"))
    }

    fn headers(&self) -> Vec<(&'static str, &'static str)> {
        vec![("X-Runway-Version", API_VERSION)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ImageRef;

    fn request(last: bool) -> ProviderRequest {
        ProviderRequest {
            model: "gen4_turbo".into(),
            prompt: "waves".into(),
            negative_prompt: None,
            first_image: ImageRef::Inline {
                bytes: vec![1, 2, 3],
                mime: "image/png",
            },
            last_image: last.then(|| ImageRef::Url("https://cdn.example/last.png".into())),
            duration_s: 5,
            ratio: Some("960:960".into()),
            seed: Some(42),
            looping: false,
            quality: None,
            external_id: "kinema-x".into(),
        }
    }

    #[test]
    fn bodies_follow_the_documented_fields() {
        let b = Runway.create_body(&request(false));
        assert_eq!(
            b,
            json!({"model": "gen4_turbo", "promptImage": "data:image/png;base64,AQID",
                   "promptText": "waves", "duration": 5, "ratio": "960:960", "seed": 42})
        );
        let b = Runway.create_body(&request(true));
        assert_eq!(
            b["promptImage"][1],
            json!({"uri": "https://cdn.example/last.png", "position": "last"})
        );
    }

    #[test]
    fn every_documented_status_reads() {
        let p = |v: Value| Runway.phase(&v).unwrap();
        assert_eq!(p(json!({"status": "THROTTLED"})), Phase::Throttled);
        assert_eq!(
            p(json!({"status": "RUNNING", "progress": 0.4})),
            Phase::Running(Some(0.4))
        );
        assert_eq!(
            p(json!({"status": "SUCCEEDED", "output": ["https://x/v.mp4"]})),
            Phase::Succeeded("https://x/v.mp4".into())
        );
        let failed =
            p(json!({"status": "FAILED", "failure": "nope", "failureCode": "SAFETY.INPUT.IMAGE"}));
        assert!(matches!(
            failed,
            Phase::Failed {
                moderation: true,
                ..
            }
        ));
        assert_eq!(p(json!({"status": "CANCELLED"})), Phase::Cancelled);
        assert!(Runway.phase(&json!({"status": "EXPLODED"})).is_err());
        assert!(Runway
            .phase(&json!({"status": "SUCCEEDED", "output": []}))
            .is_err());
    }
}
