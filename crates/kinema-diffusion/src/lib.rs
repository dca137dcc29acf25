//! Latent video diffusion on candle: Conv3d, Wan VAEs, flow-matching schedulers, weight loading.
