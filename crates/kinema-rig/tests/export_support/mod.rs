//! Shared by the export tests: every sample rendered in a few actions (a cycle, strikes,
//! a fall, a spell and a mirrored walk), with the render's gameplay records, and its
//! export written to a folder.
#![allow(dead_code)]

use std::path::Path;

use kinema_core::{Character, ClipSpec, Engine, FrameGameplay, Job, Placement};
use kinema_rig::export::{ExportContent, ExportFormat};
use kinema_rig::{Animated, ExportAction, FramePose, Model, RigEngine};

use super::common;

/// `(animation name, prompt, looping)`.
pub const ACTIONS: [(&str, &str, bool); 5] = [
    ("walk", "walk", true),
    ("attack", "attack", false),
    ("die", "die", false),
    ("cast", "cast", false),
    ("back", "walk left", true),
];

pub const FPS: u32 = 12;

/// Every sample character (the walk-cycle reference frames aside).
pub fn samples() -> Vec<String> {
    let dir = common::sample_path("x").parent().unwrap().to_path_buf();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".png")?;
            (!stem.contains("_walk")).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    names
}

/// One sample rendered in every action of [`ACTIONS`].
pub struct Rendered {
    pub character: Character,
    pub model: Model,
    pub placement: Placement,
    pub specs: Vec<ClipSpec>,
    pub frames: Vec<Vec<FramePose>>,
    pub gameplay: Vec<Vec<FrameGameplay>>,
}

pub fn render(sample: &str) -> Rendered {
    let engine = RigEngine::new();
    let character = common::load(sample);
    let specs: Vec<ClipSpec> = ACTIONS
        .iter()
        .map(|&(_, _, looping)| ClipSpec {
            frames: 12,
            fps: FPS,
            seed: 5,
            looping,
        })
        .collect();
    let gameplay = ACTIONS
        .iter()
        .zip(&specs)
        .map(|(&(_, prompt, _), spec)| {
            let job = Job {
                character: &character,
                prompt,
                spec,
            };
            engine.generate(job, &|_| {}).unwrap().gameplay.unwrap()
        })
        .collect();
    // The frames exactly as the engine draws them.
    let animated: Vec<Animated> = ACTIONS
        .iter()
        .zip(&specs)
        .map(|(&(_, prompt, _), spec)| engine.animate(&character, prompt, spec).unwrap())
        .collect();
    let model = animated[0].model.clone();
    let frames = animated.into_iter().map(|a| a.poses).collect();
    let placement = kinema_rig::canvas_for(&character).2;
    Rendered {
        character,
        model,
        placement,
        specs,
        frames,
        gameplay,
    }
}

/// Exports `r` as `sample.*` into `dir` (text files only: the tests need no page).
pub fn export(r: &Rendered, format: ExportFormat, dir: &Path) {
    let actions: Vec<ExportAction> = ACTIONS
        .iter()
        .zip(&r.specs)
        .zip(&r.gameplay)
        .map(|((&(name, prompt, _), spec), g)| ExportAction {
            name,
            prompt,
            spec,
            gameplay: Some(g),
        })
        .collect();
    let files = RigEngine::new()
        .export(&r.character, "sample", &actions, &[format])
        .unwrap();
    for f in &files {
        if let ExportContent::Text(text) = &f.content {
            std::fs::write(dir.join(&f.name), text).unwrap();
        }
    }
    if let Some(keep) = std::env::var_os("KINEMA_KEEP_EXPORTS") {
        let keep = Path::new(&keep).join(&r.character.name);
        std::fs::create_dir_all(&keep).unwrap();
        for f in std::fs::read_dir(dir).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, keep.join(f.file_name().unwrap())).unwrap();
        }
    }
}

/// Key times as exports write them (to the microsecond).
pub fn time_of(i: usize) -> f64 {
    (i as f64 / FPS as f64 * 1e6).round() / 1e6
}
