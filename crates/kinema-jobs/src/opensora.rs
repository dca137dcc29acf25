//! The `opensora` engine as front ends build it: its settings from [`EngineOptions`], the
//! flags only it reads, and the model resolved offline (default `hpcai-tech/Open-Sora-v2`).

use kinema_core::{Engine, Error, Result};
use kinema_diffusion::engine::{
    parse_dtype, DeviceChoice, OpenSoraEngine, OpenSoraSettings, OPENSORA_DEFAULT_MODEL,
};

use crate::engines::EngineOptions;

/// Flags only the `opensora` engine reads, for engines that must refuse them.
pub(crate) fn opensora_only_flags(options: &EngineOptions) -> Vec<&'static str> {
    [
        ("--image-guidance", options.image_guidance.is_some()),
        ("--motion-score", options.motion_score.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect()
}

/// The `opensora` engine from a model folder or a pulled hub id; resolution never touches
/// the network, so a model that is not there is an error naming the pull command.
pub(crate) fn build_opensora(options: &EngineOptions) -> Result<Box<dyn Engine>> {
    let mut refused: Vec<&str> = [
        ("--rig", options.rig.is_some()),
        (
            "--motions (opensora reads the prompt as free text)",
            options.motions.is_some(),
        ),
        (
            "--shift (Open-Sora shifts by resolution and frames)",
            options.shift.is_some(),
        ),
        (
            "--negative-prompt (Open-Sora's negative prompt is empty)",
            options.negative_prompt.is_some(),
        ),
        (
            "--quality (a provider setting; opensora sizes by --resolution)",
            options.quality.is_some(),
        ),
        (
            "--last-image (opensora starts from the character picture only)",
            options.last_image.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect();
    refused.extend(crate::svd::svd_only_flags(options));
    if !refused.is_empty() {
        return Err(Error::invalid(
            format!(
                "{} {} not apply to the `opensora` engine",
                refused.join(", "),
                if refused.len() == 1 { "does" } else { "do" }
            ),
            "drop them; opensora takes --steps, --guidance, --image-guidance, --motion-score, --resolution, --seed, --device, --dtype",
        ));
    }
    let defaults = OpenSoraSettings::default();
    let settings = OpenSoraSettings {
        steps: options.steps.map_or(defaults.steps, |s| s as usize),
        guidance: options.guidance.map_or(defaults.guidance, f64::from),
        image_guidance: options
            .image_guidance
            .map_or(defaults.image_guidance, f64::from),
        motion_score: options.motion_score.unwrap_or(defaults.motion_score),
        device: match &options.device {
            Some(d) => DeviceChoice::parse(d)?,
            None => defaults.device,
        },
        dtype: options.dtype.as_deref().map(parse_dtype).transpose()?,
        resolution: options.resolution.unwrap_or(defaults.resolution),
    };
    settings.validate()?;
    let model = options.model.as_deref().unwrap_or(OPENSORA_DEFAULT_MODEL);
    let dir = kinema_models::resolve(model, None)?.dir;
    Ok(Box::new(OpenSoraEngine::load(&dir, settings)?))
}
