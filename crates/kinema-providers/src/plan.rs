//! Checking a request against a model's capability table, before any network call.
//!
//! Everything a provider would refuse (a length it does not make, a last frame it does
//! not take, a seed it ignores, a prompt too long) is refused here with what the model
//! does support, so no request is sent, and none is billed, only to fail.

use kinema_core::{ClipSpec, Error, Result};
use serde::Serialize;

use crate::catalog::{providers, ModelSpec, ProviderSpec, QualitySpec};

/// What the user asked of a provider engine, besides the character and the prompt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub model: Option<String>,
    /// Luma's resolution or Kling's mode.
    pub quality: Option<String>,
    pub negative_prompt: Option<String>,
    /// Whether a last frame will be sent.
    pub last_image: bool,
}

/// A checked request: how long a video to order, at what quality, and how to loop it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub provider: String,
    pub model: String,
    pub quality: Option<String>,
    /// Seconds of video ordered.
    pub duration_s: u32,
    /// Seed sent to the provider (0 means none: Kinema's default seed is not forwarded).
    pub seed: Option<u64>,
    /// The provider is asked for a seamless loop.
    pub provider_loop: bool,
    /// Kinema picks the best loop window itself.
    pub loop_search: bool,
    /// Estimated price of this one clip.
    pub usd: f64,
    pub typical_wait_s: u32,
}

/// Checks `spec` and `settings` against `provider`'s model and plans the order.
pub fn plan(
    provider: &ProviderSpec,
    settings: &Settings,
    spec: &ClipSpec,
    prompt: Option<&str>,
) -> Result<Plan> {
    let model = provider.model(settings.model.as_deref())?;
    let quality = model.quality(settings.quality.as_deref())?;
    if let Some(p) = prompt {
        check_text(model, "prompt", p, model.prompt_max_chars, "--prompt")?;
    }
    if let Some(n) = &settings.negative_prompt {
        if !model.negative_prompt {
            return Err(Error::invalid(
                format!("{} {} takes no negative prompt", provider.title, model.name),
                format!(
                    "drop --negative-prompt, or use a model that takes one: {}",
                    models_with(|m| m.negative_prompt)
                ),
            ));
        }
        check_text(
            model,
            "negative prompt",
            n,
            model.negative_max_chars,
            "--negative-prompt",
        )?;
    }
    if settings.last_image && !model.last_frame_at(quality) {
        let hint = if model.last_frame {
            format!(
                "use --quality {} for a last frame with {}, or drop --last-image",
                model
                    .last_frame_qualities
                    .clone()
                    .unwrap_or_default()
                    .join(" or "),
                model.name
            )
        } else {
            format!(
                "drop --last-image, or use a model that takes one: {}",
                models_with(|m| m.last_frame)
            )
        };
        return Err(Error::invalid(
            format!(
                "{} {}{} takes no last frame",
                provider.title,
                model.name,
                quality
                    .map(|q| format!(" at {}", q.name))
                    .unwrap_or_default()
            ),
            hint,
        ));
    }
    let seed = (spec.seed != 0).then_some(spec.seed);
    if seed.is_some() && !model.seed {
        return Err(Error::invalid(
            format!(
                "{} {} takes no seed, so --seed {} would be ignored",
                provider.title, model.name, spec.seed
            ),
            format!(
                "drop --seed, or use a model that takes one: {}",
                models_with(|m| m.seed)
            ),
        ));
    }
    if let Some(s) = seed.filter(|&s| s > u64::from(u32::MAX)) {
        return Err(Error::invalid(
            format!("seed {s} is too large for {}", provider.title),
            format!("use --seed between 1 and {}", u32::MAX),
        ));
    }
    let provider_loop = spec.looping && model.provider_loop;
    let loop_search = spec.looping;
    // A window of N frames plus the one after it, unless the video itself is a loop.
    let needed = spec.frames + u32::from(loop_search && !provider_loop);
    let duration_s = model
        .durations
        .iter()
        .copied()
        .find(|&d| u64::from(d) * u64::from(spec.fps) >= u64::from(needed))
        .ok_or_else(|| too_long(provider, model, spec, needed))?;
    Ok(Plan {
        provider: provider.name.clone(),
        model: model.name.clone(),
        quality: quality.map(|q| q.name.clone()),
        duration_s,
        seed,
        provider_loop,
        loop_search,
        usd: model.usd_per_second(quality) * f64::from(duration_s),
        typical_wait_s: model.typical_wait_s,
    })
}

fn check_text(
    model: &ModelSpec,
    what: &str,
    text: &str,
    max: Option<usize>,
    flag: &str,
) -> Result<()> {
    let n = text.chars().count();
    match max {
        Some(max) if n > max => Err(Error::invalid(
            format!(
                "the {what} has {n} characters; {} takes at most {max}",
                model.name
            ),
            format!("shorten {flag}"),
        )),
        _ => Ok(()),
    }
}

fn too_long(provider: &ProviderSpec, model: &ModelSpec, spec: &ClipSpec, needed: u32) -> Error {
    let max = model.durations.last().copied().unwrap_or(0);
    let max_frames = u64::from(max) * u64::from(spec.fps) - u64::from(needed - spec.frames);
    let list: Vec<String> = model.durations.iter().map(|d| d.to_string()).collect();
    Error::invalid(
        format!(
            "{} frames at {} fps is {:.2} s of video{}, but {} {} makes clips of {} s",
            spec.frames,
            spec.fps,
            f64::from(needed) / f64::from(spec.fps),
            if needed > spec.frames {
                " (one more frame to find the loop)"
            } else {
                ""
            },
            provider.title,
            model.name,
            list.join(", ")
        ),
        format!(
            "use at most --frames {max_frames} at --fps {}, or a lower --fps",
            spec.fps
        ),
    )
}

/// `provider model` pairs whose table passes `test`, for hints.
fn models_with(test: impl Fn(&ModelSpec) -> bool) -> String {
    let list: Vec<String> = providers()
        .iter()
        .flat_map(|p| {
            p.models
                .iter()
                .filter(|m| test(m))
                .map(move |m| format!("--engine {} --model {}", p.name, m.name))
        })
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join("; ")
    }
}

/// The quality a plan settled on, as the table's entry.
pub fn quality_of<'a>(model: &'a ModelSpec, plan: &Plan) -> Option<&'a QualitySpec> {
    plan.quality
        .as_deref()
        .and_then(|q| model.qualities.iter().find(|s| s.name == q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::provider;

    fn spec(frames: u32, fps: u32) -> ClipSpec {
        ClipSpec {
            frames,
            fps,
            seed: 0,
            looping: false,
        }
    }

    #[test]
    fn the_shortest_length_that_holds_the_clip_is_ordered() {
        let runway = provider("runway").unwrap();
        let p = plan(runway, &Settings::default(), &spec(48, 24), Some("waves")).unwrap();
        assert_eq!((p.duration_s, p.usd), (2, 0.1));
        let p = plan(runway, &Settings::default(), &spec(49, 24), None).unwrap();
        assert_eq!(p.duration_s, 3);
        let luma = provider("luma").unwrap();
        let p = plan(luma, &Settings::default(), &spec(24, 12), None).unwrap();
        assert_eq!((p.duration_s, p.quality.as_deref()), (5, Some("720p")));
        assert!((p.usd - 1.0).abs() < 1e-9);
    }

    #[test]
    fn too_long_clips_say_what_the_model_makes() {
        let runway = provider("runway").unwrap();
        let e = plan(runway, &Settings::default(), &spec(300, 24), None).unwrap_err();
        assert!(e.message.contains("2, 3, 4, 5, 6, 7, 8, 9, 10 s"), "{e}");
        assert!(e.hint.unwrap().contains("--frames 240 at --fps 24"));
    }

    #[test]
    fn loops_need_one_more_frame_unless_the_provider_loops() {
        let runway = provider("runway").unwrap();
        let mut s = spec(240, 24);
        s.looping = true;
        let e = plan(runway, &Settings::default(), &s, None).unwrap_err();
        assert!(e.message.contains("one more frame"), "{e}");
        s.frames = 239;
        let p = plan(runway, &Settings::default(), &s, None).unwrap();
        assert!(p.loop_search && !p.provider_loop);
        let luma = provider("luma").unwrap();
        s.frames = 120;
        let p = plan(luma, &Settings::default(), &s, None).unwrap();
        assert!(p.provider_loop && p.loop_search);
        assert_eq!(p.duration_s, 5);
    }

    #[test]
    fn unsupported_combinations_are_refused_with_what_works() {
        let runway = provider("runway").unwrap();
        let last = Settings {
            last_image: true,
            ..Settings::default()
        };
        let e = plan(runway, &last, &spec(24, 24), None).unwrap_err();
        assert!(e.message.contains("gen4_turbo takes no last frame"), "{e}");
        assert!(e
            .hint
            .unwrap()
            .contains("--engine runway --model seedance2"));
        let kling = provider("kling").unwrap();
        let e = plan(kling, &last, &spec(24, 24), None).unwrap_err();
        assert!(
            e.hint.unwrap().contains("--quality pro"),
            "std has no tail frame"
        );
        let pro = Settings {
            quality: Some("pro".into()),
            ..last.clone()
        };
        assert!(plan(kling, &pro, &spec(24, 24), None).is_ok());
        let neg = Settings {
            negative_prompt: Some("blur".into()),
            ..Settings::default()
        };
        let e = plan(runway, &neg, &spec(24, 24), None).unwrap_err();
        assert!(
            e.hint.unwrap().contains("--engine kling"),
            "kling takes one"
        );
        let mut seeded = spec(24, 24);
        seeded.seed = 7;
        assert!(plan(runway, &Settings::default(), &seeded, None).is_ok());
        let e = plan(
            provider("luma").unwrap(),
            &Settings::default(),
            &seeded,
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("takes no seed"), "{e}");
        let long = "x".repeat(1001);
        let e = plan(runway, &Settings::default(), &spec(24, 24), Some(&long)).unwrap_err();
        assert!(e.message.contains("at most 1000"), "{e}");
    }
}
