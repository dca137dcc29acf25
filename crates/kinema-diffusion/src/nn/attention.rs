//! Scaled dot-product attention that never materialises the full `N×N` score matrix.
//!
//! Video transformers attend over 20–30k tokens: one f32 score matrix per head would be
//! gigabytes. Queries are processed in chunks sized from a memory budget, and when even one
//! query row over all keys is too big, keys are chunked too and combined with a streaming
//! (online) softmax: a running row maximum and row sum, rescaling the partial output whenever
//! the maximum grows. Scores, softmax and the weighted sum run in f32 whatever the input dtype,
//! the products as batched GEMMs, so the same code is fast on the CPU and runs on CUDA.

use candle_core::{DType, Result, Tensor, D};

pub use super::attention_cpu::cpu_score_block_bytes;
use super::attention_cpu::{attention_f32, Dims, HeadLayout};
use super::with_cpu_f32;

/// Work-splitting limits for [`attention`] on devices other than the CPU, and for attention
/// with a bias. (Unbiased attention on the CPU runs the fused kernel in `attention_cpu`,
/// which bounds its memory by itself: one ≈4 MiB score block per thread.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionChunks {
    /// Upper bound on the bytes of one f32 score block (`batch·heads × queries × keys`).
    pub max_score_bytes: usize,
    /// Keys per block; longer key sequences use the streaming softmax.
    pub max_keys: usize,
}

impl Default for AttentionChunks {
    /// 256 MiB of scores and up to 8192 keys per block: whole-key rows (a plain softmax) for
    /// the usual Wan sequence lengths, streaming beyond.
    fn default() -> Self {
        AttentionChunks {
            max_score_bytes: 256 << 20,
            max_keys: 8192,
        }
    }
}

/// `softmax(q·kᵀ·scale + bias)·v` for `q: [B, H, Nq, D]`, `k: [B, H, Nk, D]`,
/// `v: [B, H, Nk, Dv]`; `bias` (additive, e.g. a relative position bias or a key mask of large
/// negative values) must broadcast to `[B, H, Nq, Nk]` with every dim either 1 or full.
/// Returns `[B, H, Nq, Dv]` in `q`'s dtype.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: Option<&Tensor>,
    scale: f64,
    chunks: AttentionChunks,
) -> Result<Tensor> {
    let (b, h, nq, d) = q.dims4()?;
    let (kb, kh, nk, kd) = k.dims4()?;
    let (vb, vh, vn, dv) = v.dims4()?;
    if (kb, kh, kd) != (b, h, d) || (vb, vh, vn) != (b, h, nk) {
        candle_core::bail!(
            "attention shapes disagree: q {:?}, k {:?}, v {:?}",
            q.dims(),
            k.dims(),
            v.dims()
        );
    }
    if let Some(bias) = bias {
        let ok = bias.rank() == 4
            && bias
                .dims()
                .iter()
                .zip([b, h, nq, nk])
                .all(|(&have, want)| have == 1 || have == want);
        if !ok {
            candle_core::bail!(
                "attention bias {:?} does not broadcast to {:?}",
                bias.dims(),
                [b, h, nq, nk]
            );
        }
    }
    if nk == 0 {
        candle_core::bail!("attention over zero keys");
    }
    let bh = b * h;
    let out_dtype = q.dtype();
    if q.device().is_cpu() && bias.is_none() {
        let dims = Dims {
            batch: b,
            heads: h,
            nq,
            nk,
            d,
            dv,
        };
        let out = cpu_kernel(q, k, v, dims, HeadLayout::HeadMajor, scale)?;
        return Tensor::from_vec(out, (b, h, nq, dv), q.device())?.to_dtype(out_dtype);
    }
    let q = q
        .to_dtype(DType::F32)?
        .affine(scale, 0.0)?
        .reshape((bh, nq, d))?;
    let k = k.to_dtype(DType::F32)?.contiguous()?.reshape((bh, nk, d))?;
    let v = v
        .to_dtype(DType::F32)?
        .contiguous()?
        .reshape((bh, nk, dv))?;

    let key_chunk = nk.min(chunks.max_keys.max(1));
    let per_query_row = bh * key_chunk * std::mem::size_of::<f32>();
    let query_chunk = (chunks.max_score_bytes / per_query_row.max(1)).clamp(1, nq.max(1));

    let mut outputs = Vec::with_capacity(nq.div_ceil(query_chunk));
    let mut start = 0;
    while start < nq {
        let len = query_chunk.min(nq - start);
        let q_c = q.narrow(1, start, len)?.contiguous()?;
        let out = if key_chunk == nk {
            whole_rows(&q_c, &k, &v, bias, (b, h), start)?
        } else {
            streaming_rows(&q_c, &k, &v, bias, (b, h), start, key_chunk)?
        };
        outputs.push(out);
        start += len;
    }
    Tensor::cat(&outputs, 1)?
        .reshape((b, h, nq, dv))?
        .to_dtype(out_dtype)
}

/// [`attention`] without a bias on token-major operands: `q` `[B, Nq, H·D]`, `k`
/// `[B, Nk, H·D]`, `v` `[B, Nk, H·Dv]` (the projections as they come out of their linear
/// layers), returning `[B, Nq, H·Dv]`, ready for the output projection. On the CPU the
/// heads are read in place with strides, which saves splitting q, k and v into heads and
/// merging the output back (four copies of the activation per attention); elsewhere it
/// splits, runs [`attention`] and merges.
pub fn attention_tokens(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    heads: usize,
    scale: f64,
) -> Result<Tensor> {
    let (b, nq, qw) = q.dims3()?;
    let (kb, nk, kw) = k.dims3()?;
    let (vb, vn, vw) = v.dims3()?;
    if heads == 0
        || qw % heads != 0
        || vw % heads != 0
        || (kb, kw) != (b, qw)
        || (vb, vn) != (b, nk)
    {
        candle_core::bail!(
            "attention shapes disagree for {heads} heads: q {:?}, k {:?}, v {:?}",
            q.dims(),
            k.dims(),
            v.dims()
        );
    }
    if nk == 0 {
        candle_core::bail!("attention over zero keys");
    }
    let (d, dv) = (qw / heads, vw / heads);
    if q.device().is_cpu() {
        let dims = Dims {
            batch: b,
            heads,
            nq,
            nk,
            d,
            dv,
        };
        let out = cpu_kernel(q, k, v, dims, HeadLayout::TokenMajor, scale)?;
        return Tensor::from_vec(out, (b, nq, vw), q.device())?.to_dtype(q.dtype());
    }
    let split = |t: &Tensor, n: usize, w: usize| -> Result<Tensor> {
        t.reshape((b, n, heads, w))?.transpose(1, 2)?.contiguous()
    };
    let out = attention(
        &split(q, nq, d)?,
        &split(k, nk, d)?,
        &split(v, nk, dv)?,
        None,
        scale,
        AttentionChunks::default(),
    )?;
    out.transpose(1, 2)?.reshape((b, nq, vw))
}

/// Runs the CPU kernel on float32 copies of the operands where they are not contiguous
/// float32 already (in place otherwise).
fn cpu_kernel(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    dims: Dims,
    layout: HeadLayout,
    scale: f64,
) -> Result<Vec<f32>> {
    with_cpu_f32(q, |qd| {
        with_cpu_f32(k, |kd| {
            with_cpu_f32(v, |vd| {
                attention_f32(qd, kd, vd, dims, layout, scale as f32)
            })
        })
    })??
}

/// Adds the bias block for queries `q_start..q_start+nq_c` and keys `k_start..k_start+nk_c`.
fn add_bias(
    scores: Tensor,
    bias: Option<&Tensor>,
    (b, h): (usize, usize),
    q_start: usize,
    k_start: usize,
) -> Result<Tensor> {
    let Some(bias) = bias else { return Ok(scores) };
    let (bh, nq_c, nk_c) = scores.dims3()?;
    let mut block = bias.to_dtype(DType::F32)?;
    if block.dim(2)? != 1 {
        block = block.narrow(2, q_start, nq_c)?;
    }
    if block.dim(3)? != 1 {
        block = block.narrow(3, k_start, nk_c)?;
    }
    scores
        .reshape((b, h, nq_c, nk_c))?
        .broadcast_add(&block)?
        .reshape((bh, nq_c, nk_c))
}

/// All keys fit in one block: an ordinary softmax over each row.
fn whole_rows(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: Option<&Tensor>,
    bh: (usize, usize),
    q_start: usize,
) -> Result<Tensor> {
    let scores = add_bias(q.matmul(&k.t()?)?, bias, bh, q_start, 0)?;
    candle_nn::ops::softmax_last_dim(&scores)?.matmul(v)
}

/// Keys in blocks of `key_chunk`, with the running max `m`, running sum `l` and the
/// unnormalised output `acc` rescaled by `exp(m_old - m_new)` as each block arrives.
fn streaming_rows(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: Option<&Tensor>,
    bh: (usize, usize),
    q_start: usize,
    key_chunk: usize,
) -> Result<Tensor> {
    let (n, nq_c, _) = q.dims3()?;
    let (_, nk, dv) = v.dims3()?;
    let dev = q.device();
    let mut m = Tensor::full(f32::NEG_INFINITY, (n, nq_c, 1), dev)?;
    let mut l = Tensor::zeros((n, nq_c, 1), DType::F32, dev)?;
    let mut acc = Tensor::zeros((n, nq_c, dv), DType::F32, dev)?;
    let mut k_start = 0;
    while k_start < nk {
        let len = key_chunk.min(nk - k_start);
        let k_c = k.narrow(1, k_start, len)?;
        let v_c = v.narrow(1, k_start, len)?.contiguous()?;
        let scores = add_bias(q.matmul(&k_c.t()?)?, bias, bh, q_start, k_start)?;
        let m_new = m.maximum(&scores.max_keepdim(D::Minus1)?)?;
        let p = scores.broadcast_sub(&m_new)?.exp()?;
        let correction = (&m - &m_new)?.exp()?;
        l = ((&l * &correction)? + p.sum_keepdim(D::Minus1)?)?;
        acc = (acc.broadcast_mul(&correction)? + p.matmul(&v_c)?)?;
        m = m_new;
        k_start += len;
    }
    acc.broadcast_div(&l)
}

/// The textbook version, materialising every score: the reference the chunked one is tested
/// against, and a fallback for tiny problems.
pub fn attention_naive(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: Option<&Tensor>,
    scale: f64,
) -> Result<Tensor> {
    let dtype = q.dtype();
    let q = q.to_dtype(DType::F32)?;
    let k = k.to_dtype(DType::F32)?;
    let v = v.to_dtype(DType::F32)?.contiguous()?;
    let mut scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? * scale)?;
    if let Some(bias) = bias {
        scores = scores.broadcast_add(&bias.to_dtype(DType::F32)?)?;
    }
    candle_nn::ops::softmax_last_dim(&scores)?
        .matmul(&v)?
        .to_dtype(dtype)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::max_abs_diff;
    use candle_core::Device;

    fn rand(shape: &[usize], seed: u64) -> Tensor {
        crate::nn::xorshift_tensor(
            shape,
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            -2.0,
            4.0,
        )
    }

    /// Odd sizes so blocks never divide evenly; tiny budgets force many query and key blocks.
    #[test]
    fn chunked_matches_naive_without_bias() {
        let (q, k, v) = (
            rand(&[2, 3, 37, 8], 1),
            rand(&[2, 3, 29, 8], 2),
            rand(&[2, 3, 29, 5], 3),
        );
        let want = attention_naive(&q, &k, &v, None, 0.35).unwrap();
        for (max_score_bytes, max_keys) in [
            (1 << 30, 1 << 20),
            (6 * 7 * 4 * 5, 7),
            (1, 1),
            (6 * 29 * 4 * 3, 29),
        ] {
            let got = attention(
                &q,
                &k,
                &v,
                None,
                0.35,
                AttentionChunks {
                    max_score_bytes,
                    max_keys,
                },
            )
            .unwrap();
            assert!(
                max_abs_diff(&got, &want) < 1e-5,
                "budget {max_score_bytes}/{max_keys}: {}",
                max_abs_diff(&got, &want)
            );
        }
    }

    /// The fused CPU kernel: several row blocks per head (300 queries), and very long rows
    /// (70 000 keys) that shrink the blocks to their minimum height.
    #[test]
    fn cpu_kernel_row_blocks_match_naive() {
        for (nq, nk) in [(300, 40), (40, 70_000)] {
            let (q, k, v) = (
                rand(&[1, 2, nq, 4], 20),
                rand(&[1, 2, nk, 4], 21),
                rand(&[1, 2, nk, 3], 22),
            );
            let want = attention_naive(&q, &k, &v, None, 0.5).unwrap();
            let got = attention(&q, &k, &v, None, 0.5, AttentionChunks::default()).unwrap();
            assert!(
                max_abs_diff(&got, &want) < 1e-5,
                "{nq}x{nk}: {}",
                max_abs_diff(&got, &want)
            );
        }
    }

    #[test]
    fn chunked_matches_naive_with_key_mask_and_position_bias() {
        let (q, k, v) = (
            rand(&[2, 2, 11, 4], 4),
            rand(&[2, 2, 13, 4], 5),
            rand(&[2, 2, 13, 4], 6),
        );
        // Batch 0 sees all keys, batch 1 only the first 5 (padding), as a T5 encoder mask does.
        let mut mask = vec![0f32; 2 * 13];
        for m in &mut mask[13 + 5..] {
            *m = f32::MIN;
        }
        let mask = Tensor::from_vec(mask, (2, 1, 1, 13), &Device::Cpu).unwrap();
        let position_bias = rand(&[1, 2, 11, 13], 7);
        let bias = mask.broadcast_add(&position_bias).unwrap();
        let want = attention_naive(&q, &k, &v, Some(&bias), 1.0).unwrap();
        for chunks in [
            AttentionChunks::default(),
            AttentionChunks {
                max_score_bytes: 64,
                max_keys: 3,
            },
        ] {
            for b in [&bias, &mask] {
                let want_b = attention_naive(&q, &k, &v, Some(b), 1.0).unwrap();
                let got = attention(&q, &k, &v, Some(b), 1.0, chunks).unwrap();
                assert!(
                    max_abs_diff(&got, &want_b) < 1e-5,
                    "{chunks:?}: {}",
                    max_abs_diff(&got, &want_b)
                );
            }
        }
        // The masked keys really are ignored: changing them changes nothing for batch 1.
        let k2 = Tensor::cat(&[k.narrow(2, 0, 5).unwrap(), rand(&[2, 2, 8, 4], 9)], 2).unwrap();
        let got = attention(
            &q,
            &k2,
            &v,
            Some(&bias),
            1.0,
            AttentionChunks {
                max_score_bytes: 64,
                max_keys: 3,
            },
        )
        .unwrap();
        assert!(
            max_abs_diff(
                &got.narrow(0, 1, 1).unwrap(),
                &want.narrow(0, 1, 1).unwrap()
            ) < 1e-5
        );
    }

    #[test]
    fn half_precision_inputs_accumulate_in_f32() {
        let (q, k, v) = (
            rand(&[1, 2, 33, 16], 10),
            rand(&[1, 2, 40, 16], 11),
            rand(&[1, 2, 40, 16], 12),
        );
        let want = attention_naive(&q, &k, &v, None, 0.25).unwrap();
        let bf = |t: &Tensor| t.to_dtype(DType::BF16).unwrap();
        let chunks = AttentionChunks {
            max_score_bytes: 2 * 8 * 4 * 10,
            max_keys: 10,
        };
        let got = attention(&bf(&q), &bf(&k), &bf(&v), None, 0.25, chunks).unwrap();
        assert_eq!(got.dtype(), DType::BF16);
        assert!(max_abs_diff(&got.to_dtype(DType::F32).unwrap(), &want) < 3e-2);
    }

    /// Token-major operands give what splitting into heads and merging gives, with
    /// several query and key blocks (600 queries, 1100 keys) and uneven widths.
    #[test]
    fn token_major_matches_split_heads() {
        let heads = 3;
        for (nq, nk, d, dv) in [(7, 5, 4, 2), (600, 1100, 8, 5)] {
            let q = rand(&[2, nq, heads * d], 30);
            let k = rand(&[2, nk, heads * d], 31);
            let v = rand(&[2, nk, heads * dv], 32);
            let split = |t: &Tensor, w: usize| {
                let (b, n, _) = t.dims3().unwrap();
                t.reshape((b, n, heads, w))
                    .unwrap()
                    .transpose(1, 2)
                    .unwrap()
                    .contiguous()
                    .unwrap()
            };
            let want = attention_naive(&split(&q, d), &split(&k, d), &split(&v, dv), None, 0.3)
                .unwrap()
                .transpose(1, 2)
                .unwrap()
                .reshape((2, nq, heads * dv))
                .unwrap();
            let got = attention_tokens(&q, &k, &v, heads, 0.3).unwrap();
            assert!(
                max_abs_diff(&got, &want) < 1e-5,
                "{nq}x{nk}: {}",
                max_abs_diff(&got, &want)
            );
        }
        let q = rand(&[1, 4, 6], 33);
        assert!(attention_tokens(&q, &q, &q, 4, 1.0).is_err());
        assert!(attention_tokens(&q, &rand(&[1, 4, 5], 34), &q, 3, 1.0).is_err());
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let q = rand(&[1, 2, 4, 8], 1);
        assert!(attention(
            &q,
            &rand(&[1, 2, 4, 7], 2),
            &rand(&[1, 2, 4, 8], 3),
            None,
            1.0,
            Default::default()
        )
        .is_err());
        assert!(attention(
            &q,
            &q,
            &rand(&[1, 2, 5, 8], 3),
            None,
            1.0,
            Default::default()
        )
        .is_err());
        let bad_bias = rand(&[1, 2, 3, 4], 4);
        assert!(attention(&q, &q, &q, Some(&bad_bias), 1.0, Default::default()).is_err());
    }
}
