//! Winograd F(2×2, 3×3) for the 3×3 spatial part of a 3D convolution on the CPU.
//!
//! Why: the Wan VAE decoder spends nearly all its time in 3×3×3 convolutions with stride 1.
//! Computing each 2×2 output tile from a 4×4 input tile in the Winograd domain needs 16
//! multiplies per (input channel, output channel, tap) instead of the 36 of a direct 3×3
//! convolution, so the GEMMs that dominate the decode shrink by 2.25×. The transforms are
//! additions over 4×4 tiles, cheap next to GEMMs whose inner dimension is a channel count in
//! the hundreds. F(2×2, 3×3) (rather than F(4×4, 3×3)) keeps f32 rounding at the level of the
//! direct convolution, so parity with diffusers holds at the usual tolerance.
//!
//! Layouts (all row-major, chosen so every GEMM operand is a plain strided matrix):
//! - transformed weights `U`: `[kt][O][16][C]`; the matrix for Winograd point ξ of tap k
//!   starts at `(k·O·16 + ξ)·C` with row stride `16·C`;
//! - transformed input block `V`: `[C][16][nb]`; point ξ starts at `ξ·nb`, row stride `16·nb`;
//! - products `M`: `[O][16][nb]`, laid out like `V`.
//!
//! Temporal taps and batches are handled like the im2col kernel: for every output frame the
//! GEMMs of its valid taps accumulate into `M` (`beta = 1`), and taps that only read zero
//! padding are skipped.

use std::cell::RefCell;

use rayon::prelude::*;

use super::conv3d_cpu::Geometry;
use super::winograd_transforms::{transform_input, transform_output, transform_weights};

/// Floats budgeted for one block's `V` and `M` together (≈32 MiB), which sets how many tiles
/// go through the GEMMs at once.
const BLOCK_FLOATS: usize = 8 << 20;

/// Below this many channels the im2col GEMM (inner dimension 9·C) is the better shape.
const MIN_CHANNELS: usize = 8;
/// The weights are transformed on every call (O·C·kt work), and each 2×2 output tile of each
/// output frame pays that back. Measured on the Wan2.2 decoder's layers (`cargo bench --bench
/// conv3d`): 64 tile-frames (16², one frame) is 0.8× im2col's speed, 256 (32²) is 1.7×.
const MIN_TILE_FRAMES: usize = 128;

/// Whether [`conv3d_winograd_f32`] can compute `g` at all: a 3×3 spatial kernel with
/// spatial stride 1 (any temporal kernel, stride and padding).
pub(crate) fn supports(g: &Geometry) -> bool {
    let [_, kh, kw] = g.kernel;
    kh == 3 && kw == 3 && g.stride[1] == 1 && g.stride[2] == 1 && g.out_dims().is_some()
}

/// Whether it is also the faster kernel: enough channels, and enough output tiles over all
/// output frames to pay for transforming the weights.
pub(crate) fn worthwhile(g: &Geometry) -> bool {
    let Some([to, ho, wo]) = g.out_dims() else {
        return false;
    };
    supports(g)
        && g.c_in >= MIN_CHANNELS
        && g.c_out >= MIN_CHANNELS
        && g.batch * to * ho.div_ceil(2) * wo.div_ceil(2) >= MIN_TILE_FRAMES
}

/// Same contract as [`super::conv3d_cpu::conv3d_f32`]: `x` `[B, C, T, H, W]`, `w_taps`
/// `[kt][O][C·9]`, returns `[B, O, To, Ho, Wo]`. Only call when [`supports`] holds.
pub(crate) fn conv3d_winograd_f32(
    x: &[f32],
    w_taps: &[f32],
    bias: Option<&[f32]>,
    g: &Geometry,
) -> Vec<f32> {
    let block_tiles = (BLOCK_FLOATS / (16 * (g.c_in + g.c_out))).max(16);
    conv3d_winograd_blocked(x, w_taps, bias, g, block_tiles)
}

/// [`conv3d_winograd_f32`] with an explicit number of tiles per GEMM block (tests use small
/// blocks to cover the block seams).
pub(crate) fn conv3d_winograd_blocked(
    x: &[f32],
    w_taps: &[f32],
    bias: Option<&[f32]>,
    g: &Geometry,
    block_tiles: usize,
) -> Vec<f32> {
    let [to, ho, wo] = g.out_dims().unwrap_or([0, 0, 0]);
    let (c, o, kt) = (g.c_in, g.c_out, g.kernel[0]);
    let mut out = vec![0f32; g.batch * o * to * ho * wo];
    if out.is_empty() {
        return out;
    }
    let tw = wo.div_ceil(2);
    let tiles = ho.div_ceil(2) * tw;
    let nb = block_tiles.clamp(1, tiles);
    // Taken out rather than borrowed: the work below runs rayon tasks, and a caller that is
    // itself a rayon worker (an eval suite running engines in parallel) may pick up another
    // convolution meanwhile; that one then finds no buffers and allocates its own.
    let mut scratch = SCRATCH.with(RefCell::take);
    {
        let Scratch { u, v, m } = &mut scratch;
        transform_weights(grown(u, kt * o * 16 * c), w_taps, c);
        let u = &u[..kt * o * 16 * c];
        let v = grown(v, c * 16 * nb);
        let m = grown(m, o * 16 * nb);
        run_blocks(&mut out, x, u, v, m, bias, g, nb);
    }
    SCRATCH.with(|slot| slot.replace(scratch));
    out
}

/// Buffers reused from call to call on the calling thread. Freshly allocated pages cost a
/// page fault each on first write; for the Wan2.2 decoder's 1024-channel layers that was a
/// tenth of a second per call for the transformed weights alone. They keep the largest
/// layer's size (≈200 MiB for that decoder) for the thread's lifetime.
#[derive(Default)]
struct Scratch {
    u: Vec<f32>,
    v: Vec<f32>,
    m: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// `buf` with at least `len` elements (contents unspecified), as a slice of exactly `len`.
fn grown(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// The block loop: for every output frame and block of tiles, the valid taps' GEMMs
/// accumulate into `m`, then the output transform writes the frame's pixels. An input frame
/// read by several output frames is transformed once per reader (up to `kt` times): that is
/// about 1 % of the GEMM work, where keeping `V` for every input frame would multiply the
/// scratch memory by the frame count.
#[allow(clippy::too_many_arguments)]
fn run_blocks(
    out: &mut [f32],
    x: &[f32],
    u: &[f32],
    v: &mut [f32],
    m: &mut [f32],
    bias: Option<&[f32]>,
    g: &Geometry,
    nb: usize,
) {
    let [to, ho, wo] = g.out_dims().unwrap_or([0, 0, 0]);
    let (c, o, kt) = (g.c_in, g.c_out, g.kernel[0]);
    let tw = wo.div_ceil(2);
    let tiles = ho.div_ceil(2) * tw;
    let frame_len = g.h_in * g.w_in;
    let out_frame = ho * wo;

    for b in 0..g.batch {
        for t_out in 0..to {
            // Taps of this output frame that read a real input frame: (tap, input frame).
            let taps: Vec<(usize, usize)> = (0..kt)
                .filter_map(|k| {
                    let padded = t_out * g.stride[0] + k;
                    let ti = padded.checked_sub(g.pad[0].0)?;
                    (ti < g.t_in).then_some((k, ti))
                })
                .collect();
            let mut t0 = 0;
            while t0 < tiles {
                let n = nb.min(tiles - t0);
                for (i, &(k, ti)) in taps.iter().enumerate() {
                    let frame0 = b * c * g.t_in * frame_len + ti * frame_len;
                    transform_input(v, x, frame0, t0, n, nb, tw, g);
                    multiply(
                        m,
                        &u[k * o * 16 * c..(k + 1) * o * 16 * c],
                        v,
                        o,
                        c,
                        n,
                        nb,
                        i > 0,
                    );
                }
                let dst0 = b * o * to * out_frame + t_out * out_frame;
                let frame_stride = to * out_frame;
                transform_output(
                    out,
                    m,
                    taps.is_empty(),
                    bias,
                    dst0,
                    frame_stride,
                    t0,
                    n,
                    nb,
                    tw,
                    ho,
                    wo,
                );
                t0 += n;
            }
        }
    }
}

/// `M[ξ] (+)= U[ξ]·V[ξ]` for the 16 Winograd points: sixteen independent GEMMs, run in
/// parallel with one thread each, which keeps both cores busy even when a block is narrow.
#[allow(clippy::too_many_arguments)]
fn multiply(
    m: &mut [f32],
    u: &[f32],
    v: &[f32],
    o: usize,
    c: usize,
    n: usize,
    nb: usize,
    acc: bool,
) {
    // Raw addresses so the 16 disjoint-by-ξ views of `m` can be written from rayon tasks.
    let (m_addr, u_addr, v_addr) = (
        m.as_mut_ptr() as usize,
        u.as_ptr() as usize,
        v.as_ptr() as usize,
    );
    (0..16).into_par_iter().for_each(|xi| {
        // SAFETY: for Winograd point ξ, dst covers M[o][ξ][0..n] for o < O (row stride
        // 16·nb), lhs U[o][ξ][0..C] (row stride 16·C), rhs V[c][ξ][0..n] (row stride 16·nb);
        // all inside their buffers, and the ξ-slices written by different tasks are disjoint.
        unsafe {
            gemm::gemm(
                o,
                n,
                c,
                (m_addr as *mut f32).add(xi * nb),
                1,
                (16 * nb) as isize,
                acc,
                (u_addr as *const f32).add(xi * c),
                1,
                (16 * c) as isize,
                (v_addr as *const f32).add(xi * nb),
                1,
                (16 * nb) as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    });
}
