//! Sheet packing and atlas writing for 200 frames of 128x128 (4 animations of 50).
//!
//! `cargo bench -p kinema-media --bench sheet_bench`. Prints the median of several runs
//! for each stage; PNG encoding is reported on its own because it dominates.

use std::path::Path;
use std::time::{Duration, Instant};

use kinema_core::{Clip, Frame, Placement};
use kinema_media::sheet::{
    aseprite_json, godot_sprite_frames, layout_sheet, render_sheet, texturepacker_json, unity_meta,
    write_sheet, Animation, SheetOptions,
};

const RUNS: usize = 15;

fn character() -> Frame {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters/femaleAdventurer_idle.png");
    let img = image::open(path).expect("sample character").to_rgba8();
    Frame::from_rgba(img.width(), img.height(), img.into_raw()).expect("rgba")
}

/// 50 frames of the character sliding across a 128x128 canvas: every frame differs and
/// has transparent margins, like a generated walk or attack.
fn clip(ch: &Frame, seed: u32) -> Clip {
    let frames = (0..50u32)
        .map(|i| {
            let mut f = Frame::new(128, 128);
            let dx = ((i * 3 + seed * 7) % 32) as i64;
            let shifted = ch.crop(-dx, 0, 128, 128);
            for y in 0..128 {
                for x in 0..128 {
                    let mut p = shifted.pixel(x, y);
                    if p[3] > 0 {
                        // Distinct pixels in every frame, so de-duplication cannot help.
                        p[0] = p[0].wrapping_add(i as u8);
                        p[1] = p[1].wrapping_add(seed as u8 * 40);
                    }
                    f.set_pixel(x, y, p);
                }
            }
            f
        })
        .collect();
    Clip {
        frames,
        fps: 12,
        looping: seed.is_multiple_of(2),
        pixel_art: true,
        placement: Placement::default(),
    }
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn ms(d: Duration) -> String {
    format!("{:8.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let ch = character();
    let clips: Vec<Clip> = (0..4).map(|s| clip(&ch, s)).collect();
    let names = ["idle", "walk", "attack", "hurt"];
    let anims: Vec<Animation> = clips
        .iter()
        .zip(names)
        .map(|(c, n)| Animation::new(n, c))
        .collect();

    for trim in [false, true] {
        let opts = SheetOptions {
            trim,
            extrude: 1,
            ..Default::default()
        };
        let layout = layout_sheet(&anims, &opts).expect("layout");
        let sheet = render_sheet(&anims, &layout).expect("render");
        println!(
            "200 frames 128x128, trim={trim}: sheet {}x{}",
            layout.width, layout.height
        );
        let t_layout = median(|| drop(layout_sheet(&anims, &opts).unwrap()));
        let t_render = median(|| drop(render_sheet(&anims, &layout).unwrap()));
        let t_atlases = median(|| {
            texturepacker_json(&layout, "s.png").unwrap();
            aseprite_json(&layout, "s.png").unwrap();
            godot_sprite_frames(&layout, "s.png").unwrap();
            unity_meta(&layout, "s.png").unwrap();
        });
        let t_png = median(|| {
            let mut out = Vec::new();
            let mut enc = png::Encoder::new(&mut out, sheet.width, sheet.height);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::Fast);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&sheet.rgba).unwrap();
            w.finish().unwrap();
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let png_path = dir.path().join("sheet.png");
        let t_write = median(|| drop(write_sheet(&png_path, &anims, &opts, true).unwrap()));
        println!("  layout (trim, dedupe, packing)   {}", ms(t_layout));
        println!("  render (copy + extrude)          {}", ms(t_render));
        println!("  4 atlases (tp, aseprite, godot, unity) {}", ms(t_atlases));
        println!(
            "  pack + atlases (no PNG)          {}",
            ms(t_layout + t_render + t_atlases)
        );
        println!("  PNG encode (png crate, Fast)     {}", ms(t_png));
        println!("  write_sheet total (to disk)      {}", ms(t_write));
    }
}
