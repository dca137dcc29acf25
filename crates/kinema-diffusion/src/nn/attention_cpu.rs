//! The CPU kernel behind [`super::attention::attention`] when there is no bias: per head and
//! block of query rows, scores → softmax → weighted sum, all in one task.
//!
//! Why: the generic path (candle batched matmul, `softmax_last_dim`, matmul) writes every
//! score block to memory three times and evaluates `exp` as a scalar libm call; at 3510
//! tokens × 24 heads that was half of the self-attention's time. Here each rayon task owns
//! one `[rows × keys]` score block that stays in cache between its two GEMMs, the softmax
//! uses the vectorised [`super::fastmath`] `exp`, and rows are divided by their sum after
//! the second GEMM (`dv` values per row instead of `keys`). Memory is one score block per
//! thread, ≈4 MiB, whatever the sequence length: the `N×N` matrix never exists.

use std::cell::RefCell;

use rayon::prelude::*;

use super::fastmath::softmax_row_unnormalised;

/// Target floats in one task's score block (rows × keys).
const SCORE_BLOCK_FLOATS: usize = 1 << 20;
/// Query rows per task, at most (and at least, when keys are very many).
const MAX_ROWS: usize = 256;
const MIN_ROWS: usize = 16;

thread_local! {
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Query rows per task: as many as fit `SCORE_BLOCK_FLOATS` against `keys`, within limits.
fn block_rows(queries: usize, keys: usize) -> usize {
    (SCORE_BLOCK_FLOATS / keys.max(1))
        .clamp(MIN_ROWS, MAX_ROWS)
        .min(queries)
}

/// Bytes of the score block each thread holds for `queries × keys` (for memory estimates):
/// at most about 4 MiB, more only past 65 536 keys, where blocks shrink to their minimum
/// height.
pub fn cpu_score_block_bytes(queries: usize, keys: usize) -> u64 {
    (block_rows(queries, keys) * keys * std::mem::size_of::<f32>()) as u64
}

/// Shapes of one call: `heads` independent problems (batch × heads), `nq` queries and `nk`
/// keys of width `d`, values of width `dv`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub heads: usize,
    pub nq: usize,
    pub nk: usize,
    pub d: usize,
    pub dv: usize,
}

/// `softmax(q·kᵀ)·v` per head. `q` `[heads, nq, d]` (already scaled), `k` `[heads, nk, d]`,
/// `v` `[heads, nk, dv]`, all contiguous; returns `[heads, nq, dv]`.
pub(crate) fn attention_f32(q: &[f32], k: &[f32], v: &[f32], s: Dims) -> Vec<f32> {
    let mut out = vec![0f32; s.heads * s.nq * s.dv];
    if out.is_empty() || s.nk == 0 {
        return out;
    }
    let rows = block_rows(s.nq, s.nk);
    out.par_chunks_mut(s.nq * s.dv)
        .enumerate()
        .for_each(|(h, out_h)| {
            let q_h = &q[h * s.nq * s.d..(h + 1) * s.nq * s.d];
            let k_h = &k[h * s.nk * s.d..(h + 1) * s.nk * s.d];
            let v_h = &v[h * s.nk * s.dv..(h + 1) * s.nk * s.dv];
            out_h
                .par_chunks_mut(rows * s.dv)
                .enumerate()
                .for_each(|(blk, out_b)| {
                    let r0 = blk * rows;
                    let n = out_b.len() / s.dv;
                    // Taken, not borrowed, so no borrow is held if this thread is ever
                    // handed other work while inside `block`.
                    let mut buf = SCORES.with(RefCell::take);
                    if buf.len() < n * s.nk {
                        buf.resize(n * s.nk, 0.0);
                    }
                    let q_b = &q_h[r0 * s.d..(r0 + n) * s.d];
                    block(q_b, k_h, v_h, &mut buf[..n * s.nk], out_b, n, s);
                    SCORES.with(|slot| slot.replace(buf));
                });
        });
    out
}

/// One task: `n` query rows against all keys of a head.
fn block(q: &[f32], k: &[f32], v: &[f32], scores: &mut [f32], out: &mut [f32], n: usize, s: Dims) {
    // SAFETY (both calls): every operand is a dense row-major matrix inside its slice:
    // scores n×nk, q n×d, kᵀ read as d×nk with row stride 1 and column stride d, the score
    // block as n×nk, v nk×dv, out n×dv.
    unsafe {
        gemm::gemm(
            n,
            s.nk,
            s.d,
            scores.as_mut_ptr(),
            1,
            s.nk as isize,
            false,
            q.as_ptr(),
            1,
            s.d as isize,
            k.as_ptr(),
            s.d as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    let mut inv = Vec::with_capacity(n);
    for row in scores.chunks_exact_mut(s.nk) {
        inv.push(1.0 / softmax_row_unnormalised(row));
    }
    unsafe {
        gemm::gemm(
            n,
            s.dv,
            s.nk,
            out.as_mut_ptr(),
            1,
            s.dv as isize,
            false,
            scores.as_ptr(),
            1,
            s.nk as isize,
            v.as_ptr(),
            1,
            s.dv as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    for (row, scale) in out.chunks_exact_mut(s.dv).zip(inv) {
        row.iter_mut().for_each(|x| *x *= scale);
    }
}
