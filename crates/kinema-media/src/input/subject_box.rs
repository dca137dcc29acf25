//! `--box X,Y,W,H`: where in the picture the character is.

use std::fmt;
use std::str::FromStr;

use image::RgbaImage;
use kinema_core::{Error, Result};

/// A rectangle around the character, in pixels of the input image. Everything outside it
/// is background; inside it, the foreground extraction looks for the character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubjectBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

const SYNTAX_HINT: &str =
    "write the box as X,Y,W,H in pixels of the image: left, top, width, height (e.g. 40,10,200,300)";

impl FromStr for SubjectBox {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = |why: String| Error::invalid(format!("--box {s:?}: {why}"), SYNTAX_HINT);
        if parts.len() != 4 {
            return Err(bad(format!("expected 4 numbers, got {}", parts.len())));
        }
        let mut v = [0u32; 4];
        for (slot, part) in v.iter_mut().zip(&parts) {
            *slot = part
                .parse()
                .map_err(|_| bad(format!("`{part}` is not a whole number of pixels")))?;
        }
        SubjectBox::from_array(v)
    }
}

impl fmt::Display for SubjectBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{},{}", self.x, self.y, self.width, self.height)
    }
}

impl SubjectBox {
    /// From `[x, y, width, height]`, as manifests and the service's JSON give it.
    pub fn from_array([x, y, width, height]: [u32; 4]) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::invalid(
                format!("the box {x},{y},{width},{height} is empty"),
                SYNTAX_HINT,
            ));
        }
        Ok(SubjectBox {
            x,
            y,
            width,
            height,
        })
    }

    /// Checks the box against the decoded image, so a box meant for another picture (or a
    /// typo) is caught before it silently erases the character.
    pub fn check_within(&self, width: u32, height: u32) -> Result<()> {
        let right = u64::from(self.x) + u64::from(self.width);
        let bottom = u64::from(self.y) + u64::from(self.height);
        if right > u64::from(width) || bottom > u64::from(height) {
            return Err(Error::invalid(
                format!(
                    "the box {self} reaches to ({right}, {bottom}), outside the {width}x{height} image"
                ),
                "give the box in pixels of this image: X+W must be at most its width, Y+H at most its height",
            ));
        }
        Ok(())
    }

    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x - self.x < self.width && y - self.y < self.height
    }

    /// Makes everything outside the box transparent.
    pub fn clear_outside(&self, img: &mut RgbaImage) {
        for (x, y, p) in img.enumerate_pixels_mut() {
            if !self.contains(x, y) {
                p.0 = [0, 0, 0, 0];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_x_y_w_h() {
        let b: SubjectBox = " 4, 5,30 ,40".parse().expect("parses");
        assert_eq!(
            b,
            SubjectBox {
                x: 4,
                y: 5,
                width: 30,
                height: 40
            }
        );
        assert_eq!(b.to_string(), "4,5,30,40");
        assert!(b.contains(4, 5) && b.contains(33, 44));
        assert!(!b.contains(34, 5) && !b.contains(4, 45) && !b.contains(3, 5));
    }

    #[test]
    fn bad_boxes_say_what_is_wrong() {
        for (text, needle) in [
            ("1,2,3", "expected 4 numbers"),
            ("1,2,x,4", "`x` is not a whole number"),
            ("1,2,-3,4", "`-3` is not a whole number"),
            ("1,2,0,4", "is empty"),
        ] {
            let e = text.parse::<SubjectBox>().expect_err(text);
            assert!(e.message.contains(needle), "{text}: {e}");
            assert!(
                e.hint.as_deref().is_some_and(|h| h.contains("X,Y,W,H")),
                "{e}"
            );
        }
        let b = SubjectBox::from_array([10, 10, 50, 50]).expect("box");
        assert!(b.check_within(60, 60).is_ok());
        let e = b.check_within(59, 80).expect_err("too wide");
        assert!(
            e.message.contains("(60, 60)") && e.message.contains("59x80"),
            "{e}"
        );
    }
}
