//! Open-Sora 2.0's denoiser: the Flux-style MMDiT of `opensora/models/mmdit/model.py`,
//! with weight paths under Open-Sora's own key names (Flux's, not diffusers').
//!
//! Tokens arrive already packed (`[B, N, in_channels]`, 2×2 latent patches as `(c ph pw)`)
//! with their (t, row, col) position ids. The timestep, the pooled CLIP vector and (for
//! guidance-distilled models) the guidance scale make one conditioning vector that modulates
//! every block. `depth` double-stream blocks keep separate weights for text and image tokens
//! but attend jointly (text first); `depth_single_blocks` single-stream blocks then run on the
//! concatenated sequence. The image condition (`cond_embed`, Open-Sora's i2v) is added to
//! the image tokens through `cond_in`.

mod blocks;
mod config;
mod layers;
mod rope;

pub use config::MmditConfig;
pub use rope::{RopeLayout, RopeTable};

use std::path::Path;

use crate::nn::Linear;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use self::blocks::{DoubleStreamBlock, SingleStreamBlock};
use self::layers::{linear, timestep_embedding, LastLayer, MlpEmbedder};
use crate::nn::attention::AttentionChunks;
use crate::weights;

/// Width of the sinusoidal time and guidance features.
pub(crate) const TIME_FEATURES: usize = 256;

pub struct MmditModel {
    config: MmditConfig,
    dtype: DType,
    img_in: Linear,
    time_in: MlpEmbedder,
    vector_in: MlpEmbedder,
    guidance_in: Option<MlpEmbedder>,
    cond_in: Option<Linear>,
    txt_in: Linear,
    double_blocks: Vec<DoubleStreamBlock>,
    single_blocks: Vec<SingleStreamBlock>,
    final_layer: LastLayer,
    chunks: AttentionChunks,
}

/// Inputs of one forward pass, named as `MMDiTModel.forward` names them.
pub struct MmditInput<'a> {
    /// Packed noisy latents `[B, N, in_channels]`.
    pub img: &'a Tensor,
    /// `[B, N, 3]`: (t, row, col) of each image token.
    pub img_ids: &'a Tensor,
    /// T5 token embeddings `[B, L, context_in_dim]`.
    pub txt: &'a Tensor,
    /// `[B, L, 3]`, zeros in Open-Sora.
    pub txt_ids: &'a Tensor,
    /// Flow time in [0, 1], `[B]`.
    pub timesteps: &'a Tensor,
    /// Pooled CLIP text embedding `[B, vec_in_dim]`.
    pub y_vec: &'a Tensor,
    /// Packed image condition `[B, N, in_channels + patch²]`, required with `cond_embed`.
    pub cond: Option<&'a Tensor>,
    /// Guidance scale `[B]`, required with `guidance_embed`.
    pub guidance: Option<&'a Tensor>,
}

fn model_err(what: impl Into<String>) -> impl FnOnce(candle_core::Error) -> Error {
    let what = what.into();
    move |e| Error::model(format!("Open-Sora MMDiT: {what}")).with_source(e)
}

impl MmditModel {
    /// Loads a `transformer/` folder: `config.json` with the `MMDiTConfig` fields and the
    /// weights under Open-Sora's key names.
    pub fn from_dir(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        let config = MmditConfig::from_dir(dir)?;
        let vb = weights::load_var_builder(dir, dtype, device)?;
        Self::new(config, &vb)
    }

    /// Loads the weights of one safetensors file (the released `Open_Sora_v2.safetensors`
    /// has no config beside it) under `config`.
    pub fn from_file(
        config: MmditConfig,
        file: &Path,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        weights::validate_safetensors(file)?;
        // SAFETY: the mapped file must not change while the model lives; its header was
        // validated above.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[file], dtype, device) }.map_err(
            |e| {
                Error::model(format!("cannot map the weights in {}", file.display())).with_source(e)
            },
        )?;
        Self::new(config, &vb)
    }

    pub fn new(config: MmditConfig, vb: &VarBuilder) -> Result<Self> {
        config.validate()?;
        let hidden = config.hidden_size;
        let guidance_in = if config.guidance_embed {
            Some(MlpEmbedder::load(
                &vb.pp("guidance_in"),
                TIME_FEATURES,
                hidden,
            )?)
        } else {
            None
        };
        let cond_in = if config.cond_embed {
            Some(linear(
                &vb.pp("cond_in"),
                config.cond_channels(),
                hidden,
                true,
            )?)
        } else {
            None
        };
        let double_blocks = (0..config.depth)
            .map(|i| DoubleStreamBlock::load(&vb.pp(format!("double_blocks.{i}")), &config))
            .collect::<Result<Vec<_>>>()?;
        let single_blocks = (0..config.depth_single_blocks)
            .map(|i| SingleStreamBlock::load(&vb.pp(format!("single_blocks.{i}")), &config))
            .collect::<Result<Vec<_>>>()?;
        Ok(MmditModel {
            dtype: vb.dtype(),
            img_in: linear(&vb.pp("img_in"), config.in_channels, hidden, true)?,
            time_in: MlpEmbedder::load(&vb.pp("time_in"), TIME_FEATURES, hidden)?,
            vector_in: MlpEmbedder::load(&vb.pp("vector_in"), config.vec_in_dim, hidden)?,
            txt_in: linear(&vb.pp("txt_in"), config.context_in_dim, hidden, true)?,
            final_layer: LastLayer::load(&vb.pp("final_layer"), hidden, config.in_channels)?,
            guidance_in,
            cond_in,
            double_blocks,
            single_blocks,
            chunks: AttentionChunks::default(),
            config,
        })
    }

    pub fn config(&self) -> &MmditConfig {
        &self.config
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Overrides the attention work split (memory budget per score block).
    pub fn with_attention_chunks(mut self, chunks: AttentionChunks) -> Self {
        self.chunks = chunks;
        self
    }

    /// The velocity prediction `[B, N, in_channels]` for the image tokens.
    pub fn forward(&self, input: &MmditInput) -> Result<Tensor> {
        self.check_input(input)?;
        let layout = if self.config.use_liger_rope {
            RopeLayout::HalfSplit
        } else {
            RopeLayout::Interleaved
        };
        let ids =
            Tensor::cat(&[input.txt_ids, input.img_ids], 1).map_err(model_err("position ids"))?;
        let rope = RopeTable::new(&ids, &self.config.axes_dim, self.config.theta, layout)
            .map_err(model_err("rotary table"))?;
        let cast =
            |t: &Tensor, what: &str| t.to_dtype(self.dtype).map_err(model_err(what.to_string()));

        let mut img = self
            .img_in
            .forward(&cast(input.img, "img")?)
            .map_err(model_err("img_in"))?;
        if let Some(cond_in) = &self.cond_in {
            let cond = input.cond.expect("checked");
            img = (img + cond_in.forward(&cast(cond, "cond")?)).map_err(model_err("cond_in"))?;
        }
        let vec = self
            .conditioning(input)
            .map_err(model_err("conditioning vector"))?;
        let mut txt = self
            .txt_in
            .forward(&cast(input.txt, "txt")?)
            .map_err(model_err("txt_in"))?;
        for (i, block) in self.double_blocks.iter().enumerate() {
            (img, txt) = block
                .forward(&img, &txt, &vec, &rope, self.chunks)
                .map_err(model_err(format!("double block {i}")))?;
        }
        let text_len = txt.dim(1).map_err(model_err("txt"))?;
        let mut x = Tensor::cat(&[&txt, &img], 1).map_err(model_err("joint sequence"))?;
        for (i, block) in self.single_blocks.iter().enumerate() {
            x = block
                .forward(&x, &vec, &rope, self.chunks)
                .map_err(model_err(format!("single block {i}")))?;
        }
        let img = x
            .narrow(1, text_len, input.img.dim(1).map_err(model_err("img"))?)
            .map_err(model_err("image tokens"))?;
        self.final_layer
            .forward(&img, &vec)
            .map_err(model_err("final layer"))
    }

    /// `time_in(t) [+ guidance_in(g)] + vector_in(y_vec)`.
    fn conditioning(&self, input: &MmditInput) -> candle_core::Result<Tensor> {
        let t = timestep_embedding(input.timesteps, TIME_FEATURES, self.dtype)?;
        let mut vec = self.time_in.forward(&t)?;
        if let (Some(embed), Some(g)) = (&self.guidance_in, input.guidance) {
            let g = timestep_embedding(g, TIME_FEATURES, self.dtype)?;
            vec = (vec + embed.forward(&g)?)?;
        }
        vec + self.vector_in.forward(&input.y_vec.to_dtype(self.dtype)?)?
    }

    /// Shapes and the optional inputs the config requires, with a message naming the input.
    fn check_input(&self, input: &MmditInput) -> Result<()> {
        let c = &self.config;
        let bad = |msg: String| {
            Err(Error::invalid(
                format!("Open-Sora MMDiT input: {msg}"),
                "check the packed latent, text and condition shapes",
            ))
        };
        let &[b, n, ch] = input.img.dims() else {
            return bad(format!("img must be [B, N, C], got {:?}", input.img.dims()));
        };
        if ch != c.in_channels {
            return bad(format!(
                "img has {ch} channels, the model takes {}",
                c.in_channels
            ));
        }
        let &[tb, l, tc] = input.txt.dims() else {
            return bad(format!("txt must be [B, L, C], got {:?}", input.txt.dims()));
        };
        if tb != b || tc != c.context_in_dim {
            return bad(format!(
                "txt is {:?}; expected [{b}, L, {}]",
                input.txt.dims(),
                c.context_in_dim
            ));
        }
        for (name, t, want) in [
            ("img_ids", input.img_ids, [b, n, 3]),
            ("txt_ids", input.txt_ids, [b, l, 3]),
        ] {
            if t.dims() != want {
                return bad(format!("{name} is {:?}; expected {want:?}", t.dims()));
            }
        }
        if input.timesteps.dims() != [b] {
            return bad(format!(
                "timesteps is {:?}; expected [{b}]",
                input.timesteps.dims()
            ));
        }
        if input.y_vec.dims() != [b, c.vec_in_dim] {
            return bad(format!(
                "y_vec is {:?}; expected [{b}, {}]",
                input.y_vec.dims(),
                c.vec_in_dim
            ));
        }
        if c.cond_embed {
            match input.cond {
                None => return bad("the model has cond_embed but no condition was given".into()),
                Some(cond) if cond.dims() != [b, n, c.cond_channels()] => {
                    return bad(format!(
                        "cond is {:?}; expected [{b}, {n}, {}] (mask sub-pixels, then latents)",
                        cond.dims(),
                        c.cond_channels()
                    ))
                }
                _ => {}
            }
        }
        if c.guidance_embed {
            match input.guidance {
                None => {
                    return bad("the model is guidance-distilled but no guidance was given".into())
                }
                Some(g) if g.dims() != [b] => {
                    return bad(format!("guidance is {:?}; expected [{b}]", g.dims()))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
