//! The Spine export checked with Spine's own runtime: for every sample character, a few
//! actions are rendered, exported, and loaded by `@esotericsoftware/spine-core` 4.2 in
//! Node (`tests/spine/check.mjs`), which applies each animation at every frame's time and
//! compares every slot's world vertices, the hurt- and hitboxes and the events with what
//! our renderer drew, within a pixel.
//!
//! Needs Node.js ≥ 18 and `npm ci --prefix crates/kinema-rig/tests/spine`. Without them the
//! test says so loudly and passes on a developer machine, but fails when `CI` is set.

mod common;
mod export_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use export_support::{export, render, samples, time_of, ACTIONS};
use kinema_rig::export::{cut, drawn_vertices, Axes, ExportFormat};
use serde_json::{json, Map, Value};

const INSTALL: &str =
    "apt-get install -y nodejs npm && npm ci --prefix crates/kinema-rig/tests/spine";

fn spine_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spine")
}

/// Node with spine-core installed, or `None` after saying why the test cannot run.
fn node() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .flat_map(|d| [d.join("node"), d.join("nodejs")])
            .find(|p| p.is_file())
    });
    let why = match found {
        None => "node is not installed".to_string(),
        Some(node) => {
            let package =
                spine_dir().join("node_modules/@esotericsoftware/spine-core/package.json");
            if package.is_file() {
                return Some(node);
            }
            format!("{} is missing", package.display())
        }
    };
    if std::env::var_os("CI").is_some() {
        panic!("{why}; CI must install the Spine runtime test's tools: {INSTALL}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED spine_runtime: {why} ***\n*** install with: {INSTALL} ***\n"
    );
    None
}

#[test]
fn spine_core_poses_the_export_as_our_renderer_draws_it() {
    let Some(node) = node() else { return };
    let mut summary = Vec::new();
    for sample in samples() {
        let r = render(&sample);
        let dir = tempfile::tempdir().unwrap();
        export(&r, ExportFormat::Spine, dir.path());

        // What our renderer drew, in Spine's axes (y up, origin on the ground point),
        // plus the root motion the root bone carries.
        let axes = Axes::of(&r.model, true);
        let pieces = cut(&r.model);
        let (ox, oy) = (r.placement.x as f32, r.placement.y as f32);
        let mut animations = Map::new();
        for (((name, _, _), frames), g) in ACTIONS.iter().zip(&r.frames).zip(&r.gameplay) {
            let mut slots: Map<String, Value> = Map::new();
            let mut hurt = Vec::new();
            let mut hit = Vec::new();
            let times: Vec<f64> = (0..frames.len()).map(time_of).collect();
            for (fp, rec) in frames.iter().zip(g) {
                let drawn = drawn_vertices(&r.model, &axes, fp);
                let travel = [rec.root_motion[0] as f64, -rec.root_motion[1] as f64];
                for piece in &pieces.pieces {
                    let verts: Vec<f64> = piece
                        .vertices
                        .iter()
                        .flat_map(|&v| {
                            let p = drawn[piece.layer][v as usize];
                            [p[0] + travel[0], p[1] + travel[1]]
                        })
                        .collect();
                    slots
                        .entry(piece.name.clone())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                        .unwrap()
                        .push(json!(verts));
                }
                let corners = |b: &kinema_core::BoxPx| -> Vec<f64> {
                    [
                        [b.x, b.y + b.h],
                        [b.x + b.w, b.y + b.h],
                        [b.x + b.w, b.y],
                        [b.x, b.y],
                    ]
                    .iter()
                    .flat_map(|c| {
                        let p = axes.point([c[0] - ox, c[1] - oy]);
                        [p[0] + travel[0], p[1] + travel[1]]
                    })
                    .collect()
                };
                hurt.push(json!(corners(&rec.hurtbox)));
                hit.push(match &rec.hitbox {
                    Some(h) => json!(corners(&h.rect)),
                    None => Value::Null,
                });
            }
            let events: Vec<Value> = g
                .iter()
                .enumerate()
                .flat_map(|(i, rec)| {
                    rec.events
                        .iter()
                        .map(move |e| json!([time_of(i), e.callback_name(), e.limb]))
                })
                .collect();
            animations.insert(
                name.to_string(),
                json!({"times": times, "slots": slots, "hurtbox": hurt, "hitbox": hit, "events": events}),
            );
        }
        std::fs::write(
            dir.path().join("expected.json"),
            json!({ "animations": animations }).to_string(),
        )
        .unwrap();
        let out = Command::new(&node)
            .current_dir(spine_dir())
            .arg("check.mjs")
            .arg(dir.path())
            .arg("sample")
            .output()
            .expect("node runs");
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{sample}: spine-core disagrees with our renderer:\n{report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        summary.push(format!("{sample}: {}", report.trim()));
    }
    let _ = writeln!(std::io::stderr(), "{}", summary.join("\n"));
}
