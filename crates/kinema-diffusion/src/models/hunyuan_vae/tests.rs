use candle_core::{DType, Device, Tensor};

use super::*;
use crate::nn::max_abs_diff;
use crate::weights::RandomWeights;

/// A VAE small enough to run on 272-pixel frames in a unit test, with random weights.
fn tiny_vae(parts: VaeParts) -> AutoencoderKLHunyuanVideo {
    let config: Config = serde_json::from_str(
        r#"{"latent_channels": 2, "block_out_channels": [2, 2, 4, 4],
            "layers_per_block": 1, "norm_num_groups": 2}"#,
    )
    .unwrap();
    AutoencoderKLHunyuanVideo::new(
        config,
        RandomWeights::var_builder(7, DType::F32, &Device::Cpu),
        parts,
    )
    .unwrap()
}

fn ramp_video(frames: usize, h: usize, w: usize) -> Tensor {
    let n = 3 * frames * h * w;
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    Tensor::from_vec(values, (1, 3, frames, h, w), &Device::Cpu).unwrap()
}

#[test]
fn config_defaults_are_the_released_checkpoints() {
    let c: Config = serde_json::from_str("{}").unwrap();
    c.validate().unwrap();
    assert_eq!(c.latent_channels, 16);
    assert_eq!(c.scaling_factor, OPEN_SORA_SCALING_FACTOR);
    // 8x in space over the first three stages, 4x in time over the middle two.
    let stages: Vec<(usize, usize)> = (0..4)
        .map(|i| c.stage_resample(i))
        .map(|r| (r.time, r.space))
        .collect();
    assert_eq!(stages, [(1, 2), (2, 2), (2, 2), (1, 1)]);
    assert_eq!(c.latent_frames(33), 9);
    let bad: Config = serde_json::from_str(r#"{"temporal_compression_ratio": 8}"#).unwrap();
    assert!(bad
        .validate()
        .unwrap_err()
        .message
        .contains("temporal_compression_ratio"));
    assert!(serde_json::from_str::<Config>(r#"{"frobnicate": 1}"#).is_err());
}

#[test]
fn reference_latent_is_a_seeded_scaled_posterior_sample() {
    let vae = tiny_vae(VaeParts::EncoderOnly);
    let frame = ramp_video(1, 16, 16);
    let posterior = vae.encode(&frame).unwrap();
    let latent = vae.reference_latent(&frame, 42).unwrap();
    assert_eq!(latent.dims(), &[1, 2, 1, 2, 2]);
    let expected = (posterior.sample(42).unwrap() * 0.476986).unwrap();
    assert!(max_abs_diff(&latent, &expected) < 1e-6);
    // A sample, not the mean: it moves with the seed and differs from `mean · scale`.
    assert_eq!(
        max_abs_diff(&latent, &vae.reference_latent(&frame, 42).unwrap()),
        0.0
    );
    assert!(max_abs_diff(&latent, &vae.reference_latent(&frame, 43).unwrap()) > 1e-4);
    let scaled_mean = (posterior.mean * 0.476986).unwrap();
    assert!(max_abs_diff(&latent, &scaled_mean) > 1e-4);
}

#[test]
fn open_sora_tiles_spatially_only_above_256_pixels() {
    let t = Tiling::open_sora();
    let s = t.spatial.unwrap();
    assert!(t.temporal.is_none());
    assert!(!s.applies(256, 256));
    assert!(s.applies(264, 256) && s.applies(256, 264));

    let mut vae = tiny_vae(VaeParts::EncoderOnly);
    // At 256 px nothing is tiled: identical to the untiled encoder.
    let small = ramp_video(1, 256, 16);
    let plain = vae.encode(&small).unwrap().mean;
    vae.set_tiling(Tiling::open_sora()).unwrap();
    assert_eq!(max_abs_diff(&plain, &vae.encode(&small).unwrap().mean), 0.0);

    // At 272 px two tiles run: pixel rows 0..256 and 192..272 (latent rows 0..32, 24..34).
    // The first tile's 24-row crop is used as is (and row 24 too: the crossfade starts at
    // weight 0); past the 8-row blend the second tile's own rows show through.
    let tall = ramp_video(1, 272, 16);
    let tiled = vae.encode(&tall).unwrap().mean;
    assert_eq!(tiled.dims(), &[1, 2, 1, 34, 2]);
    vae.set_tiling(Tiling {
        spatial: None,
        temporal: None,
    })
    .unwrap();
    let first = vae.encode(&tall.narrow(3, 0, 256).unwrap()).unwrap().mean;
    let second = vae.encode(&tall.narrow(3, 192, 80).unwrap()).unwrap().mean;
    let rows = |t: &Tensor, a: usize, n: usize| t.narrow(3, a, n).unwrap();
    assert_eq!(
        max_abs_diff(&rows(&tiled, 0, 25), &rows(&first, 0, 25)),
        0.0
    );
    assert!(max_abs_diff(&rows(&tiled, 32, 2), &rows(&second, 8, 2)) < 1e-6);
    let y = 4.0 / 8.0;
    let mid =
        ((rows(&first, 28, 1) * (1.0 - y)).unwrap() + (rows(&second, 4, 1) * y).unwrap()).unwrap();
    assert!(max_abs_diff(&rows(&tiled, 28, 1), &mid) < 1e-6);
    // The whole frame at once differs: the tiles' norms and attention see less.
    let whole = vae.encode(&tall).unwrap().mean;
    assert!(max_abs_diff(&tiled, &whole) > 1e-4);
}

#[test]
fn blend_crossfades_linearly_from_the_previous_tile() {
    let a = Tensor::ones((1, 1, 1, 6, 1), DType::F32, &Device::Cpu).unwrap();
    let b = Tensor::zeros((1, 1, 1, 5, 1), DType::F32, &Device::Cpu).unwrap();
    let out = tiling::blend(&a, &b, 3, 4).unwrap();
    let v: Vec<f32> = out.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(v, [1.0, 0.75, 0.5, 0.25, 0.0]);
}

#[test]
fn bad_inputs_are_named() {
    let vae = tiny_vae(VaeParts::EncoderOnly);
    let err = vae.encode(&ramp_video(1, 12, 16)).unwrap_err();
    assert!(err.message.contains("multiple of"), "{}", err.message);
    let z = Tensor::zeros((1, 2, 1, 2, 2), DType::F32, &Device::Cpu).unwrap();
    assert!(vae
        .decode(&z)
        .unwrap_err()
        .message
        .contains("without its decoder"));
    let mut vae = vae;
    let err = vae
        .set_tiling(Tiling {
            spatial: Some(SpatialTiling {
                min_height: 256,
                min_width: 256,
                stride_height: 300,
                stride_width: 192,
            }),
            temporal: None,
        })
        .unwrap_err();
    assert!(err.message.contains("stride 300"), "{}", err.message);
}
