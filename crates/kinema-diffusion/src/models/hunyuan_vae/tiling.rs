//! Spatial and temporal tiling, as diffusers' `AutoencoderKLHunyuanVideo` does it.
//!
//! Tiles overlap; each tile's leading edge is cross-faded with the previous tile's trailing
//! edge (weight `y / extent` for the new tile), then every tile is cropped to the stride and
//! the crops are concatenated. Open-Sora 2.0 runs the same rule with 256-pixel tiles and a
//! 25 % overlap (stride 192), spatially only.

use candle_core::Tensor;
use kinema_core::{Error, Result};

use crate::nn::CandleContext;

/// Spatial tiles in *pixels*, as diffusers' `tile_sample_min_*` / `tile_sample_stride_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpatialTiling {
    pub min_height: usize,
    pub min_width: usize,
    pub stride_height: usize,
    pub stride_width: usize,
}

impl Default for SpatialTiling {
    /// 256-pixel tiles with a 64-pixel overlap: diffusers' values, and Open-Sora's
    /// `tile_sample_min_size = 256`, `tile_overlap_factor = 0.25`.
    fn default() -> Self {
        SpatialTiling {
            min_height: 256,
            min_width: 256,
            stride_height: 192,
            stride_width: 192,
        }
    }
}

/// Temporal tiles in *video frames* (diffusers' framewise encoding/decoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemporalTiling {
    pub min_frames: usize,
    pub stride_frames: usize,
}

impl Default for TemporalTiling {
    /// diffusers' 16-frame tiles at a 12-frame stride.
    fn default() -> Self {
        TemporalTiling {
            min_frames: 16,
            stride_frames: 12,
        }
    }
}

/// Which tilings run. `diffusers()` is what a freshly loaded diffusers model does
/// (framewise in time above 16 frames, no spatial tiles); `open_sora()` is Open-Sora 2.0's
/// inference setting (spatial tiles above 256 px, whole clips in time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    pub spatial: Option<SpatialTiling>,
    pub temporal: Option<TemporalTiling>,
}

impl Tiling {
    pub fn diffusers() -> Self {
        Tiling {
            spatial: None,
            temporal: Some(TemporalTiling::default()),
        }
    }

    pub fn open_sora() -> Self {
        Tiling {
            spatial: Some(SpatialTiling::default()),
            temporal: None,
        }
    }

    /// Rejects tiles that would not overlap, not advance, or not map to whole latents.
    pub fn validate(&self, spatial_ratio: usize, temporal_ratio: usize) -> Result<()> {
        if let Some(s) = &self.spatial {
            for (name, min, stride) in [
                ("height", s.min_height, s.stride_height),
                ("width", s.min_width, s.stride_width),
            ] {
                if stride == 0
                    || stride > min
                    || min % spatial_ratio != 0
                    || stride % spatial_ratio != 0
                {
                    return Err(Error::invalid(
                        format!("spatial tile {name} {min} with stride {stride} is unusable"),
                        format!("use 0 < stride <= tile, both multiples of {spatial_ratio} pixels"),
                    ));
                }
            }
        }
        if let Some(t) = &self.temporal {
            if t.stride_frames == 0
                || t.stride_frames > t.min_frames
                || t.min_frames % temporal_ratio != 0
                || t.stride_frames % temporal_ratio != 0
            {
                return Err(Error::invalid(
                    format!(
                        "temporal tile of {} frames with stride {} is unusable",
                        t.min_frames, t.stride_frames
                    ),
                    format!("use 0 < stride <= tile, both multiples of {temporal_ratio} frames"),
                ));
            }
        }
        Ok(())
    }
}

impl SpatialTiling {
    /// diffusers tiles when either side is strictly larger than the tile.
    pub fn applies(&self, height: usize, width: usize) -> bool {
        height > self.min_height || width > self.min_width
    }
}

/// Cross-fades the first `extent` slices of `b` along `dim` from `a`'s last `extent`
/// slices: `b[y] = a[-extent + y]·(1 - y/extent) + b[y]·(y/extent)`.
pub(super) fn blend(a: &Tensor, b: &Tensor, dim: usize, extent: usize) -> Result<Tensor> {
    let run = || -> candle_core::Result<Tensor> {
        let extent = extent.min(a.dim(dim)?).min(b.dim(dim)?);
        if extent == 0 {
            return Ok(b.clone());
        }
        let weights: Vec<f32> = (0..extent).map(|y| y as f32 / extent as f32).collect();
        let mut shape = vec![1; b.rank()];
        shape[dim] = extent;
        let w = Tensor::from_vec(weights, shape, b.device())?.to_dtype(b.dtype())?;
        let a_tail = a.narrow(dim, a.dim(dim)? - extent, extent)?;
        let b_head = b.narrow(dim, 0, extent)?;
        let one_minus = w.affine(-1.0, 1.0)?;
        let mixed = (a_tail.broadcast_mul(&one_minus)? + b_head.broadcast_mul(&w)?)?;
        let rest = b.narrow(dim, extent, b.dim(dim)? - extent)?;
        Tensor::cat(&[&mixed, &rest], dim)
    };
    run().ctx(|| "blending overlapping tiles".into())
}

/// `x.narrow(dim, start, len)` clipped to the tensor (Python slicing semantics).
fn slice(x: &Tensor, dim: usize, start: usize, len: usize) -> Result<Tensor> {
    let n = x.dim(dim).ctx(|| "tile dims".into())?;
    let len = len.min(n.saturating_sub(start));
    x.narrow(dim, start, len).ctx(|| "cutting a tile".into())
}

/// Runs `f` over overlapping spatial tiles of `x` (input tiles `tile_in` at `stride_in`),
/// blends the outputs over `blend_out` rows/columns, crops each to `stride_out` and
/// stitches, then crops to `out_h × out_w`.
#[allow(clippy::too_many_arguments)]
pub fn spatial(
    x: &Tensor,
    tile_in: (usize, usize),
    stride_in: (usize, usize),
    stride_out: (usize, usize),
    blend_out: (usize, usize),
    out_hw: (usize, usize),
    f: &dyn Fn(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let (h, w) = (
        x.dim(3).ctx(|| "dims".into())?,
        x.dim(4).ctx(|| "dims".into())?,
    );
    let mut rows: Vec<Vec<Tensor>> = Vec::new();
    for i in (0..h).step_by(stride_in.0) {
        let mut row = Vec::new();
        for j in (0..w).step_by(stride_in.1) {
            let tile = slice(&slice(x, 3, i, tile_in.0)?, 4, j, tile_in.1)?;
            row.push(f(&tile)?);
        }
        rows.push(row);
    }
    // diffusers blends in place, so a tile's neighbours are already blended when it is.
    let mut stitched_rows = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        let mut crops = Vec::with_capacity(rows[i].len());
        for j in 0..rows[i].len() {
            let mut tile = rows[i][j].clone();
            if i > 0 {
                tile = blend(&rows[i - 1][j], &tile, 3, blend_out.0)?;
            }
            if j > 0 {
                tile = blend(&rows[i][j - 1], &tile, 4, blend_out.1)?;
            }
            crops.push(slice(
                &slice(&tile, 3, 0, stride_out.0)?,
                4,
                0,
                stride_out.1,
            )?);
            rows[i][j] = tile;
        }
        stitched_rows.push(Tensor::cat(&crops, 4).ctx(|| "stitching a tile row".into())?);
    }
    let out = Tensor::cat(&stitched_rows, 3).ctx(|| "stitching tile rows".into())?;
    slice(&slice(&out, 3, 0, out_hw.0)?, 4, 0, out_hw.1)
}

/// Runs `f` over overlapping temporal tiles: input frames `[i, i + tile_in + 1)` for `i` in
/// steps of `stride_in` (the extra frame is the causal anchor, dropped from the output of
/// every tile but the first), then blends over `blend_out` frames, keeps `stride_out` frames
/// per tile (one more for the first) and crops to `out_frames`.
pub fn temporal(
    x: &Tensor,
    tile_in: usize,
    stride_in: usize,
    stride_out: usize,
    blend_out: usize,
    out_frames: usize,
    f: &dyn Fn(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let t = x.dim(2).ctx(|| "dims".into())?;
    let mut tiles = Vec::new();
    for i in (0..t).step_by(stride_in) {
        let out = f(&slice(x, 2, i, tile_in + 1)?)?;
        tiles.push(if i > 0 {
            slice(&out, 2, 1, usize::MAX)?
        } else {
            out
        });
    }
    let mut kept = Vec::with_capacity(tiles.len());
    for i in 0..tiles.len() {
        if i > 0 {
            tiles[i] = blend(&tiles[i - 1], &tiles[i], 2, blend_out)?;
            kept.push(slice(&tiles[i], 2, 0, stride_out)?);
        } else {
            kept.push(slice(&tiles[0], 2, 0, stride_out + 1)?);
        }
    }
    let out = Tensor::cat(&kept, 2).ctx(|| "stitching temporal tiles".into())?;
    slice(&out, 2, 0, out_frames)
}
