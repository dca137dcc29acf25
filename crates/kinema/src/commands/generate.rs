use kinema_core::{ClipSpec, Error, Result};
use kinema_jobs::{defaults, ExportRequest, Request, SheetRequest, What};
use kinema_media::sheet::{AtlasFormat, SheetOptions};
use kinema_media::EncodeOptions;

use crate::cli::GenerateArgs;
use crate::progress::Bar;

/// The request `kinema generate` runs: the flags given, and `kinema_jobs::defaults` (through
/// clap's default values) for the rest.
pub fn request(args: &GenerateArgs) -> Result<Request> {
    let motions = args
        .motions
        .as_deref()
        .map(kinema_rig::MotionLibrary::load)
        .transpose()?;
    let capture = match &args.bvh {
        Some(path) => Some(kinema_jobs::add_capture(
            motions.clone(),
            path,
            &args.bvh_plane,
            &args.bvh_map,
            args.looping,
        )?),
        None => None,
    };
    let frames = match (args.frames, args.duration, &capture) {
        (Some(n), _, _) => n,
        (None, Some(secs), _) => (secs * args.fps as f64).round().max(1.0) as u32,
        (None, None, Some(c)) => c.frames_at(args.fps),
        (None, None, None) => defaults::frames_at(args.fps),
    };
    let what = match (&args.prompt, &args.actions, &capture) {
        (_, Some(list), _) => What::Actions(list.clone()),
        (Some(p), None, _) => What::Prompt(p.clone()),
        (None, None, Some(c)) => What::Prompt(c.action.clone()),
        (None, None, None) => {
            return Err(Error::invalid(
                "nothing says what the character should do",
                "add --prompt \"waves hello\" for one clip, --actions idle,walk,attack for \
                 one clip per action (see `kinema actions`), or --bvh FILE for a motion capture",
            ))
        }
    };
    let sheet = match &args.sheet.sheet {
        Some(path) => Some(SheetRequest {
            path: path.clone(),
            options: SheetOptions {
                columns: args.sheet.columns,
                padding: args.sheet.padding,
                extrude: args.sheet.extrude,
                // `--trim` is the default, still accepted; clap refuses it with --no-trim.
                trim: args.sheet.trim || !args.sheet.no_trim,
                pot: args.sheet.pot,
                atlases: args
                    .sheet
                    .atlas
                    .iter()
                    .map(|s| s.parse::<AtlasFormat>())
                    .collect::<Result<Vec<_>>>()?,
                ..defaults::sheet_options()
            },
        }),
        None => None,
    };
    Ok(Request {
        image: args.image.clone(),
        mask: args.mask.clone(),
        subject_box: args.subject_box,
        engine: args.engine.clone(),
        engine_options: kinema_jobs::EngineOptions {
            rig: args.rig.clone(),
            motions: capture.map(|c| c.motions).or(motions),
            model: args.model.clone(),
            steps: args.steps,
            guidance: args.guidance,
            shift: args.shift,
            negative_prompt: args.negative_prompt.clone(),
            device: args.device.clone(),
            dtype: args.dtype.clone(),
            resolution: args.resolution,
            motion_bucket: args.svd.motion_bucket,
            noise_aug: args.svd.noise_aug,
            fps_id: args.svd.fps_id,
            min_guidance: args.svd.min_guidance,
            max_guidance: args.svd.max_guidance,
            decode_chunk: args.svd.decode_chunk,
            image_guidance: args.opensora.image_guidance,
            motion_score: args.opensora.motion_score,
            quality: args.quality.clone(),
            last_image: args.last_image.clone(),
            journal: None,
        },
        what,
        spec: ClipSpec {
            frames,
            fps: args.fps,
            seed: args.seed,
            looping: args.looping,
        },
        outs: args.outs.clone(),
        sheet,
        export: args.export.as_deref().map(export_request).transpose()?,
        encode: EncodeOptions {
            background: args.background,
            scale: Some(args.scale),
            size: args.size,
            force: args.force,
        },
    })
}

/// `--export FORMATS DIR` as a request: `spine,godot` and the folder.
pub fn export_request(values: &[String]) -> Result<ExportRequest> {
    let (formats, dir) = match values {
        [formats, dir] => (formats, dir),
        _ => {
            return Err(Error::invalid(
                "--export takes the formats and a folder",
                "write --export spine,godot OUT_DIR/",
            ))
        }
    };
    let list: Vec<String> = formats.split(',').map(str::to_string).collect();
    Ok(ExportRequest {
        dir: dir.into(),
        formats: ExportRequest::parse_formats(&list)?,
    })
}

pub fn run(args: GenerateArgs) -> Result<()> {
    let request = request(&args)?;
    if kinema_jobs::is_service_engine(&request.engine) {
        kinema_jobs::install_ctrl_c_handler()?;
    }
    let bar = Bar::new();
    let consent = crate::commands::consent(&args.cost);
    let report = kinema_jobs::run_with(&request, &|p| bar.update(p), &mut |cost| {
        bar.suspend(|| consent(cost))
    });
    bar.finish();
    let report = report?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::internal("could not serialise the summary").with_source(e))?;
        println!("{text}");
    } else {
        for line in report.reading_lines() {
            eprintln!("{line}");
        }
        for w in &report.outputs {
            eprintln!(
                "wrote {} ({} frames, {}x{})",
                w.path.display(),
                w.frames,
                w.width,
                w.height
            );
        }
        for f in report.sheet_files.iter().chain(&report.export_files) {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok(())
}
