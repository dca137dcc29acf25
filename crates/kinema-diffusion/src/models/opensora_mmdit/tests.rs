//! Shape and error tests on random weights; numerical parity is in the `opensora_mmdit`
//! cases (`tests/parity/`).

use candle_core::{DType, Device, Tensor};

use super::*;
use crate::weights::RandomWeights;

fn tiny(fused: bool, liger: bool, cond: bool, guidance: bool) -> MmditConfig {
    serde_json::from_value(serde_json::json!({
        "in_channels": 8, "vec_in_dim": 6, "context_in_dim": 10, "hidden_size": 24,
        "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1,
        "axes_dim": [4, 4, 4], "theta": 10000, "qkv_bias": true, "guidance_embed": guidance,
        "cond_embed": cond, "fused_qkv": fused, "use_liger_rope": liger, "patch_size": 2,
        "from_pretrained": null, "cache_dir": null, "grad_ckpt_settings": null
    }))
    .unwrap()
}

struct Inputs {
    img: Tensor,
    img_ids: Tensor,
    txt: Tensor,
    txt_ids: Tensor,
    t: Tensor,
    y: Tensor,
    cond: Tensor,
    g: Tensor,
}

fn inputs() -> Inputs {
    let d = Device::Cpu;
    Inputs {
        img: Tensor::randn(0f32, 1., (2, 6, 8), &d).unwrap(),
        img_ids: Tensor::randn(0f32, 1., (2, 6, 3), &d).unwrap(),
        txt: Tensor::randn(0f32, 1., (2, 3, 10), &d).unwrap(),
        txt_ids: Tensor::zeros((2, 3, 3), DType::F32, &d).unwrap(),
        t: Tensor::new(&[0.3f32, 0.9], &d).unwrap(),
        y: Tensor::randn(0f32, 1., (2, 6), &d).unwrap(),
        cond: Tensor::randn(0f32, 1., (2, 6, 12), &d).unwrap(),
        g: Tensor::new(&[4f32, 4.], &d).unwrap(),
    }
}

fn input<'a>(i: &'a Inputs, cond: bool, guidance: bool) -> MmditInput<'a> {
    MmditInput {
        img: &i.img,
        img_ids: &i.img_ids,
        txt: &i.txt,
        txt_ids: &i.txt_ids,
        timesteps: &i.t,
        y_vec: &i.y,
        cond: cond.then_some(&i.cond),
        guidance: guidance.then_some(&i.g),
    }
}

#[test]
fn every_key_layout_runs_and_keeps_the_token_shape() {
    let i = inputs();
    for (fused, liger, cond, guidance) in [
        (true, false, false, true),
        (false, true, true, false),
        (false, false, true, true),
    ] {
        let vb = RandomWeights::var_builder(3, DType::F32, &Device::Cpu);
        let model = MmditModel::new(tiny(fused, liger, cond, guidance), &vb).unwrap();
        let out = model.forward(&input(&i, cond, guidance)).unwrap();
        assert_eq!(out.dims(), &[2, 6, 8]);
    }
}

#[test]
fn the_rope_layout_changes_the_output() {
    let i = inputs();
    let run = |liger| {
        let vb = RandomWeights::var_builder(3, DType::F32, &Device::Cpu);
        let model = MmditModel::new(tiny(false, liger, true, false), &vb).unwrap();
        model.forward(&input(&i, true, false)).unwrap()
    };
    let diff = (run(true) - run(false))
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(
        diff > 1e-4,
        "layouts gave the same output (max diff {diff})"
    );
}

#[test]
fn missing_condition_and_bad_shapes_are_specific_errors() {
    let i = inputs();
    let vb = RandomWeights::var_builder(3, DType::F32, &Device::Cpu);
    let model = MmditModel::new(tiny(false, true, true, true), &vb).unwrap();
    let err = model.forward(&input(&i, false, true)).unwrap_err();
    assert!(err.message.contains("cond_embed"), "{}", err.message);
    let err = model.forward(&input(&i, true, false)).unwrap_err();
    assert!(err.message.contains("guidance"), "{}", err.message);
    let wrong = Tensor::zeros((2, 6, 8), DType::F32, &Device::Cpu).unwrap();
    let mut bad = input(&i, true, true);
    bad.cond = Some(&wrong);
    let err = model.forward(&bad).unwrap_err();
    assert!(err.message.contains("[2, 6, 12]"), "{}", err.message);
}

#[test]
fn config_is_checked_and_the_release_config_ships() {
    let v2 = MmditConfig::open_sora_v2();
    v2.validate().unwrap();
    assert_eq!(
        (
            v2.hidden_size,
            v2.num_heads,
            v2.depth,
            v2.depth_single_blocks
        ),
        (3072, 24, 19, 38)
    );
    assert_eq!(v2.axes_dim, vec![16, 56, 56]);
    assert!(v2.use_liger_rope && !v2.fused_qkv && v2.cond_embed);
    assert_eq!(v2.cond_channels(), 68);

    let mut bad = tiny(true, false, false, false);
    bad.axes_dim = vec![4, 4, 2];
    assert!(bad.validate().unwrap_err().message.contains("axes_dim"));
    let unknown = serde_json::from_value::<MmditConfig>(serde_json::json!({
        "in_channels": 8, "vec_in_dim": 6, "context_in_dim": 10, "hidden_size": 24,
        "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1,
        "axes_dim": [4, 4, 4], "theta": 10000, "qkv_bias": true, "guidance_embed": false,
        "frobnicate": 1
    }));
    assert!(unknown.is_err(), "unknown config keys must be refused");
}

/// The count from the config equals the weights Open-Sora's code saved, for every committed
/// case (both key layouts, with and without guidance_in), and the release is ≈ 11B.
#[test]
fn parameter_count_matches_the_saved_state_dicts() {
    let root = crate::parity::builtin_dir();
    let mut checked = 0;
    for case in [
        "opensora_mmdit_liger",
        "opensora_mmdit_flux",
        "opensora_sampling_flux",
    ] {
        let dir = root.join(case).join("transformer");
        let config = MmditConfig::from_dir(&dir).unwrap();
        let tensors = candle_core::safetensors::load(
            dir.join("diffusion_pytorch_model.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        let saved: usize = tensors.values().map(|t| t.elem_count()).sum();
        assert_eq!(config.parameter_count(), saved as u64, "{case}");
        checked += 1;
    }
    assert_eq!(checked, 3);
    let v2 = MmditConfig::open_sora_v2().parameter_count();
    assert!((10_500_000_000..12_000_000_000).contains(&v2), "{v2}");
}
