//! Chroma keying: video models make opaque frames, game sprites need alpha. The character is
//! composed on a flat key colour far from its own colours, and the generated frames are keyed
//! back to alpha by colour distance. Shared by every engine that renders through an opaque
//! video model (`wan` locally, the remote services of `kinema-providers`), so all of them key
//! the same way.
//!
//! - **Choosing the key**: among pure green, magenta, blue, cyan, red and yellow, the one whose
//!   distance (CIE76 ΔE in L\*a\*b\*, D65) to the sprite's visible pixels is largest at the 1st
//!   percentile (robust to a stray pixel).
//! - **Keying**: *whether* a pixel is background is decided perceptually — a gate rises
//!   smoothly (smoothstep) from 0 at ΔE ≤ `inner` to 1 at ΔE ≥ `outer` (`outer` is half the
//!   key's Lab separation from the sprite, capped at 40; `inner` 40 % of it), so noise around
//!   the key colour vanishes. *How much* of a mixed edge pixel is foreground is measured where
//!   mixing is linear, in sRGB: `|c − key| / rgb_separation` (the key's 1st-percentile RGB
//!   distance to the sprite), clamped to 1. Alpha is the product. Lab distance alone would
//!   badly overestimate edge alpha (a 25 % green over blue is already ΔE ≈ 60 from blue).
//! - **Despill**: a partly transparent pixel is un-mixed, `C = (observed − (1−α)·key) / α`,
//!   so edges lose the key tint instead of keeping a green fringe.

use kinema_core::Frame;

/// Candidate key colours, far apart from each other in hue.
pub const KEY_CANDIDATES: [[u8; 3]; 6] = [
    [0, 255, 0],
    [255, 0, 255],
    [0, 0, 255],
    [0, 255, 255],
    [255, 0, 0],
    [255, 255, 0],
];

/// The key colour and the thresholds that go with a sprite.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ChromaKey {
    pub rgb: [u8; 3],
    /// ΔE at or below which a pixel is fully background.
    pub inner: f32,
    /// ΔE at or above which a pixel is fully foreground.
    pub outer: f32,
    /// 1st-percentile ΔE between the key and the sprite's visible pixels.
    pub separation: f32,
    /// 1st-percentile sRGB distance (0–441) between the key and the sprite's visible pixels.
    pub rgb_separation: f32,
}

/// sRGB byte → CIE L\*a\*b\* (D65), the same conversion matting uses, as an array for the
/// keyer's arithmetic.
pub fn lab(rgb: [u8; 3]) -> [f32; 3] {
    let c = crate::srgb_to_lab(rgb);
    [c.l, c.a, c.b]
}

fn delta_e(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Picks the key colour farthest from the sprite's visible colours.
pub fn choose_key(sprite: &Frame) -> ChromaKey {
    choose_key_for(&[sprite])
}

/// Picks one key colour for several pictures that share a canvas (a first and a last
/// frame): the candidate farthest from the visible colours of all of them.
pub fn choose_key_for(sprites: &[&Frame]) -> ChromaKey {
    let visible_pixels = || {
        sprites
            .iter()
            .flat_map(|s| s.rgba.chunks_exact(4))
            .filter(|p| p[3] >= 128)
    };
    let visible: Vec<[f32; 3]> = visible_pixels().map(|p| lab([p[0], p[1], p[2]])).collect();
    let mut best = (KEY_CANDIDATES[0], -1.0f32);
    for key in KEY_CANDIDATES {
        let k = lab(key);
        let mut d: Vec<f32> = visible.iter().map(|&c| delta_e(c, k)).collect();
        let sep = if d.is_empty() {
            f32::MAX
        } else {
            let i = d.len() / 100;
            *d.select_nth_unstable_by(i, f32::total_cmp).1
        };
        if sep > best.1 {
            best = (key, sep);
        }
    }
    let separation = best.1.min(200.0);
    let outer = (separation * 0.5).clamp(4.0, 40.0);
    let kf = best.0.map(|c| c as f32);
    let mut rgb_d: Vec<f32> = visible_pixels()
        .map(|p| rgb_distance([p[0], p[1], p[2]], kf))
        .collect();
    let rgb_separation = if rgb_d.is_empty() {
        255.0
    } else {
        let i = rgb_d.len() / 100;
        *rgb_d.select_nth_unstable_by(i, f32::total_cmp).1
    };
    ChromaKey {
        rgb: best.0,
        inner: outer * 0.4,
        outer,
        separation,
        rgb_separation: rgb_separation.max(8.0),
    }
}

fn rgb_distance(c: [u8; 3], k: [f32; 3]) -> f32 {
    let d = |i: usize| c[i] as f32 - k[i];
    (d(0).powi(2) + d(1).powi(2) + d(2).powi(2)).sqrt()
}

/// Straight-alpha sprite over the key colour: an opaque frame for the model.
pub fn compose(sprite: &Frame, key: &ChromaKey) -> Frame {
    sprite.over_color(key.rgb)
}

/// Opaque generated frame → sprite with alpha (see the module docs).
pub fn key_out(frame: &Frame, key: &ChromaKey) -> Frame {
    let k = lab(key.rgb);
    let kf = key.rgb.map(|c| c as f32);
    let mut out = frame.clone();
    for p in out.rgba.chunks_exact_mut(4) {
        let d = delta_e(lab([p[0], p[1], p[2]]), k);
        let t = ((d - key.inner) / (key.outer - key.inner).max(1e-3)).clamp(0.0, 1.0);
        let gate = t * t * (3.0 - 2.0 * t);
        let amount = (rgb_distance([p[0], p[1], p[2]], kf) / key.rgb_separation).min(1.0);
        // Within 2 % of full strength counts as opaque (rounding of the composite).
        let alpha = gate * if amount > 0.98 { 1.0 } else { amount };
        if alpha <= 0.0 {
            p.copy_from_slice(&[0, 0, 0, 0]);
            continue;
        }
        if alpha < 1.0 {
            for (c, k) in p[..3].iter_mut().zip(kf) {
                let unmixed = (*c as f32 - (1.0 - alpha) * k) / alpha;
                *c = unmixed.round().clamp(0.0, 255.0) as u8;
            }
        }
        p[3] = (alpha * 255.0).round() as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sprite() -> Frame {
        // A green-ish blob with a soft edge on transparency.
        let mut f = Frame::new(20, 20);
        for y in 0..20u32 {
            for x in 0..20u32 {
                let d = ((x as f32 - 9.5).powi(2) + (y as f32 - 9.5).powi(2)).sqrt();
                let a = ((7.0 - d) * 128.0).clamp(0.0, 255.0) as u8;
                f.set_pixel(x, y, [40, 180, 60, a]);
            }
        }
        f
    }

    #[test]
    fn avoids_the_sprites_own_hue() {
        let key = choose_key(&sprite());
        assert_ne!(
            key.rgb,
            [0, 255, 0],
            "a green sprite must not get a green key"
        );
        assert!(key.separation > 60.0, "{key:?}");
        assert!(key.inner < key.outer);
    }

    #[test]
    fn compose_then_key_restores_alpha_and_colour() {
        let s = sprite();
        let key = choose_key(&s);
        let back = key_out(&compose(&s, &key), &key);
        for (orig, got) in s.rgba.chunks_exact(4).zip(back.rgba.chunks_exact(4)) {
            if orig[3] == 0 {
                assert_eq!(got[3], 0, "background must key out fully");
            } else if orig[3] == 255 {
                assert_eq!(got, orig, "opaque pixels stay as they are");
            } else if got[3] > 64 {
                // Soft edges: colour un-mixed from the key (no tint left).
                for c in 0..3 {
                    assert!(
                        (got[c] as i32 - orig[c] as i32).abs() <= 12,
                        "{orig:?} -> {got:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn one_key_for_two_pictures_avoids_both() {
        let green = sprite();
        let magenta = Frame::filled(8, 8, [250, 10, 240, 255]);
        let key = choose_key_for(&[&green, &magenta]);
        assert_ne!(key.rgb, [0, 255, 0]);
        assert_ne!(key.rgb, [255, 0, 255]);
        assert_eq!(choose_key_for(&[&green]), choose_key(&green));
    }

    #[test]
    fn near_key_noise_is_still_background() {
        let key = choose_key(&sprite());
        let mut f = Frame::filled(4, 1, [key.rgb[0], key.rgb[1], key.rgb[2], 255]);
        let jitter = |c: u8| c.saturating_sub(6);
        f.set_pixel(
            1,
            0,
            [
                jitter(key.rgb[0]),
                jitter(key.rgb[1]),
                jitter(key.rgb[2]),
                255,
            ],
        );
        let out = key_out(&f, &key);
        assert!(out.alpha().iter().all(|&a| a == 0), "{:?}", out.alpha());
    }
}
