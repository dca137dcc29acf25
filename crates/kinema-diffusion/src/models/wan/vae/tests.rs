use super::*;
use crate::nn::max_abs_diff;
use crate::weights::RandomWeights;

fn tiny(residual: bool) -> WanVaeConfig {
    let json = if residual {
        r#"{"base_dim": 8, "decoder_base_dim": 12, "z_dim": 8, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1,
            "temperal_downsample": [false, true, true], "is_residual": true, "in_channels": 12, "out_channels": 12,
            "patch_size": 2, "scale_factor_spatial": 16, "latents_mean": [0,0,0,0,0,0,0,0], "latents_std": [1,1,1,1,1,1,1,1]}"#
    } else {
        r#"{"base_dim": 6, "z_dim": 4, "dim_mult": [1, 2, 2], "num_res_blocks": 1, "temperal_downsample": [true, false], "scale_factor_spatial": 4,
            "latents_mean": [0.5, -1, 0, 2], "latents_std": [2, 1, 0.5, 3]}"#
    };
    WanVaeConfig::from_json(json).unwrap()
}

fn model(residual: bool) -> AutoencoderKLWan {
    let vb = RandomWeights::var_builder(7, DType::F32, &Device::Cpu);
    AutoencoderKLWan::new(tiny(residual), vb, VaeParts::Both).unwrap()
}

fn video(t: usize, h: usize, w: usize) -> Tensor {
    let n = 3 * t * h * w;
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 7919 % 997) as f32 / 498.5) - 1.0)
        .collect();
    Tensor::from_vec(v, (1, 3, t, h, w), &Device::Cpu).unwrap()
}

#[test]
fn shapes_follow_the_compression_of_both_variants() {
    for (residual, spatial) in [(false, 4), (true, 16)] {
        let vae = model(residual);
        assert_eq!(vae.config().spatial_compression(), spatial);
        let x = video(5, 32, 48);
        let post = vae.encode(&x).unwrap();
        let z = vae.config().z_dim;
        let tc = vae.config().temporal_compression();
        assert_eq!(
            post.mean.dims(),
            [1, z, 1 + 4 / tc, 32 / spatial, 48 / spatial],
            "residual {residual}"
        );
        let out = vae.decode(&post.mode()).unwrap();
        assert_eq!(
            out.dims()[..3],
            [1, 3, 1 + (post.mean.dim(2).unwrap() - 1) * tc]
        );
        assert_eq!(out.dims()[3..], [32, 48]);
        let m = out
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(m <= 1.0 && m > 0.0, "clamped and not all zero: {m}");
    }
}

#[test]
fn chunked_decode_is_causal() {
    // Decoding the first 2 latent frames gives exactly the first frames of decoding 3.
    let vae = model(true);
    let z = (video(3, 4, 4)
        .narrow(1, 0, 1)
        .unwrap()
        .repeat((1, 8, 1, 1, 1))
        .unwrap()
        * 0.7)
        .unwrap();
    let all = vae.decode(&z).unwrap();
    let prefix = vae.decode(&z.narrow(2, 0, 2).unwrap()).unwrap();
    let n = prefix.dim(2).unwrap();
    assert_eq!(all.dim(2).unwrap(), 9);
    assert_eq!(n, 5);
    assert!(max_abs_diff(&all.narrow(2, 0, n).unwrap(), &prefix) < 1e-6);
}

#[test]
fn posterior_sampling_is_seeded_and_latents_normalise_round_trip() {
    let vae = model(false);
    let post = vae.encode(&video(1, 16, 16)).unwrap();
    let a = post.sample(3).unwrap();
    assert_eq!(max_abs_diff(&a, &post.sample(3).unwrap()), 0.0);
    assert!(max_abs_diff(&a, &post.sample(4).unwrap()) > 0.0);
    let n = vae.normalize_latents(&a).unwrap();
    assert!(max_abs_diff(&vae.denormalize_latents(&n).unwrap(), &a) < 1e-5);
}

#[test]
fn tiled_decode_and_encode_approximate_untiled() {
    let mut vae = model(false);
    let x = video(1, 48, 40);
    let z = vae.encode(&x).unwrap().mode();
    let full = vae.decode(&z).unwrap();
    let full_z = z.clone();
    vae.enable_tiling(TilingConfig {
        tile_sample_min_height: 32,
        tile_sample_min_width: 32,
        tile_sample_stride_height: 24,
        tile_sample_stride_width: 24,
    })
    .unwrap();
    let tiled = vae.decode(&z).unwrap();
    assert_eq!(tiled.dims(), full.dims());
    let mean_err = (&tiled - &full)
        .unwrap()
        .abs()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(mean_err < 0.05, "tiled decode mean abs error {mean_err}");
    let tz = vae.encode(&x).unwrap().mode();
    assert_eq!(tz.dims(), full_z.dims());
    let mean_err = (&tz - &full_z)
        .unwrap()
        .abs()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let scale = full_z
        .abs()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(
        mean_err < 0.2 * scale,
        "tiled encode error {mean_err} vs scale {scale}"
    );
    assert!(vae
        .enable_tiling(TilingConfig {
            tile_sample_stride_height: 0,
            ..TilingConfig::default()
        })
        .is_err());
}

#[test]
fn bad_inputs_and_missing_weights_are_explained() {
    let vae = model(true);
    let e = vae
        .decode(&Tensor::zeros((1, 5, 1, 2, 2), DType::F32, &Device::Cpu).unwrap())
        .unwrap_err();
    assert!(e.message.contains("5 channels"), "{}", e.message);
    let e = vae
        .encode(&Tensor::zeros((1, 3, 1, 31, 32), DType::F32, &Device::Cpu).unwrap())
        .unwrap_err();
    assert!(e.message.contains("patch size 2"), "{}", e.message);
    assert!(vae
        .encode(&Tensor::zeros((3, 1, 32, 32), DType::F32, &Device::Cpu).unwrap())
        .is_err());

    let dir = std::env::temp_dir().join(format!("kinema-vae-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"base_dim": 4, "z_dim": 4, "dim_mult": [1, 1], "temperal_downsample": [false]}"#,
    )
    .unwrap();
    let w = Tensor::zeros((4, 4, 1, 1, 1), DType::F32, &Device::Cpu).unwrap();
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("post_quant_conv.weight", w)]),
        dir.join(crate::weights::WEIGHTS_FILE),
    )
    .unwrap();
    let e = match AutoencoderKLWan::load(&dir, VaeParts::DecoderOnly, DType::F32, &Device::Cpu) {
        Ok(_) => panic!("loaded without weights"),
        Err(e) => e,
    };
    assert!(
        e.message.contains("decoder.conv_in.weight"),
        "{}",
        e.message
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
