//! Open-Sora 2.0's sampling schedule and guidance oscillation (`opensora/utils/sampling.py`).
//!
//! Open-Sora samples with plain Euler steps on flow time `t` from 1 to 0, on a grid that is
//! shifted towards high noise by `alpha = lin(image tokens per frame) · sqrt(latent frames)`,
//! where `lin` is the line through (256, 1) and (4096, 3); `flow_shift` replaces `alpha`.
//! The grid is a float32 `torch.linspace` and the shift runs on float32 tensors, so both are
//! computed in f32 here with torch's rounding.

use super::schedule::shift_f32;

/// How the time grid is shifted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleShift {
    /// `shift`: off leaves the grid linear.
    pub enabled: bool,
    /// `flow_shift`: a fixed `alpha` instead of the resolution- and length-based one.
    pub flow_shift: Option<f64>,
}

/// `torch.linspace(start, end, steps)` in float32, as ATen's CPU kernel computes it: the
/// first half counts up from `start`, the second half down from `end`.
pub fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    match steps {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (end - start) / (steps - 1) as f32;
            let halfway = steps / 2;
            (0..steps)
                .map(|i| {
                    if i < halfway {
                        start + step * i as f32
                    } else {
                        end - step * (steps - i - 1) as f32
                    }
                })
                .collect()
        }
    }
}

/// `alpha` of `get_schedule`: the line through (256, 1) and (4096, 3) at the number of image
/// tokens per latent frame, times `sqrt(latent frames)`; computed in float64 as Python does.
pub fn resolution_shift(image_seq_len: usize, latent_frames: usize) -> f64 {
    let (x1, y1, x2, y2) = (256.0, 1.0, 4096.0, 3.0);
    let m = (y2 - y1) / (x2 - x1);
    let b = y1 - m * x1;
    (m * image_seq_len as f64 + b) * (latent_frames as f64).sqrt()
}

/// `get_schedule`: `num_steps + 1` times from 1 down to 0.
pub fn schedule(
    num_steps: usize,
    image_seq_len: usize,
    latent_frames: usize,
    shift: ScheduleShift,
) -> Vec<f32> {
    let grid = linspace_f32(1.0, 0.0, num_steps + 1);
    if !shift.enabled {
        return grid;
    }
    let alpha = shift
        .flow_shift
        .unwrap_or_else(|| resolution_shift(image_seq_len, latent_frames));
    grid.into_iter().map(|t| shift_f32(alpha, t)).collect()
}

/// `get_oscillation_gs`: the full scale for the first 10 steps and on even steps after,
/// 1 (no guidance) on odd steps from step 10 on.
pub fn oscillation_scale(scale: f64, step: usize) -> f64 {
    const FORCE_STEPS: usize = 10;
    if step < FORCE_STEPS || step.is_multiple_of(2) {
        scale
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_torch_endpoints() {
        let v = linspace_f32(1.0, 0.0, 51);
        assert_eq!((v[0], v[50]), (1.0, 0.0));
        assert!((v[25] - 0.5).abs() < 1e-7);
        assert_eq!(linspace_f32(1.0, 0.0, 1), vec![1.0]);
    }

    #[test]
    fn schedule_shifts_by_resolution_and_frames() {
        // 256 tokens per frame is the line's base (1); 9 latent frames triple it.
        assert!((resolution_shift(256, 9) - 3.0).abs() < 1e-12);
        assert!((resolution_shift(4096, 1) - 3.0).abs() < 1e-12);
        let s = schedule(
            2,
            256,
            9,
            ScheduleShift {
                enabled: true,
                flow_shift: None,
            },
        );
        assert_eq!(s.len(), 3);
        assert_eq!((s[0], s[2]), (1.0, 0.0));
        assert!((s[1] - 0.75).abs() < 1e-6, "{s:?}");
        let fixed = schedule(
            2,
            256,
            9,
            ScheduleShift {
                enabled: true,
                flow_shift: Some(1.0),
            },
        );
        assert!((fixed[1] - 0.5).abs() < 1e-7);
        let off = schedule(
            4,
            4096,
            33,
            ScheduleShift {
                enabled: false,
                flow_shift: Some(7.0),
            },
        );
        assert_eq!(off, linspace_f32(1.0, 0.0, 5));
    }

    #[test]
    fn oscillation_drops_guidance_on_odd_steps_after_ten() {
        let got: Vec<f64> = (8..14).map(|i| oscillation_scale(7.5, i)).collect();
        assert_eq!(got, vec![7.5, 7.5, 7.5, 1.0, 7.5, 1.0]);
    }
}
