//! `nn.Linear` with its bias (and optionally a residual) added inside the GEMM on the CPU.
//!
//! Why: candle's `Linear` is a matmul into a fresh tensor, then `broadcast_add` of the
//! bias into another fresh tensor: a second allocation and a full read-write pass over an
//! output that is often hundreds of MiB (the SVD feed-forward writes 40 320 × 2560 floats),
//! and the residual add after it a third. Here the output is first filled with the bias
//! rows (or residual + bias) and the GEMM accumulates into it, so each linear layer makes
//! one output and reads it once more at most. Other devices and dtypes take candle's own
//! `Linear` (the same function).

use candle_core::{DType, Module, Result, Tensor};
use rayon::prelude::*;

use super::f32_data;

/// A linear layer `y = x·Wᵀ + b` over the last dimension; `weight` `[out, in]`.
#[derive(Clone, Debug)]
pub struct Linear {
    inner: candle_nn::Linear,
}

impl Linear {
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Self {
        Linear {
            inner: candle_nn::Linear::new(weight, bias),
        }
    }

    pub fn weight(&self) -> &Tensor {
        self.inner.weight()
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.inner.bias()
    }

    /// `residual + x·Wᵀ + b`, with `residual` shaped like the output.
    pub fn forward_add(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor> {
        match self.cpu(x, Some(residual))? {
            Some(out) => Ok(out),
            None => residual + self.inner.forward(x)?,
        }
    }

    /// The fused CPU path, or `None` where candle's should run instead.
    fn cpu(&self, x: &Tensor, residual: Option<&Tensor>) -> Result<Option<Tensor>> {
        let w = self.inner.weight();
        let fast = x.device().is_cpu()
            && x.dtype() == DType::F32
            && w.dtype() == DType::F32
            && w.is_contiguous()
            && x.rank() >= 2
            && self.inner.bias().is_none_or(|b| b.dtype() == DType::F32)
            && residual.is_none_or(|r| r.dtype() == DType::F32);
        if !fast {
            return Ok(None);
        }
        let (n, k) = w.dims2()?;
        let mut dims = x.dims().to_vec();
        if dims.last() != Some(&k) {
            candle_core::bail!("linear: input {:?} does not end in {k}", x.dims());
        }
        *dims.last_mut().expect("rank >= 2") = n;
        if let Some(r) = residual {
            if r.dims() != dims {
                candle_core::bail!("linear: residual {:?} is not {dims:?}", r.dims());
            }
        }
        let m = x.elem_count() / k.max(1);
        let len = m * n;
        let bias = match self.inner.bias() {
            Some(b) => Some(b.contiguous()?.to_vec1::<f32>()?),
            None => None,
        };
        if bias.as_ref().is_some_and(|b| b.len() != n) {
            candle_core::bail!(
                "linear: bias {:?} for {n} outputs",
                self.inner.bias().map(|b| b.dims())
            );
        }
        // What the GEMM accumulates onto: residual + bias, the bias rows, or nothing, when
        // it writes every element without reading it and the buffer is not even zeroed.
        let mut out = match (residual, &bias) {
            (Some(r), _) => r.contiguous()?.flatten_all()?.to_vec1::<f32>()?,
            (None, Some(b)) => bias_rows(b, len),
            (None, None) if k == 0 => vec![0f32; len],
            (None, None) => Vec::with_capacity(len),
        };
        if let (Some(_), Some(b)) = (residual, &bias) {
            out.par_chunks_mut(n.max(1) * ROWS_PER_TASK)
                .for_each(|rows| {
                    for row in rows.chunks_exact_mut(n) {
                        row.iter_mut().zip(b).for_each(|(o, b)| *o += b);
                    }
                });
        }
        let accumulate = residual.is_some() || bias.is_some();
        let x = x.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (ws, wl) = w.storage_and_layout();
        let xd = f32_data(&xs, xl)?;
        let wd = f32_data(&ws, wl)?;
        if m > 0 && n > 0 {
            // SAFETY: out is m×n row-major, x m×k row-major, and Wᵀ is read as k×n from
            // the row-major n×k weight (row stride 1, column stride k); all in bounds.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    accumulate,
                    xd.as_ptr(),
                    1,
                    k as isize,
                    wd.as_ptr(),
                    k as isize,
                    1,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::Rayon(rayon::current_num_threads()),
                );
            }
        }
        if out.len() < len {
            // SAFETY: the GEMM above (read_dst = false, k > 0) wrote all m×n elements of
            // the reserved buffer through its pointer; with m or n zero there are none.
            unsafe { out.set_len(len) };
        }
        Ok(Some(Tensor::from_vec(out, dims, x.device())?))
    }
}

/// Output rows per rayon task when filling or adding the bias.
const ROWS_PER_TASK: usize = 64;

/// `len / bias.len()` copies of `bias`, one per output row.
fn bias_rows(bias: &[f32], len: usize) -> Vec<f32> {
    let n = bias.len().max(1);
    // SAFETY: every chunk is a whole number of rows (len is a multiple of n), each row
    // written in full from the bias.
    unsafe {
        super::unzeroed_f32(len, |out| {
            out.par_chunks_mut(n * ROWS_PER_TASK).for_each(|rows| {
                for row in rows.chunks_exact_mut(n) {
                    row.iter_mut().zip(bias).for_each(|(o, &b)| {
                        o.write(b);
                    });
                }
            })
        })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self.cpu(x, None)? {
            Some(out) => Ok(out),
            None => self.inner.forward(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::max_abs_diff;
    use crate::nn::xorshift_tensor;

    /// Against candle's `Linear` (a matmul and a broadcast add) for 2-D and 3-D inputs,
    /// with and without a bias and a residual, and on a strided input.
    #[test]
    fn matches_candle_with_and_without_bias_and_residual() {
        let w = xorshift_tensor(&[7, 5], 3, -1.0, 2.0);
        let b = xorshift_tensor(&[7], 5, -1.0, 2.0);
        for bias in [None, Some(b)] {
            let ours = Linear::new(w.clone(), bias.clone());
            let theirs = candle_nn::Linear::new(w.clone(), bias);
            for shape in [vec![4, 5], vec![2, 3, 5]] {
                let x = xorshift_tensor(&shape, 11, -2.0, 4.0);
                let want = theirs.forward(&x).unwrap();
                assert!(max_abs_diff(&ours.forward(&x).unwrap(), &want) < 1e-5);
                let r = xorshift_tensor(want.dims(), 13, -2.0, 4.0);
                let got = ours.forward_add(&x, &r).unwrap();
                assert!(max_abs_diff(&got, &(&want + &r).unwrap()) < 1e-5);
            }
            let strided = xorshift_tensor(&[5, 4], 17, -2.0, 4.0).t().unwrap();
            let want = theirs.forward(&strided).unwrap();
            assert!(max_abs_diff(&ours.forward(&strided).unwrap(), &want) < 1e-5);
        }
    }

    #[test]
    fn a_mismatched_residual_is_an_error() {
        let lin = Linear::new(xorshift_tensor(&[3, 2], 3, -1.0, 2.0), None);
        let x = xorshift_tensor(&[4, 2], 5, -1.0, 2.0);
        let r = xorshift_tensor(&[4, 2], 7, -1.0, 2.0);
        assert!(lin.forward_add(&x, &r).is_err());
    }
}
