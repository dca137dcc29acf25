//! Animated PNG: lossless, full 8-bit alpha, loops forever; the best format for engines
//! and web pages that need the character over their own backgrounds.

use std::io::Write;

use kinema_core::{Clip, Error, Result};

/// Encodes every frame as a full replacement (blend = source, dispose = none), so players
/// need no compositing state and frames with transparency never smear into each other.
pub fn encode(clip: &Clip, w: &mut impl Write) -> Result<()> {
    let fail = |e: png::EncodingError| Error::internal("APNG encoding failed").with_source(e);
    let frames = u32::try_from(clip.len())
        .map_err(|_| Error::invalid("too many frames for APNG", "use fewer --frames"))?;
    let fps = u16::try_from(clip.fps.max(1))
        .map_err(|_| Error::invalid("fps too high for APNG", "use a lower --fps"))?;
    let mut enc = png::Encoder::new(w, clip.width(), clip.height());
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.set_animated(frames, 0).map_err(fail)?;
    enc.set_frame_delay(1, fps).map_err(fail)?;
    enc.set_dispose_op(png::DisposeOp::None).map_err(fail)?;
    enc.set_blend_op(png::BlendOp::Source).map_err(fail)?;
    let mut writer = enc.write_header().map_err(fail)?;
    for frame in &clip.frames {
        writer.write_image_data(&frame.rgba).map_err(fail)?;
    }
    writer.finish().map_err(fail)?;
    Ok(())
}
