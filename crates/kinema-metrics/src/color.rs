//! sRGB to CIE L*a*b* (D65), the space where Euclidean distance approximates what people
//! see as colour difference (ΔE*ab, CIE 1976).

use std::sync::OnceLock;

/// A colour in CIE L*a*b*: L in 0..=100, a and b roughly −128..=127.
pub type Lab = [f32; 3];

/// sRGB byte to linear light, tabulated once: the transfer curve is the slow part.
fn linear_table() -> &'static [f32; 256] {
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0.0f32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            let c = i as f64 / 255.0;
            let lin = if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            };
            *v = lin as f32;
        }
        t
    })
}

/// Converts an sRGB colour to L*a*b* relative to the D65 white point.
pub fn srgb_to_lab(rgb: [u8; 3]) -> Lab {
    let t = linear_table();
    let (r, g, b) = (t[rgb[0] as usize], t[rgb[1] as usize], t[rgb[2] as usize]);
    // sRGB primaries to XYZ, normalised by the D65 white (0.95047, 1.0, 1.08883).
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let f = |t: f32| {
        const DELTA: f32 = 6.0 / 29.0;
        if t > DELTA * DELTA * DELTA {
            t.cbrt()
        } else {
            t / (3.0 * DELTA * DELTA) + 4.0 / 29.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIE76 colour difference ΔE*ab.
pub fn delta_e(p: Lab, q: Lab) -> f32 {
    ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()
}

/// Rotates the hue of an sRGB colour by `degrees` in HSV, keeping saturation and value.
///
/// Test fixtures and the docs' worked examples use it to make "same sprite, other colours".
pub fn rotate_hue(rgb: [u8; 3], degrees: f32) -> [u8; 3] {
    let [r, g, b] = rgb.map(|c| c as f32 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let chroma = max - min;
    if chroma <= 0.0 {
        return rgb;
    }
    let hue = if max == r {
        ((g - b) / chroma).rem_euclid(6.0)
    } else if max == g {
        (b - r) / chroma + 2.0
    } else {
        (r - g) / chroma + 4.0
    } * 60.0;
    let h = (hue + degrees).rem_euclid(360.0) / 60.0;
    let x = chroma * (1.0 - (h.rem_euclid(2.0) - 1.0).abs());
    let (r1, g1, b1) = match h as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = max - chroma;
    [r1, g1, b1].map(|c| ((c + m) * 255.0).round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Lab, b: Lab, tol: f32) -> bool {
        delta_e(a, b) < tol
    }

    #[test]
    fn reference_colours_match_published_lab_values() {
        assert!(close(srgb_to_lab([255, 255, 255]), [100.0, 0.0, 0.0], 0.05));
        assert!(close(srgb_to_lab([0, 0, 0]), [0.0, 0.0, 0.0], 0.05));
        // sRGB red is L 53.24, a 80.09, b 67.20 (D65).
        assert!(close(srgb_to_lab([255, 0, 0]), [53.24, 80.09, 67.20], 0.1));
        assert!(close(
            srgb_to_lab([0, 0, 255]),
            [32.30, 79.19, -107.86],
            0.1
        ));
    }

    #[test]
    fn hue_rotation_round_trips_and_keeps_greys() {
        assert_eq!(rotate_hue([255, 0, 0], 120.0), [0, 255, 0]);
        assert_eq!(rotate_hue([30, 160, 90], 0.0), [30, 160, 90]);
        assert_eq!(
            rotate_hue(rotate_hue([30, 160, 90], 45.0), -45.0),
            [30, 160, 90]
        );
        assert_eq!(rotate_hue([77, 77, 77], 90.0), [77, 77, 77]);
    }
}
