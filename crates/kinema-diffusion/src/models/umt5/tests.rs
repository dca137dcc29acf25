use super::*;
use crate::models::wan::transformer::random_var_builder;
use kinema_core::ErrorKind;

fn tiny_config(extra: &str) -> Umt5Config {
    let json = format!(
        r#"{{"vocab_size": 50, "d_model": 16, "d_kv": 4, "d_ff": 24, "num_layers": 2, "num_heads": 4,
        "relative_attention_num_buckets": 8, "relative_attention_max_distance": 12,
        "model_type": "umt5", "dropout_rate": 0.1{extra}}}"#
    );
    serde_json::from_str(&json).unwrap()
}

fn tiny_encoder() -> Umt5Encoder {
    let vb = random_var_builder(3, 0.5, DType::F32, &Device::Cpu);
    Umt5Encoder::new(tiny_config(""), &vb).unwrap()
}

#[test]
fn buckets_match_t5_for_the_wan_configuration() {
    // num_buckets 32, max_distance 128: 16 per direction, exact below 8, log up to 128.
    let b = |rel| relative_position_bucket(rel, 32, 128);
    assert_eq!([b(0), b(1), b(-1), b(-7), b(7)], [0, 17, 1, 7, 23]);
    assert_eq!(b(-8), 8, "log bucket start");
    assert_eq!(b(-16), 10, "8 + floor(ln 2 / ln 16 · 8)");
    assert_eq!(b(-127), 15);
    assert_eq!(b(-128), 15, "clamped");
    assert_eq!(b(1000), 31);
}

#[test]
fn config_refuses_what_is_not_implemented() {
    assert!(tiny_config("").validate().is_ok());
    let err = tiny_config(r#", "relative_attention_bias_shared": true"#)
        .validate()
        .unwrap_err();
    assert!(
        err.message.contains("relative_attention_bias_shared"),
        "{}",
        err.message
    );
    // T5 is accepted and differs only in where the position bias lives.
    assert_eq!(tiny_config("").position_bias(), PositionBias::PerLayer);
    let mut t5 = tiny_config("");
    t5.model_type = Some("t5".into());
    assert!(t5.validate().is_ok());
    assert_eq!(t5.position_bias(), PositionBias::SharedFromFirstLayer);
    t5.model_type = Some("mt5".into());
    assert!(t5.validate().unwrap_err().message.contains("`mt5`"));
    let err = tiny_config(r#", "feed_forward_proj": "gated-quick_gelu""#)
        .validate()
        .unwrap_err();
    assert!(err.message.contains("gated-quick_gelu"), "{}", err.message);
    assert_eq!(
        tiny_config("").activation().unwrap(),
        (true, Activation::GeluTanh)
    );
    assert_eq!(
        tiny_config(r#", "feed_forward_proj": "gelu""#)
            .activation()
            .unwrap(),
        (false, Activation::Gelu)
    );
}

#[test]
fn padded_tokens_do_not_affect_real_ones() {
    let enc = tiny_encoder();
    let ids =
        |tail: [u32; 2]| Tensor::new(&[[5u32, 9, 13, 2, tail[0], tail[1]]], &Device::Cpu).unwrap();
    let mask = Tensor::new(&[[1u32, 1, 1, 1, 0, 0]], &Device::Cpu).unwrap();
    let a = enc.forward(&ids([0, 0]), Some(&mask)).unwrap();
    let b = enc.forward(&ids([44, 17]), Some(&mask)).unwrap();
    assert_eq!(a.dims(), &[1, 6, 16]);
    let head = |t: &Tensor| t.narrow(1, 0, 4).unwrap();
    let diff: f32 = (head(&a) - head(&b))
        .unwrap()
        .abs()
        .unwrap()
        .max_keepdim(2)
        .unwrap()
        .max(1)
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(diff < 1e-6, "{diff}");
    // Without the mask the padding is attended to.
    let c = enc.forward(&ids([44, 17]), None).unwrap();
    let diff: f32 = (head(&a) - head(&c))
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(diff > 1e-4);
}

#[test]
fn bad_ids_and_masks_are_errors() {
    let enc = tiny_encoder();
    let err = enc
        .forward(&Tensor::new(&[[1u32, 50]], &Device::Cpu).unwrap(), None)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("50"), "{}", err.message);
    let err = enc
        .forward(&Tensor::new(&[1u32, 2], &Device::Cpu).unwrap(), None)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    let mask = Tensor::new(&[[1u32, 1, 1]], &Device::Cpu).unwrap();
    let err = enc
        .forward(
            &Tensor::new(&[[1u32, 2]], &Device::Cpu).unwrap(),
            Some(&mask),
        )
        .unwrap_err();
    assert!(err.message.contains("attention_mask"), "{}", err.message);
}

#[test]
fn prompts_are_cleaned_like_diffusers() {
    assert_eq!(
        clean_prompt("  a   slime &amp; bounce\n\tidle "),
        "a slime & bounce idle"
    );
    assert_eq!(
        clean_prompt("&amp;lt;b&amp;gt; &#25381;&#x624b;"),
        "<b> 挥手"
    );
    assert_eq!(
        clean_prompt("fish & chips &bogus; &"),
        "fish & chips &bogus; &"
    );
}

#[test]
fn missing_weights_are_named() {
    let dir = std::env::temp_dir().join(format!("kinema-umt5-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = weight_files(&dir).unwrap_err();
    assert!(err.message.contains("model.safetensors"), "{}", err.message);
    std::fs::remove_dir_all(&dir).unwrap();
}
