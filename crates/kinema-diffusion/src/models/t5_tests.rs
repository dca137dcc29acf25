use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::Tokenizer;

use super::*;
use crate::models::wan::transformer::random_var_builder;
use crate::nn::max_abs_diff;

/// A word-level tokenizer with T5's `<pad>` = 0 and `</s>` = 1 appended to every text.
pub(crate) fn word_tokenizer(pad: &str, eos: &str) -> Tokenizer {
    let words = [
        pad, eos, "<unk>", "a", "knight", "waves", "hello", "slime", "bounces",
    ];
    let vocab: HashMap<String, u32> = words
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), i as u32))
        .collect();
    let model = WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token("<unk>".into())
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(model);
    tok.with_pre_tokenizer(Some(Whitespace {}));
    let post = TemplateProcessing::builder()
        .try_single(format!("$A {eos}"))
        .unwrap()
        .special_tokens(vec![(eos.to_string(), 1)])
        .build()
        .unwrap();
    tok.with_post_processor(Some(post));
    tok
}

fn tiny_t5() -> T5Encoder {
    let config: Umt5Config = serde_json::from_str(
        r#"{"vocab_size": 9, "d_model": 16, "d_kv": 4, "d_ff": 24, "num_layers": 2,
            "num_heads": 4, "model_type": "t5", "feed_forward_proj": "gated-gelu"}"#,
    )
    .unwrap();
    let vb = random_var_builder(5, 0.5, DType::F32, &Device::Cpu);
    T5Encoder::new(config, &vb).unwrap()
}

#[test]
fn prompts_pad_to_512_tokens_and_truncate_keeping_the_eos() {
    let tok = word_tokenizer("<pad>", "</s>");
    let long = vec!["knight"; 600].join(" ");
    let ids = padded_ids(&tok, &["a knight waves", &long], T5_TEXT_TOKENS, 0, "<pad>").unwrap();
    assert_eq!(ids.dims(), &[2, 512]);
    let rows: Vec<Vec<u32>> = ids.to_vec2().unwrap();
    assert_eq!(&rows[0][..5], &[3, 4, 5, 1, 0]);
    assert!(rows[0][4..].iter().all(|&v| v == 0));
    assert_eq!(rows[1][511], 1, "truncation keeps </s> last");
    assert!(rows[1][..511].iter().all(|&v| v == 4));
}

#[test]
fn encode_padded_attends_the_padding_as_open_sora_does() {
    let t5 = tiny_t5();
    let tok = word_tokenizer("<pad>", "</s>");
    let out = t5
        .encode_padded(&tok, &["a knight waves hello"], T5_TEXT_TOKENS)
        .unwrap();
    assert_eq!(out.dims(), &[1, 512, 16]);
    let ids = padded_ids(&tok, &["a knight waves hello"], 512, 0, "<pad>").unwrap();
    assert_eq!(max_abs_diff(&out, &t5.forward(&ids, None).unwrap()), 0.0);
    // Masking the padding instead changes even the real tokens' states.
    let mask: Vec<u32> = (0..512).map(|i| u32::from(i < 5)).collect();
    let mask = Tensor::from_vec(mask, (1, 512), &Device::Cpu).unwrap();
    let masked = t5.forward(&ids, Some(&mask)).unwrap();
    let real = |t: &Tensor| t.narrow(1, 0, 5).unwrap();
    assert!(max_abs_diff(&real(&out), &real(&masked)) > 1e-4);
}

#[test]
fn umt5_checkpoints_are_refused() {
    let config: Umt5Config = serde_json::from_str(
        r#"{"vocab_size": 9, "d_model": 16, "d_kv": 4, "d_ff": 24, "num_layers": 2,
            "num_heads": 4, "model_type": "umt5"}"#,
    )
    .unwrap();
    let vb = random_var_builder(5, 0.5, DType::F32, &Device::Cpu);
    let err = T5Encoder::new(config, &vb).err().unwrap();
    assert!(err.message.contains("umt5"), "{}", err.message);
    let tok = word_tokenizer("<pad>", "</s>");
    assert!(padded_ids(&tok, &[], 512, 0, "<pad>").is_err());
}
