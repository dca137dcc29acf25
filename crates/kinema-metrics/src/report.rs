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
    /// Rows of (metric, value, what the range means), shared by the table and the HTML.
    pub fn rows(&self) -> Vec<[String; 3]> {
        let opt = |v: Option<f64>, digits: usize| match v {
            Some(x) => format!("{x:.digits$}"),
            None => "n/a".to_string(),
        };
        let d = &self.dynamic;
        let al = &self.alignment;
        vec![
            row(
                "frames",
                format!(
                    "{} @ {} fps, {}x{}",
                    self.frames, self.fps, self.width, self.height
                ),
                "clip shape",
            ),
            row(
                "psnr_db",
                format!("{:.2}", self.psnr_db),
                "frame 0 vs reference; higher is closer (100 = identical)",
            ),
            row(
                "ssim",
                format!("{:.4}", self.ssim),
                "frame 0 vs reference structure; 0..1, 1 = identical",
            ),
            row(
                "alignment",
                format!(
                    "dx {} dy {} scale {} iou {:.3}",
                    al.dx, al.dy, al.scale, al.mask_iou
                ),
                "how frame 0 was placed on the reference; iou 1 = same silhouette",
            ),
            row(
                "identity_mean",
                format!("{:.4}", self.identity_mean),
                "colour similarity to reference; 0..1, 1 = same colours",
            ),
            row(
                "identity_min",
                format!("{:.4}", self.identity_min),
                "worst frame's colour similarity; 0..1",
            ),
            row(
                "i2v_subject",
                opt(self.i2v_subject, 4),
                "0.4 max + 0.3 mean + 0.3 min; 0..1, higher is better",
            ),
            row(
                "palette_escape",
                opt(self.palette_escape, 4),
                "share of pixels off the reference palette; 0 is best",
            ),
            row(
                "flicker",
                opt(self.flicker, 4),
                "1 - mean |frame diff| / 255; 1 = still",
            ),
            row(
                "smoothness",
                opt(self.smoothness, 4),
                "match to flow-interpolated neighbours; 0..1, 1 = smooth",
            ),
            row(
                "dynamic",
                format!(
                    "{} ({}/{} pairs > {:.2} px)",
                    if d.dynamic { "yes" } else { "no" },
                    d.pairs_above,
                    d.pairs_needed,
                    d.threshold_px
                ),
                "VBench dynamic degree: does the clip move enough",
            ),
            row(
                "mean_flow_px",
                format!("{:.3}", d.mean_flow_px),
                "mean motion of the subject per frame, pixels",
            ),
            row(
                "silhouette_iou_min",
                opt(self.silhouette_iou_min, 4),
                "worst consecutive mask overlap; 0..1, low = popping",
            ),
            row(
                "silhouette_iou_mean",
                opt(self.silhouette_iou_mean, 4),
                "mean consecutive mask overlap; 0..1",
            ),
            row(
                "loop_seam",
                opt(self.loop_seam, 3),
                "last->first vs typical step; ~1 loops cleanly, >>1 jumps",
            ),
            row(
                "pieces",
                self.cleanliness.as_ref().map_or("n/a".into(), |c| {
                    format!(
                        "{} at rest, up to {} (frame {}); {} frames with extra pieces",
                        c.pieces_first,
                        c.pieces_max,
                        c.worst_pieces_frame,
                        c.frames_with_extra_pieces
                    )
                }),
                "connected pieces of the cut-out; more than at rest = a shard left behind",
            ),
            row(
                "thin_area_excess",
                self.cleanliness.as_ref().map_or("n/a".into(), |c| {
                    format!("{:+.4} (frame {})", c.thin_excess_max, c.worst_thin_frame)
                }),
                "hairline share over frame 0; hand-drawn frames stay within +0.004",
            ),
        ]
    }

    /// A plain-text table with aligned columns: metric, value, range and meaning.
    pub fn table(&self) -> String {
        let rows = self.rows();
        let header = [
            "metric".to_string(),
            "value".to_string(),
            "range / meaning".to_string(),
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

fn row(name: &str, value: String, meaning: &str) -> [String; 3] {
    [name.to_string(), value, meaning.to_string()]
}
