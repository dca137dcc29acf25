use kinema_core::{ClipSpec, Error, Result};
use kinema_jobs::{defaults, Request, SheetRequest, What};
use kinema_media::sheet::{AtlasFormat, SheetOptions};
use kinema_media::EncodeOptions;

use crate::cli::GenerateArgs;
use crate::progress::Bar;

/// The request `kinema generate` runs: the flags given, and `kinema_jobs::defaults` (through
/// clap's default values) for the rest.
pub fn request(args: &GenerateArgs) -> Result<Request> {
    let frames = match (args.frames, args.duration) {
        (Some(n), _) => n,
        (None, Some(secs)) => (secs * args.fps as f64).round().max(1.0) as u32,
        (None, None) => defaults::frames_at(args.fps),
    };
    let what = match (&args.prompt, &args.actions) {
        (_, Some(list)) => What::Actions(list.clone()),
        (Some(p), None) => What::Prompt(p.clone()),
        (None, None) => {
            return Err(Error::invalid(
                "nothing says what the character should do",
                "add --prompt \"waves hello\" for one clip, or --actions idle,walk,attack for \
                 one clip per action (see `kinema actions`)",
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
            motions: args
                .motions
                .as_deref()
                .map(kinema_rig::MotionLibrary::load)
                .transpose()?,
            model: args.model.clone(),
            steps: args.steps,
            guidance: args.guidance,
            shift: args.shift,
            negative_prompt: args.negative_prompt.clone(),
            device: args.device.clone(),
            dtype: args.dtype.clone(),
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
        encode: EncodeOptions {
            background: args.background,
            scale: Some(args.scale),
            size: args.size,
            force: args.force,
        },
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
        for w in &report.outputs {
            eprintln!(
                "wrote {} ({} frames, {}x{})",
                w.path.display(),
                w.frames,
                w.width,
                w.height
            );
        }
        for f in &report.sheet_files {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok(())
}
