use crate::{Error, Result};

/// Frame count, rate and seed of the clip to generate; what the user asked for in numbers.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClipSpec {
    pub frames: u32,
    pub fps: u32,
    /// Seed for every random choice an engine makes; the same seed gives the same frames.
    pub seed: u64,
    /// Make a seamless cycle: the frame after the last would be the first.
    pub looping: bool,
}

/// Two seconds at 12 fps, seed 0, not forced to loop: the same values front ends apply
/// (`kinema_jobs::defaults`, whose tests check that the two agree).
impl Default for ClipSpec {
    fn default() -> Self {
        ClipSpec {
            frames: 24,
            fps: 12,
            seed: 0,
            looping: false,
        }
    }
}

/// Bounds that keep a request from exhausting memory or time; checked before work starts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_frames: u32,
    pub max_fps: u32,
    /// Longest side of an output frame, in pixels.
    pub max_side: u32,
    /// Pixels of an input image, checked from its header before decoding: 4096 x 4096,
    /// the largest image whose every side fits `max_side`. The CLI, batches, suites and
    /// the service all apply this one value (`kinema_jobs::defaults::limits`).
    pub max_input_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frames: 2000,
            max_fps: 120,
            max_side: 4096,
            max_input_pixels: 4096 * 4096,
        }
    }
}

impl ClipSpec {
    /// Refuses zero or absurd values with a message that says the accepted range.
    pub fn validate(&self, limits: &Limits) -> Result<()> {
        if self.frames == 0 || self.frames > limits.max_frames {
            return Err(Error::invalid(
                format!("frame count {} is out of range", self.frames),
                format!("use --frames between 1 and {}", limits.max_frames),
            ));
        }
        if self.fps == 0 || self.fps > limits.max_fps {
            return Err(Error::invalid(
                format!("fps {} is out of range", self.fps),
                format!("use --fps between 1 and {}", limits.max_fps),
            ));
        }
        Ok(())
    }
}

/// What fills transparent pixels in formats or uses that need an opaque picture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Background {
    /// Keep alpha where the format has it; formats without alpha use white.
    #[default]
    Transparent,
    Solid([u8; 3]),
}

impl std::str::FromStr for Background {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("transparent") || t.eq_ignore_ascii_case("none") {
            return Ok(Background::Transparent);
        }
        let hex = t.strip_prefix('#').unwrap_or(t);
        let bad = || {
            Error::invalid(
                format!("background `{s}` is not a colour"),
                "use `transparent` or a hex colour such as `#20242c`",
            )
        };
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Background::Solid([byte(0)?, byte(2)?, byte(4)?]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_parses_hex_and_transparent() {
        assert_eq!(
            "transparent".parse::<Background>().unwrap(),
            Background::Transparent
        );
        assert_eq!(
            "#ff8000".parse::<Background>().unwrap(),
            Background::Solid([255, 128, 0])
        );
        assert_eq!(
            "00ff00".parse::<Background>().unwrap(),
            Background::Solid([0, 255, 0])
        );
        assert!("#ff80".parse::<Background>().is_err());
        assert!("blue".parse::<Background>().is_err());
    }

    #[test]
    fn spec_validation_names_the_range() {
        let l = Limits::default();
        let mut s = ClipSpec::default();
        assert!(s.validate(&l).is_ok());
        s.frames = 0;
        let e = s.validate(&l).unwrap_err();
        assert!(e.to_string().contains("--frames"), "{e}");
        s.frames = 10;
        s.fps = 100_000;
        assert!(s.validate(&l).unwrap_err().to_string().contains("--fps"));
    }
}
