//! transformers' `CLIPImageProcessor`, as Wan2.1 I2V checkpoints configure it in
//! `image_processor/preprocessor_config.json`: resize the shortest edge, centre-crop,
//! rescale to `[0, 1]`, normalise per channel.
//!
//! The resampling filter differs from PIL's bicubic (we use the pipeline's own area/bilinear
//! filter), which moves pixel values by a few levels; the CLIP tokens condition the
//! transformer semantically, so that is immaterial. Cropping, rescaling and normalising
//! follow transformers exactly.

use std::path::Path;

use candle_core::{Device, Tensor};
use kinema_core::{Error, Frame, Result};
use serde_json::Value;

use super::image::{resize, Filter};

/// Settings read from `preprocessor_config.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipImageProcessor {
    /// `size.shortest_edge` when `do_resize`.
    pub shortest_edge: Option<usize>,
    /// `crop_size` (height, width) when `do_center_crop`.
    pub crop: Option<(usize, usize)>,
    /// `rescale_factor` when `do_rescale`, applied to 0–255 values.
    pub rescale: Option<f32>,
    /// `(image_mean, image_std)` when `do_normalize`.
    pub normalize: Option<([f32; 3], [f32; 3])>,
}

impl ClipImageProcessor {
    /// Reads `<dir>/preprocessor_config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("preprocessor_config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::model(format!("cannot read {}", path.display()))
                .with_source(e)
                .with_hint("Wan2.1 I2V checkpoints ship image_processor/preprocessor_config.json; download the complete folder")
        })?;
        Self::from_json(&text).map_err(|e| Error {
            message: format!("{}: {}", path.display(), e.message),
            ..e
        })
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| Error::model(format!("not valid JSON: {e}")))?;
        let flag = |key: &str| v.get(key).and_then(Value::as_bool).unwrap_or(true);
        // `size` / `crop_size` are an int or an object, depending on the transformers version.
        let side = |key: &str, field: &str| -> Option<usize> {
            match v.get(key)? {
                Value::Number(n) => n.as_u64().map(|n| n as usize),
                Value::Object(o) => o.get(field).and_then(Value::as_u64).map(|n| n as usize),
                _ => None,
            }
        };
        let shortest_edge = if flag("do_resize") {
            Some(side("size", "shortest_edge").ok_or_else(|| {
                Error::unsupported(
                    "do_resize needs size.shortest_edge (other resize modes are not implemented)",
                )
            })?)
        } else {
            None
        };
        let crop = if flag("do_center_crop") {
            let h = side("crop_size", "height");
            let w = side("crop_size", "width").or(h);
            match (h, w) {
                (Some(h), Some(w)) => Some((h, w)),
                _ => return Err(Error::model("do_center_crop needs crop_size")),
            }
        } else {
            None
        };
        let rescale = if flag("do_rescale") {
            Some(
                v.get("rescale_factor")
                    .and_then(Value::as_f64)
                    .unwrap_or(1.0 / 255.0) as f32,
            )
        } else {
            None
        };
        let triple = |key: &str| -> Result<[f32; 3]> {
            let a = v
                .get(key)
                .and_then(Value::as_array)
                .filter(|a| a.len() == 3)
                .ok_or_else(|| Error::model(format!("`{key}` must be a list of 3 numbers")))?;
            let mut out = [0f32; 3];
            for (o, x) in out.iter_mut().zip(a) {
                *o = x
                    .as_f64()
                    .ok_or_else(|| Error::model(format!("`{key}` must be a list of 3 numbers")))?
                    as f32;
            }
            Ok(out)
        };
        let normalize = if flag("do_normalize") {
            let std = triple("image_std")?;
            if std.contains(&0.0) {
                return Err(Error::model("`image_std` must not contain 0"));
            }
            Some((triple("image_mean")?, std))
        } else {
            None
        };
        Ok(ClipImageProcessor {
            shortest_edge,
            crop,
            rescale,
            normalize,
        })
    }

    /// An opaque RGB(A) frame → `pixel_values` `[1, 3, H, W]` float32 (alpha ignored).
    pub fn preprocess(&self, frame: &Frame, device: &Device) -> Result<Tensor> {
        let mut img = frame.clone();
        if let Some(short) = self.shortest_edge {
            let (w, h) = (img.width as usize, img.height as usize);
            // transformers: the short side becomes `short`, the long side int(short·long/short).
            let (nw, nh) = if w <= h {
                (short, short * h / w)
            } else {
                (short * w / h, short)
            };
            img = resize(&img, nw as u32, nh as u32, Filter::Smooth);
        }
        let (w, h) = (img.width as usize, img.height as usize);
        let (ch, cw) = self.crop.unwrap_or((h, w));
        if ch > h || cw > w {
            return Err(Error::model(format!(
                "CLIP preprocessing: crop {cw}×{ch} is larger than the resized image {w}×{h}"
            )));
        }
        let (top, left) = ((h - ch) / 2, (w - cw) / 2);
        let rescale = self.rescale.unwrap_or(1.0);
        let (mean, std) = self.normalize.unwrap_or(([0.0; 3], [1.0; 3]));
        let mut data = vec![0f32; 3 * ch * cw];
        for y in 0..ch {
            for x in 0..cw {
                let px = &img.rgba[((top + y) * w + left + x) * 4..][..3];
                for c in 0..3 {
                    data[(c * ch + y) * cw + x] = (px[c] as f32 * rescale - mean[c]) / std[c];
                }
            }
        }
        Tensor::from_vec(data, (1, 3, ch, cw), &Device::Cpu)
            .and_then(|t| t.to_device(device))
            .map_err(|e| Error::internal("cannot build the CLIP pixel tensor").with_source(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAN21: &str = r#"{"crop_size": {"height": 4, "width": 4}, "do_center_crop": true,
        "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor",
        "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 4}}"#;

    #[test]
    fn reads_both_config_shapes() {
        let p = ClipImageProcessor::from_json(WAN21).unwrap();
        assert_eq!(p.shortest_edge, Some(4));
        assert_eq!(p.crop, Some((4, 4)));
        let old = r#"{"crop_size": 224, "size": 224, "image_mean": [0,0,0], "image_std": [1,1,1]}"#;
        let p = ClipImageProcessor::from_json(old).unwrap();
        assert_eq!((p.shortest_edge, p.crop), (Some(224), Some((224, 224))));
        assert!(
            ClipImageProcessor::from_json(r#"{"size": {"height": 3, "width": 3}}"#)
                .unwrap_err()
                .message
                .contains("shortest_edge")
        );
        assert!(ClipImageProcessor::from_json(r#"{"do_resize": false, "do_center_crop": false, "do_normalize": true, "image_mean": [0, 0], "image_std": [1, 1, 1]}"#).is_err());
    }

    #[test]
    fn crops_the_centre_and_normalises_like_transformers() {
        // 4 wide × 6 tall, already at the short edge: no resampling, crop rows 1..5.
        let mut f = Frame::new(4, 6);
        for y in 0..6 {
            for x in 0..4 {
                f.set_pixel(x, y, [(y * 40) as u8, (x * 60) as u8, 255, 255]);
            }
        }
        let p = ClipImageProcessor::from_json(WAN21).unwrap();
        let t = p.preprocess(&f, &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[1, 3, 4, 4]);
        let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (mean, std) = p.normalize.unwrap();
        // Red channel, output row 0 = input row 1 (value 40); green, column 3 = 180; blue 255.
        let want_r = (40.0 / 255.0 - mean[0]) / std[0];
        let want_g = (180.0 / 255.0 - mean[1]) / std[1];
        let want_b = (1.0 - mean[2]) / std[2];
        assert!((v[0] - want_r).abs() < 1e-6);
        assert!((v[16 + 3] - want_g).abs() < 1e-6);
        assert!((v[32 + 5] - want_b).abs() < 1e-6);
    }

    #[test]
    fn resizes_the_short_side_keeping_aspect() {
        let f = Frame::filled(30, 20, [10, 20, 30, 255]);
        let cfg =
            r#"{"size": {"shortest_edge": 8}, "do_center_crop": false, "do_normalize": false}"#;
        let t = ClipImageProcessor::from_json(cfg)
            .unwrap()
            .preprocess(&f, &Device::Cpu)
            .unwrap();
        assert_eq!(t.dims(), &[1, 3, 8, 12]);
    }
}
