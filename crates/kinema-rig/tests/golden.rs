//! Golden frames: every sample character in `samples/characters` × every built-in action
//! (plus a few sequences with modifiers), rendered with fixed specs, must hash to exactly
//! what `tests/golden/frames.txt` recorded. The artist's walk frames (`*_walkN.png`) are
//! reference frames of one character, not characters, and are left out.
//!
//! The file pins the rendered pixels, so a refactor that should not change what is drawn
//! (moving the motions into data files, say) proves it did not. A change that *means* to
//! alter the frames (better rendering, retuned motions) regenerates the file and commits
//! it with the change:
//!
//! ```sh
//! KINEMA_BLESS=1 cargo test -p kinema-rig --test golden
//! git diff crates/kinema-rig/tests/golden/frames.txt   # one line per clip that changed
//! ```
//!
//! Each line is `sample | prompt | spec | hash hash …`, one FNV-1a 64 hash per frame over
//! the frame's size and RGBA bytes.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::load;
use kinema_core::{ClipSpec, Engine, Frame, Job, Progress};
use kinema_rig::{MotionLibrary, RigEngine};

fn quiet(_: Progress) {}

/// One-shot and looping renders: the seeds put loops on both halves of their cycle and
/// vary the amplitudes; frame counts are small so the whole grid stays quick.
const SPECS: [(&str, ClipSpec); 2] = [
    (
        "once",
        ClipSpec {
            frames: 7,
            fps: 12,
            seed: 5,
            looping: false,
        },
    ),
    (
        "loop",
        ClipSpec {
            frames: 8,
            fps: 12,
            seed: 2,
            looping: true,
        },
    ),
];

/// Sequences, repetitions, speed, amplitude and facing: the timeline's blends and
/// frame shares, in both languages.
const SEQUENCES: [&str; 3] = [
    "walk slowly then jump twice",
    "wave three times to the left",
    "走两步然后挥手",
];

/// The sample characters, by file stem, sorted: a new sample shows up as a clip missing
/// from the golden file until it is blessed.
fn characters() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/characters");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("samples/characters")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".png")?.to_string();
            let walk_frame = stem
                .rsplit_once("_walk")
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            (!walk_frame).then_some(stem)
        })
        .collect();
    names.sort();
    names
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/frames.txt")
}

/// FNV-1a, 64 bit: stable across platforms and releases, unlike `DefaultHasher`.
fn frame_hash(f: &Frame) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let size = [f.width.to_le_bytes(), f.height.to_le_bytes()];
    for &b in size.iter().flatten().chain(f.rgba.iter()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Renders the whole grid: `(sample | prompt | spec)` → the hex hashes of its frames.
fn render_grid() -> BTreeMap<String, String> {
    let engine = RigEngine::new();
    let mut prompts: Vec<String> = MotionLibrary::builtin()
        .names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    prompts.extend(SEQUENCES.iter().map(|s| s.to_string()));
    let mut grid = BTreeMap::new();
    for sample in characters() {
        let character = load(&sample);
        let kind = kinema_rig::auto_rig(&character).expect("rig").kind;
        for prompt in &prompts {
            // Motions without keys for this kind of rig (an animal's gait on a person).
            let fits = MotionLibrary::builtin()
                .get(prompt)
                .is_none_or(|m| m.for_kind(kind).is_some());
            if !fits {
                continue;
            }
            for (spec_name, spec) in &SPECS {
                let clip = engine
                    .generate(
                        Job {
                            character: &character,
                            prompt,
                            spec,
                        },
                        &quiet,
                    )
                    .unwrap_or_else(|e| panic!("{sample} / {prompt} / {spec_name}: {e}"))
                    .clip;
                let hashes: Vec<String> = clip
                    .frames
                    .iter()
                    .map(|f| format!("{:016x}", frame_hash(f)))
                    .collect();
                grid.insert(
                    format!("{sample} | {prompt} | {spec_name}"),
                    hashes.join(" "),
                );
            }
        }
    }
    grid
}

fn write_golden(grid: &BTreeMap<String, String>) {
    let mut text = String::from(
        "# Frame hashes of every sample × built-in action; regenerate with\n\
         # KINEMA_BLESS=1 cargo test -p kinema-rig --test golden\n",
    );
    for (key, hashes) in grid {
        text.push_str(&format!("{key} | {hashes}\n"));
    }
    let path = golden_path();
    std::fs::create_dir_all(path.parent().expect("golden dir")).expect("create golden dir");
    std::fs::write(&path, text).expect("write golden file");
}

fn read_golden() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(golden_path()).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; create it with KINEMA_BLESS=1 cargo test -p kinema-rig --test golden",
            golden_path().display()
        )
    });
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (key, hashes) = line.rsplit_once(" | ").expect("golden line has hashes");
            (key.to_string(), hashes.to_string())
        })
        .collect()
}

#[test]
fn every_sample_and_action_renders_the_golden_frames() {
    let grid = render_grid();
    if std::env::var_os("KINEMA_BLESS").is_some_and(|v| v != "0" && !v.is_empty()) {
        write_golden(&grid);
        return;
    }
    let golden = read_golden();
    let mut problems = Vec::new();
    for (key, hashes) in &grid {
        match golden.get(key) {
            None => problems.push(format!("{key}: not in the golden file")),
            Some(want) if want != hashes => {
                let changed: Vec<String> = want
                    .split(' ')
                    .zip(hashes.split(' '))
                    .enumerate()
                    .filter(|(_, (a, b))| a != b)
                    .map(|(i, _)| i.to_string())
                    .collect();
                problems.push(format!(
                    "{key}: frames {} differ{}",
                    changed.join(","),
                    if want.split(' ').count() != hashes.split(' ').count() {
                        " (and the frame count changed)"
                    } else {
                        ""
                    }
                ));
            }
            Some(_) => {}
        }
    }
    for key in golden.keys().filter(|k| !grid.contains_key(*k)) {
        problems.push(format!("{key}: in the golden file but no longer rendered"));
    }
    assert!(
        problems.is_empty(),
        "{} of {} clips differ from tests/golden/frames.txt:\n  {}\n\
         If the change is meant to alter the frames, re-bless: \
         KINEMA_BLESS=1 cargo test -p kinema-rig --test golden",
        problems.len(),
        grid.len(),
        problems.join("\n  ")
    );
}
