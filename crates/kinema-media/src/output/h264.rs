//! H.264 encoding with OpenH264: RGB to BT.601 YUV 4:2:0, then one access unit per frame,
//! split into NAL units so the muxer can store them the MP4 way (length-prefixed).

use kinema_core::{Clip, Error, Frame, Result};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, QpRange,
    RateControlMode, UsageType, VuiConfig,
};
use openh264::formats::YUVBuffer;
use openh264::{OpenH264API, Timestamp};
use rayon::prelude::*;

/// OpenH264 refuses frames beyond this (level 5.2).
pub const MAX_LONG_SIDE: u32 = 3840;
pub const MAX_SHORT_SIDE: u32 = 2160;
/// Quantiser bounds: low enough that sprite outlines stay crisp, the top bound keeps
/// rate control from smearing detail when a frame changes a lot.
const QP_MIN: u8 = 10;
const QP_MAX: u8 = 30;
/// Bits per pixel per frame for the rate target; generous because clips are short and
/// flat-shaded art compresses well anyway.
const BITS_PER_PIXEL: f64 = 0.25;

/// The encoded stream: parameter sets once, then one sample (length-prefixed NALs) a frame.
pub struct H264Stream {
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
    pub samples: Vec<Sample>,
}

pub struct Sample {
    /// NAL units, each preceded by its 4-byte big-endian length (the `avcC` convention).
    pub data: Vec<u8>,
    pub keyframe: bool,
}

/// Encodes every frame of an opaque, even-sized clip, each `repeat` times in a row at
/// `clip.fps * repeat` frames per second (see [`super::mp4::playback_rate`]). Repeats
/// of an unchanged picture cost a few bytes each; a marker in the first sample
/// ([`repeat_marker`]) lets readers give back the clip's own frames.
pub fn encode(clip: &Clip, repeat: u32) -> Result<H264Stream> {
    let repeat = repeat.max(1);
    let (w, h) = (clip.width(), clip.height());
    if w % 2 == 1 || h % 2 == 1 || w == 0 || h == 0 {
        return Err(Error::internal(format!(
            "H.264 needs even frame sides, got {w}x{h}"
        )));
    }
    if w.max(h) > MAX_LONG_SIDE || w.min(h) > MAX_SHORT_SIDE {
        return Err(Error::invalid(
            format!("{w}x{h} is larger than MP4 (H.264) output supports ({MAX_LONG_SIDE}x{MAX_SHORT_SIDE})"),
            "use --size or a smaller --scale, or write APNG/GIF instead",
        ));
    }
    let fps = clip.fps.max(1) * repeat;
    let bitrate = (f64::from(w) * f64::from(h) * f64::from(fps) * BITS_PER_PIXEL)
        .clamp(500_000.0, 50_000_000.0) as u32;
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bitrate))
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .rate_control_mode(RateControlMode::Off)
        .skip_frames(false)
        .usage_type(UsageType::CameraVideoRealTime)
        .complexity(Complexity::Low)
        .qp(QpRange::new(QP_MIN, QP_MAX))
        .intra_frame_period(IntraFramePeriod::from_num_frames(fps * 2))
        .scene_change_detect(false)
        .background_detection(false)
        .num_threads(0)
        .vui(VuiConfig::bt601());
    let h264_error =
        |e: openh264::Error| Error::internal("the H.264 encoder failed").with_source(e);
    let mut encoder =
        Encoder::with_api_config(OpenH264API::from_source(), config).map_err(h264_error)?;

    let planes: Vec<Vec<u8>> = clip.frames.par_iter().map(rgb_to_yuv420).collect();
    let (mut sps, mut pps) = (None, None);
    let mut samples = Vec::with_capacity(clip.len() * repeat as usize);
    let shown = planes.into_iter().flat_map(|yuv| {
        let source = YUVBuffer::from_vec(yuv, w as usize, h as usize);
        std::iter::repeat_n(std::rc::Rc::new(source), repeat as usize)
    });
    for (i, source) in shown.enumerate() {
        let at = Timestamp::from_millis(i as u64 * 1000 / u64::from(fps));
        let bitstream = encoder.encode_at(source.as_ref(), at).map_err(h264_error)?;
        let mut data = Vec::new();
        let mut keyframe = false;
        for l in 0..bitstream.num_layers() {
            let Some(layer) = bitstream.layer(l) else {
                continue;
            };
            for n in 0..layer.nal_count() {
                let Some(nal) = layer.nal_unit(n).map(strip_start_code) else {
                    continue;
                };
                match nal.first().map(|b| b & 0x1f) {
                    Some(7) => sps = sps.or_else(|| Some(nal.to_vec())),
                    Some(8) => pps = pps.or_else(|| Some(nal.to_vec())),
                    Some(t) => {
                        keyframe |= t == 5;
                        data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                        data.extend_from_slice(nal);
                    }
                    None => {}
                }
            }
        }
        if data.is_empty() {
            return Err(Error::internal(format!(
                "the H.264 encoder produced no data for frame {i}"
            )));
        }
        if i == 0 && repeat > 1 {
            // SEI goes before the picture's slices in its access unit.
            let marker = repeat_marker(repeat);
            let mut first = (marker.len() as u32).to_be_bytes().to_vec();
            first.extend_from_slice(&marker);
            first.extend_from_slice(&data);
            data = first;
        }
        samples.push(Sample { data, keyframe });
    }
    match (sps, pps) {
        (Some(sps), Some(pps)) if sps.len() >= 4 => Ok(H264Stream { sps, pps, samples }),
        _ => Err(Error::internal(
            "the H.264 encoder produced no parameter sets",
        )),
    }
}

/// Identifies Kinema's frame-repeat note among SEI user data (any 16 bytes unique to us).
const REPEAT_MARKER_UUID: &[u8; 16] = b"kinema-frame-rep";

/// An SEI NAL unit (user data unregistered) saying every frame is stored `repeat` times.
/// Decoders and players skip user data they do not know.
pub fn repeat_marker(repeat: u32) -> Vec<u8> {
    let mut payload = REPEAT_MARKER_UUID.to_vec();
    payload.extend_from_slice(format!("repeat={repeat}").as_bytes());
    // nal_ref_idc 0, type 6 (SEI); payload type 5, size, payload, stop bit.
    let mut rbsp = vec![5, payload.len() as u8];
    rbsp.extend_from_slice(&payload);
    rbsp.push(0x80);
    let mut nal = vec![0x06];
    nal.extend(escape_emulation(&rbsp));
    nal
}

/// The repeat count of a [`repeat_marker`] NAL unit, or `None` for any other NAL.
pub fn parse_repeat_marker(nal: &[u8]) -> Option<u32> {
    let (&header, rest) = nal.split_first()?;
    if header & 0x1f != 6 {
        return None;
    }
    let rbsp = unescape_emulation(rest);
    let (&kind, rest) = rbsp.split_first()?;
    let (&size, rest) = rest.split_first()?;
    let payload = rest.get(..usize::from(size))?;
    if kind != 5 {
        return None;
    }
    let text = payload.strip_prefix(REPEAT_MARKER_UUID.as_slice())?;
    let n: u32 = std::str::from_utf8(text)
        .ok()?
        .strip_prefix("repeat=")?
        .parse()
        .ok()?;
    (n >= 1).then_some(n)
}

/// Inserts H.264's emulation-prevention byte (3) so no start code appears in the payload.
fn escape_emulation(rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + 4);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

fn unescape_emulation(ebsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ebsp.len());
    let mut zeros = 0;
    for &b in ebsp {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    nal.strip_prefix(&[0, 0, 0, 1])
        .or_else(|| nal.strip_prefix(&[0, 0, 1]))
        .unwrap_or(nal)
}

/// BT.601 limited-range Y'CbCr 4:2:0 (what browsers assume for this VUI), chroma averaged
/// over each 2x2 block, rounded rather than truncated so flat colours do not drift.
pub fn rgb_to_yuv420(frame: &Frame) -> Vec<u8> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let (cw, ch) = (w / 2, h / 2);
    let mut out = vec![0u8; w * h + 2 * cw * ch];
    let (y_plane, chroma) = out.split_at_mut(w * h);
    let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
    let luma = |p: &[u8]| {
        let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
        (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
    };
    let rows = frame
        .rgba
        .chunks_exact(w * 8)
        .zip(y_plane.chunks_exact_mut(w * 2));
    let chroma_rows = u_plane
        .chunks_exact_mut(cw)
        .zip(v_plane.chunks_exact_mut(cw));
    for ((rgba, ys), (us, vs)) in rows.zip(chroma_rows) {
        let (top, bottom) = rgba.split_at(w * 4);
        let (y_top, y_bottom) = ys.split_at_mut(w);
        for (x, (t, b)) in top.chunks_exact(8).zip(bottom.chunks_exact(8)).enumerate() {
            y_top[2 * x] = luma(&t[..4]);
            y_top[2 * x + 1] = luma(&t[4..]);
            y_bottom[2 * x] = luma(&b[..4]);
            y_bottom[2 * x + 1] = luma(&b[4..]);
            let avg = |c: usize| {
                (i32::from(t[c]) + i32::from(t[c + 4]) + i32::from(b[c]) + i32::from(b[c + 4]) + 2)
                    >> 2
            };
            let (r, g, b) = (avg(0), avg(1), avg(2));
            us[x] = (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
            vs[x] = (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_markers_round_trip_and_other_nals_are_ignored() {
        for n in [2, 3, 24, 256] {
            assert_eq!(parse_repeat_marker(&repeat_marker(n)), Some(n));
        }
        assert_eq!(parse_repeat_marker(&[0x65, 0x88, 0x84]), None, "a slice");
        assert_eq!(parse_repeat_marker(&[0x06, 5, 3, 1, 2, 3, 0x80]), None);
        assert_eq!(
            escape_emulation(&[0, 0, 1, 0, 0, 0]),
            vec![0, 0, 3, 1, 0, 0, 3, 0]
        );
        assert_eq!(
            unescape_emulation(&escape_emulation(&[0, 0, 0, 0, 3, 7])),
            vec![0, 0, 0, 0, 3, 7]
        );
    }

    #[test]
    fn reference_colours_map_to_studio_range() {
        let mut f = Frame::filled(2, 2, [255, 255, 255, 255]);
        assert_eq!(rgb_to_yuv420(&f), vec![235, 235, 235, 235, 128, 128]);
        f = Frame::filled(2, 2, [0, 0, 0, 255]);
        assert_eq!(rgb_to_yuv420(&f), vec![16, 16, 16, 16, 128, 128]);
        f = Frame::filled(2, 2, [255, 0, 0, 255]);
        let red = rgb_to_yuv420(&f);
        assert_eq!((red[0], red[4], red[5]), (82, 90, 240));
    }
}
