//! The three transforms of Winograd F(2×2, 3×3) for [`super::conv3d_winograd`]: weights
//! into the Winograd domain, input tiles into it, and products back to output pixels.
//! Layouts are described in that module.

use rayon::prelude::*;

use super::conv3d_cpu::Geometry;

/// `U = G·g·Gᵀ` for every (tap, out channel, in channel), laid out `[kt][O][16][C]`.
/// G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
pub(super) fn transform_weights(u: &mut [f32], w_taps: &[f32], c: usize) {
    u.par_chunks_mut(16 * c).enumerate().for_each(|(ko, dst)| {
        let src = &w_taps[ko * c * 9..(ko + 1) * c * 9];
        for ci in 0..c {
            let g = &src[ci * 9..ci * 9 + 9];
            // Rows: G·g (4×3).
            let mut r = [[0f32; 3]; 4];
            for j in 0..3 {
                let (a, b, e) = (g[j], g[3 + j], g[6 + j]);
                r[0][j] = a;
                r[1][j] = 0.5 * (a + b + e);
                r[2][j] = 0.5 * (a - b + e);
                r[3][j] = e;
            }
            // Columns: (G·g)·Gᵀ (4×4).
            for (i, row) in r.iter().enumerate() {
                let (a, b, e) = (row[0], row[1], row[2]);
                let vals = [a, 0.5 * (a + b + e), 0.5 * (a - b + e), e];
                for (j, val) in vals.into_iter().enumerate() {
                    dst[(i * 4 + j) * c + ci] = val;
                }
            }
        }
    });
}

/// `V = Bᵀ·d·B` for tiles `t0..t0+n` of one input frame, every channel.
/// Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]].
///
/// Works a run of tiles in one tile row at a time. Each of the four input rows it reads is
/// copied zero-padded (and upsampled), then split into even and odd columns: tile j reads
/// columns 2j..2j+4, i.e. even[j], odd[j], even[j+1], odd[j+1], so every transform below is
/// an element-wise loop over contiguous slices that the compiler vectorises.
#[allow(clippy::too_many_arguments)]
pub(super) fn transform_input(
    v: &mut [f32],
    x: &[f32],
    frame0: usize,
    t0: usize,
    n: usize,
    nb: usize,
    tw: usize,
    g: &Geometry,
) {
    let (h_in, w_in) = (g.h_in, g.w_in);
    let hv = (h_in * g.upsample) as isize;
    let pad_h = g.pad[1].0 as isize;
    let chan_stride = g.t_in * h_in * w_in;
    v[..g.c_in * 16 * nb]
        .par_chunks_mut(16 * nb)
        .enumerate()
        .for_each(|(ci, dst)| {
            let plane = &x[frame0 + ci * chan_stride..][..h_in * w_in];
            let mut padded = vec![0f32; 2 * tw + 2];
            // even/odd columns of the four rows: [row][parity][tw + 1]
            let mut cols = vec![0f32; 8 * (tw + 1)];
            let mut h = vec![0f32; 4 * tw];
            let mut i = 0;
            while i < n {
                let t = t0 + i;
                let (ty, tx0) = (t / tw, t % tw);
                let len = (tw - tx0).min(n - i);
                for r in 0..4 {
                    let y = 2 * ty as isize - pad_h + r as isize;
                    let (even, odd) =
                        cols[r * 2 * (tw + 1)..(r + 1) * 2 * (tw + 1)].split_at_mut(tw + 1);
                    if y < 0 || y >= hv {
                        even.fill(0.0);
                        odd.fill(0.0);
                        continue;
                    }
                    let src = &plane[(y as usize / g.upsample) * w_in..][..w_in];
                    padded_row(&mut padded, src, g.upsample, g.pad[2].0);
                    for (k, pair) in padded.chunks_exact(2).enumerate() {
                        even[k] = pair[0];
                        odd[k] = pair[1];
                    }
                }
                let row = |r: usize, parity: usize, shift: usize| {
                    let base = r * 2 * (tw + 1) + parity * (tw + 1) + tx0 + shift;
                    &cols[base..base + len]
                };
                // Horizontal pass for Winograd column s of every row, then the vertical pass.
                for s in 0..4 {
                    for r in 0..4 {
                        let (e0, o0, e1, o1) =
                            (row(r, 0, 0), row(r, 1, 0), row(r, 0, 1), row(r, 1, 1));
                        let hr = &mut h[r * tw..r * tw + len];
                        match s {
                            0 => hr
                                .iter_mut()
                                .zip(e0)
                                .zip(e1)
                                .for_each(|((d, a), b)| *d = a - b),
                            1 => hr
                                .iter_mut()
                                .zip(o0)
                                .zip(e1)
                                .for_each(|((d, a), b)| *d = a + b),
                            2 => hr
                                .iter_mut()
                                .zip(e1)
                                .zip(o0)
                                .for_each(|((d, a), b)| *d = a - b),
                            _ => hr
                                .iter_mut()
                                .zip(o0)
                                .zip(o1)
                                .for_each(|((d, a), b)| *d = a - b),
                        }
                    }
                    let (h0, h1, h2, h3) = (
                        &h[..len],
                        &h[tw..tw + len],
                        &h[2 * tw..2 * tw + len],
                        &h[3 * tw..3 * tw + len],
                    );
                    // Rows of Bᵀ: (first, second, sign) with value = first + sign·second.
                    let rows = [
                        (h0, h2, -1.0),
                        (h1, h2, 1.0),
                        (h2, h1, -1.0),
                        (h1, h3, -1.0),
                    ];
                    for (r, (first, second, sign)) in rows.into_iter().enumerate() {
                        let at = (r * 4 + s) * nb + i;
                        dst[at..at + len]
                            .iter_mut()
                            .zip(first)
                            .zip(second)
                            .for_each(|((d, a), b)| *d = a + sign * b);
                    }
                }
                i += len;
            }
        });
}

/// Fills `dst` with one input row as the tiles see it: `pad` zero columns, the row
/// (each pixel repeated `up` times), then zeros to the end.
fn padded_row(dst: &mut [f32], src: &[f32], up: usize, pad: usize) {
    let start = pad.min(dst.len());
    dst[..start].fill(0.0);
    let body = &mut dst[start..];
    let wide = (src.len() * up).min(body.len());
    match up {
        1 => body[..wide].copy_from_slice(&src[..wide]),
        _ => body[..wide]
            .iter_mut()
            .enumerate()
            .for_each(|(k, d)| *d = src[k / up]),
    }
    body[wide..].fill(0.0);
}

/// `Y = Aᵀ·M·A` (Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]) plus bias, written into the output
/// frame for tiles `t0..t0+n`, clipped at odd edges. With no valid tap the frame is the bias.
/// Like the input transform, it runs over contiguous runs of tiles in one tile row.
#[allow(clippy::too_many_arguments)]
pub(super) fn transform_output(
    out: &mut [f32],
    m: &[f32],
    no_taps: bool,
    bias: Option<&[f32]>,
    dst0: usize,
    frame_stride: usize,
    t0: usize,
    n: usize,
    nb: usize,
    tw: usize,
    ho: usize,
    wo: usize,
) {
    let o = m.len() / (16 * nb);
    // One output channel's frame is `ho·wo` floats every `frame_stride`.
    out[dst0..]
        .par_chunks_mut(frame_stride)
        .take(o)
        .enumerate()
        .for_each(|(oi, plane)| {
            let plane = &mut plane[..ho * wo];
            let b = bias.map_or(0.0, |b| b[oi]);
            let src = &m[oi * 16 * nb..(oi + 1) * 16 * nb];
            // a[r][s] = (Aᵀ·M)[r][s] over a run of tiles; then y[r][c] = (a·A)[r][c].
            let mut a = vec![0f32; 8 * tw];
            let mut y = vec![b; 4 * tw];
            let mut i = 0;
            while i < n {
                let t = t0 + i;
                let (ty, tx0) = (t / tw, t % tw);
                let len = (tw - tx0).min(n - i);
                if !no_taps {
                    let p = |r: usize, s: usize| &src[(r * 4 + s) * nb + i..][..len];
                    for s in 0..4 {
                        let (top, bottom) = a.split_at_mut(4 * tw);
                        let (a0, a1) = (
                            &mut top[s * tw..s * tw + len],
                            &mut bottom[s * tw..s * tw + len],
                        );
                        for (j, (d0, d1)) in a0.iter_mut().zip(a1.iter_mut()).enumerate() {
                            let (m0, m1, m2, m3) = (p(0, s)[j], p(1, s)[j], p(2, s)[j], p(3, s)[j]);
                            *d0 = m0 + m1 + m2;
                            *d1 = m1 - m2 - m3;
                        }
                    }
                    for r in 0..2 {
                        let ar = |s: usize| &a[(r * 4 + s) * tw..(r * 4 + s) * tw + len];
                        let (a0, a1, a2, a3) = (ar(0), ar(1), ar(2), ar(3));
                        let (left, right) = y[r * 2 * tw..(r + 1) * 2 * tw].split_at_mut(tw);
                        for j in 0..len {
                            left[j] = a0[j] + a1[j] + a2[j] + b;
                            right[j] = a1[j] - a2[j] - a3[j] + b;
                        }
                    }
                }
                for r in 0..2 {
                    let oy = 2 * ty + r;
                    if oy >= ho {
                        break;
                    }
                    let (left, right) = y[r * 2 * tw..(r + 1) * 2 * tw].split_at(tw);
                    let row = &mut plane[oy * wo..(oy + 1) * wo];
                    let x0 = 2 * tx0;
                    for j in 0..len {
                        row[x0 + 2 * j] = left[j];
                        if x0 + 2 * j + 1 < wo {
                            row[x0 + 2 * j + 1] = right[j];
                        }
                    }
                }
                i += len;
            }
        });
}
