//! Every engine, whether it can run here now, what it can do and what it costs: what
//! `kinema engines` prints and `GET /v1/engines` answers.

use serde::Serialize;

use crate::engines::ENGINE_NAMES;

/// One engine as listed to users.
#[derive(Clone, Debug, Serialize)]
pub struct EngineStatus {
    pub name: String,
    /// `local` (runs on this machine) or `service` (a paid video API).
    pub kind: &'static str,
    pub description: String,
    /// Whether a request for it can run here now (key present, model pulled).
    pub available: bool,
    /// Why not, and how to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    pub capabilities: Capabilities,
    /// Lowest price per second of video in US dollars; 0 for local engines.
    pub usd_per_second_from: f64,
    /// Models a service offers (its capability table, per model).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<kinema_providers::ModelSpec>,
}

/// What an engine can do, in the same words for every engine.
#[derive(Clone, Debug, Serialize)]
pub struct Capabilities {
    /// Free text (`true`) or the action catalogue only.
    pub free_text: bool,
    /// Longest clip, in seconds.
    pub max_seconds: f64,
    /// How alpha is made: `native` (rendered with it) or `keyed` (video on a key colour).
    pub alpha: &'static str,
    /// How loops are made: `native`, `provider` (the service loops) or `trimmed` (Kinema
    /// cuts the best loop window from the video).
    pub looping: &'static str,
    pub last_image: bool,
    pub negative_prompt: bool,
    pub seed: bool,
}

/// Every engine in [`ENGINE_NAMES`] order.
pub fn engine_statuses() -> Vec<EngineStatus> {
    ENGINE_NAMES.iter().map(|name| status(name)).collect()
}

fn status(name: &str) -> EngineStatus {
    match name {
        "rig" => EngineStatus {
            name: name.into(),
            kind: "local",
            description: "Auto-rigs the character and animates its own pixels along a motion chosen from the text (English or Chinese action catalogue); CPU, no weights.".into(),
            available: true,
            unavailable: None,
            capabilities: Capabilities {
                free_text: false,
                max_seconds: f64::from(kinema_core::Limits::default().max_frames) / 12.0,
                alpha: "native",
                looping: "native",
                last_image: false,
                negative_prompt: false,
                seed: true,
            },
            usd_per_second_from: 0.0,
            models: Vec::new(),
        },
        "wan" => local_status(
            name,
            kinema_models::DEFAULT_MODEL,
            format!(
                "Wan2.2 TI2V-5B latent video diffusion on this machine's CPU or GPU; follows free text (default model {}).",
                kinema_models::DEFAULT_MODEL
            ),
            Capabilities {
                free_text: true,
                max_seconds: f64::from(kinema_diffusion::engine::MAX_FRAMES) / 24.0,
                alpha: "keyed",
                looping: "none",
                last_image: false,
                negative_prompt: true,
                seed: true,
            },
        ),
        "svd" => {
            use kinema_diffusion::engine::SVD_DEFAULT_MODEL;
            local_status(
                name,
                SVD_DEFAULT_MODEL,
                format!(
                    "Stable Video Diffusion image-to-video on this machine's CPU or GPU; the prompt only sets its motion strength and frame rate (default model {SVD_DEFAULT_MODEL})."
                ),
                Capabilities {
                    free_text: false,
                    max_seconds: f64::from(kinema_diffusion::engine::SVD_MAX_FRAMES) / 7.0,
                    alpha: "keyed",
                    looping: "none",
                    last_image: false,
                    negative_prompt: false,
                    seed: true,
                },
            )
        }
        "opensora" => {
            use kinema_diffusion::engine::{OPENSORA_DEFAULT_MODEL, OPENSORA_MAX_FRAMES};
            local_status(
                name,
                OPENSORA_DEFAULT_MODEL,
                format!(
                    "Open-Sora 2.0 (11B MMDiT) image-to-video; follows free text with a motion score; needs a large GPU (23.8 GB of bf16 weights) (default model {OPENSORA_DEFAULT_MODEL})."
                ),
                Capabilities {
                    free_text: true,
                    max_seconds: f64::from(OPENSORA_MAX_FRAMES) / 24.0,
                    alpha: "keyed",
                    looping: "none",
                    last_image: false,
                    negative_prompt: false,
                    seed: true,
                },
            )
        }
        _ => provider_status(name),
    }
}

/// A local diffusion engine: available when its default model resolves (pulled, complete).
fn local_status(
    name: &str,
    model: &str,
    description: String,
    capabilities: Capabilities,
) -> EngineStatus {
    let pulled = kinema_models::resolve(model, None);
    EngineStatus {
        name: name.into(),
        kind: "local",
        description,
        available: pulled.is_ok(),
        unavailable: pulled
            .err()
            .map(|e| format!("{}; {}", e.message, e.hint.unwrap_or_default())),
        capabilities,
        usd_per_second_from: 0.0,
        models: Vec::new(),
    }
}

fn provider_status(name: &str) -> EngineStatus {
    let Some(p) = kinema_providers::provider(name) else {
        return EngineStatus {
            name: name.into(),
            kind: "local",
            description: "A Kinema engine.".into(),
            available: false,
            unavailable: Some("not described".into()),
            capabilities: Capabilities {
                free_text: false,
                max_seconds: 0.0,
                alpha: "native",
                looping: "native",
                last_image: false,
                negative_prompt: false,
                seed: false,
            },
            usd_per_second_from: 0.0,
            models: Vec::new(),
        };
    };
    let any = |f: fn(&kinema_providers::ModelSpec) -> bool| p.models.iter().any(f);
    let missing: Vec<&str> = p
        .key_env
        .iter()
        .filter(|k| std::env::var(k).map_or(true, |v| v.trim().is_empty()))
        .map(String::as_str)
        .collect();
    EngineStatus {
        name: name.into(),
        kind: "service",
        description: format!(
            "{} (paid video service): free text, keyed to alpha by Kinema; default model {}.",
            p.title, p.default_model
        ),
        available: missing.is_empty(),
        unavailable: (!missing.is_empty()).then(|| {
            format!(
                "{} not set; get a key at {}",
                missing.join(" and "),
                p.key_url
            )
        }),
        capabilities: Capabilities {
            free_text: true,
            max_seconds: p
                .models
                .iter()
                .filter_map(|m| m.durations.last())
                .max()
                .map_or(0.0, |d| f64::from(*d)),
            alpha: "keyed",
            looping: if any(|m| m.provider_loop) {
                "provider"
            } else {
                "trimmed"
            },
            last_image: any(|m| m.last_frame),
            negative_prompt: any(|m| m.negative_prompt),
            seed: any(|m| m.seed),
        },
        usd_per_second_from: p
            .models
            .iter()
            .map(|m| m.lowest_usd_per_second())
            .fold(f64::INFINITY, f64::min),
        models: p.models.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_is_listed_with_a_reason_when_it_cannot_run() {
        let list = engine_statuses();
        let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ENGINE_NAMES);
        let rig = &list[0];
        assert!(rig.available && rig.usd_per_second_from == 0.0);
        for e in &list {
            assert_eq!(e.available, e.unavailable.is_none(), "{}", e.name);
        }
        let runway = list.iter().find(|e| e.name == "runway").unwrap();
        assert_eq!(runway.kind, "service");
        assert_eq!(runway.usd_per_second_from, 0.05);
        assert_eq!(runway.capabilities.looping, "trimmed");
        assert!(runway.models.iter().any(|m| m.name == "gen4_turbo"));
        let opensora = list.iter().find(|e| e.name == "opensora").unwrap();
        assert_eq!(opensora.kind, "local");
        assert!(opensora.description.contains("large GPU"));
        let luma = list.iter().find(|e| e.name == "luma").unwrap();
        assert_eq!(luma.capabilities.looping, "provider");
        if !luma.available {
            assert!(luma
                .unavailable
                .as_deref()
                .unwrap()
                .contains("LUMAAI_API_KEY"));
        }
    }
}
