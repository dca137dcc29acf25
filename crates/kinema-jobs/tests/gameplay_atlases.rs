//! The rig engine's gameplay metadata reaches every atlas and `--json`: pivots, boxes,
//! the strike's hitbox on its active frames, and events (Unity's as AnimationEvents).

use std::path::{Path, PathBuf};

use kinema_core::ClipSpec;
use kinema_jobs::{defaults, EngineOptions, Request, SheetRequest, What};
use kinema_media::sheet::{AtlasFormat, SheetOptions};
use kinema_media::EncodeOptions;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn sheets_and_the_report_carry_pivots_boxes_and_events() {
    let tmp = tempfile::tempdir().unwrap();
    let sheet = tmp.path().join("hero.png");
    let request = Request {
        image: repo("samples/characters/femaleAdventurer_idle.png"),
        mask: None,
        subject_box: None,
        engine: "rig".into(),
        engine_options: EngineOptions::default(),
        what: What::Actions(vec!["walk".into(), "attack".into()]),
        spec: ClipSpec {
            frames: 12,
            fps: 12,
            seed: 0,
            looping: false,
        },
        outs: vec![],
        sheet: Some(SheetRequest {
            path: sheet.clone(),
            options: SheetOptions {
                atlases: AtlasFormat::ALL.to_vec(),
                ..defaults::sheet_options()
            },
        }),
        export: None,
        encode: EncodeOptions::default(),
    };
    let report = kinema_jobs::run(&request, &|_| {}).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    let attack = &json["actions"][1]["gameplay"];
    assert_eq!(attack.as_array().unwrap().len(), 12);
    let hits: Vec<usize> = (0..12)
        .filter(|&i| attack[i].get("hitbox").is_some())
        .collect();
    assert!(!hits.is_empty(), "{attack}");
    assert_eq!(attack[hits[0]]["hitbox"]["limb"], "hand_right");
    assert_eq!(attack[hits[0]]["events"][0]["name"], "attack_active");

    let tp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("hero.json")).unwrap())
            .unwrap();
    let f = &tp["frames"]["attack_0000"];
    assert!(f["pivot"]["x"].as_f64().unwrap() > 0.0 && f["pivot"]["y"].as_f64().unwrap() > 0.5);
    assert!(f["kinema"]["hurtbox"]["w"].as_f64().unwrap() > 0.0);
    let name = format!("attack_{:04}", hits[0]);
    assert_eq!(
        tp["frames"][&name]["kinema"]["hitbox"]["limb"],
        "hand_right"
    );
    let walk_steps = (0..12)
        .filter(|i| {
            tp["frames"][format!("walk_{i:04}")]["kinema"]["events"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["name"] == "footstep"))
        })
        .count();
    assert!(walk_steps >= 2, "a walk cycle has two footsteps");

    let ase: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("hero.aseprite.json")).unwrap(),
    )
    .unwrap();
    let slices = ase["meta"]["slices"].as_array().unwrap();
    assert_eq!(slices[0]["name"], "hurtbox");
    assert_eq!(slices[0]["keys"].as_array().unwrap().len(), 24);
    assert_eq!(slices[1]["name"], "hitbox");
    assert_eq!(
        slices[1]["keys"].as_array().unwrap().len(),
        12,
        "only the attack strikes"
    );

    let tres = std::fs::read_to_string(tmp.path().join("hero.tres")).unwrap();
    assert!(tres.contains("metadata/kinema_gameplay = {"));
    assert!(tres.contains("\"hitbox_limb\": \"hand_right\""));
    let meta = std::fs::read_to_string(tmp.path().join("hero.png.meta")).unwrap();
    let user = meta
        .lines()
        .find(|l| l.trim_start().starts_with("userData:"))
        .unwrap();
    assert!(
        user.contains("OnKinemaEvent") && user.contains("attack_active_start"),
        "{user}"
    );
}
