//! `nn.Conv2d` over `[N, C, H, W]` as a one-frame [`Conv3d`] (so the CPU gets the same
//! Winograd and im2col kernels), and nearest-neighbour resizing with torch's index rule.

use candle_core::{Tensor, D};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use super::{CandleContext, Conv3d, Conv3dConfig, Pad3d};

/// A 2D convolution with a square kernel, symmetric or explicit zero padding and a stride.
pub struct Conv2d {
    conv: Conv3d,
    pad: Pad3d,
}

impl Conv2d {
    /// Loads `weight` `[O, C, k, k]` and `bias` `[O]` under `vb`; `padding` on all sides.
    pub fn load(
        vb: &VarBuilder,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        Self::load_padded(
            vb,
            c_in,
            c_out,
            k,
            stride,
            ((padding, padding), (padding, padding)),
        )
    }

    /// As [`Self::load`] with explicit `((top, bottom), (left, right))` padding (diffusers'
    /// `Downsample2D(padding=0)` pads only the bottom and the right).
    pub fn load_padded(
        vb: &VarBuilder,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        (h, w): ((usize, usize), (usize, usize)),
    ) -> Result<Self> {
        let pad = Pad3d { t: (0, 0), h, w };
        let config = Conv3dConfig {
            stride: [1, stride, stride],
            padding: pad,
        };
        let weight = crate::weights::get(vb, &[c_out, c_in, k, k], "weight")?;
        let bias = crate::weights::get(vb, &[c_out], "bias")?;
        Ok(Conv2d {
            conv: Conv3d::new(weight, Some(bias), config)?,
            pad,
        })
    }

    pub fn out_channels(&self) -> usize {
        self.conv.out_channels()
    }

    /// `x` `[N, C, H, W]` → `[N, O, H', W']`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_upsampled(x, 1)
    }

    /// Convolves `x` after nearest-neighbour upsampling by `factor` (folded into the
    /// convolution, so the upsampled tensor is never built).
    pub fn forward_upsampled(&self, x: &Tensor, factor: usize) -> Result<Tensor> {
        let frames = x.unsqueeze(2).ctx(|| "conv2d input".into())?;
        self.conv
            .forward_with(&frames, self.pad, factor)?
            .squeeze(2)
            .ctx(|| "conv2d output".into())
    }
}

/// `F.interpolate(x, size=(h, w), mode="nearest")` on `[N, C, H, W]`: source index
/// `min(⌊i · (in/out)⌋, in − 1)` with the scale in float32, and torch's exact shortcuts for
/// equal, doubled and halved sizes (so results match torch index for index).
pub fn resize_nearest(x: &Tensor, h: usize, w: usize) -> Result<Tensor> {
    let (_, _, hi, wi) = x.dims4().map_err(|_| {
        Error::model(format!(
            "nearest resize needs [N, C, H, W], got {:?}",
            x.dims()
        ))
    })?;
    let rows = nearest_indices(hi, h);
    let cols = nearest_indices(wi, w);
    let dev = x.device();
    let pick = || -> candle_core::Result<Tensor> {
        let y = x.index_select(&Tensor::new(rows.as_slice(), dev)?, D::Minus2)?;
        y.index_select(&Tensor::new(cols.as_slice(), dev)?, D::Minus1)
    };
    pick().ctx(|| "nearest resize".into())
}

/// torch's `nearest_idx` for every output index.
pub fn nearest_indices(input: usize, output: usize) -> Vec<u32> {
    (0..output)
        .map(|i| {
            let src = if output == input {
                i
            } else if output == 2 * input {
                i >> 1
            } else if 2 * output == input {
                i << 1
            } else {
                let scale = input as f32 / output as f32;
                ((i as f32 * scale).floor() as usize).min(input - 1)
            };
            src as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn nearest_indices_follow_torch() {
        assert_eq!(nearest_indices(3, 5), vec![0, 0, 1, 1, 2]);
        assert_eq!(nearest_indices(2, 4), vec![0, 0, 1, 1]);
        assert_eq!(nearest_indices(4, 2), vec![0, 2]);
        // 4 → 6: the float32 scale makes 3·(4/6) round up to 2 (float64 would give 1).
        assert_eq!(nearest_indices(4, 6), vec![0, 0, 1, 2, 2, 3]);
    }

    #[test]
    fn resize_picks_rows_and_columns() {
        let x = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 2, 3))
            .unwrap();
        let y = resize_nearest(&x, 3, 5).unwrap();
        let v = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(
            v,
            vec![0., 0., 1., 1., 2., 0., 0., 1., 1., 2., 3., 3., 4., 4., 5.]
        );
    }
}
