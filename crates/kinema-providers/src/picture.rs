//! Encoding the composed picture within a provider's limits, and naming a request.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use kinema_core::{Error, Frame, Result};
use sha2::{Digest, Sha256};

use crate::catalog::ImageRules;
use crate::request::ProviderRequest;

/// An encoded picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub extension: &'static str,
}

fn rgb(frame: &Frame) -> Vec<u8> {
    frame
        .rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

fn fits(bytes: usize, mime: &str, rules: &ImageRules) -> bool {
    // base64 makes 4 characters of 3 bytes; plus `data:MIME;base64,`.
    let data_uri = bytes.div_ceil(3) * 4 + mime.len() + 13;
    bytes as u64 <= rules.max_bytes
        && rules
            .max_data_uri_chars
            .is_none_or(|max| data_uri as u64 <= max)
}

/// PNG (lossless: the key colour stays exact) when it fits the limits, else JPEG.
pub fn encode(frame: &Frame, rules: &ImageRules) -> Result<Encoded> {
    let pixels = rgb(frame);
    let failed =
        |e: image::ImageError| Error::internal("cannot encode the input picture").with_source(e);
    if rules.formats.iter().any(|f| f == "png") {
        let mut bytes = Vec::new();
        PngEncoder::new(&mut bytes)
            .write_image(&pixels, frame.width, frame.height, ExtendedColorType::Rgb8)
            .map_err(failed)?;
        if fits(bytes.len(), "image/png", rules) {
            return Ok(Encoded {
                bytes,
                mime: "image/png",
                extension: "png",
            });
        }
    }
    if rules.formats.iter().any(|f| f == "jpeg") {
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, 92)
            .write_image(&pixels, frame.width, frame.height, ExtendedColorType::Rgb8)
            .map_err(failed)?;
        if fits(bytes.len(), "image/jpeg", rules) {
            return Ok(Encoded {
                bytes,
                mime: "image/jpeg",
                extension: "jpg",
            });
        }
    }
    Err(Error::invalid(
        format!(
            "the {}x{} input picture is too large for the provider ({} bytes at most)",
            frame.width, frame.height, rules.max_bytes
        ),
        "use a simpler character image (fewer colours and less noise compress better)",
    ))
}

/// A stable name for a request: the same provider, model, settings and pictures give the
/// same key, so a rerun finds the task the first run submitted.
pub fn request_key(provider: &str, request: &ProviderRequest, pictures: &[&Encoded]) -> String {
    let mut h = Sha256::new();
    let settings = serde_json::json!({
        "provider": provider,
        "model": request.model,
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt,
        "duration_s": request.duration_s,
        "ratio": request.ratio,
        "seed": request.seed,
        "loop": request.looping,
        "quality": request.quality,
    });
    h.update(settings.to_string().as_bytes());
    for p in pictures {
        h.update(Sha256::digest(&p.bytes));
    }
    format!("{:x}", h.finalize())[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::provider;

    #[test]
    fn pngs_are_preferred_and_limits_force_jpeg_or_refusal() {
        let rules = provider("runway").unwrap().image.clone();
        let flat = Frame::filled(64, 64, [0, 255, 0, 255]);
        assert_eq!(encode(&flat, &rules).unwrap().mime, "image/png");
        // A grainy gradient, like a photo: large as PNG, small as JPEG.
        let mut noisy = Frame::new(256, 256);
        let mut seed = 1u32;
        for (i, p) in noisy.rgba.chunks_exact_mut(4).enumerate() {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            let n = (seed >> 29) as u8;
            let (x, y) = ((i % 256) as u8, (i / 256) as u8);
            p.copy_from_slice(&[
                x.wrapping_add(n),
                y.wrapping_add(n),
                (x / 2).wrapping_add(y / 2),
                255,
            ]);
        }
        let png_len = encode(&noisy, &rules).unwrap().bytes.len();
        let only_jpeg = ImageRules {
            formats: vec!["jpeg".into()],
            ..rules.clone()
        };
        let jpeg_len = encode(&noisy, &only_jpeg).unwrap().bytes.len();
        assert!(jpeg_len < png_len, "{jpeg_len} vs {png_len}");
        let tight = ImageRules {
            max_bytes: (jpeg_len + png_len) as u64 / 2,
            ..rules.clone()
        };
        assert_eq!(encode(&noisy, &tight).unwrap().mime, "image/jpeg");
        let impossible = ImageRules {
            max_bytes: 10,
            ..rules
        };
        assert!(encode(&noisy, &impossible)
            .unwrap_err()
            .message
            .contains("too large"));
    }
}
