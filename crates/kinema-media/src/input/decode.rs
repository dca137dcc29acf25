//! Bytes to RGBA pixels, with the pixel budget enforced from the header.

use std::io::Cursor;

use image::{ImageError, ImageFormat, ImageReader, RgbaImage};
use kinema_core::{Error, Result};

/// Formats a character image may come in; listed in errors so users know what to convert to.
pub const SUPPORTED_INPUTS: &str = "PNG, JPEG, WebP, BMP or GIF";

/// Smallest side we accept: below this there is nothing to animate.
pub const MIN_SIDE: u32 = 8;

/// Decodes `bytes` (format sniffed from content, never from a file name) into RGBA8.
///
/// The size is read from the header and checked against `max_pixels` before any pixel
/// buffer is allocated, so a small file claiming a huge canvas cannot exhaust memory.
/// `what` names the input in messages (a path or "the mask").
pub fn decode_rgba(bytes: &[u8], what: &str, max_pixels: u64) -> Result<RgbaImage> {
    if bytes.is_empty() {
        return Err(Error::image(format!("{what} is an empty file"))
            .with_hint(format!("give a {SUPPORTED_INPUTS} image")));
    }
    let format = sniff(bytes, what)?;
    let reader = || {
        let mut r = ImageReader::new(Cursor::new(bytes));
        r.set_format(format);
        r
    };
    let (width, height) = reader()
        .into_dimensions()
        .map_err(|e| decode_error(e, what))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(Error::image(format!(
            "{what} is {width}x{height} ({pixels} pixels), over the budget of {max_pixels} pixels"
        ))
        .with_hint("downscale the image first (a character needs a few hundred pixels per side)"));
    }
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(Error::image(format!(
            "{what} is only {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed"
        ))
        .with_hint("use the full-size character image, not an icon or a placeholder"));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // 16-bit RGBA is 8 bytes a pixel; leave room for the decoder's own buffers.
    limits.max_alloc = Some(pixels.saturating_mul(16).saturating_add(64 << 20));
    let mut r = reader();
    r.limits(limits);
    let image = r.decode().map_err(|e| decode_error(e, what))?;
    Ok(image.into_rgba8())
}

/// Whether the file stores colour at a lower resolution than lightness, so hues bleed
/// across edges: JPEG (nearly always 4:2:0 or 4:2:2) and lossy WebP (always 4:2:0).
pub fn chroma_subsampled(bytes: &[u8]) -> bool {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => true,
        // A lossy WebP has a `VP8 ` chunk (lossless ones have `VP8L`), right after the
        // header or after an extended `VP8X` header and its optional chunks.
        Ok(ImageFormat::WebP) => bytes.windows(4).take(4096).any(|w| w == b"VP8 "),
        _ => false,
    }
}

/// Names the format from the magic bytes, refusing anything we cannot decode.
fn sniff(bytes: &[u8], what: &str) -> Result<ImageFormat> {
    let format = image::guess_format(bytes).ok();
    match format {
        Some(
            f @ (ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::WebP
            | ImageFormat::Bmp
            | ImageFormat::Gif),
        ) => Ok(f),
        Some(other) => Err(Error::image(format!(
            "{what} is a {} image, which Kinema does not read",
            other
                .extensions_str()
                .first()
                .copied()
                .unwrap_or("unknown")
                .to_uppercase()
        ))
        .with_hint(format!("convert it to {SUPPORTED_INPUTS}"))),
        None => Err(
            Error::image(format!("{what} is not an image Kinema recognises")).with_hint(format!(
                "give a {SUPPORTED_INPUTS} image (the format is read from the file's content)"
            )),
        ),
    }
}

fn decode_error(e: ImageError, what: &str) -> Error {
    match e {
        ImageError::Limits(_) => {
            Error::image(format!("{what} needs more memory to decode than allowed"))
                .with_hint("downscale the image first")
                .with_source(e)
        }
        ImageError::Unsupported(_) => {
            Error::image(format!("{what} uses a feature Kinema cannot decode"))
                .with_hint(format!("re-save it as a plain {SUPPORTED_INPUTS} image"))
                .with_source(e)
        }
        _ => Error::image(format!("{what} is damaged or truncated"))
            .with_hint("re-export the image from your editor, or check the download finished")
            .with_source(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinema_core::ErrorKind;

    fn encode(img: image::DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("fixture encodes");
        out.into_inner()
    }

    fn gradient(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(x * 8) as u8, (y * 8) as u8, 100, 255])
        })
    }

    #[test]
    fn decodes_every_supported_container() {
        let rgba = image::DynamicImage::ImageRgba8(gradient(20, 12));
        let rgb = image::DynamicImage::ImageRgb8(
            image::DynamicImage::ImageRgba8(gradient(20, 12)).to_rgb8(),
        );
        for (img, fmt) in [
            (rgba.clone(), ImageFormat::Png),
            (rgb.clone(), ImageFormat::Jpeg),
            (rgba.clone(), ImageFormat::WebP),
            (rgb.clone(), ImageFormat::Bmp),
            (rgba.clone(), ImageFormat::Gif),
        ] {
            let bytes = encode(img, fmt);
            let out =
                decode_rgba(&bytes, "fixture", 1 << 20).unwrap_or_else(|e| panic!("{fmt:?}: {e}"));
            assert_eq!(out.dimensions(), (20, 12), "{fmt:?}");
            // Lossy formats drift a little; the gradient must still be there.
            let p = out.get_pixel(10, 6).0;
            assert!(
                (p[0] as i32 - 80).abs() < 16 && (p[1] as i32 - 48).abs() < 16,
                "{fmt:?} {p:?}"
            );
        }
    }

    fn png_with(
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
        palette: Option<Vec<u8>>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, 8, 8);
        enc.set_color(color);
        enc.set_depth(depth);
        if let Some(p) = palette {
            enc.set_palette(p);
        }
        let mut w = enc.write_header().expect("header");
        w.write_image_data(data).expect("data");
        w.finish().expect("finish");
        out
    }

    #[test]
    fn decodes_png_palette_grey_rgb_and_16_bit() {
        let palette = png_with(
            png::ColorType::Indexed,
            png::BitDepth::Eight,
            &[1; 64],
            Some(vec![0, 0, 0, 200, 10, 20]),
        );
        assert_eq!(
            decode_rgba(&palette, "p", 1000)
                .expect("palette")
                .get_pixel(3, 3)
                .0,
            [200, 10, 20, 255]
        );
        let grey = png_with(
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[77; 64],
            None,
        );
        assert_eq!(
            decode_rgba(&grey, "g", 1000)
                .expect("grey")
                .get_pixel(0, 0)
                .0,
            [77, 77, 77, 255]
        );
        let rgb = png_with(png::ColorType::Rgb, png::BitDepth::Eight, &[9; 192], None);
        assert_eq!(
            decode_rgba(&rgb, "rgb", 1000)
                .expect("rgb")
                .get_pixel(7, 7)
                .0,
            [9, 9, 9, 255]
        );
        let mut rgba16 = Vec::new();
        for _ in 0..64 {
            rgba16.extend_from_slice(&[0xff, 0xff, 0x80, 0x00, 0, 0, 0x80, 0x80]);
        }
        let deep = png_with(png::ColorType::Rgba, png::BitDepth::Sixteen, &rgba16, None);
        assert_eq!(
            decode_rgba(&deep, "16", 1000)
                .expect("16-bit")
                .get_pixel(1, 1)
                .0,
            [255, 128, 0, 128]
        );
    }

    #[test]
    fn refuses_a_huge_header_before_decoding() {
        // A valid PNG signature and IHDR claiming 100000x100000, and no image data at all.
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        bytes.extend_from_slice(&13u32.to_be_bytes());
        bytes.extend_from_slice(&ihdr);
        bytes.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        // A few bytes of "compressed data": a real bomb's IDAT would inflate to 40 GB.
        for (kind, body) in [
            (&b"IDAT"[..], &[0x78, 0x9c, 0x03, 0x00][..]),
            (&b"IEND"[..], &[][..]),
        ] {
            let mut chunk = kind.to_vec();
            chunk.extend_from_slice(body);
            bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
            bytes.extend_from_slice(&chunk);
            bytes.extend_from_slice(&crc32(&chunk).to_be_bytes());
        }
        let e = decode_rgba(&bytes, "bomb.png", 40_000_000).expect_err("must refuse");
        assert_eq!(e.kind, ErrorKind::Image);
        assert!(
            e.message.contains("100000x100000") && e.message.contains("40000000"),
            "{e}"
        );
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn bad_inputs_give_specific_errors() {
        let e = decode_rgba(b"", "x", 1000).expect_err("empty");
        assert!(e.message.contains("empty"), "{e}");
        let e =
            decode_rgba(b"hello, this is text not pixels", "notes.png", 1000).expect_err("text");
        assert!(
            e.message.contains("not an image") && e.hint.is_some(),
            "{e}"
        );
        let tiff = encode(
            image::DynamicImage::ImageRgba8(gradient(8, 8)),
            ImageFormat::Png,
        );
        let mut tiff_magic = b"II*\0".to_vec();
        tiff_magic.extend_from_slice(&tiff[4..]);
        let e = decode_rgba(&tiff_magic, "scan.tif", 1000).expect_err("tiff");
        assert!(e.message.contains("does not read"), "{e}");
        let png = encode(
            image::DynamicImage::ImageRgba8(gradient(40, 40)),
            ImageFormat::Png,
        );
        let e = decode_rgba(&png[..png.len() / 2], "cut.png", 10_000).expect_err("truncated");
        assert!(e.message.contains("damaged or truncated"), "{e}");
        let one = encode(
            image::DynamicImage::ImageRgba8(gradient(1, 1)),
            ImageFormat::Png,
        );
        let e = decode_rgba(&one, "dot.png", 10_000).expect_err("1x1");
        assert!(e.message.contains("1x1"), "{e}");
        let thin = encode(
            image::DynamicImage::ImageRgba8(gradient(64, 5)),
            ImageFormat::Png,
        );
        assert!(decode_rgba(&thin, "strip.png", 10_000).is_err());
    }
}
