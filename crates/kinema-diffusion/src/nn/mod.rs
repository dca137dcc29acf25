//! Building blocks shared by the video models: 3D convolutions (plain, causal and time-only),
//! the channel RMS norm and GroupNorm, gated activations and timestep embeddings, with a CPU
//! fast path where candle has no kernel of its own.

pub mod activations;
pub mod attention;
mod attention_cpu;
pub mod conv2d;
pub mod conv3d;
mod conv3d_cpu;
mod conv3d_winograd;
pub mod fastmath;
pub mod group_norm;
pub mod linear;
pub mod norm;
pub mod temporal_conv;
pub mod timestep;
mod winograd_transforms;

pub use conv2d::Conv2d;
pub use conv3d::{CausalConv3d, Conv3d, Conv3dConfig, CpuConvKernel, Pad3d};
pub use group_norm::GroupNorm;
pub use linear::Linear;
pub use norm::ChannelRmsNorm;
pub use temporal_conv::TemporalConv;

use candle_core::{DType, Tensor};
use kinema_core::{Error, Result};

/// A fixed pseudo-random CPU tensor for the nn tests (xorshift from `state`, which must be
/// non-zero), with values spread evenly over `[low, low + span)`, so failures reproduce.
#[cfg(test)]
pub(crate) fn xorshift_tensor(shape: &[usize], mut state: u64, low: f32, span: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * span + low
        })
        .collect();
    Tensor::from_vec(data, shape, &candle_core::Device::Cpu).unwrap()
}

/// The largest absolute difference between two same-shaped tensors (tests compare against
/// reference paths with it).
#[cfg(test)]
pub(crate) fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// A buffer of `len` floats that `fill` writes in full, returned without zeroing it first.
/// Why: the CPU kernels' outputs are hundreds of MiB, and `vec![0.0; len]` on reused heap
/// memory is a `memset` over all of it (4 % of an SVD U-Net step) just before the kernel
/// overwrites every element.
///
/// # Safety
/// `fill` must write every element of the slice it is given.
pub(crate) unsafe fn unzeroed_f32(
    len: usize,
    fill: impl FnOnce(&mut [std::mem::MaybeUninit<f32>]),
) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    fill(&mut out.spare_capacity_mut()[..len]);
    // SAFETY: the caller promises `fill` initialised all `len` elements.
    unsafe { out.set_len(len) };
    out
}

/// The data of a contiguous f32 CPU tensor, from its `storage_and_layout()`, uncopied.
pub(crate) fn f32_data<'a>(
    storage: &'a candle_core::Storage,
    layout: &candle_core::Layout,
) -> candle_core::Result<&'a [f32]> {
    let candle_core::Storage::Cpu(cpu) = storage else {
        candle_core::bail!("expected a CPU tensor");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("expected a contiguous tensor");
    };
    Ok(&cpu.as_slice::<f32>()?[start..end])
}

/// Runs `f` on the float32 data of a CPU tensor, in place when it already is contiguous
/// float32 (the usual case: the CPU kernels would otherwise copy every activation they read,
/// and on these sizes each fresh copy costs page faults as much as the copying itself).
pub(crate) fn with_cpu_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    let owned;
    let t = if t.dtype() == DType::F32 && t.is_contiguous() {
        t
    } else {
        owned = t.to_dtype(DType::F32)?.contiguous()?;
        &owned
    };
    let (storage, layout) = t.storage_and_layout();
    Ok(f(f32_data(&storage, layout)?))
}

/// Turns candle's errors into Kinema's, naming what was being done.
///
/// Kept crate-private: callers see `kinema_core::Error` with the candle error as its source.
pub(crate) trait CandleContext<T> {
    /// A failure of a model operation (shape, dtype, device): `ErrorKind::Model`.
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> CandleContext<T> for candle_core::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::model(what()).with_source(e))
    }
}
