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
pub mod norm;
pub mod temporal_conv;
pub mod timestep;
mod winograd_transforms;

pub use conv2d::Conv2d;
pub use conv3d::{CausalConv3d, Conv3d, Conv3dConfig, CpuConvKernel, Pad3d};
pub use group_norm::GroupNorm;
pub use norm::ChannelRmsNorm;
pub use temporal_conv::TemporalConv;

use kinema_core::{Error, Result};

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
