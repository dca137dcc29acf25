//! Bringing a video's timeline to a clip's: resampling to the requested frame rate and
//! choosing where a cycle of the requested length loops best.
//!
//! Resampling picks, for every tick of the clip's rate, the picture on screen at that
//! moment, never a blend: blended in-between frames ghost on sprites. It works
//! as the video is decoded, so only the pictures the clip keeps are ever processed.

use std::ops::Range;

use kinema_core::Frame;

/// Assigns the pictures of a video (in presentation order) to the ticks of a new rate.
///
/// Push each picture with its time; once the next picture shows where the first one ends,
/// the ticks it covers are settled and returned with it. A picture that covers no tick (the
/// video is faster than the clip) is dropped without being returned.
#[derive(Debug)]
pub struct Retimer<T> {
    fps: f64,
    next_tick: usize,
    held: Option<(f64, T)>,
}

impl<T> Retimer<T> {
    pub fn new(fps: u32) -> Self {
        Retimer {
            fps: f64::from(fps.max(1)),
            next_tick: 0,
            held: None,
        }
    }

    fn tick_time(&self, tick: usize) -> f64 {
        tick as f64 / self.fps
    }

    /// Feeds the picture shown from `time` seconds on; returns the previous picture with
    /// the ticks at which it was on screen, if any.
    pub fn push(&mut self, time: f64, item: T) -> Option<(Range<usize>, T)> {
        let (_, prev) = self.held.replace((time, item))?;
        self.settle(prev, |t| t < time - 1e-9)
    }

    /// Ends the video, whose last picture stays until `end` seconds; returns it with its
    /// ticks, if any.
    pub fn finish(mut self, end: f64) -> Option<(Range<usize>, T)> {
        let (_, last) = self.held.take()?;
        self.settle(last, |t| t < end - 1e-9)
    }

    fn settle(&mut self, item: T, owns: impl Fn(f64) -> bool) -> Option<(Range<usize>, T)> {
        let start = self.next_tick;
        while owns(self.tick_time(self.next_tick)) {
            self.next_tick += 1;
        }
        (self.next_tick > start).then_some((start..self.next_tick, item))
    }
}

/// Where a window of `len` frames loops best, and how visible its seam is.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LoopWindow {
    /// First frame of the window.
    pub start: usize,
    pub len: usize,
    /// Mean difference (0 = identical, 1 = opposite) between the frame after the window
    /// and its first frame: how much the cut jumps when the clip repeats.
    pub seam: f64,
}

/// The window of `len` consecutive frames whose first frame is most like the frame that
/// would follow its last, so playing it on repeat jumps least. A `cyclic` video (one the
/// service made as a loop) may wrap around its end. `None` when the frames are too few for
/// a window and its follower.
pub fn best_loop_window(frames: &[Frame], len: usize, cyclic: bool) -> Option<LoopWindow> {
    let total = frames.len();
    if len == 0 || len > total || (!cyclic && len == total) {
        return None;
    }
    let thumbs: Vec<Vec<f32>> = frames.iter().map(thumbnail).collect();
    let starts = if cyclic { total } else { total - len };
    (0..starts)
        .map(|start| LoopWindow {
            start,
            len,
            seam: difference(&thumbs[start], &thumbs[(start + len) % total]),
        })
        .min_by(|a, b| a.seam.total_cmp(&b.seam))
}

/// Frames `window.start ..` of length `window.len`, wrapping around the end if needed.
pub fn take_window(frames: &[Frame], window: &LoopWindow) -> Vec<Frame> {
    (0..window.len)
        .map(|i| frames[(window.start + i) % frames.len()].clone())
        .collect()
}

/// Side of the thumbnails loops are compared on: enough to see a pose, cheap to compare.
const THUMB: u32 = 32;

/// A small premultiplied RGBA picture in 0..1, box-averaged from the frame.
fn thumbnail(frame: &Frame) -> Vec<f32> {
    let (w, h) = (frame.width.max(1), frame.height.max(1));
    let mut sums = vec![0f32; (THUMB * THUMB * 4) as usize];
    let mut counts = vec![0f32; (THUMB * THUMB) as usize];
    for y in 0..frame.height {
        let ty = y * THUMB / h;
        for x in 0..frame.width {
            let tx = x * THUMB / w;
            let p = frame.pixel(x, y);
            let a = f32::from(p[3]) / 255.0;
            let cell = (ty * THUMB + tx) as usize;
            for c in 0..3 {
                sums[cell * 4 + c] += f32::from(p[c]) / 255.0 * a;
            }
            sums[cell * 4 + 3] += a;
            counts[cell] += 1.0;
        }
    }
    for (cell, n) in counts.iter().enumerate() {
        for c in 0..4 {
            sums[cell * 4 + c] /= n.max(1.0);
        }
    }
    sums
}

fn difference(a: &[f32], b: &[f32]) -> f64 {
    let total: f32 = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum();
    f64::from(total) / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks_of(times: &[f64], end: f64, fps: u32) -> Vec<(Range<usize>, usize)> {
        let mut r = Retimer::new(fps);
        let mut out: Vec<_> = times
            .iter()
            .enumerate()
            .filter_map(|(i, &t)| r.push(t, i))
            .collect();
        out.extend(r.finish(end));
        out
    }

    #[test]
    fn halving_the_rate_keeps_every_other_picture() {
        let times: Vec<f64> = (0..8).map(|i| i as f64 / 24.0).collect();
        let got = ticks_of(&times, 8.0 / 24.0, 12);
        assert_eq!(got, vec![(0..1, 0), (1..2, 2), (2..3, 4), (3..4, 6)]);
    }

    #[test]
    fn raising_the_rate_repeats_pictures_without_blending() {
        let times: Vec<f64> = (0..3).map(|i| i as f64 / 12.0).collect();
        let got = ticks_of(&times, 3.0 / 12.0, 24);
        assert_eq!(got, vec![(0..2, 0), (2..4, 1), (4..6, 2)]);
    }

    #[test]
    fn uneven_timestamps_take_the_picture_on_screen() {
        // 30 fps video into 24 fps: 10 pictures cover 8 ticks.
        let times: Vec<f64> = (0..10).map(|i| i as f64 / 30.0).collect();
        let got = ticks_of(&times, 10.0 / 30.0, 24);
        let covered: usize = got.iter().map(|(r, _)| r.len()).sum();
        assert_eq!(covered, 8);
        for (range, picture) in &got {
            for tick in range.clone() {
                let t = tick as f64 / 24.0;
                assert_eq!((t * 30.0 + 1e-9).floor() as usize, *picture, "tick {tick}");
            }
        }
    }

    fn pose(x: u32) -> Frame {
        let mut f = Frame::filled(16, 16, [0, 0, 0, 0]);
        for y in 4..12 {
            for dx in 0..4 {
                f.set_pixel((x + dx) % 16, y, [200, 100, 50, 255]);
            }
        }
        f
    }

    #[test]
    fn the_best_window_ends_where_it_began() {
        // A body moving right 2 px per frame for 8 frames, then back: period 8 from frame 3.
        let xs = [9, 0, 1, 2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7, 8];
        let frames: Vec<Frame> = xs.iter().map(|&x| pose(x)).collect();
        let w = best_loop_window(&frames, 6, false).expect("a window");
        assert_eq!(xs[w.start], xs[w.start + 6], "{w:?}");
        assert!(w.seam < 1e-6, "{w:?}");
        assert!(best_loop_window(&frames, 16, false).is_none());
        let whole = best_loop_window(&frames, 16, true).expect("cyclic");
        assert_eq!(whole.seam, 0.0);
        assert_eq!(take_window(&frames, &whole).len(), 16);
    }
}
