//! Building blocks shared by the video models: 3D convolutions (plain and causal) and the
//! channel RMS norm, with a CPU fast path where candle has no kernel of its own.

pub mod attention;
mod attention_cpu;
pub mod conv3d;
mod conv3d_cpu;
mod conv3d_winograd;
pub mod fastmath;
pub mod norm;
mod winograd_transforms;

pub use conv3d::{CausalConv3d, Conv3d, Conv3dConfig, CpuConvKernel, Pad3d};
pub use norm::ChannelRmsNorm;

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
