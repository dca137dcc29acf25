//! A planned job as the single-request API's [`Request`]: the batch adds no rendering or
//! writing of its own, so `batch` and `generate` can never disagree on the output.

use std::sync::Arc;

use kinema_core::{Error, Result};
use kinema_media::sheet::{AtlasFormat, SheetOptions};
use kinema_media::{EncodeOptions, InputFiles};
use kinema_rig::MotionLibrary;

use super::contact::CONTACT_SHEET;
use super::diagnostics::{at_line, location};
use super::manifest::{CharacterEntry, Manifest, Settings};
use super::plan::{JobWhat, PlannedJob};
use super::state::STATE_FILE;
use crate::request::{Request, SheetRequest, What};

/// Checks what the manifest parser leaves to the sheet writer (atlas names), so a typo
/// stops the batch before any job starts.
pub fn check_manifest(manifest: &Manifest) -> Result<()> {
    for ch in &manifest.characters {
        atlases(manifest, &ch.settings)?;
    }
    Ok(())
}

/// The manifest's `motions` folder over the built-in motions, read once per batch so a
/// broken motion file stops it before any job starts.
pub fn load_motions(manifest: &Manifest) -> Result<Option<Arc<MotionLibrary>>> {
    manifest
        .motions
        .as_deref()
        .map(MotionLibrary::load)
        .transpose()
}

fn atlases(manifest: &Manifest, s: &Settings) -> Result<Vec<AtlasFormat>> {
    s.atlas
        .iter()
        .map(|(name, line)| {
            name.parse::<AtlasFormat>().map_err(|e| {
                let valid: Vec<&str> = AtlasFormat::ALL.iter().map(|f| f.name()).collect();
                at_line(
                    &manifest.path,
                    *line,
                    format!("atlas \"{name}\" is not known ({})", e.message),
                    format!("use any of: {}", valid.join(", ")),
                )
            })
        })
        .collect()
}

/// Refuses a batch in which any file it writes is one of its inputs: a character's image,
/// mask or rig, or the manifest itself. Checked for every job before the first one
/// starts, because one character's output could be another's image; `--force` changes
/// nothing here.
pub fn refuse_inputs(
    manifest: &Manifest,
    jobs: &[PlannedJob],
    motions: Option<&Arc<MotionLibrary>>,
) -> Result<()> {
    let mut inputs = InputFiles::new().with("the batch manifest", &manifest.path);
    for ch in &manifest.characters {
        let name = &ch.name;
        inputs.add(format!("the image of character \"{name}\""), &ch.image);
        if let Some(mask) = &ch.mask {
            inputs.add(format!("the mask of character \"{name}\""), mask);
        }
        if let Some(rig) = &ch.rig {
            inputs.add(format!("the rig file of character \"{name}\""), rig);
        }
    }
    let in_manifest = |e: Error| Error {
        message: format!("{}: {}", location(&manifest.path, None), e.message),
        ..e
    };
    for file in [CONTACT_SHEET, STATE_FILE] {
        inputs
            .check_file(&manifest.out_dir.join(file))
            .map_err(in_manifest)?;
    }
    for job in jobs {
        let request = to_request(
            manifest,
            job,
            &manifest.characters[job.character],
            motions,
            true,
        )?;
        crate::request::refuse_inputs(&request, &inputs).map_err(in_manifest)?;
    }
    Ok(())
}

/// The request for `job`, playing `motions` (from [`load_motions`]; only the `rig` engine
/// plays motions); `force` lets it replace existing files.
pub fn to_request(
    manifest: &Manifest,
    job: &PlannedJob,
    character: &CharacterEntry,
    motions: Option<&Arc<MotionLibrary>>,
    force: bool,
) -> Result<Request> {
    let s = &job.settings;
    let sheet = match &job.sheet {
        Some(path) => Some(SheetRequest {
            path: path.clone(),
            options: SheetOptions {
                columns: s.columns,
                padding: s.padding,
                extrude: s.extrude,
                trim: s.trim,
                pot: s.pot,
                atlases: atlases(manifest, s)?,
                ..crate::defaults::sheet_options()
            },
        }),
        None => None,
    };
    if job.outs.is_empty() && sheet.is_none() {
        return Err(Error::internal(format!(
            "batch job {} has nothing to write",
            job.id
        )));
    }
    Ok(Request {
        image: character.image.clone(),
        mask: character.mask.clone(),
        subject_box: character.subject_box,
        engine: s.engine.clone(),
        engine_options: crate::EngineOptions {
            rig: character.rig.clone(),
            motions: motions.filter(|_| s.engine == "rig").cloned(),
            model: s.model.clone(),
            quality: s.quality.clone(),
            ..Default::default()
        },
        what: match &job.what {
            JobWhat::Actions(list) => What::Actions(list.clone()),
            JobWhat::Prompt { text, .. } => What::Prompt(text.clone()),
        },
        spec: job.spec.clone(),
        outs: job.outs.clone(),
        sheet,
        export: None,
        encode: EncodeOptions {
            background: s.background,
            scale: s.scale,
            size: s.size,
            force,
        },
    })
}
