//! Writes real sheets and loads every atlas back with an independent reader: each frame
//! must come back pixel-exact at its untrimmed placement, animations must keep their
//! names, timing and loop flags, and packing must respect padding, POT and columns.

mod sheet_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kinema_core::{Clip, Frame};
use kinema_media::sheet::{
    atlas_path, layout_sheet, write_sheet, Animation, AtlasFormat, SheetOptions,
};
use serde_json::Value as Json;
use sheet_support::tres::{self, Value};
use sheet_support::{read_png, restore, sample_walk, synthetic_clip};
use yaml_rust2::{Yaml, YamlLoader};

struct Fixture {
    idle: Clip,
    attack: Clip,
    walk: Clip,
}

impl Fixture {
    fn new() -> Self {
        let mut walk = sample_walk();
        // Put the sample on the same canvas as the rest; a sheet's animations share one.
        walk.frames = walk.frames.iter().map(|f| f.crop(0, 0, 96, 128)).collect();
        Fixture {
            idle: synthetic_clip(6, 96, 128, 8, true, true),
            attack: synthetic_clip(5, 96, 128, 12, true, true),
            walk,
        }
    }

    fn animations(&self) -> Vec<Animation<'_>> {
        let mut attack = Animation::new("attack", &self.attack);
        attack.looping = false; // rendered as a cycle, played once in game
        vec![
            Animation::new("idle", &self.idle),
            Animation::new("walk", &self.walk),
            attack,
        ]
    }
}

/// Every frame of every animation, in sheet order, with its animation's index.
fn all_frames<'a>(anims: &'a [Animation<'a>]) -> Vec<(usize, &'a Frame)> {
    anims
        .iter()
        .enumerate()
        .flat_map(|(ai, a)| a.clip.frames.iter().map(move |f| (ai, f)))
        .collect()
}

fn u(v: &Json) -> u32 {
    v.as_u64().expect("unsigned integer") as u32
}

fn write(dir: &Path, name: &str, anims: &[Animation], opts: &SheetOptions) -> (PathBuf, Frame) {
    let png = dir.join(name);
    let files = write_sheet(&png, anims, opts, false).expect("write sheet");
    assert_eq!(files.len(), 1 + opts.atlases.len());
    assert_eq!(files[0], png);
    for f in &files {
        assert!(f.exists(), "{} missing", f.display());
    }
    let sheet = read_png(&png);
    (png, sheet)
}

/// TexturePacker JSON as Phaser/PixiJS read it; returns each frame's restored canvas.
fn check_texturepacker(png: &Path, sheet: &Frame, anims: &[Animation]) -> Vec<Frame> {
    let v: Json = serde_json::from_str(
        &std::fs::read_to_string(atlas_path(png, AtlasFormat::TexturePacker)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        v["meta"]["image"],
        png.file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(
        (u(&v["meta"]["size"]["w"]), u(&v["meta"]["size"]["h"])),
        (sheet.width, sheet.height)
    );
    let frames = v["frames"].as_object().unwrap();
    let mut restored = Vec::new();
    for (ai, a) in anims.iter().enumerate() {
        let names: Vec<&str> = v["animations"][&a.name]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(names.len(), a.clip.frames.len());
        let mut total = 0;
        for (i, name) in names.iter().enumerate() {
            let f = &frames[*name];
            assert_eq!(f["rotated"], false);
            let r = &f["frame"];
            let ss = &f["spriteSourceSize"];
            assert_eq!((u(&ss["w"]), u(&ss["h"])), (u(&r["w"]), u(&r["h"])));
            let source = (u(&f["sourceSize"]["w"]), u(&f["sourceSize"]["h"]));
            assert_eq!(f["trimmed"], (u(&r["w"]), u(&r["h"])) != source, "{name}");
            let canvas = restore(
                sheet,
                (u(&r["x"]), u(&r["y"]), u(&r["w"]), u(&r["h"])),
                (u(&ss["x"]), u(&ss["y"])),
                source,
            );
            assert_eq!(canvas, a.clip.frames[i], "{name} of animation {ai}");
            total += u(&f["duration"]);
            restored.push(canvas);
        }
        assert_eq!(
            total,
            (names.len() as u32 * 1000 + a.clip.fps / 2) / a.clip.fps,
            "durations add up for {}",
            a.name
        );
    }
    assert_eq!(frames.len(), restored.len());
    restored
}

/// Aseprite JSON: tags cover every frame once, in order, and frames restore exactly.
fn check_aseprite(png: &Path, sheet: &Frame, anims: &[Animation]) {
    let v: Json = serde_json::from_str(
        &std::fs::read_to_string(atlas_path(png, AtlasFormat::Aseprite)).unwrap(),
    )
    .unwrap();
    let frames = v["frames"].as_object().unwrap();
    let tags = v["meta"]["frameTags"].as_array().unwrap();
    assert_eq!(tags.len(), anims.len());
    let mut next = 0;
    let all = all_frames(anims);
    for (tag, a) in tags.iter().zip(anims) {
        assert_eq!(tag["name"], a.name.as_str());
        assert_eq!(tag["direction"], "forward");
        assert_eq!(u(&tag["from"]), next, "tags are contiguous and in order");
        let to = u(&tag["to"]);
        assert_eq!(to - u(&tag["from"]) + 1, a.clip.frames.len() as u32);
        next = to + 1;
        assert_eq!(
            tag.get("repeat").and_then(Json::as_str),
            if a.looping { None } else { Some("1") },
            "{}",
            a.name
        );
    }
    assert_eq!(next as usize, all.len(), "every frame is tagged");
    assert_eq!(frames.len(), all.len());
    for (i, (_, original)) in all.iter().enumerate() {
        let f = &frames[&i.to_string()];
        let (r, ss) = (&f["frame"], &f["spriteSourceSize"]);
        let canvas = restore(
            sheet,
            (u(&r["x"]), u(&r["y"]), u(&r["w"]), u(&r["h"])),
            (u(&ss["x"]), u(&ss["y"])),
            (u(&f["sourceSize"]["w"]), u(&f["sourceSize"]["h"])),
        );
        assert_eq!(&canvas, *original, "aseprite frame {i}");
        assert!(u(&f["duration"]) > 0);
    }
}

/// Godot SpriteFrames: parses, every reference resolves, regions + margins restore.
fn check_godot(png: &Path, sheet: &Frame, anims: &[Animation]) {
    let text = std::fs::read_to_string(atlas_path(png, AtlasFormat::Godot)).unwrap();
    let sections =
        tres::parse(&text).unwrap_or_else(|e| panic!("tres does not parse: {e}\n{text}"));
    let header = &sections[0];
    assert_eq!(header.kind, "gd_resource");
    assert_eq!(header.attrs["type"].str(), "SpriteFrames");
    assert_eq!(header.attrs["format"].num(), 3.0);
    let ext: HashMap<&str, &tres::Section> = sections
        .iter()
        .filter(|s| s.kind == "ext_resource")
        .map(|s| (s.attrs["id"].str(), s))
        .collect();
    let sub: HashMap<&str, &tres::Section> = sections
        .iter()
        .filter(|s| s.kind == "sub_resource")
        .map(|s| (s.attrs["id"].str(), s))
        .collect();
    assert_eq!(
        header.attrs["load_steps"].num() as usize,
        ext.len() + sub.len() + 1
    );
    assert_eq!(ext.len(), 1);
    let sheet_res = ext.values().next().unwrap();
    assert_eq!(sheet_res.attrs["type"].str(), "Texture2D");
    assert_eq!(
        sheet_res.attrs["path"].str(),
        png.file_name().unwrap().to_str().unwrap(),
        "path relative to the .tres"
    );

    let resource = sections
        .iter()
        .find(|s| s.kind == "resource")
        .expect("[resource]");
    let Value::Array(godot_anims) = resource.prop("animations").unwrap() else {
        panic!("animations is not an array")
    };
    assert_eq!(godot_anims.len(), anims.len());
    for (g, a) in godot_anims.iter().zip(anims) {
        assert_eq!(g.get("name"), &Value::Name(a.name.clone()));
        assert_eq!(g.get("loop"), &Value::Bool(a.looping), "{}", a.name);
        assert_eq!(g.get("speed").num(), f64::from(a.clip.fps));
        let Value::Array(frames) = g.get("frames") else {
            panic!()
        };
        assert_eq!(frames.len(), a.clip.frames.len());
        for (i, fr) in frames.iter().enumerate() {
            assert_eq!(fr.get("duration").num(), 1.0);
            let id = fr.get("texture").reference("SubResource");
            let atlas = sub
                .get(id)
                .unwrap_or_else(|| panic!("SubResource {id} does not resolve"));
            assert_eq!(atlas.attrs["type"].str(), "AtlasTexture");
            let ext_id = atlas.prop("atlas").unwrap().reference("ExtResource");
            assert!(
                ext.contains_key(ext_id),
                "ExtResource {ext_id} does not resolve"
            );
            let r = atlas.prop("region").unwrap().call_nums("Rect2");
            let m = atlas
                .prop("margin")
                .map(|m| m.call_nums("Rect2"))
                .unwrap_or(vec![0.0; 4]);
            let source = ((r[2] + m[2]) as u32, (r[3] + m[3]) as u32);
            assert_eq!(
                source,
                (a.clip.width(), a.clip.height()),
                "region + margin size is the frame size"
            );
            let canvas = restore(
                sheet,
                (r[0] as u32, r[1] as u32, r[2] as u32, r[3] as u32),
                (m[0] as u32, m[1] as u32),
                source,
            );
            assert_eq!(canvas, a.clip.frames[i], "godot {} frame {i}", a.name);
        }
    }
}

fn yaml_u(y: &Yaml) -> u32 {
    y.as_i64().expect("integer") as u32
}

fn yaml_f(y: &Yaml) -> f64 {
    y.as_f64()
        .or_else(|| y.as_i64().map(|i| i as f64))
        .expect("number")
}

/// Unity meta: YAML parses, bottom-left rects map to the right pixels, and every pivot
/// lands on the bottom centre of the untrimmed frame.
fn check_unity(png: &Path, sheet: &Frame, anims: &[Animation]) {
    let text = std::fs::read_to_string(atlas_path(png, AtlasFormat::Unity)).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("meta is not YAML: {e}"));
    let root = &docs[0];
    let guid = root["guid"].as_str().unwrap();
    assert_eq!(guid.len(), 32);
    let ti = &root["TextureImporter"];
    assert_eq!(ti["spriteMode"].as_i64(), Some(2));
    assert_eq!(ti["mipmaps"]["enableMipMap"].as_i64(), Some(0));
    assert_eq!(ti["alphaIsTransparency"].as_i64(), Some(1));
    let pixel_art = anims.iter().any(|a| a.clip.pixel_art);
    assert_eq!(
        ti["textureSettings"]["filterMode"].as_i64(),
        Some(if pixel_art { 0 } else { 1 })
    );
    assert_eq!(
        ti["platformSettings"][0]["textureCompression"].as_i64(),
        Some(0)
    );
    assert!(
        yaml_u(&ti["maxTextureSize"]) >= sheet.width.max(sheet.height),
        "Unity must not downscale the sheet"
    );
    let sprites = ti["spriteSheet"]["sprites"].as_vec().unwrap();
    let all = all_frames(anims);
    assert_eq!(sprites.len(), all.len());
    let table = ti["spriteSheet"]["nameFileIdTable"].as_hash().unwrap();
    let mut ids = std::collections::HashSet::new();
    for (s, (ai, original)) in sprites.iter().zip(&all) {
        let name = s["name"].as_str().expect("sprite name is a string");
        assert!(name.starts_with(&format!("{}_", anims[*ai].name)), "{name}");
        assert_eq!(s["alignment"].as_i64(), Some(9));
        let r = &s["rect"];
        let (x, y_up, w, h) = (
            yaml_u(&r["x"]),
            yaml_u(&r["y"]),
            yaml_u(&r["width"]),
            yaml_u(&r["height"]),
        );
        assert!(y_up + h <= sheet.height);
        let top = sheet.height - y_up - h;
        let (px, py) = (yaml_f(&s["pivot"]["x"]), yaml_f(&s["pivot"]["y"]));
        // Pivot in rect pixels from the rect's bottom-left; the rect's top-left in the
        // untrimmed canvas follows from the pivot being at (width/2, height) of the canvas.
        let (sw, sh) = (original.width as f64, original.height as f64);
        let off_x = sw / 2.0 - px * w as f64;
        let off_y = sh - (h as f64 - py * h as f64);
        assert!(
            (off_x - off_x.round()).abs() < 1e-6 && (off_y - off_y.round()).abs() < 1e-6,
            "{name}: pivot off the pixel grid"
        );
        let canvas = restore(
            sheet,
            (x, top, w, h),
            (off_x.round() as u32, off_y.round() as u32),
            (original.width, original.height),
        );
        assert_eq!(&canvas, *original, "unity {name}");
        let id = s["internalID"].as_i64().unwrap();
        assert!(id != 0 && ids.insert(id), "internalID unique");
        assert_eq!(
            table[&Yaml::String(name.to_string())].as_i64(),
            Some(id),
            "nameFileIdTable matches"
        );
        assert_eq!(s["spriteID"].as_str().unwrap().len(), 32);
    }
}

fn check_all(dir: &Path, name: &str, opts: &SheetOptions) -> Vec<Frame> {
    let fx = Fixture::new();
    let anims = fx.animations();
    let (png, sheet) = write(dir, name, &anims, opts);
    let restored = check_texturepacker(&png, &sheet, &anims);
    check_aseprite(&png, &sheet, &anims);
    check_godot(&png, &sheet, &anims);
    check_unity(&png, &sheet, &anims);
    restored
}

#[test]
fn untrimmed_sheet_round_trips_through_every_atlas() {
    let dir = tempfile::tempdir().unwrap();
    check_all(
        dir.path(),
        "plain.png",
        &SheetOptions {
            padding: 2,
            ..Default::default()
        },
    );
}

#[test]
fn trimmed_extruded_pot_sheet_round_trips_through_every_atlas() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SheetOptions {
        trim: true,
        extrude: 2,
        padding: 1,
        pot: true,
        ..Default::default()
    };
    let trimmed = check_all(dir.path(), "trimmed.png", &opts);
    let untrimmed = check_all(
        dir.path(),
        "untrimmed.png",
        &SheetOptions {
            dedupe: false,
            ..Default::default()
        },
    );
    assert_eq!(
        trimmed, untrimmed,
        "trimmed and untrimmed sheets restore the same placements"
    );
    let sheet = read_png(&dir.path().join("trimmed.png"));
    assert!(sheet.width.is_power_of_two() && sheet.height.is_power_of_two());
    let plain = read_png(&dir.path().join("untrimmed.png"));
    assert!(
        sheet.pixel_count() < plain.pixel_count(),
        "trimming saves space"
    );
}

#[test]
fn packing_keeps_gaps_columns_and_pot() {
    let fx = Fixture::new();
    let anims = fx.animations();
    for trim in [false, true] {
        for (columns, padding, extrude, pot) in [
            (None, 0, 0, false),
            (Some(4), 3, 1, false),
            (None, 2, 2, true),
            (Some(1), 1, 0, true),
        ] {
            let opts = SheetOptions {
                columns,
                padding,
                extrude,
                trim,
                pot,
                ..Default::default()
            };
            let l = layout_sheet(&anims, &opts).unwrap();
            if pot {
                assert!(
                    l.width.is_power_of_two() && l.height.is_power_of_two(),
                    "{opts:?}"
                );
            }
            let mut rects: Vec<_> = l.frames.iter().map(|f| f.rect).collect();
            rects.sort_by_key(|r| (r.y, r.x));
            rects.dedup();
            for r in &rects {
                assert!(
                    r.x >= extrude
                        && r.y >= extrude
                        && r.right() + extrude <= l.width
                        && r.bottom() + extrude <= l.height
                );
            }
            for (i, a) in rects.iter().enumerate() {
                for b in &rects[i + 1..] {
                    // Extruded boxes must be at least `padding` apart on some axis.
                    let gap_x = (b.x as i64 - a.right() as i64).max(a.x as i64 - b.right() as i64)
                        - 2 * extrude as i64;
                    let gap_y = (b.y as i64 - a.bottom() as i64)
                        .max(a.y as i64 - b.bottom() as i64)
                        - 2 * extrude as i64;
                    assert!(
                        gap_x >= padding as i64 || gap_y >= padding as i64,
                        "{a:?} and {b:?} too close with {opts:?}"
                    );
                }
            }
            if let Some(c) = columns {
                let mut per_row: HashMap<u32, u32> = HashMap::new();
                for r in &rects {
                    *per_row.entry(r.y).or_default() += 1;
                }
                assert!(per_row.values().all(|&n| n <= c), "{opts:?}");
            }
        }
    }
}

#[test]
fn existing_files_and_wrong_extensions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::new();
    let anims = fx.animations();
    let png = dir.path().join("hero.png");
    let opts = SheetOptions {
        atlases: vec![AtlasFormat::Godot, AtlasFormat::Godot],
        ..Default::default()
    };
    let files = write_sheet(&png, &anims, &opts, false).unwrap();
    assert_eq!(
        files,
        vec![png.clone(), dir.path().join("hero.tres")],
        "duplicate formats written once"
    );
    let before = std::fs::read(dir.path().join("hero.tres")).unwrap();
    let e = write_sheet(&png, &anims, &opts, false).unwrap_err();
    assert!(e.to_string().contains("--force"), "{e}");
    write_sheet(&png, &anims, &opts, true).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("hero.tres")).unwrap(),
        before,
        "same input, same bytes"
    );
    let e = write_sheet(&dir.path().join("hero.gif"), &anims, &opts, false).unwrap_err();
    assert!(e.hint.unwrap().contains(".png") || e.message.contains(".png"));
    // A refused sheet leaves nothing behind.
    let bad = [Animation::new("a b", &fx.idle)];
    assert!(write_sheet(&dir.path().join("bad.png"), &bad, &opts, false).is_err());
    assert!(!dir.path().join("bad.png").exists() && !dir.path().join("bad.tres").exists());
}
