//! The CPU kernel behind [`super::attention::attention`] (and its token-major sibling) when
//! there is no bias: per head and block of query rows, a streaming ("flash") softmax over
//! blocks of keys, all in one task.
//!
//! Why: the generic path (candle batched matmul, `softmax_last_dim`, matmul) writes every
//! score block to memory three times and evaluates `exp` as a scalar libm call. Here each
//! rayon task owns a block of query rows and walks the keys in blocks of `KEY_BLOCK`: the
//! `[rows × KEY_BLOCK]` scores (512 KiB) and the `[rows × dv]` partial output stay in the
//! core's L2 cache between the two GEMMs and the softmax, which keeps a running row maximum
//! and sum and rescales the partial output when the maximum grows. Rows are divided by
//! their sum once, after the last key block. Whole-row score blocks (2.9 MiB at 2880 keys)
//! spilled out of L2 and made the softmax memory-bound. The operands are read with strides,
//! so token-major `[B, N, H·D]` projections need no per-head copies, and the softmax scale
//! is applied inside the first GEMM.

use std::cell::RefCell;

use rayon::prelude::*;

use super::fastmath::{exp, exp_row_against_max};

/// Query rows per task (fewer when a head has fewer queries).
const QUERY_BLOCK: usize = 256;
/// Keys per score block.
const KEY_BLOCK: usize = 512;

/// One thread's working memory: the score block, the partial output and its running row
/// maxima and sums.
#[derive(Default)]
struct Scratch {
    scores: Vec<f32>,
    acc: Vec<f32>,
    max: Vec<f32>,
    sum: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Bytes of working memory each thread holds for `queries × keys` (for memory estimates):
/// one score block of at most `QUERY_BLOCK × KEY_BLOCK` floats (512 KiB).
pub fn cpu_score_block_bytes(queries: usize, keys: usize) -> u64 {
    (queries.min(QUERY_BLOCK) * keys.min(KEY_BLOCK) * std::mem::size_of::<f32>()) as u64
}

/// Shapes of one call: `batch × heads` independent problems, `nq` queries and `nk` keys of
/// width `d`, values of width `dv`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub batch: usize,
    pub heads: usize,
    pub nq: usize,
    pub nk: usize,
    pub d: usize,
    pub dv: usize,
}

/// Where the operands' rows are: head-major `[B, H, N, D]` or token-major `[B, N, H·D]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadLayout {
    HeadMajor,
    TokenMajor,
}

impl HeadLayout {
    /// (offset of row 0 of head `h` in batch `b`, stride between rows) for an operand of
    /// `n` rows of width `w` per head.
    fn rows(self, s: &Dims, b: usize, h: usize, n: usize, w: usize) -> (usize, usize) {
        match self {
            HeadLayout::HeadMajor => (((b * s.heads) + h) * n * w, w),
            HeadLayout::TokenMajor => (b * n * s.heads * w + h * w, s.heads * w),
        }
    }
}

/// The output pointer shared by the tasks, each writing its own rows of its own head.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: tasks write disjoint elements (distinct (batch, head, row) triples).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

/// `softmax(scale·q·kᵀ)·v` per head, all operands contiguous in `layout`; the output is
/// in the same layout (`[B, H, Nq, Dv]` or `[B, Nq, H·Dv]`).
pub(crate) fn attention_f32(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    s: Dims,
    layout: HeadLayout,
    scale: f32,
) -> Vec<f32> {
    let len = s.batch * s.heads * s.nq * s.dv;
    if len == 0 || s.nk == 0 {
        return vec![0f32; len];
    }
    // Every element is written by exactly one task below, so the buffer is not zeroed
    // first (that was a memset over the whole output).
    let mut out = Vec::with_capacity(len);
    let rows = s.nq.min(QUERY_BLOCK);
    let blocks = s.nq.div_ceil(rows);
    let out_ptr = OutPtr(out.as_mut_ptr());
    (0..s.batch * s.heads * blocks)
        .into_par_iter()
        .for_each(|task| {
            let (bh, blk) = (task / blocks, task % blocks);
            let (b, h) = (bh / s.heads, bh % s.heads);
            let r0 = blk * rows;
            let n = rows.min(s.nq - r0);
            let operands = Operands {
                q: layout.rows(&s, b, h, s.nq, s.d),
                k: layout.rows(&s, b, h, s.nk, s.d),
                v: layout.rows(&s, b, h, s.nk, s.dv),
                out: layout.rows(&s, b, h, s.nq, s.dv),
            };
            // Taken, not borrowed, so no borrow is held if this thread is ever handed
            // other work while inside `query_block`.
            let mut scratch = SCRATCH.with(RefCell::take);
            query_block(q, k, v, out_ptr, operands, r0, n, s, scale, &mut scratch);
            SCRATCH.with(|slot| slot.replace(scratch));
        });
    // SAFETY: the tasks cover every (batch, head, query row) once and write its dv
    // floats, i.e. all `len` elements of the reserved buffer.
    unsafe { out.set_len(len) };
    out
}

/// (offset, row stride) of each operand's rows for one head.
#[derive(Clone, Copy)]
struct Operands {
    q: (usize, usize),
    k: (usize, usize),
    v: (usize, usize),
    out: (usize, usize),
}

/// One task: query rows `r0..r0 + n` of a head against all its keys, key block by key
/// block, written to the output rows.
#[allow(clippy::too_many_arguments)]
fn query_block(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: OutPtr,
    at: Operands,
    r0: usize,
    n: usize,
    s: Dims,
    scale: f32,
    scratch: &mut Scratch,
) {
    let key_block = s.nk.min(KEY_BLOCK);
    scratch.scores.resize(n * key_block, 0.0);
    scratch.acc.resize(n * s.dv, 0.0);
    scratch.max.clear();
    scratch.max.resize(n, f32::NEG_INFINITY);
    scratch.sum.clear();
    scratch.sum.resize(n, 0.0);
    let acc = &mut scratch.acc[..n * s.dv];
    let (q_off, q_rs) = at.q;
    let (k_off, k_rs) = at.k;
    let (v_off, v_rs) = at.v;
    let q_start = q_off + r0 * q_rs;
    assert!(q_start + (n - 1) * q_rs + s.d <= q.len());
    assert!(k_off + (s.nk - 1) * k_rs + s.d <= k.len());
    assert!(v_off + (s.nk - 1) * v_rs + s.dv <= v.len());
    for k0 in (0..s.nk).step_by(key_block) {
        let nk = key_block.min(s.nk - k0);
        let scores = &mut scratch.scores[..n * nk];
        // SAFETY: scores is a dense n×nk block; q's n rows of d floats start at `q_start`
        // with row stride q_rs, and kᵀ is read as d×nk from key rows k0.. (row stride 1,
        // column stride k_rs), all in bounds by the asserts above.
        unsafe {
            gemm::gemm(
                n,
                nk,
                s.d,
                scores.as_mut_ptr(),
                1,
                nk as isize,
                false,
                q.as_ptr().add(q_start),
                1,
                q_rs as isize,
                k.as_ptr().add(k_off + k0 * k_rs),
                k_rs as isize,
                1,
                0.0,
                scale,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        let first = k0 == 0;
        for (r, row) in scores.chunks_exact_mut(nk).enumerate() {
            let old_max = scratch.max[r];
            let (new_max, row_sum) = exp_row_against_max(row, old_max);
            if first {
                scratch.sum[r] = row_sum;
            } else {
                let rescale = exp(old_max - new_max);
                scratch.sum[r] = scratch.sum[r] * rescale + row_sum;
                if rescale != 1.0 {
                    acc[r * s.dv..(r + 1) * s.dv]
                        .iter_mut()
                        .for_each(|x| *x *= rescale);
                }
            }
            scratch.max[r] = new_max;
        }
        // SAFETY: acc is a dense n×dv block (accumulated after the first key block), the
        // exponentiated scores n×nk, v's nk rows of dv floats from key k0 with row stride
        // v_rs, in bounds by the asserts above.
        unsafe {
            gemm::gemm(
                n,
                s.dv,
                nk,
                acc.as_mut_ptr(),
                1,
                s.dv as isize,
                !first,
                scores.as_ptr(),
                1,
                nk as isize,
                v.as_ptr().add(v_off + k0 * v_rs),
                1,
                v_rs as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
    let (o_off, o_rs) = at.out;
    for (r, (row, sum)) in acc.chunks_exact(s.dv).zip(&scratch.sum).enumerate() {
        let inv = 1.0 / sum;
        // SAFETY: row r0 + r of this head is written by this task only, and lies inside
        // the output (same layout and extents as q, with width dv).
        let dst =
            unsafe { std::slice::from_raw_parts_mut(out.0.add(o_off + (r0 + r) * o_rs), s.dv) };
        dst.iter_mut().zip(row).for_each(|(d, &x)| *d = x * inv);
    }
}
