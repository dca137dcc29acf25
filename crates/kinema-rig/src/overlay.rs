//! A picture of the rig on the character, so users can check (and then fix) auto-rigging.

use kinema_core::{Character, Frame};

use crate::parts::{build_model, part_from_index};
use crate::rig::Rig;

/// The character with part regions tinted, bones as lines and joints as dots; the same
/// size as the input. If the rig does not fit the character, only bones and joints are drawn.
pub fn draw_overlay(character: &Character, rig: &Rig) -> Frame {
    let mut out = character.image.clone();
    if let Ok(model) = build_model(character, rig) {
        for (i, p) in out.rgba.chunks_exact_mut(4).enumerate() {
            if let Some(part) = model
                .part_map
                .get(i)
                .and_then(|&m| m.checked_sub(1))
                .and_then(part_from_index)
            {
                let tint = part.tint();
                for c in 0..3 {
                    p[c] = ((p[c] as u32 * 3 + tint[c] as u32 * 2) / 5) as u8;
                }
            }
        }
    }
    let scale = (character.width().max(character.height()) as f32 / 128.0).max(1.0);
    for j in &rig.joints {
        if let Some(p) = j.parent.as_deref().and_then(|p| rig.joint(p)) {
            line(&mut out, p, [j.x, j.y], 0.6 * scale, [255, 255, 255, 255]);
            line(&mut out, p, [j.x, j.y], 0.3 * scale, [20, 20, 20, 255]);
        }
    }
    for j in &rig.joints {
        disc(&mut out, [j.x, j.y], 1.8 * scale, [20, 20, 20, 255]);
        disc(&mut out, [j.x, j.y], 1.1 * scale, [255, 60, 60, 255]);
    }
    out
}

fn line(f: &mut Frame, a: [f32; 2], b: [f32; 2], radius: f32, color: [u8; 4]) {
    let (x0, x1) = (a[0].min(b[0]) - radius - 1.0, a[0].max(b[0]) + radius + 1.0);
    let (y0, y1) = (a[1].min(b[1]) - radius - 1.0, a[1].max(b[1]) + radius + 1.0);
    for y in y0.max(0.0) as u32..(y1.max(0.0) as u32).min(f.height) {
        for x in x0.max(0.0) as u32..(x1.max(0.0) as u32).min(f.width) {
            if crate::contour::segment_distance([x as f32 + 0.5, y as f32 + 0.5], a, b)
                <= radius + 0.5
            {
                f.set_pixel(x, y, color);
            }
        }
    }
}

fn disc(f: &mut Frame, c: [f32; 2], radius: f32, color: [u8; 4]) {
    line(f, c, c, radius, color);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::{auto_rig, tests::stick_figure};

    #[test]
    fn overlay_marks_joints_and_tints_parts() {
        let c = stick_figure();
        let rig = auto_rig(&c).unwrap();
        let o = draw_overlay(&c, &rig);
        assert_eq!((o.width, o.height), (c.width(), c.height()));
        let neck = rig.joint("neck").unwrap();
        assert_eq!(o.pixel(neck[0] as u32, neck[1] as u32), [255, 60, 60, 255]);
        let changed = o
            .rgba
            .chunks_exact(4)
            .zip(c.image.rgba.chunks_exact(4))
            .filter(|(a, b)| a != b)
            .count();
        assert!(changed > c.image.rgba.chunks_exact(4).filter(|p| p[3] > 0).count() / 2);
    }
}
