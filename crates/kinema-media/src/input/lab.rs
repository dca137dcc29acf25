//! sRGB to CIE L*a*b*, so background tolerances match what a person sees as "the same colour".

/// A colour in CIE L*a*b* (D65), where Euclidean distance approximates perceived difference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lab {
    pub l: f32,
    pub a: f32,
    pub b: f32,
}

impl Lab {
    /// CIE76 ΔE: about 2.3 is a just-noticeable difference, above ~10 colours look distinct.
    #[inline]
    pub fn delta_e(self, other: Lab) -> f32 {
        let (dl, da, db) = (self.l - other.l, self.a - other.a, self.b - other.b);
        (dl * dl + da * da + db * db).sqrt()
    }
}

/// Converts one 8-bit sRGB colour; `LabTable` is faster for whole images.
pub fn srgb_to_lab(rgb: [u8; 3]) -> Lab {
    let lin = |c: u8| {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(rgb[0]), lin(rgb[1]), lin(rgb[2]));
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let f = |t: f32| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    Lab {
        l: 116.0 * fy - 16.0,
        a: 500.0 * (fx - fy),
        b: 200.0 * (fy - fz),
    }
}

/// Lab of every pixel of an RGBA buffer (alpha ignored).
pub fn image_to_lab(rgba: &[u8]) -> Vec<Lab> {
    rgba.chunks_exact(4)
        .map(|p| srgb_to_lab([p[0], p[1], p[2]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_colours_convert_correctly() {
        let white = srgb_to_lab([255, 255, 255]);
        assert!(
            (white.l - 100.0).abs() < 0.1 && white.a.abs() < 0.1 && white.b.abs() < 0.1,
            "{white:?}"
        );
        let black = srgb_to_lab([0, 0, 0]);
        assert!(black.l.abs() < 0.01);
        // sRGB red is about L 53.24, a 80.09, b 67.20.
        let red = srgb_to_lab([255, 0, 0]);
        assert!(
            (red.l - 53.24).abs() < 0.2
                && (red.a - 80.09).abs() < 0.3
                && (red.b - 67.20).abs() < 0.3,
            "{red:?}"
        );
    }

    #[test]
    fn delta_e_is_small_for_near_colours_and_large_for_distinct_ones() {
        let a = srgb_to_lab([120, 180, 90]);
        assert!(a.delta_e(srgb_to_lab([121, 179, 91])) < 1.5);
        assert!(a.delta_e(srgb_to_lab([200, 40, 60])) > 40.0);
    }
}
