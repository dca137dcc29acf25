//! Every metric of one clip, as data (JSON) and as a table people can read.

use serde::{Deserialize, Serialize};

use crate::align::Alignment;
use crate::cleanliness::Cleanliness;
use crate::motion::DynamicDegree;

/// The measured quality of one clip against its reference character image.
///
/// Values that a clip too short cannot have (smoothness needs three frames, flicker two)
/// are `None` rather than a made-up perfect score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub frames: usize,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Frame 0 vs the reference after alignment, RGB over grey; capped at 100 dB.
    pub psnr_db: f64,
    /// Frame 0 vs the reference after alignment, RGB over grey, 0..=1.
    pub ssim: f64,
    pub alignment: Alignment,
    /// Mean over frames of the colour-distribution similarity to the reference, 0..=1.
    pub identity_mean: f64,
    /// Worst frame's colour similarity to the reference, 0..=1.
    pub identity_min: f64,
    /// `0.4·max(s) + 0.3·mean(c) + 0.3·min(c)` (VBench-I2V subject-consistency form).
    pub i2v_subject: Option<f64>,
    /// Share of opaque pixels off the reference's palette; `None` when it has no palette.
    pub palette_escape: Option<f64>,
    /// VBench temporal flickering, `(255 − mean |Δ|) / 255`, 0..=1.
    pub flicker: Option<f64>,
    /// Mean of `1 − MAE/255` against flow-interpolated neighbours, 0..=1.
    pub smoothness: Option<f64>,
    pub dynamic: DynamicDegree,
    pub silhouette_iou_min: Option<f64>,
    pub silhouette_iou_mean: Option<f64>,
    /// Last→first difference over the mean consecutive difference; ≈ 1 loops cleanly.
    pub loop_seam: Option<f64>,
    /// Detached pieces and hairlines against frame 0; `None` for opaque clips.
    pub cleanliness: Option<Cleanliness>,
    pub series: Series,
}

/// Per-frame and per-pair values behind the aggregates, for plots.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Per frame: colour similarity to the reference.
    pub identity: Vec<f64>,
    /// Per consecutive pair: colour similarity between the two frames.
    pub consecutive_identity: Vec<f64>,
    /// Per consecutive pair: mean flow magnitude over the subject, original pixels.
    pub flow_mean_px: Vec<f64>,
    /// Per consecutive pair: mean of the top 5 % flow magnitudes, original pixels.
    pub flow_top5_px: Vec<f64>,
    /// Per consecutive pair: mean absolute RGB difference, 0..=255.
    pub frame_difference: Vec<f64>,
    /// Per middle frame (1..n−1): interpolation score.
    pub smoothness: Vec<f64>,
    /// Per consecutive pair: IoU of the alpha masks.
    pub silhouette_iou: Vec<f64>,
}

impl Report {
    /// Rows of (what, result, how to read it), in words a game artist can act on, shared by
    /// the table and the HTML report. The last column ends with the `--json` keys behind
    /// the row, in brackets, for whoever wants the raw numbers.
    pub fn rows(&self) -> Vec<[String; 3]> {
        let pct = |x: f64| format!("{:.0}%", 100.0 * x);
        let not_measured = |why: &str| format!("not measured ({why})");
        let d = &self.dynamic;
        let al = &self.alignment;
        let seconds = self.frames as f64 / f64::from(self.fps.max(1));
        vec![
            row(
                "Clip",
                format!(
                    "{} frames at {} fps ({seconds:.1} s), {} x {} px",
                    self.frames, self.fps, self.width, self.height
                ),
                "length, speed and size as read from the file [frames, fps, width, height]",
            ),
            row(
                "First frame",
                format!(
                    "{} your image: {} alike",
                    match self.ssim {
                        s if s >= 0.98 => "is",
                        s if s >= 0.9 => "is close to",
                        _ => "differs from",
                    },
                    pct(self.ssim)
                ),
                &format!(
                    "a clip should start on your picture; 100% alike is the same picture; pixel \
                     match {:.1} dB (100 = identical, above 40 nobody sees a difference) \
                     [ssim, psnr_db]",
                    self.psnr_db
                ),
            ),
            row(
                "Where it was found",
                format!(
                    "{}{}; outlines {} the same",
                    placement(al.dx, al.dy),
                    if al.scale > 1 {
                        format!(", drawn {}x larger", al.scale)
                    } else {
                        String::new()
                    },
                    pct(al.mask_iou)
                ),
                "engines draw on a larger canvas; this is where frame 0 was lined up with \
                 your image before comparing them [alignment]",
            ),
            row(
                "Colours kept",
                format!(
                    "{} on average, {} in the most changed frame",
                    pct(self.identity_mean),
                    pct(self.identity_min)
                ),
                "how close each frame's colours, and where they sit, stay to your image; \
                 100% = unchanged [identity_mean, identity_min]",
            ),
            row(
                "Same character",
                self.i2v_subject
                    .map_or_else(|| not_measured("needs 2 frames"), pct),
                "one score for staying the same character all along (VBench-I2V subject \
                 consistency); higher is better [i2v_subject]",
            ),
            row(
                "New colours",
                self.palette_escape.map_or_else(
                    || not_measured("your image has too many colours for a palette"),
                    |x| format!("{:.1}% of the pixels", 100.0 * x),
                ),
                "pixels in colours your image does not have; 0% keeps pixel art clean \
                 [palette_escape]",
            ),
            row(
                "Flicker",
                self.flicker.map_or_else(
                    || not_measured("needs 2 frames"),
                    |f| {
                        format!(
                            "neighbouring frames differ by {:.1}% of full brightness",
                            100.0 * (1.0 - f)
                        )
                    },
                ),
                "small is steady; a large value with little movement is flicker \
                 [flicker, 100% = still]",
            ),
            row(
                "Smooth motion",
                self.smoothness
                    .map_or_else(|| not_measured("needs 3 frames"), pct),
                "how well each frame fits between its neighbours; 100% = perfectly smooth, \
                 lower = jerky or popping [smoothness]",
            ),
            row(
                "Movement",
                format!(
                    "{}: {} steps move visibly, {} needed",
                    if d.dynamic {
                        "moves clearly"
                    } else {
                        "barely moves"
                    },
                    d.pairs_above,
                    d.pairs_needed
                ),
                &format!(
                    "a step between sampled frames is visible when its fastest parts travel \
                     more than {:.1} px (VBench dynamic degree) [dynamic]",
                    d.threshold_px
                ),
            ),
            row(
                "Average motion",
                format!("{:.1} px per frame", d.mean_flow_px),
                "how far the character's pixels travel from one frame to the next \
                 [dynamic.mean_flow_px]",
            ),
            row(
                "Outline steadiness",
                match (self.silhouette_iou_min, self.silhouette_iou_mean) {
                    (Some(min), Some(mean)) => format!(
                        "neighbouring outlines overlap {} on average, {} at worst",
                        pct(mean),
                        pct(min)
                    ),
                    _ => not_measured("needs 2 frames"),
                },
                "a low worst case means the outline pops or jumps somewhere \
                 [silhouette_iou_mean, silhouette_iou_min]",
            ),
            row(
                "Loop seam",
                self.loop_seam.map_or_else(
                    || not_measured("needs 2 frames"),
                    |x| {
                        let verdict = match x {
                            x if x <= 1.5 => "loops cleanly",
                            x if x <= 3.0 => "a small jump where it loops",
                            _ => "jumps where it loops",
                        };
                        format!("{verdict}: last to first frame is {x:.1}x an ordinary step")
                    },
                ),
                "for looping clips (idle, walk): about 1x is seamless; ignore it for clips \
                 that play once [loop_seam]",
            ),
            row(
                "Stray pieces",
                self.cleanliness.as_ref().map_or_else(
                    || not_measured("the clip has no transparency"),
                    |c| match c.frames_with_extra_pieces {
                        0 => format!(
                            "none: {} piece{} in every frame, as in your image",
                            c.pieces_first,
                            if c.pieces_first == 1 { "" } else { "s" }
                        ),
                        n => format!(
                            "{n} frames break apart: up to {} pieces (frame {}) against {} in \
                             your image",
                            c.pieces_max, c.worst_pieces_frame, c.pieces_first
                        ),
                    },
                ),
                "a character in more pieces than in your image has left a shard behind \
                 [cleanliness.pieces_first, pieces_max, frames_with_extra_pieces]",
            ),
            row(
                "Hairlines",
                self.cleanliness.as_ref().map_or_else(
                    || not_measured("the clip has no transparency"),
                    |c| {
                        format!(
                            "{}: at most {:+.2}% of the character's area more than in your image (frame {})",
                            if c.thin_excess_max <= 0.004 {
                                "none to notice"
                            } else {
                                "thin slivers appear"
                            },
                            100.0 * c.thin_excess_max,
                            c.worst_thin_frame
                        )
                    },
                ),
                "pixels too thin to survive a 3x3 rub-out, compared with your image; an \
                 artist's own frames stay within +0.4% [cleanliness.thin_excess_max]",
            ),
        ]
    }

    /// A plain-text table with aligned columns: what, result, how to read it.
    pub fn table(&self) -> String {
        let rows = self.rows();
        let header = [
            "what".to_string(),
            "result".to_string(),
            "how to read it".to_string(),
        ];
        let w0 = rows
            .iter()
            .chain([&header])
            .map(|r| r[0].chars().count())
            .max()
            .unwrap_or(0);
        let w1 = rows
            .iter()
            .chain([&header])
            .map(|r| r[1].chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for r in std::iter::once(&header).chain(&rows) {
            out.push_str(&format!("{:<w0$}  {:<w1$}  {}\n", r[0], r[1], r[2]));
        }
        out
    }
}

/// "3 px left, 2 px down of its place in your image" or "where it is in your image".
fn placement(dx: i32, dy: i32) -> String {
    let part = |v: i32, plus: &str, minus: &str| match v {
        0 => None,
        v if v > 0 => Some(format!("{v} px {plus}")),
        v => Some(format!("{} px {minus}", -v)),
    };
    let parts: Vec<String> = [part(dx, "right", "left"), part(dy, "down", "up")]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "where it is in your image".to_string()
    } else {
        format!("{} of its place in your image", parts.join(", "))
    }
}

fn row(name: &str, value: String, meaning: &str) -> [String; 3] {
    [name.to_string(), value, meaning.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_said_in_directions() {
        assert_eq!(placement(0, 0), "where it is in your image");
        assert_eq!(
            placement(3, -2),
            "3 px right, 2 px up of its place in your image"
        );
        assert_eq!(placement(-1, 0), "1 px left of its place in your image");
    }
}
