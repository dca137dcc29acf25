//! Luma Dream Machine API v1: `POST /generations/video`, `GET/DELETE /generations/{id}`.
//!
//! Luma fetches keyframe images from URLs. Kinema sends a data URI unless an upload URL
//! is configured ([`crate::upload`]), in which case the picture is uploaded first and its
//! public URL is sent.

use kinema_core::Result;
use serde_json::{json, Value};

use crate::adapter::{str_field, unexpected, Adapter, Phase};
use crate::request::ProviderRequest;

pub struct Luma;

fn keyframe(url: String) -> Value {
    json!({"type": "image", "url": url})
}

impl Adapter for Luma {
    fn create_path(&self) -> String {
        "/generations/video".into()
    }

    fn create_body(&self, r: &ProviderRequest) -> Value {
        let mut keyframes = json!({"frame0": keyframe(r.first_image.data_uri_or_url())});
        if let Some(last) = &r.last_image {
            keyframes["frame1"] = keyframe(last.data_uri_or_url());
        }
        let mut body = json!({
            "model": r.model,
            "prompt": r.prompt,
            "duration": format!("{}s", r.duration_s),
            "loop": r.looping,
            "keyframes": keyframes,
        });
        if let Some(ratio) = &r.ratio {
            body["aspect_ratio"] = json!(ratio);
        }
        if let Some(q) = &r.quality {
            body["resolution"] = json!(q);
        }
        body
    }

    fn created_id(&self, answer: &Value) -> Result<String> {
        str_field("Luma", answer, "/id").map(str::to_string)
    }

    fn task_path(&self, id: &str) -> String {
        format!("/generations/{id}")
    }

    fn phase(&self, task: &Value) -> Result<Phase> {
        Ok(match str_field("Luma", task, "/state")? {
            "queued" => Phase::Queued("queued".into()),
            "dreaming" => Phase::Running(None),
            "completed" => Phase::Succeeded(str_field("Luma", task, "/assets/video")?.to_string()),
            "failed" => {
                let message = task
                    .get("failure_reason")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given")
                    .to_string();
                Phase::Failed {
                    moderation: message.to_ascii_lowercase().contains("moderation"),
                    code: None,
                    message,
                }
            }
            _ => return Err(unexpected("Luma", "a known generation state", task)),
        })
    }

    fn cancel_path(&self, id: &str) -> Option<String> {
        Some(format!("/generations/{id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ImageRef;

    #[test]
    fn bodies_and_states_follow_the_documented_api() {
        let r = ProviderRequest {
            model: "ray-2".into(),
            prompt: "hops".into(),
            negative_prompt: None,
            first_image: ImageRef::Url("https://u.example/a.png".into()),
            last_image: Some(ImageRef::Inline {
                bytes: vec![0],
                mime: "image/png",
            }),
            duration_s: 5,
            ratio: Some("1:1".into()),
            seed: None,
            looping: true,
            quality: Some("540p".into()),
            external_id: "kinema-x".into(),
        };
        let b = Luma.create_body(&r);
        assert_eq!(
            b["keyframes"]["frame0"],
            json!({"type": "image", "url": "https://u.example/a.png"})
        );
        assert_eq!(
            b["keyframes"]["frame1"]["url"],
            "data:image/png;base64,AA=="
        );
        assert_eq!(
            (b["duration"].as_str(), b["resolution"].as_str()),
            (Some("5s"), Some("540p"))
        );
        assert_eq!(
            (b["loop"].as_bool(), b["aspect_ratio"].as_str()),
            (Some(true), Some("1:1"))
        );
        let p = |v: Value| Luma.phase(&v).unwrap();
        assert_eq!(p(json!({"state": "dreaming"})), Phase::Running(None));
        assert_eq!(
            p(json!({"state": "completed", "assets": {"video": "https://v"}})),
            Phase::Succeeded("https://v".into())
        );
        assert!(matches!(
            p(json!({"state": "failed", "failure_reason": "400: advanced moderation failed"})),
            Phase::Failed {
                moderation: true,
                ..
            }
        ));
    }
}
