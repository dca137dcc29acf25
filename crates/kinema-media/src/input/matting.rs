//! Separating a character from a plain background when the image has no alpha.
//!
//! Game art is usually drawn on a flat colour. We estimate that colour from the border,
//! flood-fill it from the edges with a perceptual (CIE Lab) tolerance, open only the
//! enclosed regions that are really holes ([`super::holes`]: eye whites and teeth stay),
//! and un-mix the anti-aliased rim so the character does not carry a halo of the old
//! background into the animation.

use image::RgbaImage;
use kinema_core::Result;

use super::holes::{open_real_holes, LARGE_HOLE_SHARE};
use super::lab::{image_to_lab, srgb_to_lab, Lab};
use super::plausible::cannot_separate;
use super::regions::{border_indices, components, flood, Connectivity};

/// ΔE under which a border pixel counts as "the background colour" when judging whether
/// the border is plain at all; generous enough for JPEG noise and soft vignettes.
const NEAR_PLAIN_DELTA_E: f32 = 12.0;
/// Share of border pixels that must be near the background colour for matting to be trusted.
const MIN_BORDER_DOMINANCE: f32 = 0.6;
/// The mask must keep at least this share of pixels (a small sprite on a big canvas is
/// fine: the colour test is exact, unlike a graph cut's guess)...
const MIN_COVERAGE: f32 = 0.002;
/// ...and remove at least this share, else the separation did nothing useful.
const MAX_COVERAGE: f32 = 0.97;
/// A colour this many tolerances away from the background is surely foreground; closer
/// than that it is "faint", the most that may separate a real hole from the outside.
const STRONG_FACTOR: f32 = 2.0;
/// Extra chroma tolerance (Lab a*b* units) for images with subsampled colour (JPEG, lossy
/// WebP): 4:2:0 halves colour resolution, so a neighbour's hue bleeds a pixel or two into
/// the background (a*b* off by up to ~10 in the samples) while lightness, kept at full
/// resolution, stays within the noise. Without it a one-pixel gap between an arm and the
/// body is sealed off and kept as paint.
const SUBSAMPLED_CHROMA_SLACK: f32 = 8.0;
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
    /// Added to the tolerance for chroma alone where colour was stored at lower resolution.
    pub chroma_slack: f32,
}

impl Background {
    /// How far `c` is from the background, in tolerances: at most 1 is background.
    fn excess(&self, c: Lab, bg: Lab) -> f32 {
        if self.chroma_slack == 0.0 {
            return c.delta_e(bg) / self.tolerance;
        }
        let chroma = (c.a - bg.a).hypot(c.b - bg.b);
        ((c.l - bg.l).abs() / self.tolerance).max(chroma / (self.tolerance + self.chroma_slack))
    }
}

/// How to treat the rim between character and background.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edges {
    /// Anti-aliased art: estimate partial alpha and recover the foreground colour.
    Unmix,
    /// Pixel art: every pixel is either background or character.
    Hard,
}

/// The plain colour the image is drawn on, or `None` when its border is busy (a photo,
/// a painted scene) and a flood fill would cut the subject apart. `subsampled_chroma`:
/// the file stored colour at lower resolution than lightness (JPEG, lossy WebP).
pub fn plain_background(img: &RgbaImage, subsampled_chroma: bool) -> Option<Background> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let border = border_indices(w, h, border_depth(w, h));
    let lab: Vec<Lab> = border
        .iter()
        .map(|&i| {
            let p = &img.as_raw()[i * 4..i * 4 + 3];
            srgb_to_lab([p[0], p[1], p[2]])
        })
        .collect();
    let mut bg = estimate_background(img.as_raw(), &lab, &border)?;
    if subsampled_chroma {
        bg.chroma_slack = SUBSAMPLED_CHROMA_SLACK;
    }
    Some(bg)
}

/// The border ring is two pixels deep where the image is big enough, so a one-pixel
/// frame line does not pass for the background.
fn border_depth(w: usize, h: usize) -> usize {
    if w >= 16 && h >= 16 {
        2
    } else {
        1
    }
}

/// Replaces the alpha of an opaque image drawn on `bg` with a subject mask, or explains
/// why the result is not a character.
pub fn matte_plain_background(
    img: &mut RgbaImage,
    bg: Background,
    edges: Edges,
    what: &str,
) -> Result<()> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let lab = image_to_lab(img.as_raw());
    let border = border_indices(w, h, border_depth(w, h));
    let bg_lab = srgb_to_lab(bg.rgb);
    let excess: Vec<f32> = lab.iter().map(|&c| bg.excess(c, bg_lab)).collect();
    let is_bg: Vec<bool> = excess.iter().map(|&e| e <= 1.0).collect();
    // Pixels clearly unlike the background: the only colours a rim pixel may be a blend of.
    // Background noise just above the tolerance (JPEG ringing) must not act as one.
    let strong: Vec<bool> = excess.iter().map(|&e| e > STRONG_FACTOR).collect();
    let faint: Vec<bool> = strong.iter().map(|&s| !s).collect();
    let mut transparent = flood(border.iter().copied(), &is_bg, w, h, Connectivity::Four);
    open_real_holes(&is_bg, &faint, &mut transparent, w, h, LARGE_HOLE_SHARE);

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
        return Err(cannot_separate(what, "nothing but background was found"));
    }
    if kept > MAX_COVERAGE {
        return Err(cannot_separate(
            what,
            "almost nothing was recognised as background",
        ));
    }
    Ok(())
}

/// The border's dominant colour and a noise-adapted tolerance, or `None` when the border
/// is busy (a photo, a scene) and a flood fill would cut the subject apart.
fn estimate_background(rgba: &[u8], border_lab: &[Lab], border: &[usize]) -> Option<Background> {
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
    let mut near: Vec<f32> = border_lab
        .iter()
        .map(|&c| c.delta_e(bg_lab))
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
        chroma_slack: 0.0,
    })
}

/// Drops tiny isolated islands (JPEG ringing, dust) that would otherwise float around
/// the character; anything below 0.01% of the image is too small to be a body part.
fn remove_specks(alpha: &mut [f32], w: usize, h: usize) {
    let max_speck = ((w * h) / 10_000).max(4);
    let visible: Vec<bool> = alpha.iter().map(|&a| a >= MIN_EDGE_ALPHA).collect();
    let (labels, sizes) = components(&visible, w, h, Connectivity::Eight);
    for (a, &l) in alpha.iter_mut().zip(&labels) {
        if l != 0 && sizes[l as usize] <= max_speck {
            *a = 0.0;
        }
    }
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
                        let hole = ((fx - 12.0).powi(2) + (fy + 4.0).powi(2)).sqrt() < 11.0;
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

    /// Plain-background matting as the loader runs it.
    pub fn matte(img: &mut RgbaImage, edges: Edges, what: &str) -> Result<Background> {
        let bg = plain_background(img, false).expect("a plain border");
        matte_plain_background(img, bg, edges, what)?;
        Ok(bg)
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
        let bg = matte(&mut img, Edges::Unmix, "sprite").expect("plain background separates");
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
        matte(&mut img, Edges::Unmix, "sprite").expect("separates");
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
        matte(&mut img, Edges::Hard, "sprite").expect("separates");
        assert!(img.pixels().all(|p| p.0[3] == 0 || p.0[3] == 255));
    }

    #[test]
    fn a_noisy_border_is_not_plain() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let img = RgbaImage::from_fn(80, 60, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = state.to_le_bytes();
            image::Rgba([b[0], b[1], b[2], 255])
        });
        assert!(plain_background(&img, false).is_none());
    }

    #[test]
    fn a_plain_canvas_has_no_character() {
        let mut img = RgbaImage::from_pixel(40, 40, image::Rgba([255, 255, 255, 255]));
        let e = matte(&mut img, Edges::Unmix, "blank.png").expect_err("empty");
        assert!(e.message.contains("nothing but background"), "{e}");
    }
}
