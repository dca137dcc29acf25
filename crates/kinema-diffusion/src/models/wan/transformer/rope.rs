//! Wan's 3D rotary position embedding (`WanRotaryPosEmbed`).
//!
//! Each head's channels are split into frame, row and column parts (`d − 4·⌊d/6⌋`,
//! `2·⌊d/6⌋`, `2·⌊d/6⌋`); each part rotates consecutive channel pairs by its own 1D position
//! with frequencies `θ^(−2i/part)`, computed in f64 like diffusers and rounded to f32 once.

use candle_core::{Device, Result, Tensor};

/// Per-token `cos` and `sin` of every channel pair, `[F·H·W, head_dim / 2]` each, in token
/// order (frame-major, then row, then column: the order of the patch sequence).
pub struct Rope3d {
    pub cos: Tensor,
    pub sin: Tensor,
}

/// Builds the tables for a `frames × rows × cols` patch grid.
pub fn rope_3d(
    parts: [usize; 3],
    grid: [usize; 3],
    max_seq_len: usize,
    theta: f64,
    device: &Device,
) -> Result<Rope3d> {
    if grid.iter().any(|&g| g > max_seq_len) {
        candle_core::bail!(
            "a {grid:?} patch grid exceeds rope_max_seq_len {max_seq_len}; use a smaller video or a model with a longer rotary table"
        );
    }
    // angles[axis][pos][pair] for the three axes.
    let angles: Vec<Vec<Vec<f64>>> = parts
        .iter()
        .zip(grid)
        .map(|(&dim, len)| {
            let freqs: Vec<f64> = (0..dim / 2)
                .map(|i| 1.0 / theta.powf((2 * i) as f64 / dim as f64))
                .collect();
            (0..len)
                .map(|p| freqs.iter().map(|f| p as f64 * f).collect())
                .collect()
        })
        .collect();
    let pairs = parts.iter().sum::<usize>() / 2;
    let tokens = grid.iter().product::<usize>();
    let (mut cos, mut sin) = (
        Vec::with_capacity(tokens * pairs),
        Vec::with_capacity(tokens * pairs),
    );
    for f in 0..grid[0] {
        for h in 0..grid[1] {
            for w in 0..grid[2] {
                for (axis, pos) in [(0, f), (1, h), (2, w)] {
                    for a in &angles[axis][pos] {
                        cos.push(a.cos() as f32);
                        sin.push(a.sin() as f32);
                    }
                }
            }
        }
    }
    Ok(Rope3d {
        cos: Tensor::from_vec(cos, (tokens, pairs), device)?,
        sin: Tensor::from_vec(sin, (tokens, pairs), device)?,
    })
}

impl Rope3d {
    /// Rotates `x: [B, heads, tokens, head_dim]` (pairs interleaved), in f32.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let dtype = x.dtype();
        let x32 = x.to_dtype(candle_core::DType::F32)?.contiguous()?;
        candle_nn::rotary_emb::rope_i(&x32, &self.cos, &self.sin)?.to_dtype(dtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rotation by hand for one token: pair (x0, x1) → (x0·c − x1·s, x0·s + x1·c).
    #[test]
    fn rotates_pairs_by_position_along_each_axis() {
        let dev = Device::Cpu;
        let parts = [4, 2, 2]; // head_dim 8 → 4 pairs: 2 frame, 1 row, 1 column
        let rope = rope_3d(parts, [2, 3, 2], 8, 10000.0, &dev).unwrap();
        assert_eq!(rope.cos.dims(), &[12, 4]);
        let cos: Vec<Vec<f32>> = rope.cos.to_vec2().unwrap();
        // token (f=1, h=2, w=1) = 1·6 + 2·2 + 1 = 11
        let want = [1f64.cos(), (1.0 / 100f64).cos(), 2f64.cos(), 1f64.cos()];
        for (g, w) in cos[11].iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6, "{:?}", cos[11]);
        }
        let x = Tensor::arange(0f32, 8.0, &dev)
            .unwrap()
            .reshape((1, 1, 1, 8))
            .unwrap();
        let one = rope_3d(parts, [1, 1, 1], 8, 10000.0, &dev).unwrap();
        let y: Vec<f32> = one
            .apply(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(
            y,
            (0..8).map(|v| v as f32).collect::<Vec<_>>(),
            "position 0 is the identity"
        );
    }

    #[test]
    fn grid_beyond_table_is_an_error() {
        assert!(rope_3d([4, 2, 2], [1, 40, 2], 32, 10000.0, &Device::Cpu).is_err());
    }
}
