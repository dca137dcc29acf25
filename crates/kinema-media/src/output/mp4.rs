//! MP4 (H.264, yuv420p): the format every browser, chat app and video editor plays.

use std::io::{Cursor, Write};

use kinema_core::{Clip, Error, Result};
use mp4::{AvcConfig, Bytes, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType};

use super::h264;

/// Units per frame in the track timescale; `fps * TICKS` units make one second, so every
/// integer fps has exact frame durations.
pub const TICKS_PER_FRAME: u32 = 1000;

/// Frame rates every player, video editor and upload service takes as they are.
pub const STANDARD_RATES: [u32; 6] = [24, 25, 30, 48, 50, 60];

/// Most frames one MP4 stores after repetition; longer clips keep their own rate rather
/// than encoding tens of thousands of repeats.
const MAX_STORED_FRAMES: usize = 20_000;

/// How an MP4 plays a clip of `fps` frames per second: `(rate, repeat)`.
///
/// Sprite clips run at 12 fps (or 8, 10, 15), which some editors and upload services
/// refuse or re-time. The MP4 therefore plays at the lowest standard rate that is a whole
/// multiple of `fps` (12 → 24, 8 → 24, 10 → 30, 15 → 30, 5 → 25) by showing each frame
/// `repeat` times in a row: the timing is exact and no in-between frame is invented.
/// A rate with no such multiple (7, 40) stays as it is.
pub fn playback_rate(fps: u32) -> (u32, u32) {
    let fps = fps.max(1);
    if STANDARD_RATES.contains(&fps) {
        return (fps, 1);
    }
    STANDARD_RATES
        .iter()
        .find(|&&rate| rate > fps && rate % fps == 0)
        .map_or((fps, 1), |&rate| (rate, rate / fps))
}

/// Encodes the (opaque, even-sized) clip and muxes it as `ftyp isom/avc1` + one avc1 track
/// at the clip's [`playback_rate`].
pub fn encode(clip: &Clip, w: &mut impl Write) -> Result<()> {
    let (rate, mut repeat) = playback_rate(clip.fps);
    if clip.len() * repeat as usize > MAX_STORED_FRAMES {
        repeat = 1;
    }
    let rate = if repeat == 1 { clip.fps.max(1) } else { rate };
    let stream = h264::encode(clip, repeat)?;
    let width =
        u16::try_from(clip.width()).map_err(|_| Error::internal("frame too wide for MP4"))?;
    let height =
        u16::try_from(clip.height()).map_err(|_| Error::internal("frame too tall for MP4"))?;
    let timescale = rate * TICKS_PER_FRAME;
    let mux_error = |e: mp4::Error| Error::internal("MP4 muxing failed").with_source(e);

    let config = Mp4Config {
        major_brand: brand(b"isom"),
        minor_version: 512,
        compatible_brands: vec![
            brand(b"isom"),
            brand(b"iso2"),
            brand(b"avc1"),
            brand(b"mp41"),
        ],
        timescale,
    };
    let mut muxer = Mp4Writer::write_start(Cursor::new(Vec::new()), &config).map_err(mux_error)?;
    muxer
        .add_track(&TrackConfig {
            track_type: TrackType::Video,
            timescale,
            language: "und".into(),
            media_conf: MediaConfig::AvcConfig(AvcConfig {
                width,
                height,
                seq_param_set: stream.sps.clone(),
                pic_param_set: stream.pps.clone(),
            }),
        })
        .map_err(mux_error)?;
    for (i, sample) in stream.samples.into_iter().enumerate() {
        let sample = Mp4Sample {
            start_time: i as u64 * u64::from(TICKS_PER_FRAME),
            duration: TICKS_PER_FRAME,
            rendering_offset: 0,
            is_sync: sample.keyframe,
            bytes: Bytes::from(sample.data),
        };
        muxer.write_sample(1, &sample).map_err(mux_error)?;
    }
    muxer.write_end().map_err(mux_error)?;
    let bytes = muxer.into_writer().into_inner();
    w.write_all(&bytes)
        .map_err(|e| Error::output("cannot write the MP4 data").with_source(e))
}

fn brand(code: &[u8; 4]) -> mp4::FourCC {
    mp4::FourCC::from(u32::from_be_bytes(*code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sprite_rates_play_at_a_standard_rate_by_repeating_frames() {
        assert_eq!(playback_rate(12), (24, 2));
        assert_eq!(playback_rate(8), (24, 3));
        assert_eq!(playback_rate(10), (30, 3));
        assert_eq!(playback_rate(15), (30, 2));
        assert_eq!(playback_rate(6), (24, 4));
        assert_eq!(playback_rate(5), (25, 5));
        assert_eq!(playback_rate(1), (24, 24));
        assert_eq!(playback_rate(20), (60, 3));
        for standard in STANDARD_RATES {
            assert_eq!(playback_rate(standard), (standard, 1));
        }
        assert_eq!(playback_rate(7), (7, 1), "no standard multiple");
        assert_eq!(playback_rate(40), (40, 1));
        assert_eq!(playback_rate(120), (120, 1));
    }
}
