//! The capability tables: every provider and model, read from `data/models.toml`.
//!
//! The file is compiled in and parsed once; a malformed table is a bug caught by the
//! tests, so lookups return `&'static` specs.

use std::sync::OnceLock;

use kinema_core::{Error, Result};
use serde::{Deserialize, Serialize};

const MODELS_TOML: &str = include_str!("../data/models.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    provider: Vec<ProviderSpec>,
}

/// One video service: how to reach it, its keys, polling, and its models.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    /// The engine name (`--engine runway`).
    pub name: String,
    pub title: String,
    /// Environment variables holding the credentials, all required.
    pub key_env: Vec<String>,
    /// Where a user gets a key.
    pub key_url: String,
    pub base_url: String,
    /// Environment variable that replaces `base_url` (proxies, gateways, tests).
    pub base_url_env: String,
    pub default_model: String,
    /// Whether a running task can be cancelled.
    pub cancel: bool,
    pub poll: PollSpec,
    #[serde(default)]
    pub create_retry: Vec<RetryRule>,
    pub image: ImageRules,
    #[serde(rename = "model")]
    pub models: Vec<ModelSpec>,
}

/// How often to ask for a task's state, as the provider documents it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PollSpec {
    pub interval_s: f64,
    /// Longest wait between attempts after repeated errors.
    pub max_interval_s: f64,
    /// Factor the wait grows by after each failed attempt.
    pub backoff: f64,
    /// Random extra wait, as a fraction of the wait (against synchronised retries).
    pub jitter: f64,
    /// How long a task may take in all before Kinema gives up on it.
    pub deadline_s: u64,
}

/// An answer to a create request that proves it was not accepted, so it may be resent.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetryRule {
    pub status: u16,
    /// The provider's own error codes that must accompany the status (Kling's `code`).
    #[serde(default)]
    pub codes: Option<Vec<i64>>,
}

/// What the provider accepts as an input image.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRules {
    /// Encodings accepted, in order of preference (`png`, `jpeg`, `webp`).
    pub formats: Vec<String>,
    pub min_short_side: u32,
    pub max_side: u32,
    /// Width / height range.
    pub aspect: [f64; 2],
    /// Largest encoded file.
    pub max_bytes: u64,
    /// Longest data URI, where the image travels as one.
    #[serde(default)]
    pub max_data_uri_chars: Option<u64>,
}

/// One model's capabilities and price.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    pub description: String,
    /// Clip lengths the model makes, in seconds.
    pub durations: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratios: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratios: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_range: Option<[f64; 2]>,
    /// Longest side of the input picture, for models whose size is free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canvas_long_side: Option<u32>,
    /// Takes a last frame as well as a first.
    pub last_frame: bool,
    /// Qualities in which the last frame is available (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_frame_qualities: Option<Vec<String>>,
    pub seed: bool,
    /// Makes seamless loops itself.
    pub provider_loop: bool,
    pub negative_prompt: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_max_chars: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_max_chars: Option<usize>,
    /// Price when the model has no quality levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_second: Option<f64>,
    #[serde(default, rename = "quality", skip_serializing_if = "Vec::is_empty")]
    pub qualities: Vec<QualitySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_quality: Option<String>,
    /// Frame rate of the delivered video (informational; the file's own timing is used).
    pub output_fps: u32,
    /// Usual time from submit to result, for the estimate shown before submitting.
    pub typical_wait_s: u32,
}

/// A quality level: Luma's `resolution`, Kling's `mode`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QualitySpec {
    pub name: String,
    /// Shorter side of the picture at this level (Luma's resolutions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_side: Option<u32>,
    pub usd_per_second: f64,
}

/// The shapes a model makes.
#[derive(Clone, Debug, PartialEq)]
pub enum Shapes {
    /// Exact pixel sizes, named `W:H` by the API.
    Pixels(Vec<(u32, u32)>),
    /// Aspect names; the pixel size follows the quality.
    Aspects(Vec<(u32, u32)>),
    /// Any width / height ratio in the range; the output follows the input.
    Range(f64, f64),
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // Compiled-in data, covered by `the_table_is_consistent`.
        toml::from_str(MODELS_TOML).unwrap_or_else(|e| panic!("data/models.toml: {e}"))
    })
}

/// Every provider, in the order they are listed to users.
pub fn providers() -> &'static [ProviderSpec] {
    &catalog().provider
}

/// The provider called `name`, if it is one.
pub fn provider(name: &str) -> Option<&'static ProviderSpec> {
    providers().iter().find(|p| p.name == name)
}

fn parse_pair(text: &str) -> Option<(u32, u32)> {
    let (w, h) = text.split_once(':')?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

impl ProviderSpec {
    /// The model called `name`, or the default; an unknown name lists the known ones.
    pub fn model(&self, name: Option<&str>) -> Result<&ModelSpec> {
        let name = name.unwrap_or(&self.default_model);
        self.models.iter().find(|m| m.name == name).ok_or_else(|| {
            Error::invalid(
                format!("{} has no model `{name}` that Kinema knows", self.title),
                format!(
                    "use --model with one of: {} (default {})",
                    self.model_names().join(", "),
                    self.default_model
                ),
            )
        })
    }

    pub fn model_names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }

    /// Whether every credential variable is set (and not empty) in this environment.
    pub fn keys_present(&self) -> bool {
        self.key_env
            .iter()
            .all(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()))
    }
}

impl ModelSpec {
    pub fn shapes(&self) -> Shapes {
        let pairs = |list: &[String]| list.iter().filter_map(|r| parse_pair(r)).collect();
        match (&self.ratios, &self.aspect_ratios, self.aspect_range) {
            (Some(r), _, _) => Shapes::Pixels(pairs(r)),
            (None, Some(a), _) => Shapes::Aspects(pairs(a)),
            (None, None, Some([lo, hi])) => Shapes::Range(lo, hi),
            (None, None, None) => Shapes::Range(1.0, 1.0),
        }
    }

    /// The quality level `name`, or the default; `None` for models without levels.
    pub fn quality(&self, name: Option<&str>) -> Result<Option<&QualitySpec>> {
        if self.qualities.is_empty() {
            return match name {
                None => Ok(None),
                Some(q) => Err(Error::invalid(
                    format!(
                        "model {} has no quality levels, so `--quality {q}` does not apply",
                        self.name
                    ),
                    "drop --quality",
                )),
            };
        }
        let wanted = name.or(self.default_quality.as_deref());
        let found = wanted.and_then(|w| self.qualities.iter().find(|q| q.name == w));
        match (wanted, found) {
            (_, Some(q)) => Ok(Some(q)),
            (Some(w), None) => Err(Error::invalid(
                format!("model {} has no quality `{w}`", self.name),
                format!(
                    "use --quality with one of: {}",
                    self.quality_names().join(", ")
                ),
            )),
            (None, None) => Ok(self.qualities.first()),
        }
    }

    pub fn quality_names(&self) -> Vec<&str> {
        self.qualities.iter().map(|q| q.name.as_str()).collect()
    }

    /// Price per second of video at a quality level.
    pub fn usd_per_second(&self, quality: Option<&QualitySpec>) -> f64 {
        quality
            .map(|q| q.usd_per_second)
            .or(self.usd_per_second)
            .unwrap_or(0.0)
    }

    /// The cheapest price per second, for listings.
    pub fn lowest_usd_per_second(&self) -> f64 {
        self.qualities
            .iter()
            .map(|q| q.usd_per_second)
            .chain(self.usd_per_second)
            .fold(f64::INFINITY, f64::min)
    }

    /// Whether a last frame can be sent at this quality.
    pub fn last_frame_at(&self, quality: Option<&QualitySpec>) -> bool {
        self.last_frame
            && match (&self.last_frame_qualities, quality) {
                (None, _) => true,
                (Some(list), Some(q)) => list.contains(&q.name),
                (Some(_), None) => false,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        let names: Vec<&str> = providers().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["runway", "luma", "kling"]);
        for p in providers() {
            assert!(p.model(None).is_ok(), "{}: default model listed", p.name);
            assert!(!p.key_env.is_empty() && p.base_url.starts_with("https://"));
            assert!(p.poll.interval_s > 0.0 && p.poll.max_interval_s >= p.poll.interval_s);
            let [lo, hi] = p.image.aspect;
            assert!(lo < 1.0 && hi > 1.0, "{}", p.name);
            for m in &p.models {
                let shapes = m.shapes();
                match &shapes {
                    Shapes::Pixels(v) | Shapes::Aspects(v) => {
                        let listed = m.ratios.as_ref().or(m.aspect_ratios.as_ref()).unwrap();
                        assert_eq!(v.len(), listed.len(), "{}: every ratio parses", m.name);
                        let usable = v.iter().filter(|&&(w, h)| {
                            let a = w as f64 / h as f64;
                            a >= lo - 0.01 && a <= hi + 0.01
                        });
                        assert!(
                            usable.count() >= 3,
                            "{}: shapes its inputs may have",
                            m.name
                        );
                    }
                    Shapes::Range(a, b) => assert!(a < b && m.canvas_long_side.is_some()),
                }
                assert!(!m.durations.is_empty() && m.durations.windows(2).all(|w| w[0] < w[1]));
                assert!(m.lowest_usd_per_second() > 0.0, "{} has a price", m.name);
                if let Some(d) = &m.default_quality {
                    assert!(m.quality(Some(d)).unwrap().is_some());
                }
                if matches!(shapes, Shapes::Aspects(_)) {
                    assert!(
                        m.qualities.iter().all(|q| q.short_side.is_some()),
                        "{}",
                        m.name
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_models_and_qualities_list_the_known_ones() {
        let runway = provider("runway").unwrap();
        let e = runway.model(Some("gen9")).unwrap_err();
        assert!(e.hint.unwrap().contains("gen4_turbo, gen4.5"), "listed");
        let kling = provider("kling").unwrap().model(None).unwrap();
        assert_eq!(kling.name, "kling-v2-1");
        assert_eq!(kling.quality(None).unwrap().unwrap().name, "std");
        let e = kling.quality(Some("ultra")).unwrap_err();
        assert!(e.hint.unwrap().contains("std, pro"));
        assert!(!kling.last_frame_at(kling.quality(None).unwrap()));
        assert!(kling.last_frame_at(kling.quality(Some("pro")).unwrap()));
        let turbo = runway.model(None).unwrap();
        assert!(turbo.quality(Some("pro")).is_err());
        assert_eq!(turbo.usd_per_second(None), 0.05);
    }
}
