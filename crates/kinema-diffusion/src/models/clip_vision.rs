//! The CLIP vision encoder that Wan2.1 I2V and Stable Video Diffusion checkpoints carry as
//! `image_encoder/` (transformers' `CLIPVisionModel`; both use a ViT-H/14).
//!
//! Two depths: diffusers' Wan I2V pipeline conditions on `hidden_states[-2]`, the token
//! sequence *before* the last encoder layer, with no final norm or projection, so for it the
//! last layer and `post_layernorm` are never loaded or run ([`ClipDepth::Penultimate`]).
//! Stable Video Diffusion uses `CLIPVisionModelWithProjection`'s `image_embeds`: every layer,
//! `post_layernorm` of the class token, then `visual_projection` ([`ClipDepth::Full`] and
//! [`projection`]). Weight paths mirror the checkpoint (`vision_model.embeddings.*`,
//! `vision_model.pre_layrnorm.*`, `vision_model.encoder.layers.{i}.*`; transformers 5 writes
//! a `CLIPVisionModel` without `vision_model.`, and both load).

pub mod projection;

use std::path::Path;

use crate::nn::Linear;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use kinema_core::{Error, Result};
use serde::Deserialize;

use crate::nn::attention::{attention, AttentionChunks};
use crate::nn::fastmath::gelu_tanh_tensor;
use crate::weights::{self, linear};

/// `config.json` of a `CLIPVisionModel` (the vision fields at top level), or of a full
/// `CLIPModel` whose `vision_config` holds them.
#[derive(Clone, Debug, Deserialize)]
pub struct ClipVisionConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub image_size: usize,
    pub patch_size: usize,
    #[serde(default = "default_channels")]
    pub num_channels: usize,
    /// transformers' default for CLIP is `quick_gelu`; Wan2.1's ViT-H uses `gelu`.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Width of `visual_projection` (`CLIPVisionModelWithProjection`); transformers'
    /// default is 512. A full `CLIPModel` keeps it at the top level, not in `vision_config`.
    #[serde(default = "default_projection_dim")]
    pub projection_dim: usize,
}

fn default_channels() -> usize {
    3
}
fn default_act() -> String {
    "quick_gelu".into()
}
fn default_eps() -> f64 {
    1e-5
}
fn default_projection_dim() -> usize {
    512
}

/// How much of the tower to build and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClipDepth {
    /// Every layer but the last, no final norm: `hidden_states[-2]` (Wan2.1 I2V).
    Penultimate,
    /// Every layer and `post_layernorm` (the pooled output `CLIPVisionModelWithProjection`
    /// projects).
    Full,
}

impl ClipVisionConfig {
    /// Reads `<dir>/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let raw: serde_json::Value = weights::read_config(dir)?;
        let top_projection = raw.get("projection_dim").and_then(|v| v.as_u64());
        let nested = raw.get("vision_config").is_some();
        let fields = raw.get("vision_config").cloned().unwrap_or(raw);
        let mut config: ClipVisionConfig = serde_json::from_value(fields).map_err(|e| {
            Error::model(format!(
                "{}: not a CLIP vision config: {e}",
                dir.join("config.json").display()
            ))
        })?;
        if let (true, Some(p)) = (nested, top_projection) {
            config.projection_dim = p as usize;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(Error::model(format!(
                "CLIP vision: hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if self.patch_size == 0 || !self.image_size.is_multiple_of(self.patch_size) {
            return Err(Error::model(format!(
                "CLIP vision: image_size {} is not a multiple of patch_size {}",
                self.image_size, self.patch_size
            )));
        }
        if self.num_hidden_layers == 0 {
            return Err(Error::model("CLIP vision: num_hidden_layers is 0"));
        }
        Activation::parse(&self.hidden_act)?;
        Ok(())
    }

    /// The number of layers a depth runs (the penultimate one needs at least 2 in all).
    fn layers_for(&self, depth: ClipDepth) -> Result<usize> {
        match depth {
            ClipDepth::Full => Ok(self.num_hidden_layers),
            ClipDepth::Penultimate if self.num_hidden_layers < 2 => Err(Error::model(
                "CLIP vision: the Wan pipeline reads the second-to-last layer, so at least 2 layers are needed",
            )),
            ClipDepth::Penultimate => Ok(self.num_hidden_layers - 1),
        }
    }

    /// Patch tokens plus the class token.
    pub fn num_positions(&self) -> usize {
        (self.image_size / self.patch_size).pow(2) + 1
    }
}

/// The MLP activation of a CLIP tower (shared with the text tower in `clip_text`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Activation {
    /// Exact (erf) GELU: transformers' `gelu`.
    Gelu,
    /// `x·sigmoid(1.702·x)`: OpenAI CLIP's `quick_gelu`.
    QuickGelu,
    /// The tanh approximation: `gelu_new`, `gelu_pytorch_tanh`.
    GeluTanh,
}

impl Activation {
    pub(crate) fn parse(name: &str) -> Result<Self> {
        match name {
            "gelu" => Ok(Activation::Gelu),
            "quick_gelu" => Ok(Activation::QuickGelu),
            "gelu_new" | "gelu_pytorch_tanh" => Ok(Activation::GeluTanh),
            other => Err(Error::unsupported(format!(
                "CLIP: hidden_act `{other}` is not implemented"
            ))
            .with_hint("supported: gelu, quick_gelu, gelu_new, gelu_pytorch_tanh")),
        }
    }

    fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Gelu => x.gelu_erf(),
            Activation::QuickGelu => x * candle_nn::ops::sigmoid(&(x * 1.702)?)?,
            Activation::GeluTanh => gelu_tanh_tensor(x),
        }
    }
}

/// One pre-norm transformer layer of a CLIP tower; the text tower reuses it with a causal
/// mask, the vision tower without one.
pub(crate) struct EncoderLayer {
    layer_norm1: LayerNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    layer_norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

/// The vision tower, to the depth it was built for.
pub struct ClipVisionEncoder {
    config: ClipVisionConfig,
    activation: Activation,
    class_embedding: Tensor,
    patch_embedding: Tensor,
    position_embedding: Tensor,
    pre_layrnorm: LayerNorm,
    layers: Vec<EncoderLayer>,
    /// Only for [`ClipDepth::Full`].
    post_layernorm: Option<LayerNorm>,
}

pub(crate) fn layer_norm(vb: &VarBuilder, dim: usize, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm::new(
        weights::get(vb, &[dim], "weight")?,
        weights::get(vb, &[dim], "bias")?,
        eps,
    ))
}

fn model_err(what: &'static str) -> impl FnOnce(candle_core::Error) -> Error {
    move |e| Error::model(format!("CLIP vision encoder: {what} failed")).with_source(e)
}

impl ClipVisionEncoder {
    /// Loads a transformers `image_encoder/` folder (`config.json` plus `model.safetensors`
    /// or its shards) for `hidden_states[-2]`.
    pub fn from_dir(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        let config = ClipVisionConfig::from_dir(dir)?;
        let vb = crate::models::umt5::var_builder(dir, dtype, device)?;
        Self::build(config, &tower(&vb), ClipDepth::Penultimate)
    }

    /// Builds the penultimate-layer tower from weights at its own paths (`embeddings.*`,
    /// `encoder.*`).
    pub fn new(config: ClipVisionConfig, vb: &VarBuilder) -> Result<Self> {
        Self::build(config, vb, ClipDepth::Penultimate)
    }

    /// Builds the tower to `depth` from weights at its own paths.
    pub fn build(config: ClipVisionConfig, vb: &VarBuilder, depth: ClipDepth) -> Result<Self> {
        config.validate()?;
        let layer_count = config.layers_for(depth)?;
        let activation = Activation::parse(&config.hidden_act)?;
        let (d, p, eps) = (config.hidden_size, config.patch_size, config.layer_norm_eps);
        let emb = vb.pp("embeddings");
        let class_embedding = weights::get(&emb, &[d], "class_embedding")?;
        let patch_embedding = weights::get(
            &emb.pp("patch_embedding"),
            &[d, config.num_channels, p, p],
            "weight",
        )?;
        let position_embedding = weights::get(
            &emb.pp("position_embedding"),
            &[config.num_positions(), d],
            "weight",
        )?;
        let pre_layrnorm = layer_norm(&vb.pp("pre_layrnorm"), d, eps)?;
        let mut layers = Vec::new();
        for i in 0..layer_count {
            layers.push(EncoderLayer::load(
                &vb.pp(format!("encoder.layers.{i}")),
                d,
                config.intermediate_size,
                eps,
            )?);
        }
        let post_layernorm = match depth {
            ClipDepth::Full => Some(layer_norm(&vb.pp("post_layernorm"), d, eps)?),
            ClipDepth::Penultimate => None,
        };
        Ok(ClipVisionEncoder {
            config,
            activation,
            class_embedding,
            patch_embedding,
            position_embedding,
            pre_layrnorm,
            layers,
            post_layernorm,
        })
    }

    pub fn config(&self) -> &ClipVisionConfig {
        &self.config
    }

    /// `pixel_values` `[B, 3, S, S]` (already normalised, S = `image_size`) →
    /// `hidden_states[-2]` `[B, num_positions, hidden_size]`, in the model's dtype.
    pub fn penultimate_hidden_states(&self, pixel_values: &Tensor) -> Result<Tensor> {
        if self.post_layernorm.is_some() {
            return Err(Error::internal(
                "CLIP vision: a full-depth tower was asked for hidden_states[-2]",
            ));
        }
        self.run_layers(pixel_values)
    }

    /// transformers' `pooler_output`: `post_layernorm` of the class token after every layer,
    /// `[B, hidden_size]` (full-depth towers only).
    pub fn pooled_output(&self, pixel_values: &Tensor) -> Result<Tensor> {
        let Some(norm) = &self.post_layernorm else {
            return Err(Error::internal(
                "CLIP vision: a penultimate-depth tower has no pooled output",
            ));
        };
        let hidden = self.run_layers(pixel_values)?;
        hidden
            .narrow(1, 0, 1)
            .and_then(|cls| cls.squeeze(1))
            .and_then(|cls| norm.forward(&cls))
            .map_err(model_err("post_layernorm"))
    }

    /// Embeddings, `pre_layrnorm` and the built layers.
    fn run_layers(&self, pixel_values: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = pixel_values.dims4().map_err(|_| {
            Error::model(format!(
                "CLIP vision: pixel_values must be [B, 3, S, S], got {:?}",
                pixel_values.dims()
            ))
        })?;
        let s = self.config.image_size;
        if (c, h, w) != (self.config.num_channels, s, s) {
            return Err(Error::model(format!(
                "CLIP vision: pixel_values {:?} do not match the model's {}×{s}×{s}",
                pixel_values.dims(),
                self.config.num_channels
            ))
            .with_hint("image_processor/ and image_encoder/ must come from the same checkpoint; download the model again"));
        }
        let d = self.config.hidden_size;
        let embed = || -> candle_core::Result<Tensor> {
            let x = pixel_values.to_dtype(self.patch_embedding.dtype())?;
            let patches = x
                .conv2d(&self.patch_embedding, 0, self.config.patch_size, 1, 1)?
                .flatten_from(2)?
                .transpose(1, 2)?;
            let cls = self.class_embedding.reshape((1, 1, d))?.repeat((b, 1, 1))?;
            let x = Tensor::cat(&[&cls, &patches], 1)?
                .broadcast_add(&self.position_embedding.unsqueeze(0)?)?;
            self.pre_layrnorm.forward(&x)
        };
        let mut x = embed().map_err(model_err("embedding"))?;
        for layer in &self.layers {
            x = self.layer(layer, &x).map_err(model_err("encoder layer"))?;
        }
        Ok(x)
    }

    fn layer(&self, l: &EncoderLayer, x: &Tensor) -> candle_core::Result<Tensor> {
        l.forward(x, self.config.num_attention_heads, self.activation, None)
    }
}

impl EncoderLayer {
    /// Loads `layer_norm{1,2}`, `self_attn.{q,k,v,out}_proj` and `mlp.fc{1,2}` under `l`.
    pub(crate) fn load(l: &VarBuilder, d: usize, intermediate: usize, eps: f64) -> Result<Self> {
        let attn = l.pp("self_attn");
        Ok(EncoderLayer {
            layer_norm1: layer_norm(&l.pp("layer_norm1"), d, eps)?,
            q: linear(&attn.pp("q_proj"), d, d)?,
            k: linear(&attn.pp("k_proj"), d, d)?,
            v: linear(&attn.pp("v_proj"), d, d)?,
            out: linear(&attn.pp("out_proj"), d, d)?,
            layer_norm2: layer_norm(&l.pp("layer_norm2"), d, eps)?,
            fc1: linear(&l.pp("mlp.fc1"), d, intermediate)?,
            fc2: linear(&l.pp("mlp.fc2"), intermediate, d)?,
        })
    }

    /// `x + attn(ln1(x))`, then `+ mlp(ln2(·))`; `bias` (e.g. a causal mask) is added to
    /// the attention scores.
    pub(crate) fn forward(
        &self,
        x: &Tensor,
        heads: usize,
        activation: Activation,
        bias: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let hd = d / heads;
        let h = self.layer_norm1.forward(x)?;
        let split = |t: Tensor| t.reshape((b, n, heads, hd))?.transpose(1, 2);
        let q = split(self.q.forward(&h)?)?;
        let k = split(self.k.forward(&h)?)?;
        let v = split(self.v.forward(&h)?)?;
        let a = attention(
            &q,
            &k,
            &v,
            bias,
            1.0 / (hd as f64).sqrt(),
            AttentionChunks::default(),
        )?
        .transpose(1, 2)?
        .reshape((b, n, d))?;
        let x = (x + self.out.forward(&a)?)?;
        let h = self.layer_norm2.forward(&x)?;
        let h = self
            .fc2
            .forward(&activation.apply(&self.fc1.forward(&h)?)?)?;
        x + h
    }
}

/// The tower's builder: transformers 4 saves `vision_model.*` (the released Wan2.1 and SVD
/// folders, and every `CLIPVisionModelWithProjection`); a transformers 5 `CLIPVisionModel`
/// drops the prefix.
pub(crate) fn tower(vb: &VarBuilder<'static>) -> VarBuilder<'static> {
    if vb.contains_tensor("vision_model.embeddings.class_embedding") {
        vb.pp("vision_model")
    } else {
        vb.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(json: &str) -> Result<ClipVisionConfig> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        ClipVisionConfig::from_dir(dir.path())
    }

    const VISION: &str = r#""hidden_size": 1280, "intermediate_size": 5120, "num_attention_heads": 16,
        "num_hidden_layers": 32, "image_size": 224, "patch_size": 14"#;

    #[test]
    fn reads_vision_and_full_clip_configs() {
        let c = config_in(&format!(r#"{{{VISION}, "hidden_act": "gelu"}}"#)).unwrap();
        assert_eq!((c.num_positions(), c.hidden_act.as_str()), (257, "gelu"));
        let nested = config_in(&format!(
            r#"{{"model_type": "clip", "vision_config": {{{VISION}}}}}"#
        ))
        .unwrap();
        assert_eq!(nested.hidden_act, "quick_gelu");
        assert_eq!(nested.layer_norm_eps, 1e-5);
        assert_eq!(nested.projection_dim, 512);
        let with_projection = config_in(&format!(
            r#"{{"projection_dim": 1024, "vision_config": {{{VISION}}}}}"#
        ))
        .unwrap();
        assert_eq!(with_projection.projection_dim, 1024);
    }

    #[test]
    fn unsupported_settings_are_named() {
        let err = config_in(&format!(r#"{{{VISION}, "hidden_act": "silu"}}"#)).unwrap_err();
        assert!(err.message.contains("`silu`"), "{}", err.message);
        let one_layer = VISION.replace("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 1");
        let config = config_in(&format!("{{{one_layer}}}")).unwrap();
        let err = config.layers_for(ClipDepth::Penultimate).unwrap_err();
        assert!(err.message.contains("second-to-last"), "{}", err.message);
        assert_eq!(config.layers_for(ClipDepth::Full).unwrap(), 1);
        let odd = VISION.replace("\"patch_size\": 14", "\"patch_size\": 15");
        assert!(config_in(&format!("{{{odd}}}")).is_err());
    }
}
