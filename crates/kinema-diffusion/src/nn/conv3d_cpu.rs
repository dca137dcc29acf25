//! The CPU kernel behind [`super::Conv3d`]: per-input-frame 2D im2col, one GEMM per temporal
//! tap accumulating straight into the output frame.
//!
//! Why this shape: a 3×3×3 convolution with stride 1 reads each input frame through three
//! temporal taps. Building the 2D column matrix once per input frame and multiplying it by
//! each tap's `[O, C·kh·kw]` weight slice does 1/3 of the im2col work of a full 3D im2col and
//! never materialises a 27·C-row matrix. Output frames are written in place (`beta = 1`
//! accumulation), so there is no sum-of-partials pass. Zero temporal padding frames are
//! skipped instead of multiplied, which makes the causal first chunk cheaper than a dense
//! convolution. Nearest-neighbour spatial upsampling is folded into the column gather so the
//! 4×-larger upsampled tensor is never built. Columns are built in tiles of output positions
//! to bound scratch memory (≈16 MiB) whatever the frame size.

use rayon::prelude::*;

/// Geometry of one convolution call. Input dims are before upsampling.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub c_in: usize,
    pub t_in: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c_out: usize,
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    /// (before, after) zero padding per axis t, h, w.
    pub pad: [(usize, usize); 3],
    /// Nearest-neighbour spatial upsampling factor applied to the input first (1 = none).
    pub upsample: usize,
}

impl Geometry {
    /// Output (t, h, w), or None when the kernel does not fit the padded input.
    pub fn out_dims(&self) -> Option<[usize; 3]> {
        let dims = [
            self.t_in,
            self.h_in * self.upsample,
            self.w_in * self.upsample,
        ];
        let mut out = [0; 3];
        for a in 0..3 {
            let padded = dims[a] + self.pad[a].0 + self.pad[a].1;
            if padded < self.kernel[a] || self.stride[a] == 0 {
                return None;
            }
            out[a] = (padded - self.kernel[a]) / self.stride[a] + 1;
        }
        Some(out)
    }
}

/// Target number of f32s in one column tile.
const COL_TILE_FLOATS: usize = 4 << 20;

/// `x`: `[B, C, T, H, W]` contiguous; `w_taps`: `[kt][O][C·kh·kw]`; `bias`: `[O]`.
/// Returns `[B, O, To, Ho, Wo]`. The caller has checked the sizes against `g`.
pub(crate) fn conv3d_f32(
    x: &[f32],
    w_taps: &[f32],
    bias: Option<&[f32]>,
    g: &Geometry,
) -> Vec<f32> {
    let [to, ho, wo] = g.out_dims().unwrap_or([0, 0, 0]);
    let hw_out = ho * wo;
    let hw_in = g.h_in * g.w_in;
    let [kt, kh, kw] = g.kernel;
    let k2 = g.c_in * kh * kw;
    let mut out = vec![0f32; g.batch * g.c_out * to * hw_out];
    if out.is_empty() {
        return out;
    }
    if let Some(bias) = bias {
        out.par_chunks_mut(to * hw_out)
            .enumerate()
            .for_each(|(i, plane)| plane.fill(bias[i % g.c_out]));
    }
    let pointwise = kh == 1
        && kw == 1
        && g.stride[1] == 1
        && g.stride[2] == 1
        && g.upsample == 1
        && g.pad[1] == (0, 0)
        && g.pad[2] == (0, 0);
    let tile = if pointwise {
        hw_out
    } else {
        (COL_TILE_FLOATS / k2.max(1)).max(64).min(hw_out.max(1))
    };
    let mut col = if pointwise {
        Vec::new()
    } else {
        vec![0f32; k2 * tile]
    };
    let threads = candle_core::utils::get_num_threads();
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };

    for b in 0..g.batch {
        for ti in 0..g.t_in {
            // Which output frames read this input frame, and through which tap.
            let padded_t = ti + g.pad[0].0;
            let taps: Vec<(usize, usize)> = (0..kt)
                .filter(|&k| padded_t >= k && (padded_t - k).is_multiple_of(g.stride[0]))
                .map(|k| (k, (padded_t - k) / g.stride[0]))
                .filter(|&(_, t_out)| t_out < to)
                .collect();
            if taps.is_empty() {
                continue;
            }
            let frame_base = b * g.c_in * g.t_in * hw_in + ti * hw_in;
            let mut n0 = 0;
            while n0 < hw_out {
                let nt = tile.min(hw_out - n0);
                let (rhs, rhs_rs): (*const f32, isize) = if pointwise {
                    // The input frame itself is the column matrix: rows are channels.
                    (x[frame_base + n0..].as_ptr(), (g.t_in * hw_in) as isize)
                } else {
                    fill_columns(&mut col[..k2 * nt], x, frame_base, n0, nt, wo, g);
                    (col.as_ptr(), nt as isize)
                };
                for &(k, t_out) in &taps {
                    let dst_off = b * g.c_out * to * hw_out + t_out * hw_out + n0;
                    let lhs = &w_taps[k * g.c_out * k2..(k + 1) * g.c_out * k2];
                    // SAFETY: dst rows are `to*hw_out` apart, nt columns each, all inside
                    // `out` (checked by construction of the offsets above); lhs is O×k2
                    // row-major; rhs is k2 rows of nt valid columns with stride rhs_rs.
                    unsafe {
                        gemm::gemm(
                            g.c_out,
                            nt,
                            k2,
                            out.as_mut_ptr().add(dst_off),
                            1,
                            (to * hw_out) as isize,
                            true,
                            lhs.as_ptr(),
                            1,
                            k2 as isize,
                            rhs,
                            1,
                            rhs_rs,
                            1.0,
                            1.0,
                            false,
                            false,
                            false,
                            par,
                        );
                    }
                }
                n0 += nt;
            }
        }
    }
    out
}

/// Gathers the `[C·kh·kw, nt]` column tile for output positions `n0..n0+nt` of one frame.
fn fill_columns(
    col: &mut [f32],
    x: &[f32],
    frame_base: usize,
    n0: usize,
    nt: usize,
    wo: usize,
    g: &Geometry,
) {
    let [_, kh, kw] = g.kernel;
    let hw_in = g.h_in * g.w_in;
    let (h_virt, w_virt) = (g.h_in * g.upsample, g.w_in * g.upsample);
    let chan_stride = g.t_in * hw_in;
    col.par_chunks_mut(nt).enumerate().for_each(|(row, dst)| {
        let c = row / (kh * kw);
        let ky = (row / kw) % kh;
        let kx = row % kw;
        let plane = &x[frame_base + c * chan_stride..frame_base + c * chan_stride + hw_in];
        let mut p = n0;
        let end = n0 + nt;
        while p < end {
            let oy = p / wo;
            let ox0 = p % wo;
            let ox1 = wo.min(ox0 + (end - p));
            let seg = &mut dst[p - n0..p - n0 + (ox1 - ox0)];
            let iy = (oy * g.stride[1] + ky) as isize - g.pad[1].0 as isize;
            if iy < 0 || iy >= h_virt as isize {
                seg.fill(0.0);
            } else {
                let src_row = &plane[(iy as usize / g.upsample) * g.w_in..][..g.w_in];
                for (i, v) in seg.iter_mut().enumerate() {
                    let ix = ((ox0 + i) * g.stride[2] + kx) as isize - g.pad[2].0 as isize;
                    *v = if ix < 0 || ix >= w_virt as isize {
                        0.0
                    } else {
                        src_row[ix as usize / g.upsample]
                    };
                }
            }
            p += ox1 - ox0;
        }
    });
}
