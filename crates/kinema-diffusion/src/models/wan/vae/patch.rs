//! Wan2.2's pixel patching: each `p×p` block of pixels becomes `p²` channels before the
//! encoder (and back after the decoder), with diffusers' channel order
//! `c·p² + col·p + row` (column offset major).

use candle_core::Tensor;
use kinema_core::{Error, Result};

use crate::nn::CandleContext;

/// `[B, C, T, H, W]` → `[B, C·p², T, H/p, W/p]`.
pub fn patchify(x: &Tensor, p: usize) -> Result<Tensor> {
    if p == 1 {
        return Ok(x.clone());
    }
    let (b, c, t, h, w) = x.dims5().ctx(|| "patchify input".into())?;
    if h % p != 0 || w % p != 0 {
        return Err(Error::invalid(
            format!("frame size {w}x{h} is not divisible by the patch size {p}"),
            format!("use multiples of {p}"),
        ));
    }
    x.reshape(vec![b, c, t, h / p, p, w / p, p])
        .and_then(|x| x.permute(vec![0, 1, 6, 4, 2, 3, 5]))
        .and_then(|x| x.contiguous())
        .and_then(|x| x.reshape((b, c * p * p, t, h / p, w / p)))
        .ctx(|| "patchify".into())
}

/// `[B, C·p², T, h, w]` → `[B, C, T, h·p, w·p]`, the inverse of [`patchify`].
pub fn unpatchify(x: &Tensor, p: usize) -> Result<Tensor> {
    if p == 1 {
        return Ok(x.clone());
    }
    let (b, cp, t, h, w) = x.dims5().ctx(|| "unpatchify input".into())?;
    if cp % (p * p) != 0 {
        return Err(Error::model(format!(
            "{cp} channels cannot be unpatchified with patch size {p}"
        )));
    }
    let c = cp / (p * p);
    x.reshape(vec![b, c, p, p, t, h, w])
        .and_then(|x| x.permute(vec![0, 1, 4, 5, 3, 6, 2]))
        .and_then(|x| x.contiguous())
        .and_then(|x| x.reshape((b, c, t, h * p, w * p)))
        .ctx(|| "unpatchify".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn unpatchify_inverts_patchify_and_orders_channels_like_diffusers() {
        let x = Tensor::arange(0f32, 2.0 * 3.0 * 4.0 * 6.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 2, 3, 4, 6))
            .unwrap();
        let p = patchify(&x, 2).unwrap();
        assert_eq!(p.dims(), [1, 8, 3, 2, 3]);
        // Channel 1 of colour 0 = column offset 0, row offset 1: pixel (1, 0) of frame 0.
        let v = p
            .narrow(1, 1, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(v[0], 6.0);
        let back = unpatchify(&p, 2).unwrap();
        let d = (back - &x)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(d, 0.0);
        assert!(patchify(&x.narrow(4, 0, 5).unwrap(), 2).is_err());
    }
}
