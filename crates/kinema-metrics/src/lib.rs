//! Clip quality metrics without neural networks: identity, motion, flicker, smoothness,
//! loop seams, and the cleanliness of cut-outs (detached pieces, hairlines).
//!
//! The numbers follow VBench / VBench-I2V where a pixel-level equivalent exists (temporal
//! flickering, dynamic degree, motion smoothness, the I2V consistency aggregate), so they
//! read the same way, but run in pure Rust with no weights, deterministically, in well
//! under a second per clip. `docs/METRICS.md` gives every formula and its limits.

mod align;
mod cleanliness;
mod color;
mod cycle_match;
mod evaluate;
mod flow;
mod html;
mod identity;
mod motion;
mod plane;
mod plot;
mod psnr_ssim;
mod report;
mod temporal;

pub use align::{align_to_reference, Alignment};
pub use cleanliness::{pieces, thin_area, Cleanliness};
pub use color::{delta_e, rotate_hue, srgb_to_lab, Lab};
pub use cycle_match::{cycle_match, gap_closed};
pub use evaluate::evaluate;
pub use flow::{optical_flow, Flow, FlowOptions};
pub use html::{write_html_report, ReportEntry};
pub use identity::{i2v_aggregate, ColourSignature};
pub use motion::{DynamicDegree, ANALYSIS_MAX_SIDE};
pub use plane::{Plane, COMPOSITE_GREY, MASK_THRESHOLD};
pub use psnr_ssim::{psnr, ssim, PSNR_CAP_DB};
pub use report::{Report, Series};
