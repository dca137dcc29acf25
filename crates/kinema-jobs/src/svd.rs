//! The `svd` engine as front ends build it: its settings from [`EngineOptions`], and the
//! prompt → motion mapping (the rig crate's prompt reader plus `data/svd_motion.toml`),
//! which lives here because the engine crates do not depend on each other.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use kinema_core::{Engine, Error, Result};
use kinema_diffusion::engine::{parse_dtype, DeviceChoice, PromptMotion, SvdEngine, SvdSettings};
use serde::Deserialize;
use serde_json::json;

use crate::engines::EngineOptions;

/// The mapping table, compiled in (it is data, kept as a file beside the crate).
const TABLE: &str = include_str!("../data/svd_motion.toml");

#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Entry {
    bucket: u32,
    fps_id: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    actions: BTreeMap<String, Entry>,
}

fn table() -> &'static Table {
    static PARSED: OnceLock<Table> = OnceLock::new();
    // The file ships with the crate and a test parses it, so this cannot fail at run time.
    PARSED.get_or_init(|| {
        toml::from_str(TABLE).unwrap_or(Table {
            actions: BTreeMap::new(),
        })
    })
}

/// What `prompt` asks of SVD's motion conditions, or `None` when the prompt reader finds no
/// action in it (see `data/svd_motion.toml` for the rules).
pub fn prompt_motion(prompt: &str) -> Option<PromptMotion> {
    let plan = kinema_rig::understand(prompt).ok()?;
    let mut best: Option<(PromptMotion, u32)> = None;
    for step in &plan.steps {
        let Some(entry) = table().actions.get(step.action.as_str()) else {
            continue;
        };
        let bucket = ((entry.bucket as f32 * step.amplitude).round() as u32).clamp(1, 255);
        let fps = (entry.fps_id + 1) as f32 / step.speed.max(0.1);
        let fps_id = (fps.round() as u32).saturating_sub(1).clamp(1, 30);
        let motion = PromptMotion {
            motion_bucket: bucket,
            fps_id,
            reason: json!({
                "action": step.action,
                "words": step.words,
                "amplitude": step.amplitude,
                "speed": step.speed,
                "actions_in_prompt": plan.steps.iter().map(|s| s.action.as_str()).collect::<Vec<_>>(),
                "table": "kinema-jobs/data/svd_motion.toml",
            }),
        };
        if best.as_ref().is_none_or(|(_, b)| bucket > *b) {
            best = Some((motion, bucket));
        }
    }
    best.map(|(m, _)| m)
}

/// Flags only the `svd` engine reads, for engines that must refuse them.
pub(crate) fn svd_only_flags(options: &EngineOptions) -> Vec<&'static str> {
    [
        ("--motion-bucket", options.motion_bucket.is_some()),
        ("--noise-aug", options.noise_aug.is_some()),
        ("--fps-id", options.fps_id.is_some()),
        ("--min-guidance", options.min_guidance.is_some()),
        ("--max-guidance", options.max_guidance.is_some()),
        ("--decode-chunk", options.decode_chunk.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect()
}

/// The `svd` engine from a model folder or a pulled hub id (default
/// stabilityai/stable-video-diffusion-img2vid-xt); resolution never touches the network.
pub(crate) fn build_svd(options: &EngineOptions) -> Result<Box<dyn Engine>> {
    let mut not_for_svd: Vec<&str> = [
        ("--rig", options.rig.is_some()),
        (
            "--motions (svd reads prompts with the built-in motions)",
            options.motions.is_some(),
        ),
        (
            "--guidance (use --min-guidance/--max-guidance)",
            options.guidance.is_some(),
        ),
        ("--shift", options.shift.is_some()),
        ("--negative-prompt", options.negative_prompt.is_some()),
        (
            "--quality (a provider setting; svd sizes by --resolution)",
            options.quality.is_some(),
        ),
        (
            "--last-image (svd starts from the character picture only)",
            options.last_image.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect();
    not_for_svd.extend(crate::opensora::opensora_only_flags(options));
    if !not_for_svd.is_empty() {
        return Err(Error::invalid(
            format!(
                "{} {} not apply to the `svd` engine",
                not_for_svd.join(", "),
                if not_for_svd.len() == 1 { "does" } else { "do" }
            ),
            "drop them; svd takes --motion-bucket, --fps-id, --noise-aug, --min-guidance, --max-guidance, --decode-chunk, --steps, --seed, --device, --dtype",
        ));
    }
    let defaults = SvdSettings::default();
    let settings = SvdSettings {
        steps: options.steps.map_or(defaults.steps, |s| s as usize),
        min_guidance: options
            .min_guidance
            .map_or(defaults.min_guidance, f64::from),
        max_guidance: options
            .max_guidance
            .map_or(defaults.max_guidance, f64::from),
        motion_bucket: options.motion_bucket,
        fps_id: options.fps_id,
        noise_aug: options.noise_aug.map_or(defaults.noise_aug, f64::from),
        decode_chunk: options.decode_chunk.map(|c| c as usize),
        device: match &options.device {
            Some(d) => DeviceChoice::parse(d)?,
            None => defaults.device,
        },
        dtype: options.dtype.as_deref().map(parse_dtype).transpose()?,
        resolution: options.resolution,
    };
    settings.validate()?;
    let model = options
        .model
        .as_deref()
        .unwrap_or(kinema_diffusion::engine::SVD_DEFAULT_MODEL);
    let dir = kinema_models::resolve(model, None)?.dir;
    Ok(Box::new(
        SvdEngine::load(&dir, settings)?.with_motion_reader(Arc::new(prompt_motion)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_every_action_of_the_prompt_reader() {
        let parsed: Table = toml::from_str(TABLE).unwrap();
        let library = kinema_rig::MotionLibrary::builtin();
        for name in library.names() {
            let entry = parsed.actions.get(name);
            assert!(entry.is_some(), "data/svd_motion.toml lacks `{name}`");
            let e = entry.unwrap();
            assert!(
                e.bucket <= 255 && (1..=30).contains(&e.fps_id),
                "{name}: {e:?}"
            );
        }
        assert_eq!(
            parsed.actions.len(),
            library.names().len(),
            "no stray actions"
        );
    }

    #[test]
    fn subtle_prompts_move_less_than_running_ones() {
        let idle = prompt_motion("subtle idle").unwrap();
        let run = prompt_motion("the knight runs").unwrap();
        assert!(
            idle.motion_bucket < 60 && run.motion_bucket > 150,
            "{idle:?} {run:?}"
        );
        assert!(idle.fps_id > run.fps_id);
        assert_eq!(run.reason["action"], "run");
        // Chinese too, and modifiers scale the table's values.
        let zh = prompt_motion("跑").unwrap();
        assert_eq!(zh.motion_bucket, run.motion_bucket);
        let gentle = prompt_motion("wave slightly").unwrap();
        let wave = prompt_motion("wave").unwrap();
        assert!(gentle.motion_bucket < wave.motion_bucket);
        let fast = prompt_motion("walk fast").unwrap();
        let walk = prompt_motion("walk").unwrap();
        assert!(fast.fps_id < walk.fps_id, "{fast:?} {walk:?}");
        // Several actions: the most energetic one.
        let seq = prompt_motion("walks then jumps").unwrap();
        assert_eq!(seq.reason["action"], "jump");
        // Nothing the reader knows: no mapping (the engine keeps SVD's defaults).
        assert!(prompt_motion("the flag flutters in the breeze").is_none());
    }
}
