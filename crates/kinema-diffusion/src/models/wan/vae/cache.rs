//! The feature cache that lets the Wan VAE run a video chunk by chunk.
//!
//! Each causal convolution (and each temporal resampler) owns one slot, visited in the same
//! order on every chunk. A slot keeps the last `CACHE_T` frames that layer saw, which stand in
//! for its past padding on the next chunk; so memory is bounded by the chunk size while the
//! result equals processing the whole video (diffusers' `_feat_map` / `_enc_feat_map`).

use candle_core::Tensor;
use kinema_core::Result;

use crate::nn::conv3d::CACHE_T;
use crate::nn::{CandleContext, CausalConv3d};

/// What a layer remembers between chunks.
#[derive(Clone, Debug, Default)]
pub enum Slot {
    /// Not visited yet: this is the first chunk.
    #[default]
    Empty,
    /// A temporal upsampler saw the first chunk and skipped its time conv (diffusers' "Rep").
    Repeat,
    /// The last frames of the previous chunk(s).
    Frames(Tensor),
}

/// Slots of one encoder or decoder pass over a video.
#[derive(Debug, Default)]
pub struct FeatCache {
    slots: Vec<Slot>,
    cursor: usize,
}

impl FeatCache {
    pub fn new() -> Self {
        FeatCache::default()
    }

    /// Rewinds to the first slot; call before each chunk.
    pub fn start_chunk(&mut self) {
        self.cursor = 0;
    }

    /// The next layer's slot.
    pub fn next_slot(&mut self) -> &mut Slot {
        if self.cursor == self.slots.len() {
            self.slots.push(Slot::Empty);
        }
        self.cursor += 1;
        &mut self.slots[self.cursor - 1]
    }
}

/// The last `CACHE_T` frames of `x`, topped up from the previous cache when `x` is shorter.
/// Copied, so the cache does not keep the whole activation alive.
pub fn tail_frames(x: &Tensor, previous: Option<&Tensor>) -> Result<Tensor> {
    let t = x.dim(2).ctx(|| "cache dims".into())?;
    let keep = t.min(CACHE_T);
    let tail = x.narrow(2, t - keep, keep).ctx(|| "cache tail".into())?;
    let tail = match previous {
        Some(prev) if keep < CACHE_T => {
            let pt = prev.dim(2).ctx(|| "cache dims".into())?;
            let last = prev
                .narrow(2, pt.saturating_sub(1), 1.min(pt))
                .ctx(|| "cache tail".into())?;
            Tensor::cat(&[&last, &tail], 2).ctx(|| "cache tail".into())?
        }
        _ => tail,
    };
    tail.contiguous().ctx(|| "cache copy".into())
}

/// Runs a causal conv, feeding it and then updating its cache slot when chunking.
pub fn cached_conv(
    conv: &CausalConv3d,
    x: &Tensor,
    cache: Option<&mut FeatCache>,
) -> Result<Tensor> {
    let Some(cache) = cache else {
        return conv.forward(x, None);
    };
    let slot = cache.next_slot();
    let previous = match slot {
        Slot::Frames(t) => Some(t.clone()),
        _ => None,
    };
    let tail = tail_frames(x, previous.as_ref())?;
    let out = conv.forward(x, previous.as_ref())?;
    *slot = Slot::Frames(tail);
    Ok(out)
}
