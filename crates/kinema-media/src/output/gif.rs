//! GIF: the format every chat app and issue tracker previews. 256 colours and 1-bit
//! alpha, so we quantise once for the whole clip (no palette flicker between frames)
//! and reserve one palette slot for transparency.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use kinema_core::{Clip, Error, Frame, Result};
use rayon::prelude::*;

/// Alpha at or above this is drawn, below it is a hole; GIF has nothing in between.
pub const ALPHA_THRESHOLD: u8 = 128;
/// NeuQuant learns from every n-th pixel (1 = all, best; 30 = its fastest). Learning
/// time grows with the pixels it sees, so aim for a fixed budget of samples: enough for a
/// sprite's few hundred colours, small enough to stay a fraction of the encode.
const QUANT_TARGET_SAMPLES: usize = 40_000;
const QUANT_MAX_SPEED: usize = 30;
/// Frames sampled to train the palette; more adds time, rarely colours.
const PALETTE_SAMPLE_FRAMES: usize = 8;

/// Encodes the clip as a GIF that loops forever with delays matching `clip.fps`.
pub fn encode(clip: &Clip, w: &mut impl Write) -> Result<()> {
    let width = u16::try_from(clip.width()).map_err(|_| too_big(clip))?;
    let height = u16::try_from(clip.height()).map_err(|_| too_big(clip))?;
    let transparent = clip
        .frames
        .iter()
        .any(|f| f.rgba.chunks_exact(4).any(|p| p[3] < ALPHA_THRESHOLD));
    let palette = Palette::for_clip(clip, transparent);
    let delays = delays_cs(clip.len(), clip.fps);
    // Indexing and LZW compression are the slow parts and independent per frame.
    let frames: Vec<gif::Frame<'static>> = clip
        .frames
        .par_iter()
        .zip(delays)
        .map(|(f, delay)| {
            let mut frame = gif::Frame {
                width,
                height,
                delay,
                // Clearing to the background before each frame keeps holes see-through.
                dispose: if transparent {
                    gif::DisposalMethod::Background
                } else {
                    gif::DisposalMethod::Keep
                },
                transparent: palette.transparent,
                buffer: palette.index_frame(f).into(),
                ..gif::Frame::default()
            };
            frame.make_lzw_pre_encoded();
            frame
        })
        .collect();

    let fail = |e: gif::EncodingError| Error::internal("GIF encoding failed").with_source(e);
    let mut enc = gif::Encoder::new(w, width, height, &palette.rgb).map_err(fail)?;
    enc.set_repeat(gif::Repeat::Infinite).map_err(fail)?;
    for frame in &frames {
        enc.write_lzw_pre_encoded_frame(frame).map_err(fail)?;
    }
    Ok(())
}

fn too_big(clip: &Clip) -> Error {
    Error::invalid(
        format!(
            "{}x{} is too large for GIF (at most 65535 per side)",
            clip.width(),
            clip.height()
        ),
        "use --size to make the frames smaller",
    )
}

/// Per-frame delays in centiseconds whose running sum tracks `i * 100 / fps`, so the
/// total length is right even when one frame's delay is not a whole centisecond.
pub fn delays_cs(frames: usize, fps: u32) -> Vec<u16> {
    let fps = u64::from(fps.max(1));
    let at = |i: u64| (i * 100 + fps / 2) / fps;
    (0..frames as u64)
        .map(|i| (at(i + 1) - at(i)).clamp(1, u64::from(u16::MAX)) as u16)
        .collect()
}

struct Palette {
    /// RGB triples, at most 256 entries.
    rgb: Vec<u8>,
    transparent: Option<u8>,
    lookup: Lookup,
}

enum Lookup {
    Exact(HashMap<[u8; 3], u8>),
    Quantised(Box<color_quant::NeuQuant>),
}

impl Palette {
    fn for_clip(clip: &Clip, transparent: bool) -> Palette {
        let slots = if transparent { 255 } else { 256 };
        let step = clip.len().div_ceil(PALETTE_SAMPLE_FRAMES).max(1);
        let mut colours: HashSet<[u8; 3]> = HashSet::new();
        let mut overflow = false;
        'frames: for f in &clip.frames {
            for p in f.rgba.chunks_exact(4).filter(|p| p[3] >= ALPHA_THRESHOLD) {
                if colours.insert([p[0], p[1], p[2]]) && colours.len() > slots {
                    overflow = true;
                    break 'frames;
                }
            }
        }
        let (mut rgb, lookup) = if overflow {
            let sample: Vec<u8> = clip
                .frames
                .iter()
                .step_by(step)
                .flat_map(|f| {
                    f.rgba
                        .chunks_exact(4)
                        .filter(|p| p[3] >= ALPHA_THRESHOLD)
                        .flat_map(|p| [p[0], p[1], p[2], 255])
                })
                .collect();
            let speed = (sample.len() / 4 / QUANT_TARGET_SAMPLES).clamp(1, QUANT_MAX_SPEED) as i32;
            let nq = color_quant::NeuQuant::new(speed, slots, &sample);
            (nq.color_map_rgb(), Lookup::Quantised(Box::new(nq)))
        } else {
            let mut sorted: Vec<[u8; 3]> = colours.into_iter().collect();
            sorted.sort_unstable();
            let map = sorted
                .iter()
                .enumerate()
                .map(|(i, &c)| (c, i as u8))
                .collect();
            (sorted.concat(), Lookup::Exact(map))
        };
        let transparent = transparent.then(|| {
            let index = (rgb.len() / 3) as u8;
            rgb.extend_from_slice(&[0, 0, 0]);
            index
        });
        if rgb.is_empty() {
            rgb.extend_from_slice(&[0, 0, 0]);
        }
        Palette {
            rgb,
            transparent,
            lookup,
        }
    }

    fn index_frame(&self, frame: &Frame) -> Vec<u8> {
        let mut cache: HashMap<[u8; 3], u8> = HashMap::new();
        frame
            .rgba
            .chunks_exact(4)
            .map(|p| {
                if p[3] < ALPHA_THRESHOLD {
                    return self.transparent.unwrap_or(0);
                }
                let c = [p[0], p[1], p[2]];
                match &self.lookup {
                    Lookup::Exact(map) => map.get(&c).copied().unwrap_or(0),
                    Lookup::Quantised(nq) => *cache
                        .entry(c)
                        .or_insert_with(|| nq.index_of(&[c[0], c[1], c[2], 255]) as u8),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_add_up_to_the_clip_length() {
        let d = delays_cs(24, 24);
        assert_eq!(d.iter().map(|&x| u32::from(x)).sum::<u32>(), 100);
        assert!(d.iter().all(|&x| x == 4 || x == 5));
        assert_eq!(delays_cs(3, 10), vec![10, 10, 10]);
        assert_eq!(delays_cs(1000, 1000).len(), 1000);
    }
}
