//! Setup and render speed on a 512×512 character, 48 frames, one core.
//! Run with `cargo bench -p kinema-rig`. Targets: setup < 100 ms, ≥ 300 frames/s.

use std::time::Instant;

use kinema_core::{Character, ClipSpec, Frame};
use kinema_rig::{auto_rig, build_model, canvas_for, frame_poses, render_pose, understand};

/// The adventurer sample enlarged 4× (nearest) and centred on a 512×512 image.
fn big_character() -> Character {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/characters/femaleAdventurer_idle.png"
    );
    let file = std::fs::File::open(path).expect("sample exists");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png data");
    let (w, h) = (info.width, info.height);
    let rgba: Vec<u8> = match info.color_type {
        png::ColorType::Rgba => buf[..(w * h * 4) as usize].to_vec(),
        png::ColorType::Rgb => buf[..(w * h * 3) as usize]
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected colour type {other:?}"),
    };
    let small = Frame::from_rgba(w, h, rgba).expect("size");
    let mut big = Frame::new(512, 512);
    let k = (512 / w).min(512 / h);
    let (ox, oy) = ((512 - w * k) / 2, (512 - h * k) / 2);
    for y in 0..h * k {
        for x in 0..w * k {
            big.set_pixel(ox + x, oy + y, small.pixel(x / k, y / k));
        }
    }
    Character {
        image: big,
        pixel_art: false,
        name: "adventurer512".into(),
    }
}

/// CPU seconds this thread has used (Linux), so a busy machine does not inflate timings.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let character = big_character();
    let spec = ClipSpec {
        frames: 48,
        fps: 24,
        seed: 1,
        looping: true,
    };
    for prompt in ["walk", "attack", "dance"] {
        let runs = 5;
        let mut setup_ms = f64::MAX;
        let mut model = None;
        let setup_cpu0 = thread_cpu_seconds();
        for _ in 0..runs {
            let t = Instant::now();
            let rig = auto_rig(&character).expect("rig");
            let m = build_model(&character, &rig).expect("model");
            setup_ms = setup_ms.min(t.elapsed().as_secs_f64() * 1000.0);
            model = Some(m);
        }
        let setup_cpu = match (setup_cpu0, thread_cpu_seconds()) {
            (Some(a), Some(b)) => format!("{:.0} ms by CPU time", (b - a) * 1000.0 / runs as f64),
            _ => "CPU time unavailable".to_string(),
        };
        let model = model.expect("built");
        let plan = understand(prompt).expect("plan");
        let poses = frame_poses(&plan, model.skeleton.kind, &spec);
        let (w, h, place) = canvas_for(&character);
        let mut best = f64::MAX;
        let cpu0 = thread_cpu_seconds();
        let wall0 = Instant::now();
        for _ in 0..runs {
            let t = Instant::now();
            let mut checksum = 0u64;
            for fp in &poses {
                let f = render_pose(&model, &fp.pose, w, h, place, fp.mirror);
                checksum = checksum.wrapping_add(f.rgba[f.rgba.len() / 2] as u64);
            }
            std::hint::black_box(checksum);
            best = best.min(t.elapsed().as_secs_f64());
        }
        let cpu = match (cpu0, thread_cpu_seconds()) {
            (Some(a), Some(b)) if b > a => {
                format!("{:.0} frames/s by CPU time", 48.0 * runs as f64 / (b - a))
            }
            _ => "CPU time unavailable".to_string(),
        };
        let wall_all = wall0.elapsed().as_secs_f64();
        let _ = wall_all;
        let triangles: usize = model.layers.iter().map(|l| l.mesh.triangles.len()).sum();
        println!(
            "{prompt:>7}: setup {setup_ms:6.1} ms (best wall), {setup_cpu} | 48 frames {:6.1} ms = {:6.0} frames/s on one core (best wall), {cpu} | canvas {w}x{h}, {} layers, {triangles} triangles",
            best * 1000.0,
            48.0 / best,
            model.layers.len()
        );
    }
}
