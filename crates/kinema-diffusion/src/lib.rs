//! Latent video diffusion on candle: Conv3d, Wan VAEs, flow-matching schedulers, weight loading.
//!
//! Laid out like diffusers (`schedulers/`, and `nn/`, `models/`, `weights` for the networks)
//! so that each piece can be checked against its diffusers counterpart by the data-driven
//! parity suite in [`parity`].

pub mod engine;
pub mod heap;
pub mod models;
pub mod nn;
pub mod parity;
pub mod pipelines;
pub mod schedulers;
pub mod weights;
