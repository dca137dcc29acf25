//! Spine 4.2 skeleton JSON and its texture atlas.
//!
//! The traps this writer minds, each checked by the spine-core test
//! (`crates/kinema-rig/tests/spine_runtime.rs`):
//! - Spine's y points up and rotations turn counter-clockwise, so the bones are built in
//!   y-up axes ([`Axes`] with `y_up`), never by negating angles after the fact;
//! - bones are listed parents first (the runtime looks parents up as it reads);
//! - a weighted mesh's `vertices` are, per vertex, `count, (bone, x, y, weight)×count`,
//!   with `x, y` in that bone's setup-pose frame, not world coordinates;
//! - `skins` is an array of `{name, attachments}`;
//! - bone inheritance is 4.2's `inherit`, left at its default (`normal`), which composes
//!   full matrices as our skeleton does (4.1's `transform` key would be ignored);
//! - attachment names are the atlas's region names, character for character.
//!
//! Animation keys are offsets from the setup pose, as Spine stores them: rotate in degrees
//! added to the setup rotation, translate added to the setup position, scale multiplied.

use kinema_core::Result;
use serde_json::{json, Map, Value};

use super::bones::{Axes, Bones, Local};
use super::pieces::Pieces;
use super::{r3, unwrap_angles, RigExport};

/// The version written in the skeleton header; spine-core 4.2 reads it.
const SPINE_VERSION: &str = "4.2.00";

/// Bone changes below these are not keyed: the bone holds its setup pose.
const EPS_POSITION: f64 = 1e-3;
const EPS_DEGREES: f64 = 1e-3;
const EPS_SCALE: f64 = 1e-5;

/// `(skeleton JSON, atlas text)` for an export whose page is saved as `page_file`.
pub fn spine_files(rig: &RigExport, pieces: &Pieces, page_file: &str) -> Result<(String, String)> {
    let model = rig.model;
    let bones = Bones::new(model, Axes::of(model, true));
    let bone_list: Vec<Value> = bones
        .defs
        .iter()
        .map(|d| {
            let mut b = Map::new();
            b.insert("name".into(), json!(d.name));
            if let Some(p) = d.parent {
                b.insert("parent".into(), json!(bones.defs[p].name));
            }
            if d.length > 0.0 {
                b.insert("length".into(), json!(r3(d.length)));
            }
            for (key, v) in [
                ("x", d.setup.x),
                ("y", d.setup.y),
                ("rotation", d.setup.rotation.to_degrees()),
            ] {
                if r3(v) != 0.0 {
                    b.insert(key.into(), json!(r3(v)));
                }
            }
            Value::Object(b)
        })
        .collect();

    let mut slots = Vec::new();
    let mut attachments = Map::new();
    let mut atlas = format!(
        // No blank line before the regions: in an atlas a blank line starts a new page.
        "{page_file}\nsize: {},{}\nfilter: {}\n",
        pieces.page.width,
        pieces.page.height,
        if model.pixel_art {
            "Nearest,Nearest"
        } else {
            "Linear,Linear"
        }
    );
    for piece in &pieces.pieces {
        let layer = &model.layers[piece.layer];
        let (rx, ry, rw, rh) = piece.region;
        atlas.push_str(&format!("{}\nbounds: {rx},{ry},{rw},{rh}\n", piece.name));
        let mut uvs = Vec::with_capacity(piece.vertices.len() * 2);
        let mut vertices = Vec::new();
        for &v in &piece.vertices {
            let p = layer.mesh.vertices[v as usize];
            let uv = piece.page_uv(p);
            uvs.push(json!(r6((uv[0] as f64 - rx as f64) / rw as f64)));
            uvs.push(json!(r6((uv[1] as f64 - ry as f64) / rh as f64)));
            let binding = bones.binding(model, piece.layer, v as usize);
            let total: f64 = binding.iter().map(|(_, w)| w).sum::<f64>().max(1e-12);
            vertices.push(json!(binding.len()));
            let setup = bones.axes.point(p);
            for (b, w) in binding {
                let local = bones.defs[b].setup_world.inverse().apply(setup);
                vertices.push(json!(b));
                vertices.push(json!(r3(local[0])));
                vertices.push(json!(r3(local[1])));
                vertices.push(json!(r6(w / total)));
            }
        }
        let triangles: Vec<u32> = piece.triangles.iter().flatten().copied().collect();
        slots.push(json!({"name": piece.name, "bone": "root", "attachment": piece.name}));
        attachments.insert(
            piece.name.clone(),
            json!({
                piece.name.clone(): {
                    "type": "mesh",
                    "uvs": uvs,
                    "triangles": triangles,
                    "vertices": vertices,
                    "hull": piece.hull,
                    "width": rw,
                    "height": rh,
                }
            }),
        );
    }

    // Gameplay boxes as bounding-box attachments on `root` (which carries root motion),
    // so `SkeletonBounds` hit tests work; their shapes are keyed per frame below.
    let first_hurt = rig.animations.iter().find_map(|a| a.gameplay.first());
    let first_hit = rig
        .animations
        .iter()
        .flat_map(|a| &a.gameplay)
        .find_map(|g| g.hitbox.as_ref());
    let mut box_setup: Vec<(&str, [[f64; 2]; 4])> = Vec::new();
    if let Some(g) = first_hurt {
        box_setup.push(("hurtbox", rig.corners(&bones.axes, &g.hurtbox)));
        slots.push(json!({"name": "hurtbox", "bone": "root", "attachment": "hurtbox", "color": "0000ffff"}));
    }
    if let Some(h) = first_hit {
        box_setup.push(("hitbox", rig.corners(&bones.axes, &h.rect)));
        slots.push(json!({"name": "hitbox", "bone": "root", "color": "ff0000ff"}));
    }
    for (name, corners) in &box_setup {
        let vertices: Vec<f64> = corners.iter().flat_map(|p| [r3(p[0]), r3(p[1])]).collect();
        attachments.insert(
            name.to_string(),
            json!({ *name: {"type": "boundingbox", "vertexCount": 4, "vertices": vertices} }),
        );
    }

    let mut event_names = Map::new();
    let mut animations = Map::new();
    for anim in rig.animations {
        let poses: Vec<Vec<Local>> = anim.frames.iter().map(|f| bones.pose(model, f)).collect();
        let mut timelines = Map::new();
        for (b, def) in bones.defs.iter().enumerate() {
            let mut t = Map::new();
            let times: Vec<f64> = (0..poses.len()).map(|i| r6(anim.time_of(i))).collect();
            let mut rotations: Vec<f64> = poses.iter().map(|p| p[b].rotation).collect();
            unwrap_angles(&mut rotations);
            let rotate: Vec<f64> = rotations
                .iter()
                .map(|r| (r - def.setup.rotation).to_degrees())
                .collect();
            if rotate.iter().any(|v| v.abs() > EPS_DEGREES) {
                t.insert(
                    "rotate".into(),
                    keys(&times, rotate.iter().map(|v| json!({"value": r3(*v)}))),
                );
            }
            let moved = poses.iter().any(|p| {
                (p[b].x - def.setup.x).abs() > EPS_POSITION
                    || (p[b].y - def.setup.y).abs() > EPS_POSITION
            });
            if moved {
                t.insert(
                    "translate".into(),
                    keys(
                        &times,
                        poses.iter().map(|p| {
                            json!({"x": r3(p[b].x - def.setup.x), "y": r3(p[b].y - def.setup.y)})
                        }),
                    ),
                );
            }
            let scaled = poses.iter().any(|p| {
                (p[b].scale_x / def.setup.scale_x - 1.0).abs() > EPS_SCALE
                    || (p[b].scale_y / def.setup.scale_y - 1.0).abs() > EPS_SCALE
            });
            if scaled {
                t.insert(
                    "scale".into(),
                    keys(
                        &times,
                        poses.iter().map(|p| {
                            json!({
                                "x": r6(p[b].scale_x / def.setup.scale_x),
                                "y": r6(p[b].scale_y / def.setup.scale_y),
                            })
                        }),
                    ),
                );
            }
            if def.parent.is_none() && !anim.gameplay.is_empty() {
                // Root motion: the root travels as the character would; Spine's root
                // motion tools (spine-unity's SkeletonRootMotion) take it back out.
                let travel: Vec<[f64; 2]> = anim
                    .gameplay
                    .iter()
                    .map(|g| rig.travel(&bones.axes, g))
                    .collect();
                if travel
                    .iter()
                    .any(|p| p[0].abs() + p[1].abs() > EPS_POSITION)
                {
                    t.insert(
                        "translate".into(),
                        keys(
                            &times,
                            travel.iter().map(|p| json!({"x": r3(p[0]), "y": r3(p[1])})),
                        ),
                    );
                }
            }
            if !t.is_empty() {
                timelines.insert(def.name.clone(), Value::Object(t));
            }
        }
        let box_keys = box_timelines(rig, &bones.axes, anim, &box_setup);
        let mut events = Vec::new();
        for (i, g) in anim.gameplay.iter().enumerate() {
            for e in &g.events {
                let name = e.callback_name();
                event_names.insert(name.clone(), json!({}));
                let mut ev = Map::new();
                ev.insert("time".into(), json!(r6(anim.time_of(i))));
                ev.insert("name".into(), json!(name));
                if let Some(limb) = &e.limb {
                    ev.insert("string".into(), json!(limb));
                }
                events.push(Value::Object(ev));
            }
        }
        let mut a = Map::new();
        a.insert("bones".into(), Value::Object(timelines));
        if let Some((slot_keys, deform)) = box_keys {
            a.insert("slots".into(), slot_keys);
            a.insert("attachments".into(), json!({"default": deform}));
        }
        if !events.is_empty() {
            a.insert("events".into(), Value::Array(events));
        }
        animations.insert(anim.name.clone(), Value::Object(a));
    }

    let (w, h) = (model.width as f64, model.height as f64);
    let mut root = Map::new();
    root.insert(
        "skeleton".into(),
        json!({
            "hash": format!("kinema-{}", rig.name),
            "spine": SPINE_VERSION,
            "x": r3(-(bones.axes.origin[0] as f64)),
            "y": r3(bones.axes.origin[1] as f64 - h),
            "width": w,
            "height": h,
            "fps": rig.animations.first().map_or(30, |a| a.fps),
            "images": "./",
            "audio": "",
        }),
    );
    root.insert("bones".into(), Value::Array(bone_list));
    root.insert("slots".into(), Value::Array(slots));
    root.insert(
        "skins".into(),
        json!([{"name": "default", "attachments": attachments}]),
    );
    if !event_names.is_empty() {
        root.insert("events".into(), Value::Object(event_names));
    }
    root.insert("animations".into(), Value::Object(animations));
    let mut text = serde_json::to_string(&Value::Object(root)).map_err(|e| {
        kinema_core::Error::internal("could not serialise the Spine skeleton").with_source(e)
    })?;
    text.push('\n');
    Ok((text, atlas))
}

/// The hurtbox and hitbox of each frame as deform keys of their bounding boxes (offsets
/// from the setup corners, stepped: a box holds until the next frame), and the hitbox
/// shown only on active frames. `None` without gameplay records.
fn box_timelines(
    rig: &RigExport,
    axes: &Axes,
    anim: &super::ExportAnimation,
    setup: &[(&str, [[f64; 2]; 4])],
) -> Option<(Value, Value)> {
    if anim.gameplay.is_empty() || setup.is_empty() {
        return None;
    }
    let mut slots = Map::new();
    let mut deform = Map::new();
    for (name, base) in setup {
        let mut keys = Vec::new();
        let mut shown = Vec::new();
        let mut visible: Option<bool> = None;
        for (i, g) in anim.gameplay.iter().enumerate() {
            let time = r6(anim.time_of(i));
            let rect = match *name {
                "hurtbox" => Some(&g.hurtbox),
                _ => g.hitbox.as_ref().map(|h| &h.rect),
            };
            if *name == "hitbox" && visible != Some(rect.is_some()) {
                visible = Some(rect.is_some());
                shown.push(json!({"time": time, "name": rect.map(|_| "hitbox")}));
            }
            let Some(rect) = rect else { continue };
            let corners = rig.corners(axes, rect);
            let offsets: Vec<f64> = corners
                .iter()
                .zip(base.iter())
                .flat_map(|(c, b)| [r3(c[0] - b[0]), r3(c[1] - b[1])])
                .collect();
            keys.push(json!({"time": time, "curve": "stepped", "vertices": offsets}));
        }
        if !shown.is_empty() {
            slots.insert(name.to_string(), json!({"attachment": shown}));
        }
        if !keys.is_empty() {
            deform.insert(name.to_string(), json!({ *name: {"deform": keys} }));
        }
    }
    Some((Value::Object(slots), Value::Object(deform)))
}

/// A timeline's keys: each value object with its `time` added.
fn keys(times: &[f64], values: impl Iterator<Item = Value>) -> Value {
    Value::Array(
        times
            .iter()
            .zip(values)
            .map(|(t, mut v)| {
                if let Value::Object(m) = &mut v {
                    m.insert("time".into(), json!(t));
                }
                v
            })
            .collect(),
    )
}

fn r6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::super::{export, ExportAnimation, ExportContent, ExportFormat};
    use super::*;
    use crate::parts::build_model;
    use crate::skeleton::{auto_rig, tests::stick_figure};
    use crate::text::understand;
    use crate::timeline::frame_poses;
    use kinema_core::ClipSpec;

    #[test]
    fn the_skeleton_lists_parents_first_and_weights_per_vertex() {
        let c = stick_figure();
        let model = build_model(&c, &auto_rig(&c).unwrap()).unwrap();
        let spec = ClipSpec {
            frames: 6,
            fps: 12,
            seed: 0,
            looping: true,
        };
        let anim = ExportAnimation {
            name: "walk".into(),
            fps: 12,
            looping: true,
            frames: frame_poses(&understand("walk").unwrap(), model.skeleton.kind, &spec),
            gameplay: Vec::new(),
        };
        let rig = RigExport {
            name: "stick",
            model: &model,
            placement: kinema_core::Placement::default(),
            animations: std::slice::from_ref(&anim),
        };
        let files = export(&rig, &[ExportFormat::Spine]).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["stick.png", "stick.json", "stick.atlas"]);
        let ExportContent::Text(json) = &files[1].content else {
            panic!("the skeleton is text")
        };
        let v: Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["skeleton"]["spine"], "4.2.00");
        let bones = v["bones"].as_array().unwrap();
        let mut seen = Vec::new();
        for b in bones {
            if let Some(p) = b["parent"].as_str() {
                assert!(seen.contains(&p), "{p} listed after its child");
            }
            seen.push(b["name"].as_str().unwrap());
        }
        assert!(v["skins"].is_array());
        let ExportContent::Text(atlas) = &files[2].content else {
            panic!("the atlas is text")
        };
        for slot in v["slots"].as_array().unwrap() {
            let name = slot["name"].as_str().unwrap();
            assert!(atlas.contains(&format!("\n{name}\nbounds: ")), "{name}");
            let mesh = &v["skins"][0]["attachments"][name][name];
            let (uvs, verts) = (
                mesh["uvs"].as_array().unwrap(),
                mesh["vertices"].as_array().unwrap(),
            );
            // Walk the weighted layout: one count, then four numbers per bone.
            let (mut i, mut n) = (0, 0);
            while i < verts.len() {
                let count = verts[i].as_u64().unwrap() as usize;
                let w: f64 = (0..count)
                    .map(|k| verts[i + 4 + 4 * k].as_f64().unwrap())
                    .sum();
                assert!((w - 1.0).abs() < 1e-4, "{name}: weights sum to {w}");
                i += 1 + 4 * count;
                n += 1;
            }
            assert_eq!(n * 2, uvs.len(), "{name}");
        }
        assert!(v["animations"]["walk"]["bones"]["knee_left"]["rotate"].is_array());
    }
}
