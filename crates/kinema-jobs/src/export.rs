//! Rig exports on disk: `generate --export spine,godot DIR/` (the rig with the clip's
//! animations) and `kinema rig --export … DIR/` (the rig alone). The files are named after
//! the character image (`hero.png` gives `hero.json`, `hero.atlas`, `hero.tscn`,
//! `hero_events.gd` and the texture page, which is named `hero-rig.png` so it never
//! collides with the image itself).

use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};
use kinema_media::InputFiles;
use kinema_rig::export::{export_file_names, export_name, ExportContent, ExportFile, ExportFormat};

/// Where a rig export goes and which tools it is for.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportRequest {
    /// The folder to write into (created if missing; its parent must exist).
    pub dir: PathBuf,
    pub formats: Vec<ExportFormat>,
}

impl ExportRequest {
    /// Parses `spine,godot` style lists.
    pub fn parse_formats(list: &[String]) -> Result<Vec<ExportFormat>> {
        if list.is_empty() {
            return Err(Error::invalid(
                "--export names no format",
                "use --export spine, --export godot or --export spine,godot",
            ));
        }
        list.iter().map(|s| s.parse::<ExportFormat>()).collect()
    }
}

/// The export's file stem for a character image: its file name, made plain, with `-rig`
/// added (so the texture page `hero-rig.png` is never the image `hero.png`).
pub fn export_stem(image: &Path) -> String {
    let stem = image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{}-rig", export_name(&stem))
}

/// Every path the export writes.
pub(crate) fn export_paths(req: &ExportRequest, stem: &str) -> Vec<PathBuf> {
    export_file_names(stem, &req.formats)
        .into_iter()
        .map(|n| req.dir.join(n))
        .collect()
}

/// Checks, before anything is rendered, that the export can be written: a folder (or a
/// missing folder in an existing one), no file that exists unless `force`, and none that
/// is an input.
pub(crate) fn check_export(
    req: &ExportRequest,
    stem: &str,
    force: bool,
    inputs: &InputFiles,
) -> Result<()> {
    if req.dir.exists() && !req.dir.is_dir() {
        return Err(Error::output(format!(
            "--export needs a folder, but {} is a file",
            req.dir.display()
        ))
        .with_hint("give a folder path such as `export/` (created if missing)"));
    }
    if !req.dir.exists() {
        let parent = match req.dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(Error::output(format!(
                "cannot create the export folder {}: {} does not exist",
                req.dir.display(),
                parent.display()
            ))
            .with_hint("create the parent folder first, or export somewhere else"));
        }
    }
    for path in export_paths(req, stem) {
        inputs.check_file(&path)?;
        if !force && path.exists() {
            return Err(Error::output(format!("{} already exists", path.display()))
                .with_hint("pass --force to replace it, or export into another folder"));
        }
    }
    Ok(())
}

/// Writes the export's files (each whole or not at all); returns their paths.
pub(crate) fn write_export(
    req: &ExportRequest,
    files: &[ExportFile],
    force: bool,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(&req.dir).map_err(|e| {
        Error::output(format!(
            "cannot create the export folder {}",
            req.dir.display()
        ))
        .with_source(e)
    })?;
    let mut written = Vec::with_capacity(files.len());
    for f in files {
        let path = req.dir.join(&f.name);
        match &f.content {
            ExportContent::Text(text) => kinema_media::write_text(&path, text, force)?,
            ExportContent::Image(frame) => kinema_media::write_png(&path, frame, force)?,
        }
        written.push(path);
    }
    Ok(written)
}

/// `kinema rig --export`: the auto-rig (or `rig`) of a character image, exported alone.
pub struct RigOnly<'a> {
    pub image: &'a Path,
    pub mask: Option<&'a Path>,
    /// Where the character is in a photo or painted picture (seeds the cut-out).
    pub subject_box: Option<kinema_media::SubjectBox>,
    pub export: &'a ExportRequest,
    pub force: bool,
}

/// Exports the rig of one character with no animations; returns the files written.
pub fn export_rig(job: &RigOnly) -> Result<Vec<PathBuf>> {
    let mut inputs = InputFiles::new().with("the --image file", job.image);
    if let Some(mask) = job.mask {
        inputs.add("the --mask file", mask);
    }
    let stem = export_stem(job.image);
    check_export(job.export, &stem, job.force, &inputs)?;
    let opts = crate::defaults::load_options(job.mask.map(Path::to_path_buf), job.subject_box);
    let character = kinema_media::load_character(job.image, &opts)?;
    let files = kinema_rig::RigEngine::new().export(&character, &stem, &[], &job.export.formats)?;
    write_export(job.export, &files, job.force)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_never_name_the_image_and_folders_are_checked() {
        assert_eq!(export_stem(Path::new("art/my hero.png")), "my_hero-rig");
        let dir = tempfile::tempdir().unwrap();
        let req = ExportRequest {
            dir: dir.path().join("out"),
            formats: vec![ExportFormat::Godot],
        };
        let inputs = InputFiles::new();
        check_export(&req, "h-rig", false, &inputs).unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let bad = ExportRequest {
            dir: file.clone(),
            ..req.clone()
        };
        assert!(check_export(&bad, "h", false, &inputs)
            .unwrap_err()
            .message
            .contains("is a file"));
        let deep = ExportRequest {
            dir: dir.path().join("no/such/out"),
            ..req.clone()
        };
        assert!(check_export(&deep, "h", false, &inputs).is_err());
        std::fs::create_dir_all(&req.dir).unwrap();
        std::fs::write(req.dir.join("h-rig.tscn"), "old").unwrap();
        let e = check_export(&req, "h-rig", false, &inputs).unwrap_err();
        assert!(e.hint.unwrap().contains("--force"));
        check_export(&req, "h-rig", true, &inputs).unwrap();
        assert!(ExportRequest::parse_formats(&["spine".into(), "unity".into()]).is_err());
    }
}
