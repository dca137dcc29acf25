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

/// sRGB's transfer curve undone: linear light of an 8-bit channel value.
fn linear(c: u8) -> f32 {
    let c = f32::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Converts one 8-bit sRGB colour; [`image_to_lab`] is faster for whole images.
pub fn srgb_to_lab(rgb: [u8; 3]) -> Lab {
    let (r, g, b) = (linear(rgb[0]), linear(rgb[1]), linear(rgb[2]));
    linear_to_lab(r, g, b)
}

fn linear_to_lab(r: f32, g: f32, b: f32) -> Lab {
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

/// Lab of every pixel of an RGBA buffer (alpha ignored), with the transfer curve read
/// from a 256-entry table (it was half the cost of matting a large picture).
pub fn image_to_lab(rgba: &[u8]) -> Vec<Lab> {
    let table: Vec<f32> = (0..=255u8).map(linear).collect();
    let lin = |c: u8| table[usize::from(c)];
    rgba.chunks_exact(4)
        .map(|p| linear_to_lab(lin(p[0]), lin(p[1]), lin(p[2])))
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
    fn the_table_path_matches_the_direct_one() {
        let px = [12u8, 200, 77, 255, 255, 255, 255, 0, 3, 90, 180, 255];
        for (lab, p) in image_to_lab(&px).iter().zip(px.chunks_exact(4)) {
            assert_eq!(*lab, srgb_to_lab([p[0], p[1], p[2]]));
        }
    }

    #[test]
    fn delta_e_is_small_for_near_colours_and_large_for_distinct_ones() {
        let a = srgb_to_lab([120, 180, 90]);
        assert!(a.delta_e(srgb_to_lab([121, 179, 91])) < 1.5);
        assert!(a.delta_e(srgb_to_lab([200, 40, 60])) > 40.0);
    }
}
