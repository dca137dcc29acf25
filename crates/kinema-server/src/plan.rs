//! From a submitted JSON request to a render the job runner can execute.
//!
//! Everything that can be known before rendering is checked here, at submit time, so an
//! impossible request gets a 422 that says why instead of a task that fails later. The
//! worker re-runs the same checks on the stored request, so both sides always agree.

use std::path::{Path, PathBuf};

use kinema_core::{Background, ClipSpec};
use kinema_jobs::{defaults, EngineOptions, Request, SheetRequest, What};
use kinema_media::sheet::{AtlasFormat, SheetOptions};
use kinema_media::{EncodeOptions, OutputFormat, SubjectBox};
use kinema_rig::MotionLibrary;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::engines::FORMATS;
use crate::config::ServeConfig;
use crate::errors::{ApiError, ApiResult};

/// Longest accepted prompt, in characters.
const MAX_PROMPT_CHARS: usize = 500;
/// Most actions in one action set.
const MAX_ACTIONS: usize = 16;

/// Body of `POST /v1/image_to_video`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageToVideoRequest {
    /// An upload id (`upl_…` from POST /v1/uploads) or a `data:image/…;base64,…` URL.
    pub image: String,
    /// Where the character is in the image, `[x, y, width, height]` in pixels: seeds the
    /// cut-out of photos and painted backgrounds; everything outside is background.
    #[serde(default, rename = "box", skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 4, max_items = 4)]
    pub subject_box: Option<[u32; 4]>,
    /// What the character does, in English or Chinese ("waves hello", "挥手").
    /// Give this or `actions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Several actions on one canvas, one clip each (names from GET /v1/actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 16)]
    pub actions: Option<Vec<String>>,
    /// Engine name from GET /v1/engines [default: rig, as everywhere (docs/DEFAULTS.md)].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Paid engines (runway, luma, kling): the service's model, from GET /v1/engines
    /// [default: the service's default].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Paid engines: Luma's resolution (540p, 720p, 1080p) or Kling's mode (std, pro).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// Number of frames; or give `duration` [default: 2 seconds' worth at `fps`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub frames: Option<u32>,
    /// Clip length in seconds, instead of `frames`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Frames per second [default: 12].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub fps: Option<u32>,
    /// Output frame side in pixels (square, character fitted inside) [default: native].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 16, maximum = 2048)]
    pub size: Option<u32>,
    /// Seed for every random choice; the same seed gives the same frames [default: 0].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub seed: Option<u64>,
    /// Make a seamless loop [default: false; cycles such as walk loop anyway].
    #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
    pub looping: Option<bool>,
    /// `transparent` or `#rrggbb` [default: transparent; MP4 gets white].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Any of mp4, gif, apng, webp, frames, sheet [default: ["mp4"]]. Every clip format has
    /// the same pixel size (the character's, or `size`); MP4 plays 12 fps clips at 24 fps
    /// by showing each frame twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1)]
    pub outputs: Option<Vec<String>>,
    /// Atlases written beside the sheet (texturepacker, aseprite, godot, unity); needs
    /// "sheet" in `outputs` [default with a sheet: texturepacker]. Sheets are trimmed,
    /// with 2 px of padding, as from the CLI and batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atlases: Option<Vec<String>>,
}

/// A checked request: everything the runner needs except where the image lives.
#[derive(Clone, Debug)]
pub struct Plan {
    pub engine: String,
    /// The engine's settings: the server's `--motions` for rig tasks, a paid engine's
    /// model and quality.
    pub engine_options: EngineOptions,
    pub what: What,
    pub spec: ClipSpec,
    pub size: Option<u32>,
    pub background: Background,
    pub formats: Vec<OutputFormat>,
    pub sheet: Option<Vec<AtlasFormat>>,
    pub subject_box: Option<SubjectBox>,
}

fn bad(code: &str, message: impl Into<String>, hint: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, message, hint)
}

fn format_of(name: &str) -> Option<OutputFormat> {
    Some(match name {
        "mp4" => OutputFormat::Mp4,
        "gif" => OutputFormat::Gif,
        "apng" => OutputFormat::Apng,
        "webp" => OutputFormat::Webp,
        "frames" => OutputFormat::Frames,
        _ => return None,
    })
}

/// Checks `req` against the engines, the action catalog and `config`'s limits.
pub fn plan(req: &ImageToVideoRequest, config: &ServeConfig) -> ApiResult<Plan> {
    let engine_name = req
        .engine
        .clone()
        .unwrap_or_else(|| defaults::ENGINE.into());
    let paid = kinema_jobs::is_service_engine(&engine_name);
    if !paid && (req.model.is_some() || req.quality.is_some()) {
        return Err(bad(
            "setting_not_applicable",
            format!("`model` and `quality` only apply to the paid engines, not to `{engine_name}`"),
            "drop them, or choose runway, luma or kling (GET /v1/engines lists their models)",
        ));
    }
    // The server's motion files drive the rig engine; the others read prompts as free text.
    let motions = config.motions.clone().filter(|_| engine_name == "rig");
    let engine_options = EngineOptions {
        motions,
        model: req.model.clone(),
        quality: req.quality.clone(),
        ..EngineOptions::default()
    };
    let known = kinema_jobs::ENGINE_NAMES.contains(&engine_name.as_str());
    let engine = match kinema_jobs::build_engine(&engine_name, &engine_options) {
        Ok(engine) => Some(engine),
        // An API server that renders nothing itself (`--workers 0`) need not have the
        // wan model or a service's key: the worker that claims the task checks it all
        // again.
        Err(_) if known && config.workers == 0 => None,
        Err(e) => {
            // A listed engine that cannot be built lacks something on this machine (the
            // wan model not pulled yet); say so, rather than calling the engine unknown.
            let code = if known {
                "engine_unavailable"
            } else {
                "unknown_engine"
            };
            return Err(bad(
                code,
                e.message.clone(),
                e.hint.clone().unwrap_or_default(),
            ));
        }
    };
    let what = match (&req.prompt, &req.actions) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "prompt_and_actions",
                "the request has both `prompt` and `actions`",
                "give `prompt` for one clip, or `actions` for one clip per action",
            ))
        }
        (None, None) => {
            return Err(bad(
                "missing_prompt",
                "the request says nothing about what the character should do",
                "add \"prompt\": \"waves hello\", or \"actions\": [\"idle\", \"walk\"] (see GET /v1/actions)",
            ))
        }
        (Some(p), None) => {
            if p.trim().is_empty() {
                return Err(bad(
                    "missing_prompt",
                    "the prompt is empty",
                    "say what the character should do, e.g. \"waves hello\" or \"挥手\"",
                ));
            }
            if p.chars().count() > MAX_PROMPT_CHARS {
                return Err(bad(
                    "prompt_too_long",
                    format!("the prompt has {} characters", p.chars().count()),
                    format!("keep it under {MAX_PROMPT_CHARS} characters: a few actions in a row"),
                ));
            }
            if let Some(engine) = &engine {
                engine.understand(p).map_err(|e| {
                    bad("prompt_not_understood", e.message, e.hint.unwrap_or_default())
                })?;
            }
            What::Prompt(p.clone())
        }
        (None, Some(list)) => {
            let library = config
                .motions
                .clone()
                .unwrap_or_else(MotionLibrary::builtin);
            What::Actions(check_actions(list, &library)?)
        }
    };
    let fps = req.fps.unwrap_or(defaults::FPS);
    if fps == 0 || fps > config.max_fps {
        return Err(bad(
            "fps_out_of_range",
            format!("fps {fps} is out of range"),
            format!("use fps between 1 and {}", config.max_fps),
        ));
    }
    let frames = match (req.frames, req.duration) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "frames_and_duration",
                "the request has both `frames` and `duration`",
                "give one of them",
            ))
        }
        (Some(n), None) => n,
        (None, Some(secs)) => {
            if !secs.is_finite() || secs <= 0.0 {
                return Err(bad(
                    "duration_out_of_range",
                    format!("duration {secs} is not a positive number of seconds"),
                    "use e.g. \"duration\": 2.0",
                ));
            }
            (secs * fps as f64).round().clamp(1.0, u32::MAX as f64) as u32
        }
        (None, None) => defaults::frames_at(fps),
    };
    if frames == 0 || frames > config.max_frames {
        return Err(bad(
            "frames_out_of_range",
            format!("{frames} frames is out of range"),
            format!(
                "use between 1 and {} frames (at {fps} fps that is {:.1} s)",
                config.max_frames,
                config.max_frames as f64 / fps as f64
            ),
        ));
    }
    if let Some(size) = req.size {
        if size < config.min_size || size > config.max_size {
            return Err(bad(
                "size_out_of_range",
                format!("size {size} is out of range"),
                format!(
                    "use a size between {} and {} pixels, or leave it out for the native size",
                    config.min_size, config.max_size
                ),
            ));
        }
    }
    let background = match &req.background {
        Some(text) => text
            .parse::<Background>()
            .map_err(|e| bad("invalid_background", e.message, e.hint.unwrap_or_default()))?,
        None => defaults::encode_options().background,
    };
    let (formats, sheet) = check_outputs(req)?;
    // Whether the box fits the image is checked when the image is read.
    let subject_box = req
        .subject_box
        .map(SubjectBox::from_array)
        .transpose()
        .map_err(|e| bad("invalid_box", e.message, e.hint.unwrap_or_default()))?;
    let spec = ClipSpec {
        frames,
        fps,
        seed: req.seed.unwrap_or(defaults::SEED),
        looping: req.looping.unwrap_or(defaults::clip_spec().looping),
    };
    // What the engine cannot make (a length a service does not offer) is refused now,
    // not after the task was queued.
    if let Some(engine) = &engine {
        engine.check(&spec).map_err(|e| {
            bad(
                "not_supported_by_engine",
                e.message,
                e.hint.unwrap_or_default(),
            )
        })?;
    }
    Ok(Plan {
        engine: engine_name,
        engine_options,
        what,
        spec,
        size: req.size,
        background,
        formats,
        sheet,
        subject_box,
    })
}

fn check_actions(list: &[String], library: &MotionLibrary) -> ApiResult<Vec<String>> {
    let names = library.names();
    if list.is_empty() {
        return Err(bad(
            "missing_prompt",
            "the action list is empty",
            format!("name one or more of: {}", names.join(", ")),
        ));
    }
    if list.len() > MAX_ACTIONS {
        return Err(bad(
            "too_many_actions",
            format!("{} actions in one request", list.len()),
            format!("ask for at most {MAX_ACTIONS} actions, or split the request"),
        ));
    }
    let mut seen = Vec::new();
    for raw in list {
        let name = raw.trim();
        if !names.contains(&name) {
            return Err(bad(
                "unknown_action",
                format!("`{raw}` is not an action name"),
                format!("use names from GET /v1/actions: {}", names.join(", ")),
            ));
        }
        if seen.contains(&name) {
            return Err(bad(
                "duplicate_action",
                format!("action `{name}` is listed twice"),
                "list each action once",
            ));
        }
        seen.push(name);
    }
    Ok(seen.into_iter().map(String::from).collect())
}

type Outputs = (Vec<OutputFormat>, Option<Vec<AtlasFormat>>);

fn check_outputs(req: &ImageToVideoRequest) -> ApiResult<Outputs> {
    let default = vec!["mp4".to_string()];
    let names = req.outputs.as_ref().unwrap_or(&default);
    if names.is_empty() {
        return Err(bad(
            "no_outputs",
            "`outputs` is empty, so nothing would be written",
            format!("list one or more of: {}", FORMATS.join(", ")),
        ));
    }
    let mut formats = Vec::new();
    let mut sheet = false;
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(bad(
                "duplicate_output",
                format!("output `{name}` is listed twice"),
                "list each format once",
            ));
        }
        match (name.as_str(), format_of(name)) {
            ("sheet", _) => sheet = true,
            (_, Some(f)) => formats.push(f),
            (_, None) => {
                return Err(bad(
                    "unknown_output",
                    format!("`{name}` is not an output format"),
                    format!("use any of: {}", FORMATS.join(", ")),
                ))
            }
        }
    }
    let atlases = match (&req.atlases, sheet) {
        (Some(list), false) if !list.is_empty() => {
            return Err(bad(
                "atlases_without_sheet",
                "`atlases` were asked for without a sprite sheet",
                "add \"sheet\" to `outputs`, or drop `atlases`",
            ))
        }
        (_, false) => None,
        (None, true) => Some(defaults::SHEET_ATLASES.to_vec()),
        (Some(list), true) => {
            let mut parsed: Vec<AtlasFormat> = Vec::new();
            for name in list {
                let f = name
                    .parse::<AtlasFormat>()
                    .map_err(|e| bad("unknown_atlas", e.message, e.hint.unwrap_or_default()))?;
                if !parsed.contains(&f) {
                    parsed.push(f);
                }
            }
            Some(parsed)
        }
    };
    Ok((formats, atlases))
}

/// File name a format is written under inside a task's output folder.
pub fn file_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Mp4 => "clip.mp4",
        OutputFormat::Gif => "clip.gif",
        OutputFormat::Apng => "clip.png",
        OutputFormat::Webp => "clip.webp",
        OutputFormat::Frames => "frames/",
    }
}

/// Name of the sprite sheet image inside a task's output folder.
pub const SHEET_FILE: &str = "sheet.png";

impl Plan {
    /// The job for `kinema_jobs::run`, reading `image` and writing into `out_dir`.
    pub fn to_request(&self, image: &Path, out_dir: &Path) -> Request {
        Request {
            image: image.to_path_buf(),
            mask: None,
            subject_box: self.subject_box,
            engine: self.engine.clone(),
            engine_options: self.engine_options.clone(),
            what: self.what.clone(),
            spec: self.spec.clone(),
            outs: self
                .formats
                .iter()
                .map(|f| {
                    let mut p = out_dir.as_os_str().to_owned();
                    p.push("/");
                    p.push(file_name(*f));
                    PathBuf::from(p)
                })
                .collect(),
            sheet: self.sheet.as_ref().map(|atlases| SheetRequest {
                path: out_dir.join(SHEET_FILE),
                options: SheetOptions {
                    atlases: atlases.clone(),
                    ..defaults::sheet_options()
                },
            }),
            export: None,
            encode: EncodeOptions {
                background: self.background,
                size: self.size.map(|s| (s, s)),
                ..defaults::encode_options()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ServeConfig {
        ServeConfig::new("127.0.0.1:0".parse().unwrap(), "/tmp/unused")
    }

    fn req(json: serde_json::Value) -> ImageToVideoRequest {
        serde_json::from_value(json).unwrap()
    }

    fn code(json: serde_json::Value) -> String {
        plan(&req(json), &config()).unwrap_err().detail.code
    }

    #[test]
    fn a_minimal_request_gets_defaults() {
        let p = plan(
            &req(serde_json::json!({"image": "x", "prompt": "waves hello"})),
            &config(),
        )
        .unwrap();
        assert_eq!(p.spec, defaults::clip_spec());
        assert_eq!(p.formats, vec![OutputFormat::Mp4]);
        assert!(p.sheet.is_none());
        let p = plan(
            &req(serde_json::json!({"image": "x", "prompt": "wave", "outputs": ["sheet"]})),
            &config(),
        )
        .unwrap();
        let r = p.to_request(Path::new("/d/img"), Path::new("/d/out"));
        assert_eq!(
            r.sheet.map(|s| s.options),
            Some(defaults::sheet_options()),
            "the CLI's and batches' sheet: trimmed, padded, TexturePacker atlas"
        );
        assert_eq!(r.encode.scale, Some(defaults::SCALE));
        let p = plan(
            &req(
                serde_json::json!({"image": "x", "actions": ["idle", "walk"], "duration": 1.5,
                "fps": 10, "outputs": ["gif", "frames", "sheet"], "atlases": ["godot", "tp"]}),
            ),
            &config(),
        )
        .unwrap();
        assert_eq!(p.spec.frames, 15);
        assert_eq!(
            p.sheet,
            Some(vec![AtlasFormat::Godot, AtlasFormat::TexturePacker])
        );
        let r = p.to_request(Path::new("/d/img"), Path::new("/d/out"));
        assert_eq!(r.outs[1], PathBuf::from("/d/out/frames/"));
        assert!(r.outs[1].to_string_lossy().ends_with('/'));
    }

    #[test]
    fn a_box_reaches_the_request_and_an_empty_one_is_refused() {
        let p = plan(
            &req(serde_json::json!({"image": "x", "prompt": "wave", "box": [1, 2, 30, 40]})),
            &config(),
        )
        .unwrap();
        let r = p.to_request(Path::new("/d/img"), Path::new("/d/out"));
        assert_eq!(r.subject_box, SubjectBox::from_array([1, 2, 30, 40]).ok());
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "box": [1, 2, 0, 40]})),
            "invalid_box"
        );
    }

    #[test]
    fn impossible_combinations_say_why() {
        assert_eq!(code(serde_json::json!({"image": "x"})), "missing_prompt");
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "actions": ["idle"]})),
            "prompt_and_actions"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "engine": "sora"})),
            "unknown_engine"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "actions": ["fly"]})),
            "unknown_action"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "actions": ["idle", "idle"]})),
            "duplicate_action"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "frames": 0})),
            "frames_out_of_range"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "frames": 4, "duration": 1.0})),
            "frames_and_duration"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "fps": 1000})),
            "fps_out_of_range"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "size": 1})),
            "size_out_of_range"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "background": "blue"})),
            "invalid_background"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "outputs": []})),
            "no_outputs"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "outputs": ["avi"]})),
            "unknown_output"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "outputs": ["gif", "gif"]})),
            "duplicate_output"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "atlases": ["godot"]})),
            "atlases_without_sheet"
        );
        assert_eq!(
            code(
                serde_json::json!({"image": "x", "prompt": "wave", "outputs": ["sheet"], "atlases": ["spine"]})
            ),
            "unknown_atlas"
        );
        assert_eq!(
            code(serde_json::json!({"image": "x", "prompt": "wave", "duration": -1.0})),
            "duration_out_of_range"
        );
    }

    /// The runner renders into a fresh folder beside the uploads; should a file there
    /// resolve to the stored upload, the shared request check refuses it, as in the CLI.
    #[cfg(unix)]
    #[test]
    fn an_output_that_resolves_to_the_upload_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let upload = dir.path().join("upl_0123456789abcdef0123456789abcdef");
        let sample =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/characters/slimeBlue.png");
        std::fs::copy(&sample, &upload).unwrap();
        let before = std::fs::read(&upload).unwrap();
        let p = plan(
            &req(
                serde_json::json!({"image": "x", "prompt": "wave", "frames": 2,
                "outputs": ["apng"]}),
            ),
            &config(),
        )
        .unwrap();
        type MakeLink = fn(&Path, &Path) -> std::io::Result<()>;
        let links: [(&str, MakeLink); 2] = [
            ("hard", |a, b| std::fs::hard_link(a, b)),
            ("soft", |a, b| std::os::unix::fs::symlink(a, b)),
        ];
        for (kind, make) in links {
            let out = dir.path().join(kind);
            std::fs::create_dir(&out).unwrap();
            make(&upload, &out.join(file_name(OutputFormat::Apng))).unwrap();
            let mut request = p.to_request(&upload, &out);
            request.encode.force = true;
            let e = kinema_jobs::run(&request, &|_| {}).unwrap_err();
            assert!(e.message.contains("the input image"), "{kind}: {e}");
            assert_eq!(std::fs::read(&upload).unwrap(), before, "{kind}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let e = serde_json::from_value::<ImageToVideoRequest>(
            serde_json::json!({"image": "x", "promt": "wave"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("promt"), "{e}");
    }
}
