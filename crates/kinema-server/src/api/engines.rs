//! Capabilities: which engines, formats, atlases and limits this server offers, so
//! clients can build valid requests instead of discovering limits by trial.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Output formats a request may list in `outputs`.
pub const FORMATS: &[&str] = &["mp4", "gif", "apng", "webp", "frames", "sheet"];

#[derive(Serialize, ToSchema)]
pub struct EngineInfo {
    pub name: String,
    /// The engine used when a request names none.
    pub default: bool,
    pub description: String,
    /// `local` (renders on this server) or `service` (a paid video API the server calls
    /// with its own keys).
    pub kind: String,
    /// Whether a request for it can run on this server now (key present, model pulled).
    pub available: bool,
    /// Why not, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Free text, longest clip, how alpha and loops are made, last frame, negative prompt,
    /// seed.
    #[schema(value_type = Object)]
    pub capabilities: serde_json::Value,
    /// Lowest list price per second of video, in US dollars (0 for local engines).
    pub usd_per_second_from: f64,
    /// A service's models with their durations, shapes, quality levels and prices.
    #[schema(value_type = Vec<Object>)]
    pub models: Vec<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct LimitsInfo {
    pub max_frames: u32,
    pub max_fps: u32,
    pub max_upload_bytes: u64,
    pub max_pixels: u64,
    /// Smallest and largest `size` (output square side) accepted.
    pub sizes: [u32; 2],
    /// Unfinished tasks one token may have at once.
    pub quota: u64,
    /// Most US dollars of paid-engine tasks one token may submit; null for no limit.
    pub spend_limit_usd: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct Capabilities {
    pub engines: Vec<EngineInfo>,
    pub formats: Vec<String>,
    pub atlases: Vec<String>,
    pub limits: LimitsInfo,
}

fn describe(engine: &str, general: &str) -> String {
    match engine {
        "rig" => "Fast CPU engine: auto-rigs the character and animates its skeleton; understands the actions in GET /v1/actions, in English and Chinese.".into(),
        "wan" => "Latent video diffusion (Wan2.2 TI2V-5B) on this server's CPU or GPU; follows free text. Needs the model pulled on the server (`kinema models pull Wan-AI/Wan2.2-TI2V-5B-Diffusers`); slow without a GPU.".into(),
        "svd" => "Stable Video Diffusion (SVD-XT) image-to-video on this server's CPU or GPU; the prompt only steers its motion strength and frame rate. Needs the model pulled on the server (`kinema models pull stabilityai/stable-video-diffusion-img2vid-xt`, which asks to accept its licence); slow without a GPU.".into(),
        "opensora" => "Open-Sora 2.0 (11B MMDiT) image-to-video on this server's GPU; follows free text, with a motion score. Needs the release pulled on the server (`kinema models pull hpcai-tech/Open-Sora-v2`) and a large GPU (23.8 GB of bf16 weights); refuses CPU runs that cannot fit.".into(),
        _ => general.to_string(),
    }
}

/// What this server can render and within which limits: every engine, whether it can run
/// here now (a paid engine needs its key in the server's environment; `wan` its model
/// pulled), its capabilities and its price.
#[utoipa::path(get, path = "/v1/engines", tag = "capabilities",
    responses((status = 200, body = Capabilities), (status = 401, body = crate::errors::ErrorBody)))]
pub async fn list_engines(State(state): State<AppState>) -> Json<Capabilities> {
    let c = &state.config;
    Json(Capabilities {
        engines: kinema_jobs::engine_statuses()
            .into_iter()
            .enumerate()
            .map(|(i, e)| EngineInfo {
                default: i == 0,
                description: describe(&e.name, &e.description),
                kind: e.kind.to_string(),
                available: e.available,
                unavailable: e.unavailable,
                capabilities: serde_json::to_value(&e.capabilities).unwrap_or_default(),
                usd_per_second_from: e.usd_per_second_from,
                models: e
                    .models
                    .iter()
                    .filter_map(|m| serde_json::to_value(m).ok())
                    .collect(),
                name: e.name,
            })
            .collect(),
        formats: FORMATS.iter().map(|s| s.to_string()).collect(),
        atlases: kinema_media::sheet::AtlasFormat::ALL
            .iter()
            .map(|a| a.name().to_string())
            .collect(),
        limits: LimitsInfo {
            max_frames: c.max_frames,
            max_fps: c.max_fps,
            max_upload_bytes: c.max_upload_bytes as u64,
            max_pixels: c.max_pixels,
            sizes: [c.min_size, c.max_size],
            quota: c.quota as u64,
            spend_limit_usd: c.spend_limit_usd,
        },
    })
}
