use kinema_core::{Clip, Placement, Result};
use kinema_jobs::RigOnly;
use kinema_media::{EncodeOptions, InputFiles, OutputFormat, OutputTarget};

use crate::cli::RigArgs;

pub fn run(args: RigArgs) -> Result<()> {
    let export = args
        .export
        .as_deref()
        .map(super::generate::export_request)
        .transpose()?;
    let mut inputs = InputFiles::new().with("the --image file", &args.image);
    if let Some(mask) = &args.mask {
        inputs.add("the --mask file", mask);
    }
    if let Some(out) = &args.out {
        inputs.check_file(out)?;
    }
    if let Some(overlay) = &args.overlay {
        inputs.check_file(overlay)?;
    }
    if let Some(export) = &export {
        let written = kinema_jobs::export_rig(&RigOnly {
            image: &args.image,
            mask: args.mask.as_deref(),
            subject_box: args.subject_box,
            export,
            force: args.force,
        })?;
        for path in written {
            eprintln!("wrote {}", path.display());
        }
    }
    let Some(out) = &args.out else {
        return Ok(());
    };
    let character = super::load_character(&args.image, &args.mask, args.subject_box)?;
    let rig = kinema_rig::auto_rig(&character)?;
    let mut targets = vec![];
    if let Some(path) = &args.overlay {
        targets.push(OutputTarget {
            path: path.clone(),
            format: OutputFormat::Apng,
        });
    }
    kinema_media::check_targets(&targets, args.force)?;
    kinema_media::write_text(out, &rig.to_json(), args.force)?;
    if let Some(target) = targets.first() {
        let overlay = kinema_rig::draw_overlay(&character, &rig);
        let still = Clip {
            frames: vec![overlay],
            fps: 1,
            looping: false,
            pixel_art: character.pixel_art,
            placement: Placement::default(),
        };
        let opts = EncodeOptions {
            scale: Some(1),
            force: args.force,
            ..EncodeOptions::default()
        };
        kinema_media::write_clip(&still, target, &opts)?;
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}
