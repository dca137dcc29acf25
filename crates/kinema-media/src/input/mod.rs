//! Turning a user's image file into a [`Character`]: decode, find the subject, classify.
//!
//! The subject comes from, in order: a user's `--mask`; the image's own alpha; a plain
//! background colour removed by flood fill ([`matting`]); or, for photos and painted
//! backgrounds, a graph cut on colour models ([`grabcut`]) seeded from the centre or from
//! a `--box`. With a box, everything outside it is background whichever way the subject
//! was found.

mod decode;
mod grabcut;
mod holes;
mod lab;
mod mask;
mod matting;
mod pixel_art;
mod plausible;
mod regions;
mod subject_box;

use std::path::{Path, PathBuf};

use image::RgbaImage;
use kinema_core::{Character, Error, Frame, Limits, Result};

pub use decode::{decode_rgba, MIN_SIDE, SUPPORTED_INPUTS};
pub use lab::{srgb_to_lab, Lab};
pub use pixel_art::is_pixel_art;
pub use plausible::is_separation_failure;
pub use subject_box::SubjectBox;

/// How to read a character image.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// A subject mask for images whose background Kinema cannot remove by itself.
    pub mask: Option<PathBuf>,
    /// Where the character is (`--box`): seeds the foreground extraction of photos, and
    /// everything outside it is background.
    pub subject_box: Option<SubjectBox>,
    /// Largest accepted `width * height`, checked from the header before decoding.
    pub max_pixels: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            mask: None,
            subject_box: None,
            max_pixels: Limits::default().max_input_pixels,
        }
    }
}

/// Reads a character image from disk; the character is named after the file stem.
pub fn load_character(path: &Path, opts: &LoadOptions) -> Result<Character> {
    let bytes = read_file(path, "image")?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "character".into());
    decode_named(&bytes, &name, &path.display().to_string(), opts)
}

/// Same as [`load_character`] for bytes already in memory (uploads to a service).
pub fn decode_character(bytes: &[u8], name: &str, opts: &LoadOptions) -> Result<Character> {
    let shown = if name.is_empty() {
        "the image".to_string()
    } else {
        name.to_string()
    };
    decode_named(bytes, name, &shown, opts)
}

fn decode_named(bytes: &[u8], name: &str, shown: &str, opts: &LoadOptions) -> Result<Character> {
    let mut img = decode_rgba(bytes, shown, opts.max_pixels)?;
    if let Some(b) = &opts.subject_box {
        b.check_within(img.width(), img.height())?;
    }
    if let Some(mask_path) = &opts.mask {
        let mask_bytes = read_file(mask_path, "mask")?;
        let mask_name = mask_path.display().to_string();
        let mask = decode_rgba(
            &mask_bytes,
            &format!("the mask {mask_name}"),
            opts.max_pixels,
        )?;
        mask::apply_mask(&mut img, &mask, &mask_name)?;
    } else if img.pixels().any(|p| p.0[3] < 255) {
        if img.pixels().all(|p| p.0[3] == 0) {
            return Err(Error::image(format!(
                "{shown} is fully transparent; there is no character to animate"
            ))
            .with_hint("check that the right layer was exported"));
        }
    } else {
        let subsampled = decode::chroma_subsampled(bytes);
        matte_opaque(&mut img, subsampled, opts.subject_box, shown)?;
    }
    if let Some(b) = &opts.subject_box {
        b.clear_outside(&mut img);
        if img.pixels().all(|p| p.0[3] == 0) {
            return Err(Error::invalid(
                format!("the box {b} holds no part of the character in {shown}"),
                "draw the box around the character (X,Y is its top-left corner, in pixels)",
            ));
        }
    }
    let pixel_art = is_pixel_art(&img);
    let (w, h) = img.dimensions();
    Ok(Character {
        image: Frame::from_rgba(w, h, img.into_raw())?,
        pixel_art,
        name: name.to_string(),
    })
}

/// Finds the subject of an image without alpha: by its plain background where it has one,
/// else by a graph cut.
fn matte_opaque(
    img: &mut RgbaImage,
    subsampled_chroma: bool,
    subject_box: Option<SubjectBox>,
    shown: &str,
) -> Result<()> {
    let Some(bg) = matting::plain_background(img, subsampled_chroma) else {
        return grabcut::extract_foreground(img, subject_box, shown);
    };
    // Few colours alone do not make pixel art (coarse anti-aliasing has few too); hard
    // edges do. Un-mix first, and re-matte hard if almost no rim pixel was a blend.
    let mut unmixed = img.clone();
    matting::matte_plain_background(&mut unmixed, bg, matting::Edges::Unmix, shown)?;
    if pixel_art::could_be_pixel_art(img)
        && pixel_art::soft_rim_share(&unmixed) < pixel_art::MAX_SOFT_RIM_SHARE
    {
        matting::matte_plain_background(img, bg, matting::Edges::Hard, shown)
    } else {
        *img = unmixed;
        Ok(())
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path (relative paths start from the current directory)"
            }
            std::io::ErrorKind::PermissionDenied => "check the file's permissions",
            _ if path.is_dir() => "give an image file, not a directory",
            _ => "check that the file is readable",
        };
        Error::image(format!("cannot read the {what} {}", path.display()))
            .with_hint(hint)
            .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinema_core::ErrorKind;
    use std::io::Cursor;

    fn png_bytes(img: &image::RgbaImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("encodes");
        out.into_inner()
    }

    fn samples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/characters")
    }

    #[test]
    fn samples_load_with_their_sizes_and_masks() {
        for (file, w, h) in [
            ("femaleAdventurer_idle.png", 96, 128),
            ("alienBlue_front.png", 131, 188),
            ("slimeBlue.png", 128, 128),
            ("ladybug.png", 128, 128),
            ("bee.png", 128, 128),
        ] {
            let c = load_character(&samples().join(file), &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!((c.width(), c.height()), (w, h), "{file}");
            let opaque = c.image.alpha().iter().filter(|&&a| a > 128).count();
            let share = opaque as f32 / c.image.pixel_count() as f32;
            assert!(share > 0.1 && share < 0.95, "{file}: mask covers {share}");
            assert!(!c.pixel_art, "{file} is smooth art");
            assert_eq!(c.name, file.trim_end_matches(".png"));
        }
    }

    /// The shipped sprites flattened onto a plain colour and saved as JPEG (what users
    /// often have) must come back with nearly their original mask and no rim of the old
    /// background. (White only for the adventurer: the bee's wings and the alien's helmet
    /// are white themselves, truly inseparable from a white page. The alien's translucent
    /// glass and the bee's translucent wing shadow come back opaque and tinted: one flat
    /// picture cannot tell glass from paint.)
    #[test]
    fn samples_flattened_to_jpeg_are_matted_back() {
        const WHITE: [u8; 3] = [255, 255, 255];
        const MAGENTA: [u8; 3] = [230, 40, 200];
        for (file, bg, min_iou) in [
            ("femaleAdventurer_idle.png", WHITE, 0.95),
            ("alienBlue_front.png", MAGENTA, 0.85),
            ("bee.png", MAGENTA, 0.93),
            ("ladybug.png", MAGENTA, 0.93),
            ("slimeBlue.png", MAGENTA, 0.93),
        ] {
            let original =
                load_character(&samples().join(file), &LoadOptions::default()).expect("sample");
            let flat = original.image.over_color(bg);
            let rgb = image::RgbImage::from_fn(flat.width, flat.height, |x, y| {
                let p = flat.pixel(x, y);
                image::Rgb([p[0], p[1], p[2]])
            });
            let mut jpeg = Cursor::new(Vec::new());
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
                .encode_image(&rgb)
                .expect("jpeg");
            let c = decode_character(jpeg.get_ref(), file, &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let (mut inter, mut union, mut rim, mut halo) = (0, 0, 0, 0);
            for (p, q) in original
                .image
                .rgba
                .chunks_exact(4)
                .zip(c.image.rgba.chunks_exact(4))
            {
                let (a, b) = (p[3] >= 128, q[3] >= 128);
                inter += usize::from(a && b);
                union += usize::from(a || b);
                if q[3] > 0 && q[3] < 200 {
                    rim += 1;
                    let near = (0..3).all(|k| q[k].abs_diff(bg[k]) < 30);
                    halo += usize::from(near);
                }
            }
            let iou = inter as f32 / union as f32;
            eprintln!(
                "{file}: IoU {iou:.3}, {halo} of {rim} soft rim pixels near the old background"
            );
            assert!(iou > min_iou, "{file}: IoU {iou}");
            // JPEG halves colour resolution, so a few rim pixels beside saturated colours
            // keep some of the old background; more than 15% would be a visible halo.
            assert!(
                halo * 100 <= rim * 15,
                "{file}: {halo} of {rim} rim pixels still carry the background"
            );
            eprintln!(
                "{file}: IoU {iou:.3}, {halo} of {rim} soft rim pixels near the old background"
            );
        }
    }

    #[test]
    fn opaque_sprite_on_plain_colour_is_matted() {
        let (img, _) = matting::tests::synthetic_sprite();
        let c =
            decode_character(&png_bytes(&img), "sprite", &LoadOptions::default()).expect("matted");
        assert_eq!(c.image.pixel(0, 0)[3], 0);
        assert_eq!(c.image.pixel(48, 48)[3], 255);
        assert!(!c.pixel_art);
    }

    #[test]
    fn opaque_pixel_art_is_matted_hard_and_flagged() {
        let img = image::RgbaImage::from_fn(32, 32, |x, y| {
            let inside = (8..24).contains(&x) && (6..28).contains(&y);
            let c = if !inside {
                [255, 0, 255]
            } else if x == 8 || x == 23 || y == 6 || y == 27 {
                [20, 20, 20]
            } else if y < 14 {
                [250, 210, 160]
            } else {
                [40, 90, 200]
            };
            image::Rgba([c[0], c[1], c[2], 255])
        });
        let c =
            decode_character(&png_bytes(&img), "knight", &LoadOptions::default()).expect("matted");
        assert!(c.pixel_art);
        assert!(c.image.alpha().iter().all(|&a| a == 0 || a == 255));
        assert_eq!(
            c.image.alpha().iter().filter(|&&a| a == 255).count(),
            16 * 22
        );
    }

    #[test]
    fn a_supplied_mask_overrides_matting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut noise = 12345u32;
        let photo = image::RgbaImage::from_fn(40, 30, |_, _| {
            noise = noise.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let b = noise.to_le_bytes();
            image::Rgba([b[1], b[2], b[3], 255])
        });
        let img_path = dir.path().join("photo.png");
        std::fs::write(&img_path, png_bytes(&photo)).expect("write");
        let e = load_character(&img_path, &LoadOptions::default()).expect_err("noise needs a mask");
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("--mask")),
            "{e}"
        );

        let mask = image::RgbaImage::from_fn(40, 30, |x, _| {
            if x < 20 {
                image::Rgba([255; 4])
            } else {
                image::Rgba([0, 0, 0, 255])
            }
        });
        let mask_path = dir.path().join("mask.png");
        std::fs::write(&mask_path, png_bytes(&mask)).expect("write");
        let opts = LoadOptions {
            mask: Some(mask_path.clone()),
            ..LoadOptions::default()
        };
        let c = load_character(&img_path, &opts).expect("mask works");
        assert_eq!(c.image.pixel(5, 5)[3], 255);
        assert_eq!(c.image.pixel(30, 5)[3], 0);

        let small = image::RgbaImage::from_pixel(20, 20, image::Rgba([255; 4]));
        std::fs::write(&mask_path, png_bytes(&small)).expect("write");
        let e = load_character(&img_path, &opts).expect_err("size mismatch");
        assert!(
            e.message.contains("20x20") && e.message.contains("40x30"),
            "{e}"
        );
    }

    #[test]
    fn missing_and_transparent_inputs_are_explained() {
        let e = load_character(Path::new("/no/such/hero.png"), &LoadOptions::default())
            .expect_err("missing");
        assert_eq!(e.kind, ErrorKind::Image);
        assert!(
            e.message.contains("/no/such/hero.png") && e.hint.is_some(),
            "{e}"
        );
        let clear = image::RgbaImage::new(16, 16);
        let e = decode_character(&png_bytes(&clear), "ghost", &LoadOptions::default())
            .expect_err("transparent");
        assert!(e.message.contains("fully transparent"), "{e}");
        let opts = LoadOptions {
            mask: Some("/no/such/mask.png".into()),
            ..LoadOptions::default()
        };
        let e = decode_character(&png_bytes(&image::RgbaImage::new(16, 16)), "x", &opts)
            .expect_err("mask missing");
        assert!(e.message.contains("mask"), "{e}");
    }

    #[test]
    fn the_pixel_budget_applies_to_characters() {
        let img = image::RgbaImage::from_pixel(64, 64, image::Rgba([1, 2, 3, 255]));
        let opts = LoadOptions {
            max_pixels: 1000,
            ..LoadOptions::default()
        };
        let e = decode_character(&png_bytes(&img), "big", &opts).expect_err("over budget");
        assert!(
            e.message.contains("64x64") && e.message.contains("1000"),
            "{e}"
        );
    }
}
