//! One generation request: a prompt or an action set, rendered once, written many ways.

use std::path::PathBuf;
use std::time::Instant;

use kinema_core::{
    Character, Clip, ClipSpec, CostEstimate, Engine, Error, FrameGameplay, Generation, Job,
    Progress, Result,
};
use kinema_media::{EncodeOptions, InputFiles, OutputFormat, OutputTarget, Written};
use serde::Serialize;

use crate::defaults;
use crate::engines::{build_engine, motions_of, EngineOptions};
use crate::export::ExportRequest;

/// What the character should do.
#[derive(Clone, Debug)]
pub enum What {
    /// Free text, possibly a sequence ("walks then jumps"); one clip.
    Prompt(String),
    /// Several actions of one character on one canvas; one clip each.
    Actions(Vec<String>),
}

/// Everything one `generate` needs, already parsed and validated for syntax.
#[derive(Clone, Debug)]
pub struct Request {
    pub image: PathBuf,
    pub mask: Option<PathBuf>,
    /// Where the character is (`--box`); see [`kinema_media::LoadOptions::subject_box`].
    pub subject_box: Option<kinema_media::SubjectBox>,
    /// Which engine renders the request (one of [`crate::ENGINE_NAMES`]).
    pub engine: String,
    pub engine_options: EngineOptions,
    pub what: What,
    pub spec: ClipSpec,
    /// Clip outputs; for action sets, each is expanded per action (`hero.mp4` → `hero-walk.mp4`).
    pub outs: Vec<PathBuf>,
    pub sheet: Option<SheetRequest>,
    /// The rig exported for Spine and/or Godot with one animation per rendered action
    /// (rig engine only).
    pub export: Option<ExportRequest>,
    pub encode: EncodeOptions,
}

/// A sprite sheet with its atlases, holding every rendered action as one animation.
#[derive(Clone, Debug)]
pub struct SheetRequest {
    pub path: PathBuf,
    pub options: kinema_media::sheet::SheetOptions,
}

/// One rendered action, as reported to the user.
#[derive(Clone, Debug, Serialize)]
pub struct RenderedAction {
    /// The action name for action sets, or `clip` for a free prompt.
    pub name: String,
    pub frames: usize,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub looping: bool,
    /// How the engine read the prompt, in one line (`hurt → die (12 + 12 frames)`), when
    /// it says: what `generate` prints, the batch summary lists and the service reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
    pub understood: serde_json::Value,
    /// Per frame: the ground pivot, root motion, hurtbox, hitbox on strike frames and the
    /// events that fall on it, in frame pixels (rig engine only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gameplay: Option<Vec<FrameGameplay>>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    pub load_ms: f64,
    pub render_ms: f64,
    pub encode_ms: f64,
    pub total_ms: f64,
}

impl RequestReport {
    /// `read as: …` lines for people: one for a prompt, one per action of an action set
    /// (named), none when the engine does not say how it read the prompt.
    pub fn reading_lines(&self) -> Vec<String> {
        let named = self.actions.len() > 1;
        self.actions
            .iter()
            .filter_map(|a| {
                let r = a.reading.as_deref()?;
                Some(if named {
                    format!("read {} as: {r}", a.name)
                } else {
                    format!("read as: {r}")
                })
            })
            .collect()
    }
}

/// What a request produced.
#[derive(Clone, Debug, Serialize)]
pub struct RequestReport {
    pub engine: &'static str,
    pub character: String,
    pub actions: Vec<RenderedAction>,
    pub outputs: Vec<Written>,
    /// Sprite sheet and atlas files, when a sheet was asked for.
    pub sheet_files: Vec<PathBuf>,
    /// Rig export files (Spine, Godot and their texture page), when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub export_files: Vec<PathBuf>,
    pub timings: Timings,
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

/// One render unit: a name, the prompt given to the engine, whether it loops.
struct Unit {
    name: String,
    prompt: String,
    looping: bool,
}

fn units(what: &What, spec: &ClipSpec, engine_options: &EngineOptions) -> Result<Vec<Unit>> {
    match what {
        What::Prompt(p) => {
            if p.trim().is_empty() {
                return Err(Error::invalid(
                    "the prompt is empty",
                    "say what the character should do, e.g. --prompt \"waves hello\" (see `kinema actions`)",
                ));
            }
            Ok(vec![Unit {
                name: "clip".into(),
                prompt: p.clone(),
                looping: spec.looping,
            }])
        }
        What::Actions(list) => {
            if list.is_empty() {
                return Err(Error::invalid(
                    "the action list is empty",
                    "name actions separated by commas, e.g. --actions \"idle,walk,attack\"",
                ));
            }
            let catalog = motions_of(engine_options);
            let mut seen = std::collections::HashSet::new();
            list.iter()
                .map(|raw| {
                    let name = raw.trim().to_string();
                    if name.is_empty() {
                        return Err(Error::invalid(
                            "the action list has an empty entry",
                            "separate action names with single commas, e.g. \"idle,walk\"",
                        ));
                    }
                    if !seen.insert(name.clone()) {
                        return Err(Error::invalid(
                            format!("action `{name}` is listed twice"),
                            "list each action once",
                        ));
                    }
                    // Loop cycles by nature (idle, walk, …) or when the user asks for loops.
                    let looping = spec.looping || catalog.get(&name).is_some_and(|m| m.looping);
                    Ok(Unit {
                        name: name.clone(),
                        prompt: name,
                        looping,
                    })
                })
                .collect()
        }
    }
}

/// Where one action's clip goes for a requested output path.
fn per_action_target(base: &OutputTarget, action: &str) -> OutputTarget {
    let path = match base.format {
        OutputFormat::Frames => base.path.join(action),
        _ => {
            let stem = base
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = base
                .path
                .extension()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            base.path.with_file_name(format!("{stem}-{action}.{ext}"))
        }
    };
    OutputTarget {
        path,
        format: base.format,
    }
}

/// Every file and folder a request writes, decided before anything is rendered.
struct OutputPlan {
    /// Clip targets with the index of the unit they show (expanded per action for sets).
    clips: Vec<(usize, OutputTarget)>,
    /// The sheet PNG and its atlases.
    sheet_files: Vec<PathBuf>,
}

impl OutputPlan {
    fn new(req: &Request, units: &[Unit]) -> Result<OutputPlan> {
        let action_set = matches!(req.what, What::Actions(_));
        let bases = req
            .outs
            .iter()
            .map(|p| kinema_media::parse_output(p))
            .collect::<Result<Vec<_>>>()?;
        let mut clips = Vec::new();
        for (i, u) in units.iter().enumerate() {
            for b in &bases {
                let target = if action_set {
                    per_action_target(b, &u.name)
                } else {
                    b.clone()
                };
                clips.push((i, target));
            }
        }
        let sheet_files = match &req.sheet {
            Some(sheet) => kinema_media::sheet::sheet_paths(&sheet.path, &sheet.options)?,
            None => Vec::new(),
        };
        Ok(OutputPlan { clips, sheet_files })
    }

    /// Refuses the plan when any output is one of `inputs`, whatever `--force` says.
    fn refuse_inputs(&self, inputs: &InputFiles) -> Result<()> {
        for (_, target) in &self.clips {
            inputs.check_target(target)?;
        }
        for file in &self.sheet_files {
            inputs.check_file(file)?;
        }
        Ok(())
    }
}

/// The files `req` reads: the image, the mask and an edited rig.
fn inputs_of(req: &Request) -> InputFiles {
    let mut inputs = InputFiles::new().with("the input image", &req.image);
    if let Some(mask) = &req.mask {
        inputs.add("the mask image", mask);
    }
    if let Some(rig) = &req.engine_options.rig {
        inputs.add("the rig file", rig);
    }
    inputs
}

/// Refuses `req` when any file it would write is one of `inputs` (a batch checks every
/// job against every character's files before the first job starts).
pub(crate) fn refuse_inputs(req: &Request, inputs: &InputFiles) -> Result<()> {
    let units = units(&req.what, &req.spec, &req.engine_options)?;
    OutputPlan::new(req, &units)?.refuse_inputs(inputs)
}

/// Validates the whole request, renders it, and writes every output; nothing is written
/// unless every check passes first, no output is ever left half-written, and no output
/// may be one of the request's inputs, even with `force`.
pub fn run(req: &Request, progress: &(dyn Fn(Progress) + Sync)) -> Result<RequestReport> {
    run_with(req, progress, &mut |_| Ok(()))
}

/// [`run`], asking `consent` before a billed engine is used: once every check has passed
/// and before anything is submitted, with the estimated cost of the whole request.
pub fn run_with(
    req: &Request,
    progress: &(dyn Fn(Progress) + Sync),
    consent: &mut dyn FnMut(&CostEstimate) -> Result<()>,
) -> Result<RequestReport> {
    let start = Instant::now();
    req.spec.validate(&defaults::limits())?;
    let units = units(&req.what, &req.spec, &req.engine_options)?;
    if req.export.is_some() && req.engine != "rig" {
        return Err(Error::invalid(
            format!("--export needs the rig engine, not `{}`", req.engine),
            "drop --export, or use --engine rig (only the rig engine has a skeleton)",
        ));
    }
    let engine = build_engine(&req.engine, &req.engine_options)?;
    // Refuse a prompt or timing the engine cannot follow before loading or rendering
    // anything (for services: before any request is sent).
    for u in &units {
        engine.understand(&u.prompt)?;
        engine.check(&unit_spec(u, &req.spec))?;
    }
    let outputs = OutputPlan::new(req, &units)?;
    if outputs.clips.is_empty() && req.sheet.is_none() && req.export.is_none() {
        return Err(Error::invalid(
            "nothing to write: no clip output and no sprite sheet was asked for",
            format!(
                "add --out PATH ({}), --sheet PATH.png for a sprite sheet with atlases, or \
                 --export spine,godot DIR/ for the rig",
                kinema_media::OUTPUT_FORMATS
            ),
        ));
    }
    outputs.refuse_inputs(&inputs_of(req))?;
    let export_stem = crate::export::export_stem(&req.image);
    if let Some(export) = &req.export {
        crate::export::check_export(export, &export_stem, req.encode.force, &inputs_of(req))?;
    }
    let plan = outputs.clips;
    let all_targets: Vec<OutputTarget> = plan.iter().map(|(_, t)| t.clone()).collect();
    kinema_media::check_targets(&all_targets, req.encode.force)?;
    if let Some(sheet) = &req.sheet {
        kinema_media::sheet::check_sheet_targets(&sheet.path, &sheet.options, req.encode.force)?;
    }

    let t = Instant::now();
    let opts = defaults::load_options(req.mask.clone(), req.subject_box);
    let character = kinema_media::load_character(&req.image, &opts)?;
    if let Some(cost) = total_cost(engine.as_ref(), &units, &req.spec) {
        consent(&cost)?;
    }
    let load_ms = ms(t);

    let t = Instant::now();
    // The engines' own account of each render (for `wan`: timings, memory, key colour)
    // replaces the up-front `understand` one in the report.
    let mut clips: Vec<Clip> = Vec::with_capacity(units.len());
    let mut understood: Vec<serde_json::Value> = Vec::with_capacity(units.len());
    let mut gameplay: Vec<Option<Vec<FrameGameplay>>> = Vec::with_capacity(units.len());
    for g in render_units(engine.as_ref(), &character, &units, &req.spec, progress)? {
        clips.push(g.clip);
        understood.push(g.understood);
        gameplay.push(g.gameplay);
    }
    let render_ms = ms(t);

    let t = Instant::now();
    let mut outputs = Vec::with_capacity(plan.len());
    for (i, target) in &plan {
        outputs.push(kinema_media::write_clip(&clips[*i], target, &req.encode)?);
    }
    let mut sheet_files = Vec::new();
    if let Some(sheet) = &req.sheet {
        let animations: Vec<_> = units
            .iter()
            .zip(&clips)
            .zip(&gameplay)
            .map(|((u, clip), gameplay)| kinema_media::sheet::Animation {
                name: u.name.clone(),
                clip,
                looping: u.looping,
                gameplay: gameplay.as_deref(),
            })
            .collect();
        sheet_files = kinema_media::sheet::write_sheet(
            &sheet.path,
            &animations,
            &sheet.options,
            req.encode.force,
        )?;
    }
    let mut export_files = Vec::new();
    if let Some(export) = &req.export {
        let specs: Vec<ClipSpec> = units
            .iter()
            .map(|u| ClipSpec {
                looping: u.looping,
                ..req.spec.clone()
            })
            .collect();
        // A free prompt's animation is named after what it plays (`walk-then-jump`).
        let names: Vec<String> = units
            .iter()
            .zip(&understood)
            .map(|(u, said)| match req.what {
                What::Actions(_) => u.name.clone(),
                What::Prompt(_) => plan_name(said).unwrap_or_else(|| u.name.clone()),
            })
            .collect();
        let actions: Vec<kinema_rig::ExportAction> = units
            .iter()
            .zip(&names)
            .zip(&specs)
            .zip(&gameplay)
            .map(|(((u, name), spec), g)| kinema_rig::ExportAction {
                name,
                prompt: &u.prompt,
                spec,
                gameplay: g.as_deref(),
            })
            .collect();
        let files = crate::engines::build_rig_engine(&req.engine_options)?.export(
            &character,
            &export_stem,
            &actions,
            &export.formats,
        )?;
        export_files = crate::export::write_export(export, &files, req.encode.force)?;
    }
    let encode_ms = ms(t);

    let actions = units
        .iter()
        .zip(&clips)
        .zip(understood)
        .zip(gameplay)
        .map(|(((u, clip), understood), gameplay)| RenderedAction {
            name: u.name.clone(),
            frames: clip.len(),
            fps: clip.fps,
            width: clip.width(),
            height: clip.height(),
            looping: clip.looping,
            reading: understood["reading"].as_str().map(str::to_string),
            understood,
            gameplay,
        })
        .collect();
    Ok(RequestReport {
        engine: engine.name(),
        character: character.name.clone(),
        actions,
        outputs,
        sheet_files,
        export_files,
        timings: Timings {
            load_ms,
            render_ms,
            encode_ms,
            total_ms: ms(start),
        },
    })
}

/// The actions of a rig plan, joined: `walk-then-jump`.
fn plan_name(understood: &serde_json::Value) -> Option<String> {
    let steps = understood["plan"]["steps"].as_array()?;
    let actions: Vec<&str> = steps.iter().filter_map(|s| s["action"].as_str()).collect();
    (!actions.is_empty()).then(|| actions.join("-then-"))
}

/// The clip spec of one unit: loops follow the unit (cycles loop by nature).
fn unit_spec(u: &Unit, spec: &ClipSpec) -> ClipSpec {
    ClipSpec {
        looping: u.looping,
        ..spec.clone()
    }
}

fn total_cost(engine: &dyn Engine, units: &[Unit], spec: &ClipSpec) -> Option<CostEstimate> {
    let parts: Vec<CostEstimate> = units
        .iter()
        .filter_map(|u| engine.estimate(&unit_spec(u, spec)))
        .collect();
    CostEstimate::total(&parts)
}

/// What the request would cost with a billed engine (`None` for local engines), after the
/// same checks [`run`] makes first. Nothing is sent anywhere.
pub fn estimate(req: &Request) -> Result<Option<CostEstimate>> {
    req.spec.validate(&defaults::limits())?;
    let units = units(&req.what, &req.spec, &req.engine_options)?;
    let engine = build_engine(&req.engine, &req.engine_options)?;
    for u in &units {
        engine.check(&unit_spec(u, &req.spec))?;
    }
    Ok(total_cost(engine.as_ref(), &units, &req.spec))
}

fn render_units(
    engine: &dyn Engine,
    character: &Character,
    units: &[Unit],
    spec: &ClipSpec,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<Generation>> {
    let total = units.len() as u64 * spec.frames as u64;
    units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let spec = unit_spec(u, spec);
            let job = Job {
                character,
                prompt: &u.prompt,
                spec: &spec,
            };
            let offset = i as u64 * spec.frames as u64;
            let report = |p: Progress| {
                let done = offset + p.done * spec.frames as u64 / p.total.max(1);
                progress(Progress {
                    stage: p.stage,
                    done,
                    total,
                });
            };
            engine.generate(job, &report)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_targets_get_the_action_in_the_name() {
        let b = OutputTarget {
            path: PathBuf::from("out/hero.mp4"),
            format: OutputFormat::Mp4,
        };
        assert_eq!(
            per_action_target(&b, "walk").path,
            PathBuf::from("out/hero-walk.mp4")
        );
        let d = OutputTarget {
            path: PathBuf::from("out/frames/"),
            format: OutputFormat::Frames,
        };
        assert_eq!(
            per_action_target(&d, "walk").path,
            PathBuf::from("out/frames/walk")
        );
    }

    #[test]
    fn empty_or_duplicate_actions_are_refused() {
        let spec = ClipSpec::default();
        let units = |what: What| units(&what, &spec, &EngineOptions::default());
        assert!(units(What::Actions(vec![])).is_err());
        assert!(units(What::Actions(vec!["walk".into(), " walk".into()])).is_err());
        assert!(units(What::Actions(vec!["walk".into(), "".into()])).is_err());
        assert!(units(What::Prompt("  ".into())).is_err());
    }

    #[test]
    fn user_cycles_loop_like_the_builtin_ones() {
        let spec = ClipSpec::default();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/motions");
        let options = EngineOptions {
            motions: Some(kinema_rig::MotionLibrary::load(&dir).unwrap()),
            ..EngineOptions::default()
        };
        let u = units(
            &What::Actions(vec!["prowl".into(), "jump".into()]),
            &spec,
            &options,
        )
        .unwrap();
        assert_eq!((u[0].looping, u[1].looping), (true, false));
    }
}
