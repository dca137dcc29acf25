use kinema_core::{ClipSpec, Error, Result};
use kinema_jobs::{Request, SheetRequest, What};
use kinema_media::sheet::{AtlasFormat, SheetOptions};
use kinema_media::EncodeOptions;

use crate::cli::GenerateArgs;
use crate::progress::Bar;

pub fn run(args: GenerateArgs) -> Result<()> {
    let frames = match (args.frames, args.duration) {
        (Some(n), _) => n,
        (None, Some(secs)) => (secs * args.fps as f64).round().max(1.0) as u32,
        (None, None) => 2 * args.fps,
    };
    let what = match (&args.prompt, &args.actions) {
        (_, Some(list)) => What::Actions(list.clone()),
        (Some(p), None) => What::Prompt(p.clone()),
        (None, None) => {
            return Err(Error::invalid(
                "no action given",
                "use --prompt TEXT or --actions LIST",
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
                trim: args.sheet.trim,
                pot: args.sheet.pot,
                dedupe: true,
                atlases: args
                    .sheet
                    .atlas
                    .iter()
                    .map(|s| s.parse::<AtlasFormat>())
                    .collect::<Result<Vec<_>>>()?,
            },
        }),
        None => None,
    };
    let request = Request {
        image: args.image,
        mask: args.mask,
        engine: args.engine.clone(),
        engine_options: kinema_jobs::EngineOptions {
            rig: args.rig,
            motions: args
                .motions
                .as_deref()
                .map(kinema_rig::MotionLibrary::load)
                .transpose()?,
            model: args.model,
            steps: args.steps,
            guidance: args.guidance,
            shift: args.shift,
            negative_prompt: args.negative_prompt,
            device: args.device,
            dtype: args.dtype,
        },
        what,
        spec: ClipSpec {
            frames,
            fps: args.fps,
            seed: args.seed,
            looping: args.looping,
        },
        outs: args.outs,
        sheet,
        encode: EncodeOptions {
            background: args.background,
            scale: args.scale,
            size: args.size,
            force: args.force,
        },
    };
    let bar = Bar::new();
    let report = kinema_jobs::run(&request, &|p| bar.update(p));
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
