//! MP4/H.264 back to RGBA: demux with `mp4`, turn length-prefixed NAL units into an
//! Annex-B stream (what OpenH264 decodes), decode, convert YUV to RGB.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use kinema_core::{Clip, Error, Frame, Placement, Result};
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use super::fps_from_duration;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// One decoded picture of a video, in presentation order.
#[derive(Clone, Debug)]
pub struct VideoFrame {
    /// 0 for the first picture shown.
    pub index: usize,
    /// When it is shown, in seconds from the first picture.
    pub time: f64,
    /// Opaque RGBA.
    pub frame: Frame,
}

/// The shape of a decoded video track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    /// Sum of the sample durations.
    pub seconds: f64,
}

pub fn read(bytes: &[u8], shown: &str) -> Result<Clip> {
    let mut frames = Vec::new();
    let info = guarded(shown, || {
        decode(
            Cursor::new(bytes),
            bytes.len() as u64,
            shown,
            &mut |f: VideoFrame| {
                frames.push(f.frame);
                Ok(())
            },
        )
    })?;
    let fps = fps_from_duration(info.seconds, info.frames);
    Ok(Clip {
        frames,
        fps,
        looping: false,
        pixel_art: false,
        placement: Placement::default(),
    })
}

/// Decodes an H.264 MP4 file one picture at a time, handing each to `visit` in
/// presentation order, so a long or large video never has to fit in memory at once.
/// Stops at the first error `visit` returns.
pub fn visit_video(
    path: &Path,
    visit: &mut dyn FnMut(VideoFrame) -> Result<()>,
) -> Result<VideoInfo> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| {
        Error::invalid(format!("cannot read the video {shown}"), "check the path").with_source(e)
    })?;
    let size = file
        .metadata()
        .map_err(|e| {
            Error::invalid(format!("cannot read the video {shown}"), "check the path")
                .with_source(e)
        })?
        .len();
    let reader = std::io::BufReader::new(file);
    guarded(&shown, || decode(reader, size, &shown, visit))
}

/// `mp4` and the decoder wrapper assert on some malformed inputs; a damaged file must be
/// an error, not a crash.
fn guarded<T>(shown: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(damaged(shown, "the MP4 structure is invalid")))
}

fn decode<R: Read + Seek>(
    reader: R,
    size: u64,
    shown: &str,
    visit: &mut dyn FnMut(VideoFrame) -> Result<()>,
) -> Result<VideoInfo> {
    let mut mp4 =
        mp4::Mp4Reader::read_header(reader, size).map_err(|e| damaged(shown, &e.to_string()))?;
    let track = mp4
        .tracks()
        .values()
        .find(|t| matches!(t.media_type(), Ok(mp4::MediaType::H264)))
        .ok_or_else(|| {
            Error::unsupported(format!("{shown} has no H.264 video track")).with_hint(
                "Kinema reads H.264 MP4 files (what it writes, and what video services deliver)",
            )
        })?;
    let track_id = track.track_id();
    let timescale = f64::from(track.timescale().max(1));
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
    // The decoder returns pictures in presentation order; when picture k comes out, every
    // sample shown before it has been fed, so its time is the smallest one not yet used.
    let mut pending_times: BinaryHeap<Reverse<i64>> = BinaryHeap::new();
    let mut first_time: Option<i64> = None;
    let mut info = VideoInfo {
        width: 0,
        height: 0,
        frames: 0,
        seconds: 0.0,
    };
    let mut total_ticks = 0u64;
    let mut annex_b = Vec::new();
    // Kinema stores each frame `repeat` times to play at a standard rate; the note in the
    // first sample says so, and reading gives back the clip's own frames.
    let mut repeat = 1usize;
    let mut decoded_count = 0usize;
    let mut emit = |yuv: &DecodedYUV<'_>,
                    times: &mut BinaryHeap<Reverse<i64>>,
                    info: &mut VideoInfo,
                    repeat: usize|
     -> Result<()> {
        let ticks = times.pop().map_or(0, |Reverse(t)| t);
        let first = *first_time.get_or_insert(ticks);
        let copy = decoded_count % repeat.max(1);
        decoded_count += 1;
        if copy != 0 {
            return Ok(());
        }
        let frame = to_frame(yuv)?;
        info.width = frame.width;
        info.height = frame.height;
        let index = info.frames;
        info.frames += 1;
        visit(VideoFrame {
            index,
            time: (ticks - first).max(0) as f64 / timescale,
            frame,
        })
    };
    for id in 1..=sample_count {
        let Some(sample) = mp4
            .read_sample(track_id, id)
            .map_err(|e| damaged(shown, &e.to_string()))?
        else {
            continue;
        };
        total_ticks += u64::from(sample.duration);
        pending_times.push(Reverse(
            sample.start_time as i64 + i64::from(sample.rendering_offset),
        ));
        annex_b.clear();
        if id == 1 {
            annex_b.extend_from_slice(&prefix);
            repeat = repeat_note(&sample.bytes, length_size).unwrap_or(1) as usize;
        }
        to_annex_b(&sample.bytes, length_size, &mut annex_b)
            .ok_or_else(|| damaged(shown, "a sample's NAL lengths are wrong"))?;
        let decoded = decoder
            .decode(&annex_b)
            .map_err(|e| damaged(shown, &e.to_string()))?;
        if let Some(yuv) = decoded {
            emit(&yuv, &mut pending_times, &mut info, repeat)?;
        }
    }
    for yuv in decoder
        .flush_remaining()
        .map_err(|e| damaged(shown, &e.to_string()))?
    {
        emit(&yuv, &mut pending_times, &mut info, repeat)?;
    }
    if info.frames == 0 {
        return Err(damaged(shown, "no frame could be decoded"));
    }
    info.seconds = total_ticks as f64 / timescale;
    Ok(info)
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
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.mp4");
        std::fs::write(&path, &bytes).expect("write");
        assert!(visit_video(&path, &mut |_| Ok(())).is_err());
    }
}
