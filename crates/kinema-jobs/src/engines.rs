//! The engines a front end may name, so `--engine`, suites, batches and the service agree.

use std::path::PathBuf;
use std::sync::Arc;

use kinema_core::{Engine, Error, Result};
use kinema_rig::MotionLibrary;

/// Engine names accepted by `--engine`, in the order they are listed to users: Kinema's
/// own engines, then the video services of `kinema-providers`.
pub const ENGINE_NAMES: &[&str] = &["rig", "wan", "svd", "opensora", "runway", "luma", "kling"];

/// Settings a front end may pass to an engine. Each engine reads the ones it understands
/// and refuses, by name, the ones that make no sense for it, so a user who sets
/// `--steps` for the rig engine learns that it has no effect instead of wondering.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineOptions {
    /// rig: a skeleton edited from `kinema rig` output, used instead of the automatic one.
    pub rig: Option<PathBuf>,
    /// rig: the motions to read prompts with and play, from `--motions DIR`
    /// ([`MotionLibrary::load`]); `None` is the built-in motions.
    pub motions: Option<Arc<MotionLibrary>>,
    /// Diffusion engines: a model folder or a Hugging Face repo id.
    pub model: Option<String>,
    /// Diffusion engines: denoising steps.
    pub steps: Option<u32>,
    /// Diffusion engines: classifier-free guidance scale.
    pub guidance: Option<f32>,
    /// Diffusion engines: flow-matching shift.
    pub shift: Option<f32>,
    /// Diffusion engines: what the clip must not show.
    pub negative_prompt: Option<String>,
    /// Diffusion engines: `cpu`, `cuda` or `cuda:N`.
    pub device: Option<String>,
    /// Diffusion engines: `f32`, `bf16` or `f16`.
    pub dtype: Option<String>,
    /// Diffusion engines: longer side of the picture the model generates.
    pub resolution: Option<u32>,
    /// svd: motion bucket (0–255) instead of the prompt's.
    pub motion_bucket: Option<u32>,
    /// svd: noise added to the conditioning image.
    pub noise_aug: Option<f32>,
    /// svd: conditioning frame rate minus one instead of the prompt's.
    pub fps_id: Option<u32>,
    /// svd: guidance of the first frame.
    pub min_guidance: Option<f32>,
    /// svd: guidance of the last frame.
    pub max_guidance: Option<f32>,
    /// svd: frames the VAE decodes at once.
    pub decode_chunk: Option<u32>,
    /// opensora: image guidance scale (how closely the clip keeps to the picture).
    pub image_guidance: Option<f32>,
    /// opensora: the motion score (1–7) appended to the prompt.
    pub motion_score: Option<u32>,
    /// Provider engines: Luma's resolution or Kling's mode.
    pub quality: Option<String>,
    /// Provider engines: a picture of the last pose (first+last frame models).
    pub last_image: Option<PathBuf>,
    /// Provider engines: where submitted tasks are remembered, so an interrupted batch or
    /// service run resumes them instead of paying again.
    pub journal: Option<kinema_providers::Journal>,
}

impl EngineOptions {
    /// Names of the diffusion-only settings that are set, for engines that have none.
    fn diffusion_settings_given(&self) -> Vec<&'static str> {
        let flags: [(&'static str, bool); 8] = [
            ("--model", self.model.is_some()),
            ("--steps", self.steps.is_some()),
            ("--guidance", self.guidance.is_some()),
            ("--shift", self.shift.is_some()),
            ("--negative-prompt", self.negative_prompt.is_some()),
            ("--device", self.device.is_some()),
            ("--dtype", self.dtype.is_some()),
            ("--resolution", self.resolution.is_some()),
        ];
        let mut given = set_flags(&flags);
        given.extend(crate::svd::svd_only_flags(self));
        given.extend(crate::opensora::opensora_only_flags(self));
        given
    }

    /// Names of the provider-only settings that are set.
    fn provider_settings_given(&self) -> Vec<&'static str> {
        set_flags(&[
            ("--quality", self.quality.is_some()),
            ("--last-image", self.last_image.is_some()),
        ])
    }
}

fn set_flags(flags: &[(&'static str, bool)]) -> Vec<&'static str> {
    flags
        .iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| *f)
        .collect()
}

/// "X only applies to …" / "X, Y only apply to …".
pub(crate) fn only_apply(given: &[&str], to: &str, engine: &str, hint: &str) -> Error {
    Error::invalid(
        format!(
            "{} only appl{} to {to}, not to `{engine}`",
            given.join(", "),
            if given.len() == 1 { "ies" } else { "y" }
        ),
        hint,
    )
}

/// The engine called `name`, configured by `options`, or an error that lists the
/// available engines or names the setting that does not apply.
pub fn build_engine(name: &str, options: &EngineOptions) -> Result<Box<dyn Engine>> {
    match name {
        "rig" => {
            let given = options.diffusion_settings_given();
            if !given.is_empty() {
                return Err(only_apply(
                    &given,
                    "diffusion engines",
                    "rig",
                    "drop those settings, or choose a diffusion engine with --engine",
                ));
            }
            let given = options.provider_settings_given();
            if !given.is_empty() {
                return Err(only_apply(
                    &given,
                    "the provider engines (runway, luma, kling)",
                    "rig",
                    "drop those settings, or choose a provider engine with --engine",
                ));
            }
            Ok(Box::new(build_rig_engine(options)?))
        }
        "wan" => build_wan(options),
        "svd" => crate::svd::build_svd(options),
        "opensora" => crate::opensora::build_opensora(options),
        name if kinema_providers::is_provider(name) => build_provider(name, options),
        other => Err(Error::invalid(
            format!("unknown engine `{other}`"),
            format!("available engines: {}", ENGINE_NAMES.join(", ")),
        )),
    }
}

/// The rig engine with the rig file and motions of `options` (its other settings are for
/// diffusion engines and ignored here; [`build_engine`] refuses them).
pub fn build_rig_engine(options: &EngineOptions) -> Result<kinema_rig::RigEngine> {
    let engine = match &options.rig {
        Some(path) => {
            kinema_rig::RigEngine::with_rig(kinema_rig::Rig::from_json(&read_rig(path)?)?)
        }
        None => kinema_rig::RigEngine::new(),
    };
    Ok(match &options.motions {
        Some(motions) => engine.with_motions(Arc::clone(motions)),
        None => engine,
    })
}

/// The `wan` engine from a model folder or a pulled Hugging Face repo (the default is
/// [`kinema_models::DEFAULT_MODEL`]), and the diffusion settings. Resolution never touches
/// the network: a model that is not there yet is an error naming the pull command.
fn build_wan(options: &EngineOptions) -> Result<Box<dyn Engine>> {
    use kinema_diffusion::engine::{parse_dtype, DeviceChoice, WanEngine, WanSettings};

    if options.rig.is_some() {
        return Err(Error::invalid(
            "--rig only applies to the `rig` engine, not to `wan`",
            "drop --rig, or use --engine rig",
        ));
    }
    if options.motions.is_some() {
        return Err(Error::invalid(
            "--motions only applies to the `rig` engine, not to `wan`",
            "drop --motions, or use --engine rig (wan reads the prompt as free text)",
        ));
    }
    let opensora_only = crate::opensora::opensora_only_flags(options);
    if !opensora_only.is_empty() {
        return Err(only_apply(
            &opensora_only,
            "the `opensora` engine",
            "wan",
            "drop them, or use --engine opensora",
        ));
    }
    let svd_only = crate::svd::svd_only_flags(options);
    if !svd_only.is_empty() {
        return Err(Error::invalid(
            format!(
                "{} only appl{} to the `svd` engine, not to `wan`",
                svd_only.join(", "),
                if svd_only.len() == 1 { "ies" } else { "y" }
            ),
            "drop them, or use --engine svd",
        ));
    }
    if options.last_image.is_some() {
        return Err(Error::unsupported(
            "--last-image is not supported by the `wan` engine yet: it starts from the character picture only",
        )
        .with_hint("drop --last-image, or use a first+last frame model, e.g. --engine luma or --engine runway --model seedance2"));
    }
    if options.quality.is_some() {
        return Err(only_apply(
            &["--quality"],
            "the provider engines (runway, luma, kling)",
            "wan",
            "drop --quality; `wan` sizes its picture itself",
        ));
    }
    let defaults = WanSettings::default();
    let settings = WanSettings {
        steps: options.steps.map_or(defaults.steps, |s| s as usize),
        guidance: options.guidance.map_or(defaults.guidance, f64::from),
        shift: options.shift.map(f64::from),
        negative_prompt: options.negative_prompt.clone(),
        device: match &options.device {
            Some(d) => DeviceChoice::parse(d)?,
            None => defaults.device,
        },
        dtype: options.dtype.as_deref().map(parse_dtype).transpose()?,
        resolution: options.resolution.unwrap_or(defaults.resolution),
        ..defaults
    };
    let model = options
        .model
        .as_deref()
        .unwrap_or(kinema_models::DEFAULT_MODEL);
    let dir = kinema_models::resolve(model, None)?.dir;
    Ok(Box::new(WanEngine::load(&dir, settings)?))
}

/// A video service: settings that only Kinema's local engines have are refused by name;
/// the service's own checks (model, quality, keys) run when it is built, before any
/// request.
fn build_provider(name: &str, options: &EngineOptions) -> Result<Box<dyn Engine>> {
    let local_only = set_flags(&[
        ("--rig", options.rig.is_some()),
        ("--motions", options.motions.is_some()),
        ("--steps", options.steps.is_some()),
        ("--guidance", options.guidance.is_some()),
        ("--shift", options.shift.is_some()),
        ("--device", options.device.is_some()),
        ("--dtype", options.dtype.is_some()),
        ("--resolution", options.resolution.is_some()),
    ]);
    let mut local_only = local_only;
    local_only.extend(crate::svd::svd_only_flags(options));
    if !local_only.is_empty() {
        return Err(only_apply(
            &local_only,
            "Kinema's local engines",
            name,
            "drop those settings: the service chooses them itself",
        ));
    }
    Ok(Box::new(kinema_providers::ProviderEngine::new(
        name,
        kinema_providers::ProviderOptions {
            model: options.model.clone(),
            quality: options.quality.clone(),
            negative_prompt: options.negative_prompt.clone(),
            last_image: options.last_image.clone(),
            journal: options.journal.clone(),
        },
    )?))
}

/// The motions a request plays: `options.motions`, or the built-ins.
pub(crate) fn motions_of(options: &EngineOptions) -> Arc<MotionLibrary> {
    options
        .motions
        .clone()
        .unwrap_or_else(MotionLibrary::builtin)
}

/// The engine called `name` with default settings.
pub fn engine_by_name(name: &str) -> Result<Box<dyn Engine>> {
    build_engine(name, &EngineOptions::default())
}

fn read_rig(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(
            format!("cannot read the rig file {}: {e}", path.display()),
            "write one with `kinema rig --image IMAGE --out rig.json`",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_engines_refuse_local_settings_and_wan_refuses_a_last_image() {
        let options = EngineOptions {
            steps: Some(4),
            device: Some("cuda".into()),
            ..Default::default()
        };
        let err = build_engine("runway", &options).err().unwrap();
        assert!(
            err.message
                .contains("--steps, --device only apply to Kinema's local engines"),
            "{err}"
        );
        let options = EngineOptions {
            model: Some(".".into()),
            last_image: Some(PathBuf::from("last.png")),
            ..Default::default()
        };
        let err = build_engine("wan", &options).err().unwrap();
        assert!(
            err.message
                .contains("--last-image is not supported by the `wan` engine"),
            "{err}"
        );
        let options = EngineOptions {
            quality: Some("pro".into()),
            ..Default::default()
        };
        let err = build_engine("rig", &options).err().unwrap();
        assert!(
            err.message
                .contains("--quality only applies to the provider engines"),
            "{err}"
        );
    }

    #[test]
    fn every_listed_engine_exists_and_names_itself() {
        let tiny_wan = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../kinema-diffusion/tests/models/wan-tiny-ti2v")
            .display()
            .to_string();
        let tiny_svd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../kinema-diffusion/tests/models/tiny-svd")
            .display()
            .to_string();
        let tiny_opensora = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../kinema-diffusion/tests/models/tiny-opensora")
            .display()
            .to_string();
        for name in ENGINE_NAMES {
            if kinema_providers::is_provider(name) {
                kinema_providers::testing::FakeProvider::shared(match *name {
                    "runway" => kinema_providers::testing::Vendor::Runway,
                    "luma" => kinema_providers::testing::Vendor::Luma,
                    _ => kinema_providers::testing::Vendor::Kling,
                });
            }
            let options = match *name {
                "wan" => EngineOptions {
                    model: Some(tiny_wan.clone()),
                    ..Default::default()
                },
                "svd" => EngineOptions {
                    model: Some(tiny_svd.clone()),
                    ..Default::default()
                },
                "opensora" => EngineOptions {
                    model: Some(tiny_opensora.clone()),
                    ..Default::default()
                },
                _ => EngineOptions::default(),
            };
            assert_eq!(build_engine(name, &options).unwrap().name(), *name);
        }
        let err = engine_by_name("sora").err().unwrap();
        assert!(
            err.to_string()
                .contains("available engines: rig, wan, svd, opensora, runway, luma, kling"),
            "{err}"
        );
    }

    #[test]
    fn wan_needs_a_pulled_model_and_refuses_rig() {
        // An empty Hugging Face cache: the default model is not there, and the error says
        // exactly how to get it. (The only test in this binary that reads HF_* variables.)
        let cache = tempfile::tempdir().unwrap();
        std::env::set_var("HF_HOME", cache.path());
        std::env::set_var("HF_HUB_OFFLINE", "1");
        let err = engine_by_name("wan").err().unwrap();
        let hint = err.hint.clone().unwrap_or_default();
        assert!(
            hint.contains("kinema models pull Wan-AI/Wan2.2-TI2V-5B-Diffusers"),
            "{err:?}"
        );
        let err = engine_by_name("svd").err().unwrap();
        let hint = err.hint.clone().unwrap_or_default();
        assert!(
            hint.contains("kinema models pull stabilityai/stable-video-diffusion-img2vid-xt"),
            "{err:?}"
        );
        let err = engine_by_name("opensora").err().unwrap();
        let hint = err.hint.clone().unwrap_or_default();
        assert!(
            hint.contains("kinema models pull hpcai-tech/Open-Sora-v2"),
            "{err:?}"
        );
        let options = EngineOptions {
            model: Some("./no/such/folder".into()),
            ..Default::default()
        };
        let err = build_engine("wan", &options).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message.contains("does not exist"), "{err:?}");
        let options = EngineOptions {
            model: Some(".".into()),
            rig: Some(PathBuf::from("hero.rig.json")),
            ..Default::default()
        };
        let err = build_engine("wan", &options).err().unwrap();
        assert!(err.message.contains("--rig only applies"), "{err}");
        let options = EngineOptions {
            model: Some(".".into()),
            device: Some("tpu".into()),
            ..Default::default()
        };
        let err = build_engine("wan", &options).err().unwrap();
        assert!(err.message.contains("unknown device `tpu`"), "{err}");
        let options = EngineOptions {
            model: Some(".".into()),
            motions: Some(MotionLibrary::builtin()),
            ..Default::default()
        };
        let err = build_engine("wan", &options).err().unwrap();
        assert!(err.message.contains("--motions only applies"), "{err}");
    }

    #[test]
    fn engines_refuse_each_others_settings() {
        let svd_flags = EngineOptions {
            model: Some(".".into()),
            motion_bucket: Some(40),
            decode_chunk: Some(4),
            ..Default::default()
        };
        let err = build_engine("wan", &svd_flags).err().unwrap();
        assert!(
            err.message
                .contains("--motion-bucket, --decode-chunk only apply to the `svd` engine"),
            "{err}"
        );
        let err = build_engine("rig", &svd_flags).err().unwrap();
        assert!(err.message.contains("--motion-bucket"), "{err}");
        let wan_flags = EngineOptions {
            model: Some(".".into()),
            guidance: Some(5.0),
            ..Default::default()
        };
        let err = build_engine("svd", &wan_flags).err().unwrap();
        assert!(
            err.message
                .contains("--guidance (use --min-guidance/--max-guidance) does not apply"),
            "{err}"
        );
        assert!(err.hint.unwrap().contains("--max-guidance"));
        // svd reads prompts with the built-in motions: their names key its motion table.
        let rig_flags = EngineOptions {
            model: Some(".".into()),
            motions: Some(MotionLibrary::builtin()),
            shift: Some(3.0),
            ..Default::default()
        };
        let err = build_engine("svd", &rig_flags).err().unwrap();
        assert!(err.message.contains("--motions"), "{err}");
        assert!(err.message.contains("--shift do not apply"), "{err}");
        let opensora_flags = EngineOptions {
            model: Some(".".into()),
            motion_score: Some(5),
            ..Default::default()
        };
        let err = build_engine("wan", &opensora_flags).err().unwrap();
        assert!(
            err.message
                .contains("--motion-score only applies to the `opensora` engine"),
            "{err}"
        );
        let err = build_engine("rig", &opensora_flags).err().unwrap();
        assert!(err.message.contains("--motion-score"), "{err}");
        let err = build_engine("opensora", &svd_flags).err().unwrap();
        assert!(
            err.message
                .contains("--motion-bucket, --decode-chunk do not apply to the `opensora` engine"),
            "{err}"
        );
    }

    #[test]
    fn rig_refuses_diffusion_settings_by_name() {
        let options = EngineOptions {
            steps: Some(20),
            guidance: Some(5.0),
            ..Default::default()
        };
        let err = build_engine("rig", &options).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("--steps, --guidance only apply"), "{text}");
    }

    #[test]
    fn a_missing_rig_file_says_how_to_make_one() {
        let options = EngineOptions {
            rig: Some(PathBuf::from("/nonexistent/hero.rig.json")),
            ..Default::default()
        };
        let err = build_engine("rig", &options).err().unwrap();
        assert!(format!("{err:?}").contains("kinema rig --image"), "{err:?}");
    }
}
