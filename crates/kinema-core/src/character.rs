use crate::Frame;

/// A character ready for animation: its pixels with alpha as the subject mask.
///
/// Decoders and matting produce this; engines consume it. Alpha 0 is background,
/// 255 the subject, values between are anti-aliased or un-mixed edges.
#[derive(Clone, Debug)]
pub struct Character {
    pub image: Frame,
    /// Small, few colours, hard edges: animate and scale with nearest-neighbour.
    pub pixel_art: bool,
    /// A short name for logs and file stems (usually the file stem of the input).
    pub name: String,
}

impl Character {
    pub fn width(&self) -> u32 {
        self.image.width
    }

    pub fn height(&self) -> u32 {
        self.image.height
    }
}
