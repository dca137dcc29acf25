//! Describing a finished run's files for the API, from what `kinema_jobs::run` wrote.

use std::path::Path;

use kinema_jobs::{RequestReport, What};
use kinema_media::sheet::{atlas_path, AtlasFormat};
use kinema_media::OutputFormat;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::plan::{Plan, SHEET_FILE};

/// One downloadable result of a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutputFile {
    /// mp4, gif, apng, webp, frames, sheet, or an atlas name (texturepacker, aseprite,
    /// godot, unity) for the files beside a sheet.
    pub format: String,
    /// The action this clip shows, for action-set requests; null otherwise.
    pub action: Option<String>,
    /// Where to download it; for `frames`, the first frame.
    pub url: String,
    /// Size in bytes (all frames together for `frames`).
    pub bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub frames: Option<u32>,
    /// Every file of this output (one for most formats; each frame for `frames`).
    pub files: Vec<String>,
    /// How the engine read the prompt of this clip (`hurt → die (12 + 12 frames)`), as
    /// `kinema generate` prints it; null for sheets and engines that do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
}

fn url(task: &str, rel: &str) -> String {
    format!("/v1/outputs/{task}/{rel}")
}

/// The path of `path` below `root`, with `/` separators, if it is below it.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Which action a per-action file belongs to (`clip-walk.gif`, `frames/walk`).
fn action_of(rel: &str, actions: &[String]) -> Option<String> {
    actions
        .iter()
        .find(|a| {
            rel == format!("frames/{a}")
                || rel
                    .strip_prefix(&format!("clip-{a}."))
                    .is_some_and(|ext| !ext.contains('/'))
        })
        .cloned()
}

/// Describes every file of `report`, whose outputs were written under `root`, as they
/// will be served for task `task`.
pub fn describe(task: &str, root: &Path, plan: &Plan, report: &RequestReport) -> Vec<OutputFile> {
    let actions: Vec<String> = match &plan.what {
        What::Actions(list) => list.clone(),
        What::Prompt(_) => Vec::new(),
    };
    let mut out = Vec::new();
    for w in &report.outputs {
        let Some(rel) = relative(root, &w.path) else {
            continue;
        };
        let files = if w.format == OutputFormat::Frames {
            let mut names: Vec<String> = std::fs::read_dir(&w.path)
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.path().is_file())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            // Frames first (what a viewer wants), metadata after.
            names.sort_by_key(|n| !n.ends_with(".png"));
            names
                .iter()
                .map(|n| url(task, &format!("{rel}/{n}")))
                .collect()
        } else {
            vec![url(task, &rel)]
        };
        let action = action_of(&rel, &actions);
        // A prompt is one clip; an action set's clip is the action it names.
        let reading = match &action {
            Some(name) => report.actions.iter().find(|a| &a.name == name),
            None => report.actions.first(),
        }
        .and_then(|a| a.reading.clone());
        out.push(OutputFile {
            format: w.format.name().to_string(),
            action,
            reading,
            url: files.first().cloned().unwrap_or_else(|| url(task, &rel)),
            bytes: w.bytes,
            width: Some(w.width),
            height: Some(w.height),
            frames: Some(w.frames as u32),
            files,
        });
    }
    let sheet_png = root.join(SHEET_FILE);
    for path in &report.sheet_files {
        let Some(rel) = relative(root, path) else {
            continue;
        };
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        let (format, dims) = if *path == sheet_png {
            ("sheet".to_string(), image::image_dimensions(path).ok())
        } else {
            let atlas = AtlasFormat::ALL
                .into_iter()
                .find(|f| atlas_path(&sheet_png, *f) == *path)
                .map_or("atlas", |f| f.name());
            (atlas.to_string(), None)
        };
        let frames =
            (format == "sheet").then(|| report.actions.iter().map(|a| a.frames as u32).sum());
        out.push(OutputFile {
            format,
            action: None,
            url: url(task, &rel),
            bytes,
            width: dims.map(|d| d.0),
            height: dims.map(|d| d.1),
            frames,
            files: vec![url(task, &rel)],
            reading: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_action_files_are_attributed() {
        let actions = vec!["walk".to_string(), "walk_back".to_string()];
        assert_eq!(
            action_of("clip-walk.gif", &actions).as_deref(),
            Some("walk")
        );
        assert_eq!(
            action_of("clip-walk_back.gif", &actions).as_deref(),
            Some("walk_back")
        );
        assert_eq!(action_of("frames/walk", &actions).as_deref(), Some("walk"));
        assert_eq!(action_of("clip.gif", &actions), None);
        assert_eq!(
            relative(Path::new("/d/tmp/t"), Path::new("/d/tmp/t/frames/walk")).as_deref(),
            Some("frames/walk")
        );
        assert_eq!(
            relative(Path::new("/d/tmp/t"), Path::new("/elsewhere")),
            None
        );
    }
}
