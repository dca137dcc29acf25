//! MP4/H.264 back to RGBA: demux with `mp4`, turn length-prefixed NAL units into an
//! Annex-B stream (what OpenH264 decodes), decode, convert YUV to RGB.

use std::io::Cursor;

use kinema_core::{Clip, Error, Frame, Placement, Result};
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use super::fps_from_duration;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

pub fn read(bytes: &[u8], shown: &str) -> Result<Clip> {
    // `mp4` and the decoder wrapper assert on some malformed inputs; a damaged file must
    // be an error, not a crash.
    std::panic::catch_unwind(|| read_unguarded(bytes, shown))
        .unwrap_or_else(|_| Err(damaged(shown, "the MP4 structure is invalid")))
}

fn read_unguarded(bytes: &[u8], shown: &str) -> Result<Clip> {
    let mut mp4 = mp4::Mp4Reader::read_header(Cursor::new(bytes), bytes.len() as u64)
        .map_err(|e| damaged(shown, &e.to_string()))?;
    let track = mp4
        .tracks()
        .values()
        .find(|t| matches!(t.media_type(), Ok(mp4::MediaType::H264)))
        .ok_or_else(|| {
            Error::unsupported(format!("{shown} has no H.264 video track"))
                .with_hint("Kinema reads the MP4 files it writes (H.264)")
        })?;
    let track_id = track.track_id();
    let timescale = track.timescale();
    let avcc = track
        .trak
        .mdia
        .minf
        .stbl
        .stsd
        .avc1
        .as_ref()
        .map(|a| a.avcc.clone())
        .ok_or_else(|| damaged(shown, "the video track has no avcC box"))?;
    let length_size = usize::from(avcc.length_size_minus_one & 3) + 1;
    let mut prefix = Vec::new();
    for nal in avcc
        .sequence_parameter_sets
        .iter()
        .chain(&avcc.picture_parameter_sets)
    {
        prefix.extend_from_slice(&START_CODE);
        prefix.extend_from_slice(&nal.bytes);
    }
    let sample_count = mp4
        .sample_count(track_id)
        .map_err(|e| damaged(shown, &e.to_string()))?;

    let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
    let mut decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| Error::internal("cannot start the H.264 decoder").with_source(e))?;
    let mut frames = Vec::with_capacity(sample_count as usize);
    let mut total_ticks = 0u64;
    let mut annex_b = Vec::new();
    // Kinema stores each frame `repeat` times to play at a standard rate; the note in the
    // first sample says so, and reading gives back the clip's own frames.
    let mut repeat = 1u32;
    for id in 1..=sample_count {
        let Some(sample) = mp4
            .read_sample(track_id, id)
            .map_err(|e| damaged(shown, &e.to_string()))?
        else {
            continue;
        };
        total_ticks += u64::from(sample.duration);
        annex_b.clear();
        if id == 1 {
            annex_b.extend_from_slice(&prefix);
            repeat = repeat_note(&sample.bytes, length_size).unwrap_or(1);
        }
        to_annex_b(&sample.bytes, length_size, &mut annex_b)
            .ok_or_else(|| damaged(shown, "a sample's NAL lengths are wrong"))?;
        let decoded = decoder
            .decode(&annex_b)
            .map_err(|e| damaged(shown, &e.to_string()))?;
        if let Some(yuv) = decoded {
            frames.push(to_frame(&yuv)?);
        }
    }
    for yuv in decoder
        .flush_remaining()
        .map_err(|e| damaged(shown, &e.to_string()))?
    {
        frames.push(to_frame(&yuv)?);
    }
    if frames.is_empty() {
        return Err(damaged(shown, "no frame could be decoded"));
    }
    let repeat = repeat as usize;
    let shown_frames = if repeat > 1 && frames.len() % repeat == 0 {
        frames = frames.into_iter().step_by(repeat).collect();
        frames.len()
    } else {
        sample_count as usize
    };
    let seconds = total_ticks as f64 / f64::from(timescale.max(1));
    let fps = fps_from_duration(seconds, shown_frames);
    Ok(Clip {
        frames,
        fps,
        looping: false,
        pixel_art: false,
        placement: Placement::default(),
    })
}

/// The repeat count Kinema's writer noted among the first sample's NAL units.
fn repeat_note(sample: &[u8], length_size: usize) -> Option<u32> {
    nal_units(sample, length_size)?
        .into_iter()
        .find_map(crate::output::parse_repeat_marker)
}

/// Replaces each length prefix with a start code; `None` if a length overruns the sample.
fn to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> Option<()> {
    for nal in nal_units(sample, length_size)? {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
    }
    Some(())
}

/// The NAL units of an MP4 sample (each preceded by its big-endian length); `None` if a
/// length overruns the sample.
fn nal_units(sample: &[u8], length_size: usize) -> Option<Vec<&[u8]>> {
    let mut units = Vec::new();
    let mut rest = sample;
    while !rest.is_empty() {
        let (len_bytes, tail) = rest.split_at_checked(length_size)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let (nal, tail) = tail.split_at_checked(len)?;
        units.push(nal);
        rest = tail;
    }
    Some(units)
}

fn to_frame(yuv: &DecodedYUV<'_>) -> Result<Frame> {
    let (w, h) = yuv.dimensions();
    let mut rgba = vec![0u8; w * h * 4];
    yuv.write_rgba8(&mut rgba);
    // The decoder leaves alpha as it found it; video is opaque.
    for p in rgba.chunks_exact_mut(4) {
        p[3] = 255;
    }
    Frame::from_rgba(w as u32, h as u32, rgba)
}

fn damaged(shown: &str, why: &str) -> Error {
    Error::invalid(
        format!("{shown} is not a readable MP4: {why}"),
        "re-export the video as H.264 MP4",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_become_start_codes() {
        let mut out = Vec::new();
        to_annex_b(&[0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x41], 4, &mut out).expect("valid");
        assert_eq!(out, vec![0, 0, 0, 1, 0x65, 0xaa, 0, 0, 0, 1, 0x41]);
        assert!(to_annex_b(&[0, 0, 0, 9, 0x65], 4, &mut Vec::new()).is_none());
    }

    #[test]
    fn garbage_after_ftyp_is_an_error_not_a_crash() {
        let mut bytes = vec![0, 0, 0, 16];
        bytes.extend_from_slice(b"ftypisom\0\0\0\0");
        bytes.extend_from_slice(&[0xff; 64]);
        assert!(read(&bytes, "bad.mp4").is_err());
    }
}
