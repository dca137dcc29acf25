//! Separating a character from a plain background when the image has no alpha.
//!
//! Game art is usually drawn on a flat colour. We estimate that colour from the border,
//! flood-fill it from the edges with a perceptual (CIE Lab) tolerance, open enclosed
//! background-coloured holes, and un-mix the anti-aliased rim so the character does not
//! carry a halo of the old background into the animation.

use std::collections::VecDeque;

use image::RgbaImage;
use kinema_core::{Error, Result};

use super::lab::{image_to_lab, srgb_to_lab, Lab};

/// ΔE under which a border pixel counts as "the background colour" when judging whether
/// the border is plain at all; generous enough for JPEG noise and soft vignettes.
const NEAR_PLAIN_DELTA_E: f32 = 12.0;
/// Share of border pixels that must be near the background colour for matting to be trusted.
const MIN_BORDER_DOMINANCE: f32 = 0.6;
/// The mask must keep at least this share of pixels...
const MIN_COVERAGE: f32 = 0.002;
/// ...and remove at least this share, else the separation did nothing useful.
const MAX_COVERAGE: f32 = 0.97;
/// A colour this many tolerances away from the background is surely foreground.
const STRONG_FACTOR: f32 = 2.0;
/// Un-mixed alpha below this is noise on the background, not a character edge.
const MIN_EDGE_ALPHA: f32 = 0.03;
/// An edge pixel further than this (RGB units) from every bg→neighbour blend is a genuine
/// foreground colour (an outline, a highlight), not a mix, and stays opaque.
const MAX_MIX_RESIDUAL: f32 = 28.0;

/// What matting found, kept for messages and tests.
#[derive(Clone, Copy, Debug)]
pub struct Background {
    pub rgb: [u8; 3],
    /// Lab ΔE within which a pixel is taken as background.
    pub tolerance: f32,
}

/// How to treat the rim between character and background.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edges {
    /// Anti-aliased art: estimate partial alpha and recover the foreground colour.
    Unmix,
    /// Pixel art: every pixel is either background or character.
    Hard,
}

/// Replaces the alpha of an opaque image with a subject mask, or explains why it cannot.
pub fn matte_plain_background(img: &mut RgbaImage, edges: Edges, what: &str) -> Result<Background> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let lab = image_to_lab(img.as_raw());
    let border = border_indices(w, h);
    let bg = estimate_background(img.as_raw(), &lab, &border)
        .ok_or_else(|| not_separable(what, "its border is not one plain colour"))?;
    let bg_lab = srgb_to_lab(bg.rgb);

    let is_bg: Vec<bool> = lab
        .iter()
        .map(|&c| c.delta_e(bg_lab) <= bg.tolerance)
        .collect();
    // Pixels clearly unlike the background: the only colours a rim pixel may be a blend of.
    // Background noise just above the tolerance (JPEG ringing) must not act as one.
    let strong: Vec<bool> = lab
        .iter()
        .map(|&c| c.delta_e(bg_lab) > STRONG_FACTOR * bg.tolerance)
        .collect();
    let mut transparent = flood_from_border(&is_bg, &border, w, h);
    open_enclosed_holes(&is_bg, &mut transparent, w, h);

    let src = img.as_raw().clone();
    let mut alpha: Vec<f32> = transparent
        .iter()
        .map(|&t| if t { 0.0 } else { 1.0 })
        .collect();
    let mut colour: Vec<[u8; 3]> = src.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
    if edges == Edges::Unmix {
        // The rim is one pixel wide where the edge is crisp; where it is soft (the first
        // rim pixel is mostly background) the blend reaches one pixel further in.
        let rim: Vec<usize> = (0..w * h)
            .filter(|&i| !transparent[i] && touches(&transparent, i, w, h))
            .collect();
        let mut soft = vec![false; w * h];
        let mut on_rim = vec![false; w * h];
        for &i in &rim {
            on_rim[i] = true;
            (alpha[i], colour[i]) = unmix(&src, &transparent, &strong, i, w, h, bg.rgb);
            soft[i] = alpha[i] < 0.5;
        }
        let inner: Vec<usize> = (0..w * h)
            .filter(|&i| {
                !transparent[i] && alpha[i] >= 1.0 && !on_rim[i] && touches(&soft, i, w, h)
            })
            .collect();
        for i in inner {
            (alpha[i], colour[i]) = unmix(&src, &transparent, &strong, i, w, h, bg.rgb);
        }
    }
    remove_specks(&mut alpha, w, h);
    let out = img.as_mut();
    for i in 0..w * h {
        let p = &mut out[i * 4..i * 4 + 4];
        if alpha[i] < MIN_EDGE_ALPHA {
            p.copy_from_slice(&[0, 0, 0, 0]);
        } else {
            p[..3].copy_from_slice(&colour[i]);
            p[3] = (alpha[i] * 255.0).round() as u8;
        }
    }

    let kept = out.chunks_exact(4).filter(|p| p[3] >= 128).count() as f32 / (w * h) as f32;
    if kept < MIN_COVERAGE {
        return Err(not_separable(what, "nothing but background was found"));
    }
    if kept > MAX_COVERAGE {
        return Err(not_separable(
            what,
            "almost nothing was recognised as background",
        ));
    }
    Ok(bg)
}

fn not_separable(what: &str, why: &str) -> Error {
    Error::image(format!(
        "cannot separate the character in {what} from its background: {why}"
    ))
    .with_hint(
        "give an image with transparency, put the character on a plain background, \
             or pass --mask PATH (white or opaque = character, same size as the image)",
    )
}

/// Pixels of the outer ring, two pixels deep where the image is big enough.
fn border_indices(w: usize, h: usize) -> Vec<usize> {
    let depth = if w >= 16 && h >= 16 { 2 } else { 1 };
    let mut out = Vec::with_capacity(2 * depth * (w + h));
    for y in 0..h {
        for x in 0..w {
            if x < depth || y < depth || x >= w - depth || y >= h - depth {
                out.push(y * w + x);
            }
        }
    }
    out
}

/// The border's dominant colour and a noise-adapted tolerance, or `None` when the border
/// is busy (a photo, a scene) and a flood fill would cut the subject apart.
fn estimate_background(rgba: &[u8], lab: &[Lab], border: &[usize]) -> Option<Background> {
    let bin = |i: usize| {
        let p = &rgba[i * 4..i * 4 + 3];
        (usize::from(p[0] >> 4) << 8) | (usize::from(p[1] >> 4) << 4) | usize::from(p[2] >> 4)
    };
    let mut hist = vec![0u32; 4096];
    for &i in border {
        hist[bin(i)] += 1;
    }
    let mode = (0..4096).max_by_key(|&b| hist[b])?;
    // Noise straddles bin edges, so take the mode bin and its neighbours, then the median.
    let near_mode =
        |b: usize| (0..3).all(|s| ((b >> (4 * s)) & 15).abs_diff((mode >> (4 * s)) & 15) <= 1);
    let members: Vec<usize> = border
        .iter()
        .copied()
        .filter(|&i| near_mode(bin(i)))
        .collect();
    let median = |c: usize| {
        let mut v: Vec<u8> = members.iter().map(|&i| rgba[i * 4 + c]).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    };
    let rgb = [median(0)?, median(1)?, median(2)?];
    let bg_lab = srgb_to_lab(rgb);
    let mut near: Vec<f32> = border
        .iter()
        .map(|&i| lab[i].delta_e(bg_lab))
        .filter(|&d| d < NEAR_PLAIN_DELTA_E)
        .collect();
    if (near.len() as f32) < MIN_BORDER_DOMINANCE * border.len() as f32 {
        return None;
    }
    near.sort_unstable_by(f32::total_cmp);
    let spread = near[(near.len() * 9 / 10).min(near.len() - 1)];
    Some(Background {
        rgb,
        tolerance: (spread * 1.5 + 3.0).clamp(4.0, NEAR_PLAIN_DELTA_E),
    })
}

/// Background reachable from the border through background-coloured pixels (4-connected,
/// so a one-pixel diagonal outline is enough to keep the fill out).
fn flood_from_border(is_bg: &[bool], border: &[usize], w: usize, h: usize) -> Vec<bool> {
    let mut seen = vec![false; w * h];
    let mut queue: VecDeque<usize> = VecDeque::new();
    for &i in border {
        if is_bg[i] && !seen[i] {
            seen[i] = true;
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        for j in neighbours4(i, w, h) {
            if is_bg[j] && !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    seen
}

/// Opens enclosed background-coloured regions (the gap between arm and body) but keeps
/// small specks, which in character art are eye glints and highlights, not holes.
fn open_enclosed_holes(is_bg: &[bool], transparent: &mut [bool], w: usize, h: usize) {
    let min_hole = ((w * h) / 2000).max(9);
    let mut visited = transparent.to_vec();
    let mut component = Vec::new();
    for start in 0..w * h {
        if visited[start] || !is_bg[start] {
            continue;
        }
        component.clear();
        visited[start] = true;
        component.push(start);
        let mut k = 0;
        while k < component.len() {
            let i = component[k];
            k += 1;
            for j in neighbours4(i, w, h) {
                if is_bg[j] && !visited[j] {
                    visited[j] = true;
                    component.push(j);
                }
            }
        }
        if component.len() >= min_hole {
            for &i in &component {
                transparent[i] = true;
            }
        }
    }
}

/// Drops tiny isolated islands (JPEG ringing, dust) that would otherwise float around
/// the character; anything below 0.01% of the image is too small to be a body part.
fn remove_specks(alpha: &mut [f32], w: usize, h: usize) {
    let max_speck = ((w * h) / 10_000).max(4);
    let mut seen = vec![false; w * h];
    let mut component = Vec::new();
    for start in 0..w * h {
        if seen[start] || alpha[start] < MIN_EDGE_ALPHA {
            continue;
        }
        component.clear();
        seen[start] = true;
        component.push(start);
        let mut k = 0;
        while k < component.len() {
            let i = component[k];
            k += 1;
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            for (dx, dy) in [
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if !seen[j] && alpha[j] >= MIN_EDGE_ALPHA {
                    seen[j] = true;
                    component.push(j);
                }
            }
        }
        if component.len() <= max_speck {
            for &i in &component {
                alpha[i] = 0.0;
            }
        }
    }
}

fn neighbours4(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % w, i / w);
    let left = (x > 0).then(|| i - 1);
    let right = (x + 1 < w).then(|| i + 1);
    let up = (y > 0).then(|| i - w);
    let down = (y + 1 < h).then(|| i + w);
    [left, right, up, down].into_iter().flatten()
}

fn touches(transparent: &[bool], i: usize, w: usize, h: usize) -> bool {
    let (x, y) = ((i % w) as isize, (i / w) as isize);
    (-1..=1).any(|dy| {
        (-1..=1).any(|dx| {
            let (nx, ny) = (x + dx, y + dy);
            nx >= 0
                && ny >= 0
                && (nx as usize) < w
                && (ny as usize) < h
                && transparent[ny as usize * w + nx as usize]
        })
    })
}

/// Alpha and foreground colour of a rim pixel: explains it as `a·f + (1-a)·bg` for the
/// nearby foreground colour `f` that fits best, then inverts the blend.
#[allow(clippy::too_many_arguments)]
fn unmix(
    src: &[u8],
    transparent: &[bool],
    strong: &[bool],
    i: usize,
    w: usize,
    h: usize,
    bg: [u8; 3],
) -> (f32, [u8; 3]) {
    let rgb = |k: usize| {
        [
            f32::from(src[k * 4]),
            f32::from(src[k * 4 + 1]),
            f32::from(src[k * 4 + 2]),
        ]
    };
    let bgf = bg.map(f32::from);
    let p = rgb(i);
    let d = [p[0] - bgf[0], p[1] - bgf[1], p[2] - bgf[2]];
    let d_len2 = dot(d, d);
    let (x, y) = ((i % w) as isize, (i / w) as isize);
    // Every blend of the same two colours lies on one line, so a half-covered neighbour
    // explains `p` as well as the pure colour does. Prefer the candidate furthest from the
    // background among those that fit; fall back to the best fit.
    let fit_tolerance = 4.0 + 0.1 * d_len2.sqrt();
    let mut purest: Option<(f32, f32)> = None; // (distance from bg, alpha)
    let mut closest: Option<(f32, f32)> = None; // (residual, alpha)
    for dy in -2..=2isize {
        for dx in -2..=2isize {
            let (nx, ny) = (x + dx, y + dy);
            if (dx == 0 && dy == 0) || nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                continue;
            }
            let k = ny as usize * w + nx as usize;
            if transparent[k] || !strong[k] {
                continue;
            }
            let f = rgb(k);
            let v = [f[0] - bgf[0], f[1] - bgf[1], f[2] - bgf[2]];
            let v_len2 = dot(v, v);
            if v_len2 <= d_len2 || v_len2 < 1.0 {
                continue; // only a colour further from the background can have been mixed in
            }
            let a = (dot(d, v) / v_len2).clamp(0.0, 1.0);
            let r = [d[0] - a * v[0], d[1] - a * v[1], d[2] - a * v[2]];
            let residual = dot(r, r).sqrt();
            if residual <= fit_tolerance && purest.is_none_or(|(far, _)| v_len2 > far) {
                purest = Some((v_len2, a));
            }
            if closest.is_none_or(|(br, _)| residual < br) {
                closest = Some((residual, a));
            }
        }
    }
    let alpha = match (purest, closest) {
        (Some((_, a)), _) => a,
        // Nothing it is cleanly a blend of: a weak colour is background noise, a strong
        // one a loose blend (take the best fit) or the character's own colour.
        _ if !strong[i] => 0.0,
        (None, Some((residual, a))) if residual <= MAX_MIX_RESIDUAL => a,
        _ => 1.0,
    };
    if alpha <= 0.0 {
        return (0.0, [0, 0, 0]);
    }
    let colour = [0, 1, 2].map(|c| {
        ((p[c] - (1.0 - alpha) * bgf[c]) / alpha)
            .round()
            .clamp(0.0, 255.0) as u8
    });
    (alpha, colour)
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kinema_core::ErrorKind;

    pub const BG: [u8; 3] = [40, 120, 200];
    const FG: [u8; 3] = [230, 140, 40];
    const OUTLINE: [u8; 3] = [30, 20, 10];

    /// A 96x96 "character" on a plain colour: an anti-aliased disc with a dark outline,
    /// an enclosed background-coloured hole, an enclosed fg-coloured patch inside a dark
    /// ring, and a 2x2 background-coloured glint. Returns the picture and the true alpha.
    pub fn synthetic_sprite() -> (RgbaImage, Vec<f32>) {
        let (w, h) = (96u32, 96u32);
        let mut img = RgbaImage::new(w, h);
        let mut truth = vec![0.0f32; (w * h) as usize];
        let ss = 4;
        for y in 0..h {
            for x in 0..w {
                let (mut cov, mut acc) = (0.0f32, [0.0f32; 3]);
                for sy in 0..ss {
                    for sx in 0..ss {
                        let fx = x as f32 + (sx as f32 + 0.5) / ss as f32 - 48.0;
                        let fy = y as f32 + (sy as f32 + 0.5) / ss as f32 - 48.0;
                        let r = (fx * fx + fy * fy).sqrt();
                        let hole = ((fx - 12.0).powi(2) + (fy + 4.0).powi(2)).sqrt() < 7.0;
                        let ring = ((fx + 14.0).powi(2) + (fy - 6.0).powi(2)).sqrt();
                        let col = if r > 36.0 || hole {
                            None
                        } else if r > 33.0 || (7.0..9.0).contains(&ring) {
                            Some(OUTLINE)
                        } else {
                            Some(FG)
                        };
                        if let Some(c) = col {
                            cov += 1.0;
                            for k in 0..3 {
                                acc[k] += f32::from(c[k]);
                            }
                        }
                    }
                }
                let n = (ss * ss) as f32;
                let a = cov / n;
                truth[(y * w + x) as usize] = a;
                let px =
                    [0, 1, 2].map(|k| ((acc[k] / n) + (1.0 - a) * f32::from(BG[k])).round() as u8);
                img.put_pixel(x, y, image::Rgba([px[0], px[1], px[2], 255]));
            }
        }
        for (x, y) in [(40, 30), (41, 30), (40, 31), (41, 31)] {
            img.put_pixel(x, y, image::Rgba([BG[0], BG[1], BG[2], 255]));
        }
        (img, truth)
    }

    fn iou(alpha: &[u8], truth: &[f32]) -> f32 {
        let (mut inter, mut union) = (0, 0);
        for (&a, &t) in alpha.iter().zip(truth) {
            let (m, g) = (a >= 128, t >= 0.5);
            inter += usize::from(m && g);
            union += usize::from(m || g);
        }
        inter as f32 / union as f32
    }

    #[test]
    fn recovers_the_mask_of_a_sprite_on_a_plain_colour() {
        let (mut img, truth) = synthetic_sprite();
        let bg = matte_plain_background(&mut img, Edges::Unmix, "sprite")
            .expect("plain background separates");
        assert_eq!(bg.rgb, BG);
        let alpha: Vec<u8> = img.pixels().map(|p| p.0[3]).collect();
        let score = iou(&alpha, &truth);
        assert!(score > 0.95, "IoU {score}");
        // The enclosed hole opens, the ring-enclosed fg patch and the small glint stay.
        assert_eq!(img.get_pixel(48 + 12, 48 - 4).0[3], 0, "hole");
        assert_eq!(
            img.get_pixel(48 - 14, 48 + 6).0[3],
            255,
            "fg patch inside the ring"
        );
        assert_eq!(img.get_pixel(40, 30).0[3], 255, "glint");
    }

    #[test]
    fn unmixes_anti_aliased_edges() {
        let (mut img, truth) = synthetic_sprite();
        matte_plain_background(&mut img, Edges::Unmix, "sprite").expect("separates");
        let (mut checked, mut max_err) = (0, 0.0f32);
        for (i, &t) in truth.iter().enumerate() {
            if (0.2..0.8).contains(&t) {
                let p = img.as_raw()[i * 4..i * 4 + 4].to_vec();
                let err = (f32::from(p[3]) / 255.0 - t).abs();
                max_err = max_err.max(err);
                assert!(err < 0.2, "pixel {i}: alpha {} vs {t}", p[3]);
                // The recovered colour is the outline's, not a blend with the blue background.
                assert!(p[2] < 80, "pixel {i} still carries background blue: {p:?}");
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} edge pixels");
    }

    #[test]
    fn hard_edges_give_binary_alpha() {
        let (mut img, _) = synthetic_sprite();
        matte_plain_background(&mut img, Edges::Hard, "sprite").expect("separates");
        assert!(img.pixels().all(|p| p.0[3] == 0 || p.0[3] == 255));
    }

    #[test]
    fn a_noisy_photo_asks_for_a_mask() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut img = RgbaImage::from_fn(80, 60, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = state.to_le_bytes();
            image::Rgba([b[0], b[1], b[2], 255])
        });
        let e = matte_plain_background(&mut img, Edges::Unmix, "photo.jpg")
            .expect_err("noise cannot be matted");
        assert_eq!(e.kind, ErrorKind::Image);
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("--mask")),
            "{e}"
        );
    }

    #[test]
    fn a_plain_canvas_has_no_character() {
        let mut img = RgbaImage::from_pixel(40, 40, image::Rgba([255, 255, 255, 255]));
        let e = matte_plain_background(&mut img, Edges::Unmix, "blank.png").expect_err("empty");
        assert!(e.message.contains("nothing but background"), "{e}");
    }
}
