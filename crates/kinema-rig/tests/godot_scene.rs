//! The Godot export checked without Godot (no Godot 4 build ships in Debian, PyPI or npm):
//! every sample's `.tscn` is parsed with a PEG grammar of Godot's text scene format
//! (`tests/godot/tscn.pest`), its node tree and resources are checked for what Godot needs,
//! and its `Skeleton2D` is evaluated as Godot does (each Bone2D's keyed position, rotation
//! and scale composed down the tree; skinning = pose · rest⁻¹), then the skinned
//! `Polygon2D` vertices are compared with what our renderer drew, within a pixel, on every
//! frame of every animation. Boxes and event method tracks are compared with the render's
//! gameplay records.

mod common;
mod export_support;

use std::collections::HashMap;

use export_support::{export, render, samples, time_of, ACTIONS};
use kinema_rig::export::{cut, drawn_vertices, Axes, ExportFormat, Local, M};
use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../tests/godot/tscn.pest"]
struct Tscn;

#[derive(Clone, Debug, PartialEq)]
enum V {
    Num(f64),
    Str(String),
    Name(String),
    Bool(bool),
    Null,
    Call(String, Vec<V>),
    Array(Vec<V>),
    Dict(Vec<(V, V)>),
}

impl V {
    fn num(&self) -> f64 {
        match self {
            V::Num(n) => *n,
            other => panic!("expected a number, got {other:?}"),
        }
    }
    fn str(&self) -> &str {
        match self {
            V::Str(s) | V::Name(s) => s,
            other => panic!("expected a string, got {other:?}"),
        }
    }
    fn args(&self, name: &str) -> &[V] {
        match self {
            V::Call(n, args) if n == name => args,
            other => panic!("expected {name}(…), got {other:?}"),
        }
    }
    fn nums(&self, name: &str) -> Vec<f64> {
        self.args(name).iter().map(V::num).collect()
    }
    fn items(&self) -> &[V] {
        match self {
            V::Array(items) => items,
            other => panic!("expected an array, got {other:?}"),
        }
    }
    fn get(&self, key: &str) -> &V {
        match self {
            V::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, V::Str(s) | V::Name(s) if s == key))
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no key {key}")),
            other => panic!("expected a dictionary, got {other:?}"),
        }
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn value(p: Pair<Rule>) -> V {
    match p.as_rule() {
        Rule::number => V::Num(p.as_str().parse().unwrap()),
        Rule::string => V::Str(unescape(p.into_inner().next().unwrap().as_str())),
        Rule::string_name => match value(p.into_inner().next().unwrap()) {
            V::Str(s) => V::Name(s),
            _ => unreachable!(),
        },
        Rule::boolean => V::Bool(p.as_str() == "true"),
        Rule::null => V::Null,
        Rule::constructor => {
            let mut inner = p.into_inner();
            let name = inner.next().unwrap().as_str().to_string();
            V::Call(name, inner.map(value).collect())
        }
        Rule::array => V::Array(p.into_inner().map(value).collect()),
        Rule::dictionary => V::Dict(
            p.into_inner()
                .map(|pair| {
                    let mut kv = pair.into_inner();
                    (value(kv.next().unwrap()), value(kv.next().unwrap()))
                })
                .collect(),
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[derive(Debug)]
struct Section {
    kind: String,
    attrs: Vec<(String, V)>,
    props: Vec<(String, V)>,
}

impl Section {
    fn attr(&self, key: &str) -> Option<&V> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn prop(&self, key: &str) -> Option<&V> {
        self.props.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn parse(text: &str) -> Vec<Section> {
    let file = Tscn::parse(Rule::file, text)
        .unwrap_or_else(|e| panic!("not a valid Godot text scene:\n{e}"))
        .next()
        .unwrap();
    file.into_inner()
        .filter(|p| p.as_rule() == Rule::section)
        .map(|section| {
            let mut parts = section.into_inner();
            let mut header = parts.next().unwrap().into_inner();
            let kind = header.next().unwrap().as_str().to_string();
            let pair = |p: Pair<Rule>| {
                let mut kv = p.into_inner();
                let k = kv.next().unwrap().as_str().to_string();
                (k, value(kv.next().unwrap()))
            };
            Section {
                kind,
                attrs: header.map(pair).collect(),
                props: parts.map(pair).collect(),
            }
        })
        .collect()
}

/// The grammar refuses what Godot's loader would refuse.
#[test]
fn the_grammar_rejects_broken_scenes() {
    let good = "[gd_scene format=3]\n\n[node name=\"a\" type=\"Node2D\"]\nposition = Vector2(1, -2.5)\nd = {\n\"k\": [1, &\"x\", null]\n}\n";
    assert_eq!(parse(good).len(), 2);
    for bad in [
        "[gd_scene format=3\n",
        "[node name=\"a\"]\nposition = Vector2(1, 2\n",
        "[node name=\"a\"]\nx = \"unterminated\n",
        "[node name=\"a\"]\nx = {\"k\" 1}\n",
        "[node name=\"a\"]\n= 3\n",
    ] {
        assert!(Tscn::parse(Rule::file, bad).is_err(), "accepted: {bad}");
    }
}

fn node_path(s: &Section) -> String {
    let name = s.attr("name").unwrap().str();
    match s.attr("parent").map(V::str) {
        None => String::new(),
        Some(".") => name.to_string(),
        Some(parent) => format!("{parent}/{name}"),
    }
}

fn vec2(v: &V) -> [f64; 2] {
    let n = v.nums("Vector2");
    [n[0], n[1]]
}

fn local(position: [f64; 2], rotation: f64, scale: [f64; 2]) -> M {
    Local {
        x: position[0],
        y: position[1],
        rotation,
        scale_x: scale[0],
        scale_y: scale[1],
    }
    .matrix()
}

#[test]
fn godot_scene_parses_and_its_bones_pose_what_we_draw() {
    let mut summary = Vec::new();
    for sample in samples() {
        let r = render(&sample);
        let dir = tempfile::tempdir().unwrap();
        export(&r, ExportFormat::Godot, dir.path());
        let text = std::fs::read_to_string(dir.path().join("sample.tscn")).unwrap();
        let script = std::fs::read_to_string(dir.path().join("sample_events.gd")).unwrap();
        assert!(script.contains("func _on_kinema_event(event_name: String, limb: String)"));
        let sections = parse(&text);

        // The header and resources.
        assert_eq!(sections[0].kind, "gd_scene");
        assert_eq!(sections[0].attr("format"), Some(&V::Num(3.0)));
        let ext: HashMap<&str, &Section> = sections
            .iter()
            .filter(|s| s.kind == "ext_resource")
            .map(|s| (s.attr("id").unwrap().str(), s))
            .collect();
        assert_eq!(ext["1_page"].attr("path").unwrap().str(), "sample.png");
        assert_eq!(
            ext["2_events"].attr("path").unwrap().str(),
            "sample_events.gd"
        );
        let subs: HashMap<&str, &Section> = sections
            .iter()
            .filter(|s| s.kind == "sub_resource")
            .map(|s| (s.attr("id").unwrap().str(), s))
            .collect();
        let load_steps = sections[0].attr("load_steps").unwrap().num() as usize;
        assert_eq!(load_steps, ext.len() + subs.len() + 1);
        let nodes: Vec<&Section> = sections.iter().filter(|s| s.kind == "node").collect();
        let by_path: HashMap<String, &Section> = nodes.iter().map(|s| (node_path(s), *s)).collect();
        for n in &nodes[1..] {
            let parent = n.attr("parent").unwrap().str();
            assert!(
                parent == "." || by_path.contains_key(parent),
                "{sample}: node {} has a missing parent {parent}",
                node_path(n)
            );
        }
        for s in &sections {
            for (_, v) in s.props.iter().chain(&s.attrs) {
                if let V::Call(kind, args) = v {
                    if kind == "SubResource" {
                        assert!(subs.contains_key(args[0].str()), "{sample}: {v:?}");
                    }
                    if kind == "ExtResource" {
                        assert!(ext.contains_key(args[0].str()), "{sample}: {v:?}");
                    }
                }
            }
        }

        // Bones: setup transforms, rests equal to them.
        let bones: Vec<&Section> = nodes
            .iter()
            .copied()
            .filter(|n| n.attr("type").unwrap().str() == "Bone2D")
            .collect();
        let mut setup: HashMap<String, M> = HashMap::new();
        for b in &bones {
            let m = local(
                vec2(b.prop("position").unwrap()),
                b.prop("rotation").unwrap().num(),
                [1.0, 1.0],
            );
            let rest = b.prop("rest").unwrap().nums("Transform2D");
            for (got, want) in rest.iter().zip([m.a, m.c, m.b, m.d, m.tx, m.ty]) {
                assert!(
                    (got - want).abs() < 1e-3,
                    "{sample}: rest of {}",
                    node_path(b)
                );
            }
            setup.insert(node_path(b), m);
        }
        let global = |locals: &HashMap<String, M>| -> HashMap<String, M> {
            let mut out: HashMap<String, M> = HashMap::new();
            for b in &bones {
                let path = node_path(b);
                let parent = b.attr("parent").unwrap().str();
                let m = locals[&path];
                let g = out.get(parent).map_or(m, |p| p.mul(&m));
                out.insert(path, g);
            }
            out
        };
        let rest_global = global(&setup);

        // The animations, by name.
        let library = subs["AnimationLibrary_kinema"].prop("_data").unwrap();
        let axes = Axes::of(&r.model, false);
        let pieces = cut(&r.model);
        let (ox, oy) = (r.placement.x as f32, r.placement.y as f32);
        let mut worst = 0.0f64;
        for (((name, _, looping), frames), g) in ACTIONS.iter().zip(&r.frames).zip(&r.gameplay) {
            let id = match library.get(name) {
                V::Call(_, args) => args[0].str().to_string(),
                other => panic!("{other:?}"),
            };
            let anim = subs[id.as_str()];
            assert_eq!(anim.prop("resource_name").unwrap().str(), *name);
            assert_eq!(anim.prop("loop_mode").unwrap().num(), *looping as u8 as f64);
            let length = anim.prop("length").unwrap().num();
            assert!((length - frames.len() as f64 / 12.0).abs() < 1e-4);
            let mut tracks: HashMap<String, (String, Vec<f64>, Vec<V>)> = HashMap::new();
            let mut t = 0;
            while let Some(kind) = anim.prop(&format!("tracks/{t}/type")) {
                let path = anim
                    .prop(&format!("tracks/{t}/path"))
                    .unwrap()
                    .args("NodePath")[0]
                    .str()
                    .to_string();
                let keys = anim.prop(&format!("tracks/{t}/keys")).unwrap();
                let times = keys.get("times").nums("PackedFloat32Array");
                let values = keys.get("values").items().to_vec();
                assert_eq!(times.len(), values.len(), "{sample} {name} {path}");
                let (node, _) = path.split_once(':').unwrap_or((&path, ""));
                assert!(node == "." || by_path.contains_key(node), "{path}");
                tracks.insert(path, (kind.str().to_string(), times, values));
                t += 1;
            }
            for (k, (fp, rec)) in frames.iter().zip(g).enumerate() {
                let value_at = |path: &str| {
                    tracks.get(path).map(|(_, times, values)| {
                        assert!((times[k] - time_of(k)).abs() < 1e-4);
                        values[k].clone()
                    })
                };
                let mut locals = HashMap::new();
                for b in &bones {
                    let path = node_path(b);
                    let position = value_at(&format!("{path}:position"))
                        .map_or(vec2(b.prop("position").unwrap()), |v| vec2(&v));
                    let rotation = value_at(&format!("{path}:rotation"))
                        .map_or(b.prop("rotation").unwrap().num(), |v| v.num());
                    let scale = value_at(&format!("{path}:scale")).map_or([1.0, 1.0], |v| vec2(&v));
                    locals.insert(path, local(position, rotation, scale));
                }
                let posed = global(&locals);
                let skinning: HashMap<&String, M> = posed
                    .iter()
                    .map(|(p, m)| (p, m.mul(&rest_global[p].inverse())))
                    .collect();
                let drawn = drawn_vertices(&r.model, &axes, fp);
                let travel = [rec.root_motion[0] as f64, rec.root_motion[1] as f64];
                for piece in &pieces.pieces {
                    let poly = by_path[&piece.name];
                    let points = poly.prop("polygon").unwrap().nums("PackedVector2Array");
                    let uv = poly.prop("uv").unwrap().nums("PackedVector2Array");
                    assert_eq!(points.len(), 2 * piece.vertices.len());
                    assert_eq!(uv.len(), points.len());
                    let internal = poly.prop("internal_vertex_count").unwrap().num() as usize;
                    assert_eq!(internal, piece.vertices.len() - piece.hull);
                    let weights = poly.prop("bones").unwrap().items();
                    let mut got = vec![[0.0f64; 2]; piece.vertices.len()];
                    let mut total = vec![0.0f64; piece.vertices.len()];
                    for pair in weights.chunks(2) {
                        let bone = format!("Skeleton2D/{}", pair[0].args("NodePath")[0].str());
                        let ws = pair[1].nums("PackedFloat32Array");
                        assert_eq!(ws.len(), piece.vertices.len());
                        let m = skinning[&bone];
                        for (i, w) in ws.iter().enumerate() {
                            let p = m.apply([points[2 * i], points[2 * i + 1]]);
                            got[i][0] += w * p[0];
                            got[i][1] += w * p[1];
                            total[i] += w;
                        }
                    }
                    for (i, &v) in piece.vertices.iter().enumerate() {
                        assert!((total[i] - 1.0).abs() < 1e-3, "{sample}: weights of {i}");
                        let want = drawn[piece.layer][v as usize];
                        let d = (got[i][0] - want[0] - travel[0])
                            .hypot(got[i][1] - want[1] - travel[1]);
                        worst = worst.max(d);
                        assert!(
                            d < 1.0,
                            "{sample} {name} frame {k} {}: vertex {i} off by {d:.3} px",
                            piece.name
                        );
                    }
                }
                // Boxes: the collision shapes, in the root bone's frame.
                let shape = |node: &str| {
                    let c = value_at(&format!("Skeleton2D/root/{node}/CollisionShape2D:position"));
                    let s = value_at(&format!(
                        "Skeleton2D/root/{node}/CollisionShape2D:shape:size"
                    ));
                    (vec2(&c.unwrap()), vec2(&s.unwrap()))
                };
                let expect = |b: &kinema_core::BoxPx| {
                    let a = axes.point([b.x - ox, b.y - oy]);
                    (
                        [a[0] + b.w as f64 / 2.0, a[1] + b.h as f64 / 2.0],
                        [b.w as f64, b.h as f64],
                    )
                };
                let close = |x: ([f64; 2], [f64; 2]), y: ([f64; 2], [f64; 2])| {
                    (x.0[0] - y.0[0]).abs()
                        + (x.0[1] - y.0[1]).abs()
                        + (x.1[0] - y.1[0]).abs()
                        + (x.1[1] - y.1[1]).abs()
                        < 1e-2
                };
                assert!(
                    close(shape("Hurtbox"), expect(&rec.hurtbox)),
                    "{sample} {name} {k}"
                );
                if tracks.contains_key("Skeleton2D/root/Hitbox/CollisionShape2D:disabled") {
                    let off = value_at("Skeleton2D/root/Hitbox/CollisionShape2D:disabled").unwrap();
                    assert_eq!(off, V::Bool(rec.hitbox.is_none()), "{sample} {name} {k}");
                    if let Some(h) = &rec.hitbox {
                        assert!(close(shape("Hitbox"), expect(&h.rect)));
                    }
                }
            }
            // Events: the method track calls `_on_kinema_event(name, limb)` on their frames.
            let want: Vec<(f64, String)> = g
                .iter()
                .enumerate()
                .flat_map(|(i, rec)| {
                    rec.events
                        .iter()
                        .map(move |e| (time_of(i), e.callback_name()))
                })
                .collect();
            let got: Vec<(f64, String)> = tracks
                .get(".")
                .map(|(kind, times, values)| {
                    assert_eq!(kind, "method");
                    times
                        .iter()
                        .zip(values)
                        .map(|(t, v)| {
                            assert_eq!(v.get("method").str(), "_on_kinema_event");
                            (*t, v.get("args").items()[0].str().to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                got.len(),
                want.len(),
                "{sample} {name}: {got:?} vs {want:?}"
            );
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a.0 - b.0).abs() < 1e-4 && a.1 == b.1,
                    "{sample} {name}: {a:?} vs {b:?}"
                );
            }
        }
        summary.push(format!("{sample}: worst {worst:.4} px"));
    }
    eprintln!("{}", summary.join("\n"));
}
