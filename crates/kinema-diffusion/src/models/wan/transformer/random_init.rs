//! Deterministic random weights for any model, generated in-process.
//!
//! Benchmarks of the real 5B-class widths and shape tests need weights, but not trained ones;
//! writing gigabytes of random safetensors to disk just to map them back is wasteful. This
//! `VarBuilder` backend answers every lookup with a tensor of the requested shape filled from
//! a generator seeded by the key, so the same key always gets the same values.

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;

struct RandomBackend {
    seed: u64,
    std: f32,
}

fn key_hash(seed: u64, name: &str) -> u64 {
    // FNV-1a, enough to decorrelate keys.
    name.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

impl SimpleBackend for RandomBackend {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        let n = shape.elem_count();
        let mut s = key_hash(self.seed, name) | 1;
        // Uniform on [-√3·std, √3·std] has standard deviation `std`.
        let amp = self.std * 3f32.sqrt();
        let data: Vec<f32> = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
            })
            .collect();
        Tensor::from_vec(data, shape, dev)?.to_dtype(dtype)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> Result<Tensor> {
        candle_core::bail!("random weights need a shape for `{name}`")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// A `VarBuilder` whose every tensor is uniform noise with standard deviation `std`.
pub fn random_var_builder(
    seed: u64,
    std: f32,
    dtype: DType,
    device: &Device,
) -> VarBuilder<'static> {
    VarBuilder::from_backend(Box::new(RandomBackend { seed, std }), dtype, device.clone())
}
