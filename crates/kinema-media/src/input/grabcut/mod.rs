//! Foreground extraction for photos and painted backgrounds (GrabCut-style graph cut).
//!
//! When the border is not one plain colour, a flood fill cannot find the subject. Instead
//! we fit colour models (Gaussian mixtures, [`gmm`]) to a first guess of foreground and
//! background, label every pixel by a minimum cut ([`maxflow`]) that trades the models'
//! costs against a contrast-sensitive smoothness term (cutting between similar
//! neighbours is expensive, along a colour edge cheap), refit the models to the new
//! labels, and repeat a few times. The first guess is the image's centre (an inset
//! rectangle, as if the user had drawn a box a little inside the frame) or the user's
//! `--box`, outside which everything is background for certain. The hard cut is then
//! softened along its edge ([`soft_edge`]) and checked for plausibility.
//!
//! Large images are cut at a working resolution of at most [`WORK_SIDE`] pixels a side
//! (the labelling is smooth; the edge detail comes back in the soft-edge pass, which runs
//! at full resolution in a band wide enough to cover the upsampling).

mod gmm;
mod maxflow;
mod soft_edge;

use image::imageops::FilterType;
use image::RgbaImage;
use kinema_core::Result;

use self::gmm::Gmm;
use self::maxflow::{GridCut, DIRS};
use super::holes::open_real_holes;
use super::plausible::check_and_clean;
use super::regions::{border_indices, flood, Connectivity};
use super::subject_box::SubjectBox;

/// Longest side the graph is cut at.
pub const WORK_SIDE: u32 = 384;
/// Most refinement rounds; GrabCut settles in a handful.
const MAX_ROUNDS: usize = 4;
/// The cut stops early once fewer than this share of pixels change side in a round.
const SETTLED: f32 = 0.001;
/// Weight of the smoothness term against the colour models (GrabCut's γ).
const SMOOTHNESS: f32 = 50.0;
/// Share of each side left outside the default centre box.
const CENTRE_MARGIN: f32 = 0.1;
/// Enclosed background regions of the cut smaller than this share of the subject are
/// noise and are filled; larger ones (the gap between an arm and the body) stay open.
const SPECK_HOLE_SHARE: f32 = 0.002;
/// Data cost that makes a label impossible in practice: far above any cut through a
/// pixel's links (8 × [`SMOOTHNESS`]), yet small enough for f32 flow arithmetic to stay exact.
const FORBIDDEN: f32 = 1.0e5;

/// What is known about a pixel before the cut.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prior {
    /// Outside the box, or on the image's outer ring: background whatever its colour.
    Background,
    /// The first guess: inside the (given or default) box.
    LikelyForeground,
    /// The first guess: between the default box and the outer ring.
    LikelyBackground,
}

/// Cuts the subject out of `img` in place (alpha and un-mixed edge colours), or explains
/// why the result is not believable.
pub fn extract_foreground(
    img: &mut RgbaImage,
    subject_box: Option<SubjectBox>,
    what: &str,
) -> Result<()> {
    let (w, h) = (img.width(), img.height());
    let ratio = (w.max(h) as f32 / WORK_SIDE as f32).max(1.0);
    let (ww, wh) = if ratio > 1.0 {
        (
            ((w as f32 / ratio).round() as u32).max(1),
            ((h as f32 / ratio).round() as u32).max(1),
        )
    } else {
        (w, h)
    };
    let work = if (ww, wh) == (w, h) {
        img.clone()
    } else {
        image::imageops::resize(img, ww, wh, FilterType::Triangle)
    };
    let (ww, wh) = (ww as usize, wh as usize);
    let scale_box = subject_box.map(|b| {
        let sx = ww as f32 / w as f32;
        let sy = wh as f32 / h as f32;
        let x0 = (b.x as f32 * sx).floor() as usize;
        let y0 = (b.y as f32 * sy).floor() as usize;
        let x1 = (((b.x + b.width) as f32 * sx).ceil() as usize).min(ww);
        let y1 = (((b.y + b.height) as f32 * sy).ceil() as usize).min(wh);
        (x0, y0, x1, y1)
    });
    let priors = first_guess(ww, wh, scale_box);
    let mut mask = cut(&work, &priors, ww, wh);

    // Unlike a flood fill, the cut labels enclosed pixels by their colour, so an enclosed
    // background region is real unless it is a speck of noise.
    let not_fg: Vec<bool> = mask.iter().map(|&m| !m).collect();
    let border = border_indices(ww, wh, 1);
    let mut outside = flood(border, &not_fg, ww, wh, Connectivity::Four);
    open_real_holes(&not_fg, &not_fg, &mut outside, ww, wh, SPECK_HOLE_SHARE);
    for (m, &o) in mask.iter_mut().zip(&outside) {
        *m = !o;
    }
    check_and_clean(&mut mask, ww, wh, what)?;

    let full = upsample(&mask, ww, wh, w as usize, h as usize);
    let band = 2 * ratio.ceil() as usize;
    let (alpha, colour) = soft_edge::soften(img.as_raw(), &full, w as usize, h as usize, band);
    for (i, p) in img.pixels_mut().enumerate() {
        let a = (alpha[i] * 255.0).round() as u8;
        p.0 = if a == 0 {
            [0, 0, 0, 0]
        } else {
            [colour[i][0], colour[i][1], colour[i][2], a]
        };
    }
    if let Some(b) = subject_box {
        b.clear_outside(img);
    }
    Ok(())
}

/// The trimap before any cut: the box (given, or the centre) is likely foreground.
fn first_guess(
    w: usize,
    h: usize,
    subject_box: Option<(usize, usize, usize, usize)>,
) -> Vec<Prior> {
    let (x0, y0, x1, y1) = subject_box.unwrap_or_else(|| {
        let mx = (w as f32 * CENTRE_MARGIN).round() as usize;
        let my = (h as f32 * CENTRE_MARGIN).round() as usize;
        (mx, my, w - mx, h - my)
    });
    let mut priors = vec![Prior::LikelyBackground; w * h];
    for y in 0..h {
        for x in 0..w {
            let inside = x >= x0 && x < x1 && y >= y0 && y < y1;
            let ring = x == 0 || y == 0 || x + 1 == w || y + 1 == h;
            priors[y * w + x] = if inside {
                Prior::LikelyForeground
            } else if subject_box.is_some() || ring {
                Prior::Background
            } else {
                Prior::LikelyBackground
            };
        }
    }
    // A box that fills the whole image leaves no background to learn from: fall back on
    // the outer ring.
    if !priors.iter().any(|&p| p != Prior::LikelyForeground) {
        for i in border_indices(w, h, 1) {
            priors[i] = Prior::Background;
        }
    }
    priors
}

/// Iterated graph cut; returns the foreground mask at the working resolution.
fn cut(work: &RgbaImage, priors: &[Prior], w: usize, h: usize) -> Vec<bool> {
    let colours: Vec<[f32; 3]> = work
        .pixels()
        .map(|p| [f32::from(p.0[0]), f32::from(p.0[1]), f32::from(p.0[2])])
        .collect();
    let mut fg: Vec<bool> = priors
        .iter()
        .map(|&p| p == Prior::LikelyForeground)
        .collect();
    let links = smoothness_links(&colours, w, h);
    let pick = |fg: &[bool], want: bool| -> Vec<[f32; 3]> {
        colours
            .iter()
            .zip(fg)
            .filter(|&(_, &f)| f == want)
            .map(|(c, _)| *c)
            .collect()
    };
    let (first_fg, first_bg) = (pick(&fg, true), pick(&fg, false));
    if first_fg.is_empty() || first_bg.is_empty() {
        return fg; // nothing to learn from; the plausibility check explains
    }
    let mut bg_model = Gmm::from_kmeans(&first_bg);
    bg_model = bg_model.refit(&first_bg);
    // The box holds much background too. Its first colour model learns from the half of
    // it that the background model explains worst, so scenery reaching into the box (a
    // hill behind the character) does not enter the foreground model from the start,
    // where the smooth cut would keep it for good.
    let mut box_costs: Vec<(f32, [f32; 3])> =
        first_fg.iter().map(|&c| (bg_model.cost(c), c)).collect();
    box_costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    box_costs.truncate(box_costs.len().div_ceil(2));
    let unlike_bg: Vec<[f32; 3]> = box_costs.into_iter().map(|(_, c)| c).collect();
    let mut fg_model = Gmm::from_kmeans(&unlike_bg).refit(&unlike_bg);
    let mut graph = GridCut::new(w, h);
    for round in 0..MAX_ROUNDS {
        if round > 0 {
            let (fg_px, bg_px) = (pick(&fg, true), pick(&fg, false));
            if fg_px.is_empty() || bg_px.is_empty() {
                break;
            }
            fg_model = fg_model.refit(&fg_px);
            bg_model = bg_model.refit(&bg_px);
        }
        graph.reset();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let (fg_cost, bg_cost) = if priors[i] == Prior::Background {
                    (FORBIDDEN, 0.0)
                } else {
                    (fg_model.cost(colours[i]), bg_model.cost(colours[i]))
                };
                graph.set_costs(x, y, quantize(fg_cost), quantize(bg_cost));
                for (k, &d) in FORWARD.iter().enumerate() {
                    graph.set_link(x, y, d, quantize(links[i * 4 + k]));
                }
            }
        }
        graph.solve();
        let mut changed = 0usize;
        for y in 0..h {
            for x in 0..w {
                let side = graph.source_side(x, y);
                let i = y * w + x;
                changed += usize::from(side != fg[i]);
                fg[i] = side;
            }
        }
        if round > 0 && (changed as f32) < SETTLED * (w * h) as f32 {
            break;
        }
    }
    fg
}

/// Costs rounded to whole nats (links are up to 50). Rounding does not change which side
/// a pixel lands on where it matters (the tests' IoUs are unchanged), but it stops the
/// max-flow from chasing hundreds of thousands of near-zero residuals: pixels whose two
/// costs nearly agree start outside both trees, and sums of integers stay exact in f32.
/// 4–5× faster at 512² (the speed is in docs/PERFORMANCE.md).
fn quantize(v: f32) -> f32 {
    v.round()
}

/// The four directions of [`DIRS`] that cover each undirected 8-neighbour pair once.
const FORWARD: [usize; 4] = [0, 2, 4, 7];

/// Contrast-sensitive link weights `γ/len · exp(−β‖Δc‖²)`, with β set from the image's
/// mean neighbour contrast so the term adapts to soft and to busy pictures alike.
fn smoothness_links(colours: &[[f32; 3]], w: usize, h: usize) -> Vec<f32> {
    let mut diff2 = vec![f32::NAN; w * h * 4];
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in 0..h {
        for x in 0..w {
            for (k, &d) in FORWARD.iter().enumerate() {
                let (dx, dy) = DIRS[d];
                let (nx, ny) = (x as i64 + i64::from(dx), y as i64 + i64::from(dy));
                if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                    continue;
                }
                let (a, b) = (colours[y * w + x], colours[ny as usize * w + nx as usize]);
                let d2 = (0..3).map(|c| (a[c] - b[c]).powi(2)).sum::<f32>();
                diff2[(y * w + x) * 4 + k] = d2;
                sum += f64::from(d2);
                n += 1;
            }
        }
    }
    let mean = (sum / n.max(1) as f64).max(1e-6) as f32;
    let beta = 1.0 / (2.0 * mean);
    diff2
        .iter()
        .enumerate()
        .map(|(j, &d2)| {
            if d2.is_nan() {
                return 0.0;
            }
            let len = if j % 4 >= 2 {
                std::f32::consts::SQRT_2
            } else {
                1.0
            };
            SMOOTHNESS / len * (-beta * d2).exp()
        })
        .collect()
}

/// Bilinear upsampling of a working-resolution mask, thresholded at one half, so the
/// upscaled edge is smooth rather than blocky.
fn upsample(mask: &[bool], w: usize, h: usize, fw: usize, fh: usize) -> Vec<bool> {
    if (w, h) == (fw, fh) {
        return mask.to_vec();
    }
    let at = |x: usize, y: usize| f32::from(u8::from(mask[y.min(h - 1) * w + x.min(w - 1)]));
    let mut out = vec![false; fw * fh];
    for y in 0..fh {
        let sy = ((y as f32 + 0.5) * h as f32 / fh as f32 - 0.5).max(0.0);
        let (y0, ty) = (sy.floor() as usize, sy.fract());
        for x in 0..fw {
            let sx = ((x as f32 + 0.5) * w as f32 / fw as f32 - 0.5).max(0.0);
            let (x0, tx) = (sx.floor() as usize, sx.fract());
            let top = at(x0, y0) * (1.0 - tx) + at(x0 + 1, y0) * tx;
            let bottom = at(x0, y0 + 1) * (1.0 - tx) + at(x0 + 1, y0 + 1) * tx;
            out[y * fw + x] = top * (1.0 - ty) + bottom * ty >= 0.5;
        }
    }
    out
}
