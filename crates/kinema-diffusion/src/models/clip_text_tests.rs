use candle_core::{DType, Device, Tensor};

use super::*;
use crate::models::t5::tests::word_tokenizer;
use crate::models::text_tokens::padded_ids;
use crate::models::wan::transformer::random_var_builder;

fn tiny_clip(eos_token_id: u32) -> ClipTextEncoder {
    let config: ClipTextConfig = serde_json::from_str(&format!(
        r#"{{"vocab_size": 9, "hidden_size": 16, "intermediate_size": 24,
            "num_attention_heads": 2, "num_hidden_layers": 2, "max_position_embeddings": 77,
            "eos_token_id": {eos_token_id}}}"#
    ))
    .unwrap();
    ClipTextEncoder::new(
        config,
        &random_var_builder(9, 0.5, DType::F32, &Device::Cpu),
    )
    .unwrap()
}

fn ids(rows: &[&[u32]]) -> Tensor {
    let n = rows[0].len();
    let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), n), &Device::Cpu).unwrap()
}

#[test]
fn both_pooling_rules_pick_the_right_token() {
    let legacy = tiny_clip(2);
    // Legacy rule: the first position of the largest id.
    assert_eq!(legacy.eos_position(&[3, 8, 5, 8, 1], 0).unwrap(), 1);
    let by_id = tiny_clip(1);
    // eos id 1: its first occurrence, whatever the largest id is.
    assert_eq!(by_id.eos_position(&[3, 8, 1, 1, 1], 0).unwrap(), 2);
    let err = by_id.eos_position(&[3, 8, 5], 4).unwrap_err();
    assert!(err.message.contains("row 4"), "{}", err.message);
}

#[test]
fn pooled_takes_77_padded_tokens_and_reads_only_up_to_the_eos() {
    let clip = tiny_clip(1);
    let tok = word_tokenizer("</s>", "</s>");
    // CLIP-L's tokenizer pads with its eos token; padding to 77 must not change the result,
    // since the causal mask hides everything after the pooled token.
    let a = padded_ids(&tok, &["a knight waves"], CLIP_TEXT_TOKENS, 1, "</s>").unwrap();
    assert_eq!(a.dims(), &[1, 77]);
    let pooled = clip.pooled(&a).unwrap();
    assert_eq!(pooled.dims(), &[1, 16]);
    let short = clip.pooled(&ids(&[&[3, 4, 5, 1]])).unwrap();
    let d = (pooled - short).unwrap().abs().unwrap().max_all().unwrap();
    assert!(d.to_scalar::<f32>().unwrap() < 1e-5);
    let too_long = Tensor::zeros((1, 78), DType::U32, &Device::Cpu).unwrap();
    assert!(clip
        .pooled(&too_long)
        .unwrap_err()
        .message
        .contains("78 tokens"));
    let out_of_vocab = ids(&[&[3, 9, 1]]);
    assert!(clip
        .pooled(&out_of_vocab)
        .unwrap_err()
        .message
        .contains("token id 9"));
}
