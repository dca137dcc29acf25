//! The same character animates the same from its alpha version and from a flat picture
//! of it on white (PNG or JPEG): the auto-rig puts every joint within two pixels, and the
//! rendered `wave` matches frame by frame.

use std::io::Cursor;
use std::path::Path;

use kinema_core::{Character, ClipSpec, Engine, Job};
use kinema_media::{decode_character, load_character, LoadOptions};
use kinema_rig::{auto_rig, RigEngine};

fn sample(file: &str) -> Character {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(file);
    load_character(&path, &LoadOptions::default()).expect("sample")
}

/// The character flattened onto white and encoded as PNG, or as JPEG at `quality`.
fn on_white(c: &Character, jpeg: Option<u8>) -> Vec<u8> {
    let flat = c.image.over_color([255, 255, 255]);
    let rgb = image::RgbImage::from_fn(flat.width, flat.height, |x, y| {
        let p = flat.pixel(x, y);
        image::Rgb([p[0], p[1], p[2]])
    });
    let mut out = Cursor::new(Vec::new());
    match jpeg {
        Some(q) => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
            .encode_image(&rgb)
            .expect("jpeg"),
        None => rgb
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("png"),
    }
    out.into_inner()
}

fn wave(c: &Character) -> kinema_core::Clip {
    let spec = ClipSpec {
        frames: 24,
        fps: 12,
        seed: 0,
        looping: false,
    };
    let job = Job {
        character: c,
        prompt: "wave",
        spec: &spec,
    };
    RigEngine::new()
        .generate(job, &|_| {})
        .expect("renders")
        .clip
}

fn alpha_iou(a: &kinema_core::Frame, b: &kinema_core::Frame) -> f32 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (p, q) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)) {
        let (x, y) = (p[3] >= 128, q[3] >= 128);
        inter += usize::from(x && y);
        union += usize::from(x || y);
    }
    inter as f32 / union.max(1) as f32
}

#[test]
fn a_character_on_white_rigs_and_waves_like_its_alpha_version() {
    // The samples without white paint at their edge (the bee's wing tip and the alien's
    // helmet rim are white, so on a white page they are gone and rig differently).
    let mut failures = Vec::new();
    for file in ["femaleAdventurer_idle.png", "ladybug.png", "slimeBlue.png"] {
        let original = sample(file);
        let rig = auto_rig(&original).expect("rig");
        let clip = wave(&original);
        for (kind, jpeg) in [("PNG", None), ("JPEG q88", Some(88))] {
            let flat = decode_character(&on_white(&original, jpeg), file, &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{file} {kind}: {e}"));
            let flat_rig = auto_rig(&flat).expect("rig");
            assert_eq!(rig.kind, flat_rig.kind, "{file} {kind}: rig kind");
            for (a, b) in rig.joints.iter().zip(&flat_rig.joints) {
                let d = (a.x - b.x).hypot(a.y - b.y);
                assert!(
                    d <= 2.0,
                    "{file} {kind}: joint {} moved {d:.1} px ({},{} vs {},{})",
                    a.name,
                    a.x,
                    a.y,
                    b.x,
                    b.y
                );
            }
            let flat_clip = wave(&flat);
            assert_eq!(clip.frames.len(), flat_clip.frames.len());
            let ious: Vec<f32> = clip
                .frames
                .iter()
                .zip(&flat_clip.frames)
                .map(|(a, b)| alpha_iou(a, b))
                .collect();
            let worst = ious.iter().copied().fold(1.0f32, f32::min);
            let mean = ious.iter().sum::<f32>() / ious.len() as f32;
            let max_joint = rig
                .joints
                .iter()
                .zip(&flat_rig.joints)
                .map(|(a, b)| (a.x - b.x).hypot(a.y - b.y))
                .fold(0.0f32, f32::max);
            eprintln!(
                "{file} {kind}: joints within {max_joint:.2} px; wave silhouette IoU per frame mean {mean:.4}, worst {worst:.4}"
            );
            // A rim pixel crossing the alpha-½ line can move a joint by a pixel or so (the
            // adventurer's hand by 1.1 px, PNG or JPEG); her waving arm then swings from a
            // slightly different pivot (measured: mean 0.973–0.977, worst frame 0.962–0.966;
            // ≥ 0.99 and ≥ 0.987 for the ladybug and the slime).
            let (need_mean, need_worst) = (0.97, 0.95);
            if mean < need_mean || worst < need_worst {
                failures.push(format!("{file} {kind}: mean {mean}, worst {worst}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
