//! Rotary position embedding over (t, row, col) position ids, in either of Open-Sora's two
//! channel layouts.
//!
//! Each axis `a` with `axes_dim[a]` channels contributes `axes_dim[a] / 2` frequencies
//! `theta^(-2i / axes_dim[a])`; the angle of a token is its position on that axis times the
//! frequency. The frequencies of the three axes are concatenated (t first), `D/2` in all.
//! What differs is which two channels one frequency rotates:
//!
//! - Flux (`EmbedND` + `apply_rope`): the adjacent pair (2i, 2i+1);
//! - liger-kernel (`LigerEmbedND` + `LigerRopeFunction`, `use_liger_rope`): the pair
//!   (i, i + D/2), as in Llama's `rotate_half`.
//!
//! The same weights give different outputs under the two, so the layout must follow the
//! checkpoint's config. Flux computes the angles in float64, liger in float32; both are kept.

use candle_core::{DType, Device, Result, Tensor};

/// Which channel pairs one rotary frequency rotates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeLayout {
    /// (2i, 2i+1): Flux's `apply_rope`.
    Interleaved,
    /// (i, i + D/2): liger-kernel's rope, Open-Sora 2.0's released configs.
    HalfSplit,
}

/// Cosines and sines `[B, L, D/2]` (f32) for every token of a sequence.
pub struct RopeTable {
    cos: Tensor,
    sin: Tensor,
    layout: RopeLayout,
}

impl RopeTable {
    /// From position ids `[B, L, 3]` (any float dtype, any device).
    pub fn new(ids: &Tensor, axes_dim: &[usize], theta: f64, layout: RopeLayout) -> Result<Self> {
        let (b, l, axes) = ids.dims3()?;
        if axes != axes_dim.len() {
            candle_core::bail!(
                "position ids have {axes} axes but axes_dim has {}",
                axes_dim.len()
            );
        }
        let device = ids.device().clone();
        let pos = ids
            .to_device(&Device::Cpu)?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let half: usize = axes_dim.iter().map(|d| d / 2).sum();
        let mut cos = Vec::with_capacity(b * l * half);
        let mut sin = Vec::with_capacity(b * l * half);
        for token in pos.chunks_exact(axes) {
            for (axis, &dim) in axes_dim.iter().enumerate() {
                for i in 0..dim / 2 {
                    let angle = match layout {
                        RopeLayout::Interleaved => {
                            let omega = 1.0 / theta.powf((2 * i) as f64 / dim as f64);
                            (token[axis] as f64 * omega) as f32
                        }
                        RopeLayout::HalfSplit => {
                            let scale = (2 * i) as f32 / dim as f32;
                            let omega = 1.0 / (theta as f32).powf(scale);
                            token[axis] * omega
                        }
                    };
                    let (s, c) = match layout {
                        RopeLayout::Interleaved => {
                            let (s, c) = (angle as f64).sin_cos();
                            (s as f32, c as f32)
                        }
                        RopeLayout::HalfSplit => angle.sin_cos(),
                    };
                    cos.push(c);
                    sin.push(s);
                }
            }
        }
        Ok(RopeTable {
            cos: Tensor::from_vec(cos, (b, l, half), &device)?,
            sin: Tensor::from_vec(sin, (b, l, half), &device)?,
            layout,
        })
    }

    /// Rotates `x: [B, H, L, D]`, computed in f32 and returned in `x`'s dtype.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let dtype = x.dtype();
        let x = x.to_dtype(DType::F32)?.contiguous()?;
        let out = match self.layout {
            RopeLayout::Interleaved => candle_nn::rotary_emb::rope_i(&x, &self.cos, &self.sin)?,
            RopeLayout::HalfSplit => candle_nn::rotary_emb::rope(&x, &self.cos, &self.sin)?,
        };
        out.to_dtype(dtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rotating by hand: the two layouts pair different channels.
    #[test]
    fn layouts_rotate_their_own_pairs() {
        let dev = Device::Cpu;
        // One token at t=1 (row, col 0), axes [2, 2, 2]: frequency 0 of axis t has angle 1.
        let ids = Tensor::new(&[[[1f32, 0., 0.]]], &dev).unwrap();
        let x = Tensor::new(&[1f32, 2., 3., 4., 5., 6.], &dev)
            .unwrap()
            .reshape((1, 1, 1, 6))
            .unwrap();
        let (s, c) = 1f32.sin_cos();
        let rot = |layout| {
            RopeTable::new(&ids, &[2, 2, 2], 10000.0, layout)
                .unwrap()
                .apply(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        // Interleaved: channels (0, 1) rotate; the others have angle 0.
        let want = [c - 2. * s, s + 2. * c, 3., 4., 5., 6.];
        for (a, b) in rot(RopeLayout::Interleaved).iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // Half split: channels (0, 3) rotate.
        let want = [c - 4. * s, 2., 3., 4. * c + s, 5., 6.];
        for (a, b) in rot(RopeLayout::HalfSplit).iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
