//! A Godot 4 scene (`.tscn`, text format 3): a `Skeleton2D` of `Bone2D` nodes, one
//! skinned `Polygon2D` per piece with the shared texture page, `Area2D` hurt- and
//! hitboxes, and an `AnimationPlayer` with one animation per action.
//!
//! Godot's 2-D axes are our image's (y down, rotations clockwise on screen), with the
//! origin at the ground point. Each `Bone2D`'s `rest` is its setup transform, so skinning
//! is the identity as saved and follows the bones as they are keyed. Animations key each
//! moving bone's `position`, `rotation` and `scale` per frame; the `root` bone carries
//! root motion; the boxes' shapes are keyed per frame (the hitbox's shape is disabled off
//! its active frames); events are a method track calling
//! `_on_kinema_event(name, limb)` on the scene root, whose script (`NAME_events.gd`)
//! re-emits them as the `kinema_event` signal.

use std::fmt::Write;

use super::bones::{Axes, Bones, Local};
use super::pieces::Pieces;
use super::{unwrap_angles, ExportAnimation, RigExport};

/// The scene root's script: turns the AnimationPlayer's method calls into a signal.
pub const EVENTS_SCRIPT: &str = "extends Node2D
## Written by Kinema. The AnimationPlayer calls `_on_kinema_event` on the frames of the
## motion's events (footstep, attack_active_start, attack_active_end, release, land);
## connect to `kinema_event` to play a sound, open a hit window or spawn a projectile.

signal kinema_event(event_name: String, limb: String)


func _on_kinema_event(event_name: String, limb: String) -> void:
\tkinema_event.emit(event_name, limb)
";

/// A number as Godot's text format writes it (never in exponent notation).
fn num(v: f64) -> String {
    let r = (v * 1e5).round() / 1e5;
    if r == 0.0 {
        "0".into()
    } else {
        format!("{r}")
    }
}

fn vec2(p: [f64; 2]) -> String {
    format!("Vector2({}, {})", num(p[0]), num(p[1]))
}

/// `Transform2D(x axis, y axis, origin)` of a local transform.
fn transform(l: &Local) -> String {
    let m = l.matrix();
    format!(
        "Transform2D({}, {}, {}, {}, {}, {})",
        num(m.a),
        num(m.c),
        num(m.b),
        num(m.d),
        num(m.tx),
        num(m.ty)
    )
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The scene text for an export whose page is `page_file` and events script `script_file`.
pub fn godot_scene(rig: &RigExport, pieces: &Pieces, page_file: &str, script_file: &str) -> String {
    let model = rig.model;
    let bones = Bones::new(model, Axes::of(model, false));
    // Node path of each bone below the Skeleton2D.
    let mut paths: Vec<String> = Vec::with_capacity(bones.defs.len());
    for d in &bones.defs {
        let path = match d.parent {
            Some(p) => format!("{}/{}", paths[p], d.name),
            None => d.name.clone(),
        };
        paths.push(path);
    }
    let boxes = rig.has_gameplay();
    let strikes = rig
        .animations
        .iter()
        .any(|a| a.gameplay.iter().any(|g| g.hitbox.is_some()));

    let mut subs = String::new();
    if boxes {
        subs.push_str(
            "[sub_resource type=\"RectangleShape2D\" id=\"RectangleShape2D_hurtbox\"]\n\n",
        );
    }
    if strikes {
        subs.push_str(
            "[sub_resource type=\"RectangleShape2D\" id=\"RectangleShape2D_hitbox\"]\n\n",
        );
    }
    for (i, anim) in rig.animations.iter().enumerate() {
        subs.push_str(&animation(rig, &bones, &paths, anim, i));
    }
    let mut library = String::new();
    if !rig.animations.is_empty() {
        let entries: Vec<String> = rig
            .animations
            .iter()
            .enumerate()
            .map(|(i, a)| format!("&\"{}\": SubResource(\"Animation_{i}\")", escape(&a.name)))
            .collect();
        let _ = write!(
            library,
            "[sub_resource type=\"AnimationLibrary\" id=\"AnimationLibrary_kinema\"]\n_data = {{\n{}\n}}\n\n",
            entries.join(",\n")
        );
    }
    let sub_count =
        boxes as usize + strikes as usize + rig.animations.len() + (!library.is_empty()) as usize;

    let mut out = format!(
        "[gd_scene load_steps={} format=3]\n\n[ext_resource type=\"Texture2D\" path=\"{}\" id=\"1_page\"]\n[ext_resource type=\"Script\" path=\"{}\" id=\"2_events\"]\n\n",
        sub_count + 3,
        escape(page_file),
        escape(script_file)
    );
    out.push_str(&subs);
    out.push_str(&library);
    let _ = write!(
        out,
        "[node name=\"{}\" type=\"Node2D\"]\nscript = ExtResource(\"2_events\")\n\n[node name=\"Skeleton2D\" type=\"Skeleton2D\" parent=\".\"]\n\n",
        escape(rig.name)
    );
    for d in &bones.defs {
        let parent = match d.parent {
            Some(p) => format!("Skeleton2D/{}", paths[p]),
            None => "Skeleton2D".into(),
        };
        let _ = write!(
            out,
            "[node name=\"{}\" type=\"Bone2D\" parent=\"{parent}\"]\nposition = {}\nrotation = {}\nrest = {}\nauto_calculate_length_and_angle = false\nlength = {}\nbone_angle = 0.0\n\n",
            escape(&d.name),
            vec2([d.setup.x, d.setup.y]),
            num(d.setup.rotation),
            transform(&d.setup),
            num(d.length.max(1.0)),
        );
    }
    for piece in &pieces.pieces {
        let layer = &model.layers[piece.layer];
        let points: Vec<String> = piece
            .vertices
            .iter()
            .map(|&v| {
                let p = bones.axes.point(layer.mesh.vertices[v as usize]);
                format!("{}, {}", num(p[0]), num(p[1]))
            })
            .collect();
        let uvs: Vec<String> = piece
            .vertices
            .iter()
            .map(|&v| {
                let uv = piece.page_uv(layer.mesh.vertices[v as usize]);
                format!("{}, {}", num(uv[0] as f64), num(uv[1] as f64))
            })
            .collect();
        let polygons: Vec<String> = piece
            .triangles
            .iter()
            .map(|t| format!("PackedInt32Array({}, {}, {})", t[0], t[1], t[2]))
            .collect();
        // Per bone used, its weight on every vertex of the piece.
        let mut weights: Vec<(usize, Vec<f64>)> = Vec::new();
        for (k, &v) in piece.vertices.iter().enumerate() {
            let binding = bones.binding(model, piece.layer, v as usize);
            let total: f64 = binding.iter().map(|(_, w)| w).sum::<f64>().max(1e-12);
            for (b, w) in binding {
                let slot = match weights.iter().position(|(x, _)| *x == b) {
                    Some(i) => i,
                    None => {
                        weights.push((b, vec![0.0; piece.vertices.len()]));
                        weights.len() - 1
                    }
                };
                weights[slot].1[k] = w / total;
            }
        }
        let bone_list: Vec<String> = weights
            .iter()
            .map(|(b, ws)| {
                let ws: Vec<String> = ws.iter().map(|w| num(*w)).collect();
                format!(
                    "NodePath(\"{}\"), PackedFloat32Array({})",
                    paths[*b],
                    ws.join(", ")
                )
            })
            .collect();
        let _ = write!(
            out,
            "[node name=\"{}\" type=\"Polygon2D\" parent=\".\"]\ntexture = ExtResource(\"1_page\")\n{}skeleton = NodePath(\"../Skeleton2D\")\npolygon = PackedVector2Array({})\nuv = PackedVector2Array({})\npolygons = [{}]\nbones = [{}]\ninternal_vertex_count = {}\n\n",
            escape(&piece.name),
            if model.pixel_art { "texture_filter = 1\n" } else { "" },
            points.join(", "),
            uvs.join(", "),
            polygons.join(", "),
            bone_list.join(", "),
            piece.vertices.len() - piece.hull,
        );
    }
    for (name, on) in [("Hurtbox", boxes), ("Hitbox", strikes)] {
        if !on {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        let _ = write!(
            out,
            "[node name=\"{name}\" type=\"Area2D\" parent=\"Skeleton2D/root\"]\n\n[node name=\"CollisionShape2D\" type=\"CollisionShape2D\" parent=\"Skeleton2D/root/{name}\"]\nshape = SubResource(\"RectangleShape2D_{lower}\")\n{}\n",
            if name == "Hitbox" { "disabled = true\n" } else { "" }
        );
    }
    if !library.is_empty() {
        out.push_str("[node name=\"AnimationPlayer\" type=\"AnimationPlayer\" parent=\".\"]\nlibraries = {\n&\"\": SubResource(\"AnimationLibrary_kinema\")\n}\n");
    }
    out
}

/// One value track: `(node path:property, values as Godot text, discrete?)`.
struct Track {
    path: String,
    values: Vec<String>,
    discrete: bool,
}

fn animation(
    rig: &RigExport,
    bones: &Bones,
    paths: &[String],
    anim: &ExportAnimation,
    index: usize,
) -> String {
    let model = rig.model;
    let poses: Vec<Vec<Local>> = anim.frames.iter().map(|f| bones.pose(model, f)).collect();
    let mut tracks: Vec<Track> = Vec::new();
    for (b, def) in bones.defs.iter().enumerate() {
        let node = format!("Skeleton2D/{}", paths[b]);
        let mut positions: Vec<[f64; 2]> = poses.iter().map(|p| [p[b].x, p[b].y]).collect();
        if def.parent.is_none() && !anim.gameplay.is_empty() {
            positions = anim
                .gameplay
                .iter()
                .map(|g| rig.travel(&bones.axes, g))
                .collect();
        }
        if positions
            .iter()
            .any(|p| (p[0] - def.setup.x).abs() + (p[1] - def.setup.y).abs() > 1e-3)
        {
            tracks.push(Track {
                path: format!("{node}:position"),
                values: positions.iter().map(|p| vec2(*p)).collect(),
                discrete: false,
            });
        }
        let mut rotations: Vec<f64> = poses.iter().map(|p| p[b].rotation).collect();
        unwrap_angles(&mut rotations);
        if rotations
            .iter()
            .any(|r| (r - def.setup.rotation).abs() > 1e-5)
        {
            tracks.push(Track {
                path: format!("{node}:rotation"),
                values: rotations.iter().map(|r| num(*r)).collect(),
                discrete: false,
            });
        }
        if poses
            .iter()
            .any(|p| (p[b].scale_x - 1.0).abs() + (p[b].scale_y - 1.0).abs() > 1e-5)
        {
            tracks.push(Track {
                path: format!("{node}:scale"),
                values: poses
                    .iter()
                    .map(|p| vec2([p[b].scale_x, p[b].scale_y]))
                    .collect(),
                discrete: false,
            });
        }
    }
    if !anim.gameplay.is_empty() {
        // A box as the collision shape's centre and size (zero where there is none).
        let shape = |rect: Option<&kinema_core::BoxPx>| -> (String, String) {
            match rect {
                Some(r) => {
                    let c = rig.corners(&bones.axes, r);
                    let (x0, y0) = (c[0][0].min(c[2][0]), c[0][1].min(c[2][1]));
                    let (x1, y1) = (c[0][0].max(c[2][0]), c[0][1].max(c[2][1]));
                    (
                        vec2([(x0 + x1) / 2.0, (y0 + y1) / 2.0]),
                        vec2([x1 - x0, y1 - y0]),
                    )
                }
                None => (vec2([0.0, 0.0]), vec2([0.0, 0.0])),
            }
        };
        let mut add = |name: &str, rects: Vec<Option<&kinema_core::BoxPx>>, toggle: bool| {
            let base = format!("Skeleton2D/root/{name}/CollisionShape2D");
            let (centres, sizes): (Vec<String>, Vec<String>) =
                rects.iter().map(|r| shape(*r)).unzip();
            tracks.push(Track {
                path: format!("{base}:position"),
                values: centres,
                discrete: true,
            });
            tracks.push(Track {
                path: format!("{base}:shape:size"),
                values: sizes,
                discrete: true,
            });
            if toggle {
                tracks.push(Track {
                    path: format!("{base}:disabled"),
                    values: rects
                        .iter()
                        .map(|r| if r.is_some() { "false" } else { "true" }.to_string())
                        .collect(),
                    discrete: true,
                });
            }
        };
        add(
            "Hurtbox",
            anim.gameplay.iter().map(|g| Some(&g.hurtbox)).collect(),
            false,
        );
        if rig
            .animations
            .iter()
            .any(|a| a.gameplay.iter().any(|g| g.hitbox.is_some()))
        {
            add(
                "Hitbox",
                anim.gameplay
                    .iter()
                    .map(|g| g.hitbox.as_ref().map(|h| &h.rect))
                    .collect(),
                true,
            );
        }
    }
    let times: Vec<String> = (0..anim.frames.len())
        .map(|i| num(anim.time_of(i)))
        .collect();
    let ones = vec!["1"; anim.frames.len()].join(", ");
    let mut out = format!(
        "[sub_resource type=\"Animation\" id=\"Animation_{index}\"]\nresource_name = \"{}\"\nlength = {}\nloop_mode = {}\nstep = {}\n",
        escape(&anim.name),
        num(anim.length()),
        if anim.looping { 1 } else { 0 },
        num(1.0 / anim.fps.max(1) as f64),
    );
    for (t, track) in tracks.iter().enumerate() {
        let _ = write!(
            out,
            "tracks/{t}/type = \"value\"\ntracks/{t}/imported = false\ntracks/{t}/enabled = true\ntracks/{t}/path = NodePath(\"{}\")\ntracks/{t}/interp = 1\ntracks/{t}/loop_wrap = true\ntracks/{t}/keys = {{\n\"times\": PackedFloat32Array({}),\n\"transitions\": PackedFloat32Array({ones}),\n\"update\": {},\n\"values\": [{}]\n}}\n",
            track.path,
            times.join(", "),
            if track.discrete { 1 } else { 0 },
            track.values.join(", ")
        );
    }
    let calls: Vec<(String, String)> = anim
        .gameplay
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            g.events.iter().map(move |e| {
                (
                    num(anim.time_of(i)),
                    format!(
                        "{{\n\"args\": [\"{}\", \"{}\"],\n\"method\": &\"_on_kinema_event\"\n}}",
                        escape(&e.callback_name()),
                        escape(e.limb.as_deref().unwrap_or(""))
                    ),
                )
            })
        })
        .collect();
    if !calls.is_empty() {
        let t = tracks.len();
        let (at, values): (Vec<String>, Vec<String>) = calls.into_iter().unzip();
        let _ = write!(
            out,
            "tracks/{t}/type = \"method\"\ntracks/{t}/imported = false\ntracks/{t}/enabled = true\ntracks/{t}/path = NodePath(\".\")\ntracks/{t}/interp = 1\ntracks/{t}/loop_wrap = true\ntracks/{t}/keys = {{\n\"times\": PackedFloat32Array({}),\n\"transitions\": PackedFloat32Array({}),\n\"values\": [{}]\n}}\n",
            at.join(", "),
            vec!["1"; at.len()].join(", "),
            values.join(", ")
        );
    }
    out.push('\n');
    out
}
