use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("kinema-weights-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small valid file: two tensors of different dtypes.
fn valid_bytes() -> Vec<u8> {
    let dir = temp_dir("valid");
    let path = dir.join("w.safetensors");
    let a = Tensor::arange(0f32, 12.0, &Device::Cpu)
        .unwrap()
        .reshape((3, 4))
        .unwrap();
    let b = Tensor::arange(0f32, 5.0, &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F16)
        .unwrap();
    candle_core::safetensors::save(
        &HashMap::from([("conv.weight", a), ("conv.bias", b)]),
        &path,
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

/// Writes `bytes` as the weights of a model folder and tries everything a model load does.
fn load_everything(bytes: &[u8]) -> Result<()> {
    let dir = temp_dir("fuzz");
    std::fs::write(dir.join(WEIGHTS_FILE), bytes).unwrap();
    let result = (|| {
        let entries = validate_safetensors(&dir.join(WEIGHTS_FILE))?;
        let vb = load_var_builder(&dir, DType::F32, &Device::Cpu)?;
        for e in entries {
            get(&vb, &e.shape, &e.name)?;
        }
        Ok(())
    })();
    std::fs::remove_dir_all(&dir).unwrap();
    result
}

#[test]
fn valid_file_loads_with_dtype_conversion() {
    let dir = temp_dir("ok");
    std::fs::write(dir.join(WEIGHTS_FILE), valid_bytes()).unwrap();
    let vb = load_var_builder(&dir, DType::F32, &Device::Cpu).unwrap();
    let bias = get(&vb.pp("conv"), &[5], "bias").unwrap();
    assert_eq!(bias.dtype(), DType::F32);
    assert_eq!(
        bias.to_vec1::<f32>().unwrap(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_key_and_wrong_shape_name_the_key() {
    let dir = temp_dir("keys");
    std::fs::write(dir.join(WEIGHTS_FILE), valid_bytes()).unwrap();
    let vb = load_var_builder(&dir, DType::F32, &Device::Cpu)
        .unwrap()
        .pp("conv");
    let e = get(&vb, &[3], "scale").unwrap_err();
    assert!(e.message.contains("`conv.scale`"), "{}", e.message);
    let e = get(&vb, &[4, 3], "weight").unwrap_err();
    assert!(
        e.message.contains("`conv.weight`") && e.message.contains("[4, 3]"),
        "{}",
        e.message
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shards_are_found_through_the_index() {
    let dir = temp_dir("shards");
    let a = Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap();
    let b = Tensor::ones(3, DType::F32, &Device::Cpu).unwrap();
    candle_core::safetensors::save(&HashMap::from([("a", a)]), dir.join("s1.safetensors")).unwrap();
    candle_core::safetensors::save(&HashMap::from([("b", b)]), dir.join("s2.safetensors")).unwrap();
    std::fs::write(
        dir.join(INDEX_FILE),
        r#"{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}"#,
    )
    .unwrap();
    let vb = load_var_builder(&dir, DType::F32, &Device::Cpu).unwrap();
    assert_eq!(
        get(&vb, &[3], "b").unwrap().to_vec1::<f32>().unwrap(),
        vec![1.0; 3]
    );
    std::fs::write(
        dir.join(INDEX_FILE),
        r#"{"weight_map": {"a": "s1.safetensors", "c": "s3.safetensors"}}"#,
    )
    .unwrap();
    let e = weight_files(&dir).unwrap_err();
    assert!(
        e.message.contains("s3.safetensors") && e.message.contains("missing"),
        "{}",
        e.message
    );
    std::fs::write(
        dir.join(INDEX_FILE),
        r#"{"weight_map": {"a": "../x.safetensors"}}"#,
    )
    .unwrap();
    assert!(weight_files(&dir).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
    let e = weight_files(&temp_dir("empty")).unwrap_err();
    assert!(e.message.contains(WEIGHTS_FILE), "{}", e.message);
}

#[test]
fn corrupt_files_are_named_errors() {
    let good = valid_bytes();
    let truncated = &good[..good.len() - 3];
    let e = load_everything(truncated).unwrap_err();
    assert!(
        e.message.contains("not a valid safetensors file"),
        "{}",
        e.message
    );
    let mut huge_header = good.clone();
    huge_header[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(load_everything(&huge_header)
        .unwrap_err()
        .message
        .contains("header length"));
    assert!(load_everything(&good[..5])
        .unwrap_err()
        .message
        .contains("too short"));
    assert!(load_everything(&good).is_ok());
}

#[test]
fn config_errors_name_the_file() {
    let dir = temp_dir("cfg");
    let e = read_config::<serde_json::Value>(&dir).unwrap_err();
    assert!(e.message.contains("config.json"), "{}", e.message);
    std::fs::write(dir.join("config.json"), "{not json").unwrap();
    let e = read_config::<serde_json::Value>(&dir).unwrap_err();
    assert!(
        e.message.contains("config.json") && e.message.contains("not valid"),
        "{}",
        e.message
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any cut of a valid file is refused with an error (never a panic).
    #[test]
    fn fuzz_truncation_is_an_error(cut in 0usize..1000) {
        let good = valid_bytes();
        let cut = cut % good.len();
        prop_assert!(load_everything(&good[..cut]).is_err());
    }

    /// Random byte overwrites anywhere in the header (and its length prefix) never panic; if
    /// the result still parses, every tensor it describes loads.
    #[test]
    fn fuzz_header_mutations_never_panic(edits in proptest::collection::vec((0usize..4096, any::<u8>()), 1..6)) {
        let mut bytes = valid_bytes();
        let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        for (pos, val) in edits {
            let pos = pos % header_end;
            bytes[pos] = val;
        }
        let _ = load_everything(&bytes);
    }

    /// Appended junk or a header length pointing elsewhere is an error.
    #[test]
    fn fuzz_length_and_tail_changes_are_errors(delta in 1u64..64, junk in proptest::collection::vec(any::<u8>(), 1..32)) {
        let good = valid_bytes();
        let len = u64::from_le_bytes(good[..8].try_into().unwrap());
        let mut shifted = good.clone();
        shifted[..8].copy_from_slice(&(len + delta).to_le_bytes());
        prop_assert!(load_everything(&shifted).is_err());
        let mut longer = good.clone();
        longer.extend_from_slice(&junk);
        prop_assert!(load_everything(&longer).is_err());
    }
}
