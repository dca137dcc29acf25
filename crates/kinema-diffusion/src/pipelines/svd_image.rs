//! What Stable Video Diffusion does to the conditioning image before CLIP sees it.
//!
//! diffusers' `StableVideoDiffusionPipeline._encode_image` treats its inputs differently
//! by type, and the difference is large: a **tensor** is only normalised with the feature
//! extractor's mean and std, at its own size (so it must already be CLIP's size); a **PIL
//! image or array** is mapped to `[-1, 1]`, blurred and bicubically resized to 224×224 by
//! `_resize_with_antialiasing`, mapped back, then normalised. Kinema's engine holds decoded
//! image bytes, i.e. the PIL case; the parity suite checks both.
//!
//! The resize is reproduced exactly: Gaussian kernels of σ = max((factor − 1)/2, 0.001) and
//! odd size ≥ 3, reflect padding, then bicubic interpolation (A = −0.75) with
//! `align_corners=True`, all in float32 as torch computes them.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};

/// OpenAI CLIP's normalisation, `CLIPImageProcessor`'s defaults.
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_6, 0.275_777_1];

/// The side diffusers resizes PIL and array inputs to, whatever CLIP's `image_size`.
pub const CLIP_RESIZE: usize = 224;

/// How the conditioning image was handed to diffusers (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageInput {
    /// A `[0, 1]` tensor: normalised at its own size.
    Tensor,
    /// A PIL image (or array): antialiased resize to 224×224, then normalised.
    Pil,
}

/// The feature extractor's `image_mean` and `image_std` (`feature_extractor/
/// preprocessor_config.json`; the pipeline always normalises, whatever `do_normalize` says).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipNormalisation {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Default for ClipNormalisation {
    fn default() -> Self {
        ClipNormalisation {
            mean: CLIP_MEAN,
            std: CLIP_STD,
        }
    }
}

impl ClipNormalisation {
    /// Reads `<dir>/preprocessor_config.json`; absent values keep CLIP's defaults.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("preprocessor_config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::model(format!("cannot read {}", path.display()))
                .with_source(e)
                .with_hint("the model folder needs feature_extractor/preprocessor_config.json; download it completely")
        })?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::model(format!("{} is not valid JSON: {e}", path.display())))?;
        let triple = |key: &str, default: [f32; 3]| -> Result<[f32; 3]> {
            let Some(value) = v.get(key) else {
                return Ok(default);
            };
            let list = value
                .as_array()
                .filter(|a| a.len() == 3)
                .and_then(|a| a.iter().map(|x| x.as_f64()).collect::<Option<Vec<_>>>())
                .ok_or_else(|| {
                    Error::model(format!("{}: `{key}` must be 3 numbers", path.display()))
                })?;
            Ok([list[0] as f32, list[1] as f32, list[2] as f32])
        };
        let n = ClipNormalisation {
            mean: triple("image_mean", CLIP_MEAN)?,
            std: triple("image_std", CLIP_STD)?,
        };
        if n.std.contains(&0.0) {
            return Err(Error::model(format!(
                "{}: image_std must not contain 0",
                path.display()
            )));
        }
        Ok(n)
    }

    /// `(x − mean) / std` per channel of `[B, 3, H, W]` in float32.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let dev = x.device();
        let run = || -> candle_core::Result<Tensor> {
            let mean = Tensor::new(&self.mean, dev)?.reshape((1, 3, 1, 1))?;
            let std = Tensor::new(&self.std, dev)?.reshape((1, 3, 1, 1))?;
            x.to_dtype(DType::F32)?
                .broadcast_sub(&mean)?
                .broadcast_div(&std)
        };
        run().map_err(|e| Error::internal("CLIP normalisation failed").with_source(e))
    }
}

/// The CLIP `pixel_values` for an image `[B, 3, H, W]` in `[0, 1]`.
pub fn clip_pixels(
    image: &Tensor,
    input: ImageInput,
    normalisation: &ClipNormalisation,
) -> Result<Tensor> {
    let x = match input {
        ImageInput::Tensor => image.to_dtype(DType::F32).map_err(tensor_err)?,
        ImageInput::Pil => {
            let signed = image
                .to_dtype(DType::F32)
                .and_then(|t| t.affine(2.0, -1.0))
                .map_err(tensor_err)?;
            let resized = resize_with_antialiasing(&signed, CLIP_RESIZE, CLIP_RESIZE)?;
            // diffusers: (x + 1.0) / 2.0, a true division.
            (resized + 1.0)
                .and_then(|t| t.broadcast_div(&Tensor::new(&[2f32], t.device())?))
                .map_err(tensor_err)?
        }
    };
    normalisation.apply(&x)
}

fn tensor_err(e: candle_core::Error) -> Error {
    Error::internal("CLIP image preprocessing failed").with_source(e)
}

/// diffusers' `_resize_with_antialiasing(x, (height, width))` on `[B, C, H, W]` (float32).
pub fn resize_with_antialiasing(x: &Tensor, height: usize, width: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4().map_err(|_| {
        Error::invalid(
            format!("antialiased resize needs [B, C, H, W], got {:?}", x.dims()),
            "pass a batch of images",
        )
    })?;
    if h < 2 || w < 2 || height < 2 || width < 2 {
        return Err(Error::invalid(
            format!("cannot resize {w}x{h} to {width}x{height}"),
            "images and targets must be at least 2×2",
        ));
    }
    let device = x.device().clone();
    let data: Vec<f32> = x
        .to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1())
        .map_err(tensor_err)?;
    let (sy, sx) = (blur_sigma(h, height), blur_sigma(w, width));
    let (ky, kx) = (
        gaussian_kernel(kernel_size(sy), sy),
        gaussian_kernel(kernel_size(sx), sx),
    );
    let mut out = Vec::with_capacity(b * c * height * width);
    for plane in data.chunks_exact(h * w) {
        let blurred_x = filter(plane, h, w, &kx, true);
        let blurred = filter(&blurred_x, h, w, &ky, false);
        out.extend(bicubic_align_corners(&blurred, h, w, height, width));
    }
    Tensor::from_vec(out, (b, c, height, width), &Device::Cpu)
        .and_then(|t| t.to_device(&device))
        .map_err(tensor_err)
}

/// `max((in/out − 1)/2, 0.001)` in float64, as diffusers computes it in Python.
fn blur_sigma(input: usize, output: usize) -> f64 {
    ((input as f64 / output as f64 - 1.0) / 2.0).max(0.001)
}

/// `int(max(4σ, 3))`, made odd.
fn kernel_size(sigma: f64) -> usize {
    let k = (2.0 * 2.0 * sigma).max(3.0) as usize;
    if k.is_multiple_of(2) {
        k + 1
    } else {
        k
    }
}

/// diffusers' `_gaussian`: `exp(−x²/(2σ²))` normalised to sum 1, in float32.
fn gaussian_kernel(size: usize, sigma: f64) -> Vec<f32> {
    let sigma = sigma as f32;
    let half = (size / 2) as f32;
    let denom = 2.0 * (sigma * sigma);
    let g: Vec<f32> = (0..size)
        .map(|i| {
            let x = i as f32 - half;
            (-(x * x) / denom).exp()
        })
        .collect();
    let sum: f32 = g.iter().sum();
    g.into_iter().map(|v| v / sum).collect()
}

/// Reflect-padded 1D convolution of one plane along rows (`horizontal`) or columns.
fn filter(src: &[f32], h: usize, w: usize, kernel: &[f32], horizontal: bool) -> Vec<f32> {
    let pad = (kernel.len() - 1) / 2;
    let len = if horizontal { w } else { h };
    let reflect = |i: isize| -> usize {
        let n = len as isize;
        let mut i = i;
        // Mirror without repeating the edge; kernels here are shorter than the image.
        while i < 0 || i >= n {
            i = if i < 0 { -i } else { 2 * (n - 1) - i };
        }
        i as usize
    };
    let mut out = vec![0f32; h * w];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0f32;
            for (k, &kv) in kernel.iter().enumerate() {
                let offset = k as isize - pad as isize;
                let v = if horizontal {
                    src[y * w + reflect(x as isize + offset)]
                } else {
                    src[reflect(y as isize + offset) * w + x]
                };
                acc += kv * v;
            }
            out[y * w + x] = acc;
        }
    }
    out
}

/// Bicubic convolution weights (A = −0.75) for fraction `t`, as torch's
/// `get_cubic_upsample_coefficients`.
fn cubic_weights(t: f32) -> [f32; 4] {
    const A: f32 = -0.75;
    let near = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f32| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let x2 = 1.0 - t;
    [far(t + 1.0), near(t), near(x2), far(x2 + 1.0)]
}

/// Source index and weights of every output position along one axis.
fn cubic_axis(input: usize, output: usize) -> Vec<(isize, [f32; 4])> {
    let scale = if output > 1 {
        (input - 1) as f32 / (output - 1) as f32
    } else {
        0.0
    };
    (0..output)
        .map(|i| {
            let real = scale * i as f32;
            let index = (real.floor() as isize).min(input as isize - 1);
            let t = (real - index as f32).clamp(0.0, 1.0);
            (index, cubic_weights(t))
        })
        .collect()
}

/// `F.interpolate(mode="bicubic", align_corners=True)` of one plane, borders clamped.
fn bicubic_align_corners(src: &[f32], h: usize, w: usize, oh: usize, ow: usize) -> Vec<f32> {
    let rows = cubic_axis(h, oh);
    let cols = cubic_axis(w, ow);
    let at = |y: isize, x: isize| {
        let y = y.clamp(0, h as isize - 1) as usize;
        let x = x.clamp(0, w as isize - 1) as usize;
        src[y * w + x]
    };
    let mut out = Vec::with_capacity(oh * ow);
    for &(y0, wy) in &rows {
        for &(x0, wx) in &cols {
            let mut acc = 0f32;
            for (j, &wyj) in wy.iter().enumerate() {
                let y = y0 - 1 + j as isize;
                let row = at(y, x0 - 1) * wx[0]
                    + at(y, x0) * wx[1]
                    + at(y, x0 + 1) * wx[2]
                    + at(y, x0 + 2) * wx[3];
                acc += row * wyj;
            }
            out.push(acc);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_sizes_follow_diffusers() {
        // 90 → 24: factor 3.75, σ 1.375, int(5.5) = 5; 44 → 20: σ 0.6, int(2.4) → 3.
        assert_eq!(
            (
                kernel_size(blur_sigma(90, 24)),
                kernel_size(blur_sigma(44, 20))
            ),
            (5, 3)
        );
        // 672 → 224: σ 1, int(4) is even → 5. Enlarging: σ 0.001, 3 taps.
        assert_eq!(kernel_size(blur_sigma(672, 224)), 5);
        assert_eq!(kernel_size(blur_sigma(10, 224)), 3);
        let g = gaussian_kernel(3, 0.001);
        assert_eq!(g, vec![0.0, 1.0, 0.0]);
        let g = gaussian_kernel(5, 1.0);
        assert!((g.iter().sum::<f32>() - 1.0).abs() < 1e-6 && g[2] > g[1] && g[1] > g[0]);
    }

    #[test]
    fn flat_images_stay_flat_and_corners_are_kept() {
        let dev = Device::Cpu;
        let flat = Tensor::full(0.25f32, (1, 3, 37, 50), &dev).unwrap();
        let out = resize_with_antialiasing(&flat, 20, 30).unwrap();
        let v = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|x| (x - 0.25).abs() < 1e-6));
        // align_corners: an enlarged ramp keeps its end values exactly.
        let ramp = Tensor::arange(0f32, 4.0, &dev)
            .unwrap()
            .reshape((1, 1, 2, 2))
            .unwrap();
        let up = resize_with_antialiasing(&ramp, 5, 5).unwrap();
        let v = up.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(
            (v[0] - 0.0).abs() < 1e-6 && (v[24] - 3.0).abs() < 1e-6,
            "{v:?}"
        );
    }
}
