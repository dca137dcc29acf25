use super::*;
use crate::nn::max_abs_diff;
use kinema_core::ErrorKind;

fn tiny_config(extra: &str) -> WanTransformerConfig {
    let json = format!(
        r#"{{"_class_name": "WanTransformer3DModel", "patch_size": [1, 2, 2], "num_attention_heads": 2,
        "attention_head_dim": 12, "in_channels": 4, "out_channels": 6, "text_dim": 16, "freq_dim": 32,
        "ffn_dim": 20, "num_layers": 2, "rope_max_seq_len": 32{extra}}}"#
    );
    serde_json::from_str(&json).unwrap()
}

fn tiny_model(extra: &str) -> WanTransformer3DModel {
    let vb = random_var_builder(7, 0.3, DType::F32, &Device::Cpu);
    WanTransformer3DModel::new(tiny_config(extra), &vb).unwrap()
}

fn noise(shape: &[usize], seed: u64) -> Tensor {
    random_var_builder(seed, 1.0, DType::F32, &Device::Cpu)
        .get(shape, "x")
        .unwrap()
}

#[test]
fn config_refuses_unknown_and_unimplemented_values() {
    assert!(tiny_config("").validate().is_ok());
    let err = tiny_config(r#", "window_size": [-1, -1]"#)
        .validate()
        .unwrap_err();
    assert!(err.message.contains("window_size"), "{}", err.message);
    let err = tiny_config(r#", "qk_norm": "layer_norm""#)
        .validate()
        .unwrap_err();
    assert!(err.message.contains("qk_norm"), "{}", err.message);
    let err = tiny_config(r#", "image_dim": 8, "added_kv_proj_dim": 5"#)
        .validate()
        .unwrap_err();
    assert!(err.message.contains("added_kv_proj_dim"), "{}", err.message);
    let mut odd = tiny_config("");
    odd.attention_head_dim = 13;
    let err = odd.validate().unwrap_err();
    assert!(
        err.message.contains("attention_head_dim"),
        "{}",
        err.message
    );
}

#[test]
fn forward_shape_and_per_token_timesteps_equal_the_scalar_path() {
    let model = tiny_model("");
    let x = noise(&[1, 4, 3, 4, 6], 1);
    let text = noise(&[1, 5, 16], 2);
    let t = Tensor::new(&[321.5f32], &Device::Cpu).unwrap();
    let input = TransformerInput {
        hidden_states: &x,
        timestep: &t,
        encoder_hidden_states: &text,
        encoder_hidden_states_image: None,
    };
    let out = model.forward(&input).unwrap();
    assert_eq!(out.dims(), &[1, 6, 3, 4, 6]);
    // 3·2·3 = 18 tokens, all at the same timestep: must equal the per-sample path.
    let per_token = Tensor::full(321.5f32, (1, 18), &Device::Cpu).unwrap();
    let out2 = model
        .forward(&TransformerInput {
            timestep: &per_token,
            ..input
        })
        .unwrap();
    assert!(
        max_abs_diff(&out, &out2) < 1e-5,
        "{}",
        max_abs_diff(&out, &out2)
    );
    // And a different timestep changes the output (the modulation is live).
    let t2 = Tensor::new(&[10f32], &Device::Cpu).unwrap();
    let out3 = model
        .forward(&TransformerInput {
            timestep: &t2,
            ..input
        })
        .unwrap();
    assert!(max_abs_diff(&out, &out3) > 1e-3);
}

#[test]
fn attention_chunking_does_not_change_the_output() {
    let x = noise(&[1, 4, 2, 6, 4], 3);
    let text = noise(&[1, 9, 16], 4);
    let t = Tensor::new(&[700f32], &Device::Cpu).unwrap();
    let input = TransformerInput {
        hidden_states: &x,
        timestep: &t,
        encoder_hidden_states: &text,
        encoder_hidden_states_image: None,
    };
    let whole = tiny_model("").forward(&input).unwrap();
    let chunked = tiny_model("")
        .with_attention_chunks(AttentionChunks {
            max_score_bytes: 2 * 5 * 4 * 5,
            max_keys: 5,
        })
        .forward(&input)
        .unwrap();
    assert!(
        max_abs_diff(&whole, &chunked) < 1e-4,
        "{}",
        max_abs_diff(&whole, &chunked)
    );
}

#[test]
fn bad_inputs_are_invalid_input_errors() {
    let model = tiny_model("");
    let text = noise(&[1, 5, 16], 2);
    let t = Tensor::new(&[1f32], &Device::Cpu).unwrap();
    let check = |x: &Tensor, t: &Tensor, text: &Tensor, needle: &str| {
        let err = model
            .forward(&TransformerInput {
                hidden_states: x,
                timestep: t,
                encoder_hidden_states: text,
                encoder_hidden_states_image: None,
            })
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{}", err.message);
        assert!(err.message.contains(needle), "{needle}: {}", err.message);
    };
    check(&noise(&[1, 5, 2, 4, 4], 1), &t, &text, "channels");
    check(
        &noise(&[1, 4, 2, 5, 4], 1),
        &t,
        &text,
        "multiple of the patch",
    );
    check(
        &noise(&[1, 4, 2, 4, 4], 1),
        &Tensor::zeros((1, 7), DType::F32, &Device::Cpu).unwrap(),
        &text,
        "timestep",
    );
    check(
        &noise(&[1, 4, 2, 4, 4], 1),
        &t,
        &noise(&[1, 5, 8], 2),
        "encoder_hidden_states",
    );
    // rope table of 32 positions: 70 columns of patches are too many.
    let wide = noise(&[1, 4, 1, 2, 140], 1);
    let err = model
        .forward(&TransformerInput {
            hidden_states: &wide,
            timestep: &t,
            encoder_hidden_states: &text,
            encoder_hidden_states_image: None,
        })
        .unwrap_err();
    assert!(err.message.contains("rope_max_seq_len"), "{}", err.message);
}

#[test]
fn image_tokens_reach_the_output() {
    let extra = r#", "image_dim": 8, "added_kv_proj_dim": 24"#;
    let model = tiny_model(extra);
    let x = noise(&[1, 4, 1, 4, 4], 1);
    let text = noise(&[1, 5, 16], 2);
    let t = Tensor::new(&[100f32], &Device::Cpu).unwrap();
    let (img_a, img_b) = (noise(&[1, 3, 8], 5), noise(&[1, 3, 8], 6));
    let run = |img: &Tensor| {
        model
            .forward(&TransformerInput {
                hidden_states: &x,
                timestep: &t,
                encoder_hidden_states: &text,
                encoder_hidden_states_image: Some(img),
            })
            .unwrap()
    };
    assert!(max_abs_diff(&run(&img_a), &run(&img_b)) > 1e-4);
}
