//! MP4 (H.264, yuv420p): the format every browser, chat app and video editor plays.

use std::io::{Cursor, Write};

use kinema_core::{Clip, Error, Result};
use mp4::{AvcConfig, Bytes, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType};

use super::h264;

/// Units per frame in the track timescale; `fps * TICKS` units make one second, so every
/// integer fps has exact frame durations.
pub const TICKS_PER_FRAME: u32 = 1000;

/// Encodes the (opaque, even-sized) clip and muxes it as `ftyp isom/avc1` + one avc1 track.
pub fn encode(clip: &Clip, w: &mut impl Write) -> Result<()> {
    let stream = h264::encode(clip)?;
    let width =
        u16::try_from(clip.width()).map_err(|_| Error::internal("frame too wide for MP4"))?;
    let height =
        u16::try_from(clip.height()).map_err(|_| Error::internal("frame too tall for MP4"))?;
    let timescale = clip.fps.max(1) * TICKS_PER_FRAME;
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
