//! `config.json` of a transformers `UMT5EncoderModel` checkpoint.

use std::path::Path;

use kinema_core::{Error, Result};
use serde::Deserialize;

/// The hyper-parameters the encoder needs, read from the checkpoint's own `config.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct Umt5Config {
    pub vocab_size: usize,
    pub d_model: usize,
    pub d_kv: usize,
    pub d_ff: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    #[serde(default = "default_max_distance")]
    pub relative_attention_max_distance: usize,
    #[serde(default = "default_ff_proj")]
    pub feed_forward_proj: String,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub is_decoder: bool,
    /// Every other key, checked against [`INERT_KEYS`] so nothing behaviour-changing slips by.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn default_buckets() -> usize {
    32
}
fn default_max_distance() -> usize {
    128
}
fn default_ff_proj() -> String {
    "gated-gelu".into()
}
fn default_eps() -> f64 {
    1e-6
}

/// Keys that do not change what the encoder computes at inference: decoder-only settings,
/// training knobs (dropout, init), bookkeeping, and values transformers derives from
/// `feed_forward_proj` (`dense_act_fn`, `is_gated_act`) rather than reading.
pub const INERT_KEYS: &[&str] = &[
    "_name_or_path",
    "architectures",
    "bos_token_id",
    "classifier_dropout",
    "decoder_start_token_id",
    "dense_act_fn",
    "dropout_rate",
    "dtype",
    "eos_token_id",
    "gradient_checkpointing",
    "initializer_factor",
    "is_encoder_decoder",
    "is_gated_act",
    "n_positions",
    "num_decoder_layers",
    "output_past",
    "pad_token_id",
    "scalable_attention",
    "scale_decoder_outputs",
    "task_specific_params",
    "tie_word_embeddings",
    "tokenizer_class",
    "torch_dtype",
    "transformers_version",
    "use_cache",
];

/// Where the relative-position bias tables live (see [`Umt5Config::position_bias`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PositionBias {
    /// umT5: `block.{i}.layer.0.SelfAttention.relative_attention_bias` in every layer.
    PerLayer,
    /// T5: only block 0 has the table; its bias is added in every layer.
    SharedFromFirstLayer,
}

/// The feed-forward activation named by `feed_forward_proj` (transformers' `ACT2FN` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `gelu_new`: the tanh approximation (what `gated-gelu` means for T5/umT5).
    GeluTanh,
    /// `gelu`: exact, with erf.
    Gelu,
    Relu,
    Silu,
}

impl Umt5Config {
    /// Reads and validates `<dir>/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let config: Umt5Config = crate::weights::read_config(dir)?;
        config.validate().map_err(|e| {
            let path = dir.join("config.json");
            Error::model(format!("{}: {}", path.display(), e.message)).with_hint(
                e.hint
                    .unwrap_or_else(|| "use the text_encoder folder of a Wan checkpoint".into()),
            )
        })?;
        Ok(config)
    }

    /// Refuses values this implementation does not compute, naming the key.
    pub fn validate(&self) -> Result<()> {
        if let Some(key) = self
            .other
            .keys()
            .find(|k| !INERT_KEYS.contains(&k.as_str()))
        {
            return Err(Error::unsupported(format!(
                "umT5 config key `{key}` is not implemented (value {})",
                self.other[key]
            )));
        }
        if let Some(t) = &self.model_type {
            if t != "umt5" && t != "t5" {
                return Err(
                    Error::unsupported(format!("model_type `{t}` is neither umt5 nor t5"))
                        .with_hint("use a T5 or umT5 encoder checkpoint"),
                );
            }
        }
        if self.is_decoder {
            return Err(Error::unsupported(
                "is_decoder = true: only the umT5 encoder is implemented",
            ));
        }
        for (key, v) in [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("d_kv", self.d_kv),
            ("d_ff", self.d_ff),
            ("num_heads", self.num_heads),
        ] {
            if v == 0 {
                return Err(Error::model(format!("umT5 config `{key}` is 0")));
            }
        }
        if self.relative_attention_num_buckets < 4 || self.relative_attention_max_distance < 2 {
            return Err(Error::model(format!(
                "relative_attention_num_buckets {} / relative_attention_max_distance {} are too small (need >= 4 / >= 2)",
                self.relative_attention_num_buckets, self.relative_attention_max_distance
            )));
        }
        if !(self.layer_norm_epsilon.is_finite() && self.layer_norm_epsilon >= 0.0) {
            return Err(Error::model(format!(
                "layer_norm_epsilon {} is invalid",
                self.layer_norm_epsilon
            )));
        }
        self.activation().map(|_| ())
    }

    /// Whether the feed-forward is gated (`wi_0`, `wi_1`) and with which activation.
    pub fn activation(&self) -> Result<(bool, Activation)> {
        let proj = self.feed_forward_proj.as_str();
        let (gated, name) = match proj.split_once('-') {
            Some(("gated", act)) => (true, act),
            _ => (false, proj),
        };
        // transformers maps `gated-gelu` to the tanh approximation for backwards compatibility.
        let act =
            match (gated, name) {
                (true, "gelu") | (_, "gelu_new") => Activation::GeluTanh,
                (false, "gelu") => Activation::Gelu,
                (_, "relu") => Activation::Relu,
                (_, "silu") | (_, "swish") => Activation::Silu,
                _ => return Err(Error::unsupported(format!(
                    "feed_forward_proj `{proj}` is not implemented"
                ))
                .with_hint(
                    "implemented: gated-gelu, gelu, gelu_new, relu, silu, gated-relu, gated-silu",
                )),
            };
        Ok((gated, act))
    }

    /// The one architectural difference between the two encoders: T5 (`model_type` `t5`)
    /// computes the relative position bias in its first layer and every layer reuses it;
    /// umT5 (`umt5`, or no model_type, as in Wan's folders) gives each layer its own table.
    pub fn position_bias(&self) -> PositionBias {
        match self.model_type.as_deref() {
            Some("t5") => PositionBias::SharedFromFirstLayer,
            _ => PositionBias::PerLayer,
        }
    }

    /// Key/value width of all heads together.
    pub fn inner_dim(&self) -> usize {
        self.num_heads * self.d_kv
    }
}
