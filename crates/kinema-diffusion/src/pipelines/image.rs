//! Pixels in and out of the pipeline: RGBA frames ↔ `[0, 1]` tensors, and the resampling the
//! engine needs to fit a sprite into the model's grid and bring the result back.
//!
//! Resizing works on premultiplied alpha so transparent pixels never bleed their (arbitrary)
//! colour into the edges; pixel art uses nearest-neighbour so hard edges stay hard.

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Frame, Result};

/// How to resample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Pixel centres map to the nearest source pixel: for pixel art.
    Nearest,
    /// Bilinear when enlarging, area-averaging (box) when shrinking.
    Smooth,
}

/// An opaque frame as `[1, 3, H, W]` float32 in `[0, 1]` (alpha is ignored).
pub fn frame_to_tensor(frame: &Frame, device: &Device) -> Result<Tensor> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut data = vec![0f32; 3 * w * h];
    let plane = w * h;
    for (i, px) in frame.rgba.chunks_exact(4).enumerate() {
        for (c, &v) in px[..3].iter().enumerate() {
            data[c * plane + i] = v as f32 / 255.0;
        }
    }
    Tensor::from_vec(data, (1, 3, h, w), &Device::Cpu)
        .and_then(|t| t.to_device(device))
        .map_err(|e| Error::internal("cannot build the image tensor").with_source(e))
}

/// A video `[1, F, 3, H, W]` in `[0, 1]` to opaque frames (rounded to the nearest byte).
pub fn video_to_frames(video: &Tensor) -> Result<Vec<Frame>> {
    let err =
        |e: candle_core::Error| Error::internal("cannot read the video tensor").with_source(e);
    let &[1, f, 3, h, w] = video.dims() else {
        return Err(Error::internal(format!(
            "video tensor is {:?}, expected [1, F, 3, H, W]",
            video.dims()
        )));
    };
    let data: Vec<f32> = video
        .to_device(&Device::Cpu)
        .and_then(|v| v.to_dtype(DType::F32))
        .and_then(|v| v.flatten_all())
        .and_then(|v| v.to_vec1())
        .map_err(err)?;
    let plane = h * w;
    let to_byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    (0..f)
        .map(|fi| {
            let base = fi * 3 * plane;
            let mut rgba = Vec::with_capacity(plane * 4);
            for i in 0..plane {
                for c in 0..3 {
                    rgba.push(to_byte(data[base + c * plane + i]));
                }
                rgba.push(255);
            }
            Frame::from_rgba(w as u32, h as u32, rgba)
        })
        .collect()
}

/// Resizes an RGBA frame to `width × height`.
pub fn resize(frame: &Frame, width: u32, height: u32, filter: Filter) -> Frame {
    if frame.width == width && frame.height == height {
        return frame.clone();
    }
    if width == 0 || height == 0 || frame.width == 0 || frame.height == 0 {
        return Frame::new(width, height);
    }
    let premul = premultiply(frame);
    let sw = frame.width as usize;
    let sample = |x: usize, y: usize| -> [f32; 4] {
        let i = (y * sw + x) * 4;
        [premul[i], premul[i + 1], premul[i + 2], premul[i + 3]]
    };
    let sx = frame.width as f64 / width as f64;
    let sy = frame.height as f64 / height as f64;
    let mut out = Frame::new(width, height);
    for oy in 0..height {
        for ox in 0..width {
            let p = match filter {
                Filter::Nearest => {
                    let x = (((ox as f64 + 0.5) * sx) as usize).min(frame.width as usize - 1);
                    let y = (((oy as f64 + 0.5) * sy) as usize).min(frame.height as usize - 1);
                    sample(x, y)
                }
                Filter::Smooth if sx > 1.0 || sy > 1.0 => {
                    box_sample(&sample, frame, ox, oy, sx, sy)
                }
                Filter::Smooth => bilinear(&sample, frame, ox, oy, sx, sy),
            };
            out.set_pixel(ox, oy, unpremultiply(p));
        }
    }
    out
}

fn premultiply(frame: &Frame) -> Vec<f32> {
    frame
        .rgba
        .chunks_exact(4)
        .flat_map(|p| {
            let a = p[3] as f32 / 255.0;
            [
                p[0] as f32 * a,
                p[1] as f32 * a,
                p[2] as f32 * a,
                p[3] as f32,
            ]
        })
        .collect()
}

fn unpremultiply(p: [f32; 4]) -> [u8; 4] {
    let a = p[3].clamp(0.0, 255.0);
    if a < 0.5 {
        return [0, 0, 0, 0];
    }
    let k = 255.0 / a;
    let c = |v: f32| (v * k).round().clamp(0.0, 255.0) as u8;
    [c(p[0]), c(p[1]), c(p[2]), a.round() as u8]
}

fn bilinear(
    sample: &impl Fn(usize, usize) -> [f32; 4],
    frame: &Frame,
    ox: u32,
    oy: u32,
    sx: f64,
    sy: f64,
) -> [f32; 4] {
    let fx = ((ox as f64 + 0.5) * sx - 0.5).clamp(0.0, frame.width as f64 - 1.0);
    let fy = ((oy as f64 + 0.5) * sy - 0.5).clamp(0.0, frame.height as f64 - 1.0);
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let x1 = (x0 + 1).min(frame.width as usize - 1);
    let y1 = (y0 + 1).min(frame.height as usize - 1);
    let (tx, ty) = ((fx - x0 as f64) as f32, (fy - y0 as f64) as f32);
    let (a, b, c, d) = (
        sample(x0, y0),
        sample(x1, y0),
        sample(x0, y1),
        sample(x1, y1),
    );
    std::array::from_fn(|i| {
        let top = a[i] + (b[i] - a[i]) * tx;
        let bottom = c[i] + (d[i] - c[i]) * tx;
        top + (bottom - top) * ty
    })
}

/// Area average of the source rectangle the output pixel covers (partial pixels weighted).
fn box_sample(
    sample: &impl Fn(usize, usize) -> [f32; 4],
    frame: &Frame,
    ox: u32,
    oy: u32,
    sx: f64,
    sy: f64,
) -> [f32; 4] {
    let (x0, x1) = (
        ox as f64 * sx,
        ((ox + 1) as f64 * sx).min(frame.width as f64),
    );
    let (y0, y1) = (
        oy as f64 * sy,
        ((oy + 1) as f64 * sy).min(frame.height as f64),
    );
    let mut acc = [0f64; 4];
    let mut total = 0f64;
    let mut y = y0.floor();
    while y < y1 {
        let wy = (y1.min(y + 1.0) - y0.max(y)).max(0.0);
        let mut x = x0.floor();
        while x < x1 {
            let wx = (x1.min(x + 1.0) - x0.max(x)).max(0.0);
            let p = sample(x as usize, y as usize);
            for (a, v) in acc.iter_mut().zip(p) {
                *a += v as f64 * wx * wy;
            }
            total += wx * wy;
            x += 1.0;
        }
        y += 1.0;
    }
    let total = total.max(f64::MIN_POSITIVE);
    std::array::from_fn(|i| (acc[i] / total) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_round_trip_keeps_bytes() {
        let mut f = Frame::filled(3, 2, [10, 200, 30, 255]);
        f.set_pixel(2, 1, [255, 0, 128, 255]);
        let t = frame_to_tensor(&f, &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[1, 3, 2, 3]);
        let video = t.unsqueeze(1).unwrap();
        let back = video_to_frames(&video).unwrap();
        assert_eq!(back, vec![f]);
    }

    #[test]
    fn nearest_doubles_pixels_exactly() {
        let mut f = Frame::new(2, 1);
        f.set_pixel(0, 0, [255, 0, 0, 255]);
        f.set_pixel(1, 0, [0, 0, 255, 255]);
        let big = resize(&f, 4, 2, Filter::Nearest);
        assert_eq!(big.pixel(1, 1), [255, 0, 0, 255]);
        assert_eq!(big.pixel(2, 0), [0, 0, 255, 255]);
    }

    #[test]
    fn smooth_shrink_averages_and_ignores_transparent_colour() {
        // A 2x2 block of one opaque red and three transparent (garbage-coloured) pixels.
        let mut f = Frame::filled(2, 2, [0, 255, 0, 0]);
        f.set_pixel(0, 0, [255, 0, 0, 255]);
        let small = resize(&f, 1, 1, Filter::Smooth);
        let p = small.pixel(0, 0);
        assert_eq!(
            &p[..3],
            &[255, 0, 0],
            "no green bleed from transparent pixels"
        );
        assert!((p[3] as i32 - 64).abs() <= 1, "alpha {}", p[3]);
    }

    #[test]
    fn smooth_enlarge_of_flat_colour_is_flat() {
        let f = Frame::filled(3, 5, [12, 34, 56, 255]);
        let big = resize(&f, 7, 11, Filter::Smooth);
        assert!(big.rgba.chunks_exact(4).all(|p| p == [12, 34, 56, 255]));
    }
}
