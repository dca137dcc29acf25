//! Spatial tiling for large frames, as diffusers' `enable_tiling`: overlapping tiles are
//! encoded/decoded separately (each with its own temporal cache) and linearly blended where
//! they overlap, trading a little compute for memory that no longer grows with frame size.
//!
//! Sizes follow diffusers 0.42 exactly (tiles in pixels, compression `scale_factor_spatial`;
//! encode tiles are taken in the patched input), so tiled results match its `enable_tiling`.

use candle_core::Tensor;
use kinema_core::{Error, Result};

use crate::nn::CandleContext;

/// Tile sizes and strides in sample (patchified pixel) units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilingConfig {
    pub tile_sample_min_height: usize,
    pub tile_sample_min_width: usize,
    pub tile_sample_stride_height: usize,
    pub tile_sample_stride_width: usize,
}

impl Default for TilingConfig {
    fn default() -> Self {
        TilingConfig {
            tile_sample_min_height: 256,
            tile_sample_min_width: 256,
            tile_sample_stride_height: 192,
            tile_sample_stride_width: 192,
        }
    }
}

impl TilingConfig {
    pub fn validate(&self) -> Result<()> {
        let ok = self.tile_sample_stride_height > 0
            && self.tile_sample_stride_width > 0
            && self.tile_sample_stride_height <= self.tile_sample_min_height
            && self.tile_sample_stride_width <= self.tile_sample_min_width;
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                format!("tiling {self:?}: strides must be positive and at most the tile size"),
                "use e.g. tiles of 256 with strides of 192",
            ))
        }
    }

    /// Encode tiles when the (un-patchified) frame exceeds a tile.
    pub(crate) fn applies_to_pixels(&self, h: usize, w: usize) -> bool {
        w > self.tile_sample_min_width || h > self.tile_sample_min_height
    }

    /// Decode tiles when the latent frame exceeds a latent tile.
    pub(crate) fn applies_to_latents(&self, h: usize, w: usize, ratio: usize) -> bool {
        w > self.tile_sample_min_width / ratio || h > self.tile_sample_min_height / ratio
    }
}

type TileFn<'a> = &'a dyn Fn(&Tensor) -> Result<Tensor>;

/// Encodes overlapping tiles of the patchified video `x`; blends and crops in latent space.
pub(crate) fn tiled_encode(
    tl: &TilingConfig,
    x: &Tensor,
    ratio: usize,
    encode: TileFn,
) -> Result<Tensor> {
    let (_, _, _, h, w) = x.dims5().ctx(|| "tiled encode input".into())?;
    let (min_h, min_w) = (tl.tile_sample_min_height, tl.tile_sample_min_width);
    let (stride_h, stride_w) = (tl.tile_sample_stride_height, tl.tile_sample_stride_width);
    let mut rows = Vec::new();
    for i in (0..h).step_by(stride_h) {
        let mut row = Vec::new();
        for j in (0..w).step_by(stride_w) {
            let tile = crop(x, i, min_h, j, min_w)?;
            row.push(encode(&tile)?);
        }
        rows.push(row);
    }
    let (lat_min_h, lat_min_w) = (min_h / ratio, min_w / ratio);
    let (lat_stride_h, lat_stride_w) = (stride_h / ratio, stride_w / ratio);
    let out = blend_rows(
        rows,
        lat_min_h - lat_stride_h,
        lat_min_w - lat_stride_w,
        lat_stride_h,
        lat_stride_w,
    )?;
    crop(&out, 0, h / ratio, 0, w / ratio)
}

/// Decodes overlapping latent tiles of `z` (already through `post_quant_conv`); blends and
/// crops in the decoder's output space (patched: pixel sizes divided by `patch`).
pub(crate) fn tiled_decode(
    tl: &TilingConfig,
    z: &Tensor,
    ratio: usize,
    patch: usize,
    decode: TileFn,
) -> Result<Tensor> {
    let (_, _, _, h, w) = z.dims5().ctx(|| "tiled decode input".into())?;
    let (lat_min_h, lat_min_w) = (
        tl.tile_sample_min_height / ratio,
        tl.tile_sample_min_width / ratio,
    );
    let (lat_stride_h, lat_stride_w) = (
        tl.tile_sample_stride_height / ratio,
        tl.tile_sample_stride_width / ratio,
    );
    if lat_stride_h == 0 || lat_stride_w == 0 {
        return Err(Error::invalid(
            format!("tile strides {tl:?} are smaller than one latent ({ratio} samples)"),
            format!("use strides of at least {ratio}"),
        ));
    }
    let mut rows = Vec::new();
    for i in (0..h).step_by(lat_stride_h) {
        let mut row = Vec::new();
        for j in (0..w).step_by(lat_stride_w) {
            let tile = crop(z, i, lat_min_h, j, lat_min_w)?;
            row.push(decode(&tile)?);
        }
        rows.push(row);
    }
    let (keep_h, keep_w) = (
        tl.tile_sample_stride_height / patch,
        tl.tile_sample_stride_width / patch,
    );
    let blend_h = tl.tile_sample_min_height / patch - keep_h;
    let blend_w = tl.tile_sample_min_width / patch - keep_w;
    let out = blend_rows(rows, blend_h, blend_w, keep_h, keep_w)?;
    crop(&out, 0, h * ratio / patch, 0, w * ratio / patch)
}

/// `x[..., i:i+h, j:j+w]` clipped to the tensor like a Python slice.
fn crop(x: &Tensor, i: usize, h: usize, j: usize, w: usize) -> Result<Tensor> {
    let (_, _, _, xh, xw) = x.dims5().ctx(|| "crop".into())?;
    let (i, j) = (i.min(xh), j.min(xw));
    x.narrow(3, i, h.min(xh - i))
        .and_then(|x| x.narrow(4, j, w.min(xw - j)))
        .ctx(|| "crop".into())
}

/// Blends every tile with its upper and left neighbours (already blended, as diffusers does in
/// place), keeps the top-left `keep_h × keep_w` of each, and joins them.
fn blend_rows(
    mut rows: Vec<Vec<Tensor>>,
    blend_h: usize,
    blend_w: usize,
    keep_h: usize,
    keep_w: usize,
) -> Result<Tensor> {
    let mut joined_rows = Vec::new();
    for i in 0..rows.len() {
        let mut parts = Vec::new();
        for j in 0..rows[i].len() {
            let mut tile = rows[i][j].clone();
            if i > 0 {
                tile = blend(&rows[i - 1][j], &tile, blend_h, 3)?;
            }
            if j > 0 {
                tile = blend(&rows[i][j - 1], &tile, blend_w, 4)?;
            }
            rows[i][j] = tile.clone();
            parts.push(crop(&tile, 0, keep_h, 0, keep_w)?);
        }
        joined_rows.push(Tensor::cat(&parts, 4).ctx(|| "joining tiles".into())?);
    }
    Tensor::cat(&joined_rows, 3).ctx(|| "joining tile rows".into())
}

/// Linear cross-fade of `a`'s last rows (or columns) into `b`'s first ones along `dim`.
fn blend(a: &Tensor, b: &Tensor, extent: usize, dim: usize) -> Result<Tensor> {
    let (na, nb) = (
        a.dim(dim).ctx(|| "blend".into())?,
        b.dim(dim).ctx(|| "blend".into())?,
    );
    let extent = extent.min(na).min(nb);
    if extent == 0 {
        return Ok(b.clone());
    }
    let run = || -> candle_core::Result<Tensor> {
        let ramp: Vec<f32> = (0..extent)
            .map(|y| (y as f64 / extent as f64) as f32)
            .collect();
        let mut shape = vec![1usize; 5];
        shape[dim] = extent;
        let wb = Tensor::from_vec(ramp, shape, b.device())?.to_dtype(b.dtype())?;
        let wa = wb.affine(-1.0, 1.0)?;
        let head = a
            .narrow(dim, na - extent, extent)?
            .broadcast_mul(&wa)?
            .add(&b.narrow(dim, 0, extent)?.broadcast_mul(&wb)?)?;
        Tensor::cat(&[&head, &b.narrow(dim, extent, nb - extent)?], dim)
    };
    run().ctx(|| "blending tiles".into())
}
