//! `WanTransformer3DModel`: the diffusion transformer of Wan 2.1 / 2.2, configured from the
//! checkpoint's own `config.json`, with weight paths mirroring its state dict.
//!
//! Latents `[B, C, F, H, W]` are cut into `p_t×p_h×p_w` patches (the patch Conv3d has
//! kernel = stride, so it is a reshape and one matmul), run through the blocks with 3D RoPE,
//! AdaLN modulation from the timestep (one per sample, or one per token as Wan2.2 TI2V's
//! `expand_timesteps` does), and projected back to `[B, C_out, F, H, W]`.

mod block;
mod config;
mod embeddings;
mod layers;
mod random_init;
mod rope;

pub use config::{WanTransformerConfig, INERT_KEYS, QK_NORM};
pub use embeddings::timestep_features;
pub use random_init::random_var_builder;
pub use rope::{rope_3d, Rope3d};

use std::path::Path;

use crate::nn::Linear;
use candle_core::{DType, Device, Module, Result as CResult, Tensor};
use candle_nn::VarBuilder;
use kinema_core::{Error, Result};

use self::block::WanBlock;
use self::embeddings::ConditionEmbedder;
use self::layers::{linear, LayerNorm};
use crate::nn::attention::AttentionChunks;
use crate::weights;

/// RoPE base, fixed in diffusers.
const ROPE_THETA: f64 = 10000.0;

pub struct WanTransformer3DModel {
    config: WanTransformerConfig,
    dtype: DType,
    /// Patch Conv3d weight as `[C·p_t·p_h·p_w, dim]` and its bias.
    patch_embedding: Linear,
    condition_embedder: ConditionEmbedder,
    blocks: Vec<WanBlock>,
    norm_out: LayerNorm,
    proj_out: Linear,
    /// `[1, 1, 2, dim]` f32.
    scale_shift_table: Tensor,
    chunks: AttentionChunks,
}

/// Inputs of one forward pass.
pub struct TransformerInput<'a> {
    /// Noisy latents (with any conditioning channels already concatenated) `[B, C, F, H, W]`.
    pub hidden_states: &'a Tensor,
    /// `[B]`, or `[B, tokens]` for per-token timesteps.
    pub timestep: &'a Tensor,
    /// Text embeddings `[B, L, text_dim]`.
    pub encoder_hidden_states: &'a Tensor,
    /// CLIP image tokens `[B, Li, image_dim]` (Wan2.1 I2V).
    pub encoder_hidden_states_image: Option<&'a Tensor>,
}

fn model_err(what: impl Into<String>) -> impl FnOnce(candle_core::Error) -> Error {
    let what = what.into();
    move |e| Error::model(format!("Wan transformer: {what}")).with_source(e)
}

impl WanTransformer3DModel {
    /// Loads a diffusers `transformer/` folder.
    pub fn from_dir(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        let config = WanTransformerConfig::from_dir(dir)?;
        let vb = weights::load_var_builder(dir, dtype, device)?;
        Self::new(config, &vb)
    }

    pub fn new(config: WanTransformerConfig, vb: &VarBuilder) -> Result<Self> {
        config.validate()?;
        let dim = config.inner_dim();
        let [pt, ph, pw] = config.patch();
        let patch_len = config.in_channels * pt * ph * pw;
        let pe = vb.pp("patch_embedding");
        let conv_w = weights::get(&pe, &[dim, config.in_channels, pt, ph, pw], "weight")?;
        let conv_w = conv_w
            .reshape((dim, patch_len))
            .map_err(model_err("patch_embedding"))?;
        let patch_embedding = Linear::new(conv_w, Some(weights::get(&pe, &[dim], "bias")?));
        let condition_embedder = ConditionEmbedder::load(&vb.pp("condition_embedder"), &config)?;
        let blocks = (0..config.num_layers)
            .map(|i| WanBlock::load(&vb.pp(format!("blocks.{i}")), &config))
            .collect::<Result<Vec<_>>>()?;
        let out_len = config.out_channels() * pt * ph * pw;
        let sst = weights::get(
            &vb.clone().set_dtype(DType::F32),
            &[1, 2, dim],
            "scale_shift_table",
        )?
        .reshape((1, 1, 2, dim))
        .map_err(model_err("scale_shift_table"))?;
        Ok(WanTransformer3DModel {
            dtype: vb.dtype(),
            norm_out: LayerNorm::plain(dim, config.eps, vb.device())?,
            proj_out: linear(&vb.pp("proj_out"), dim, out_len)?,
            scale_shift_table: sst,
            patch_embedding,
            condition_embedder,
            blocks,
            chunks: AttentionChunks::default(),
            config,
        })
    }

    pub fn config(&self) -> &WanTransformerConfig {
        &self.config
    }

    /// Overrides the attention work split (memory budget per score block).
    pub fn with_attention_chunks(mut self, chunks: AttentionChunks) -> Self {
        self.chunks = chunks;
        self
    }

    /// The model's velocity prediction `[B, C_out, F, H, W]`.
    pub fn forward(&self, input: &TransformerInput) -> Result<Tensor> {
        let grid = self.check_input(input)?;
        let x = input.hidden_states;
        let (b, _, _, _, _) = x.dims5().map_err(model_err("hidden_states"))?;
        let rope = rope_3d(
            self.config.rope_dims(),
            grid,
            self.config.rope_max_seq_len,
            ROPE_THETA,
            x.device(),
        )
        .map_err(|e| {
            Error::invalid(
                format!("Wan transformer: {e}"),
                "generate fewer frames or a smaller size",
            )
        })?;
        let mut hidden = self.patchify(x).map_err(model_err("patch embedding"))?;
        let cond = self
            .condition_embedder
            .forward(
                input.timestep,
                input.encoder_hidden_states,
                input.encoder_hidden_states_image,
                self.dtype,
            )
            .map_err(model_err("condition embedding"))?;
        for (i, block) in self.blocks.iter().enumerate() {
            hidden = block
                .forward(
                    &hidden,
                    &cond.text,
                    cond.image.as_ref(),
                    &cond.timestep_proj,
                    &rope,
                    self.chunks,
                )
                .map_err(model_err(format!("block {i}")))?;
        }
        let out = self
            .head(&hidden, &cond.temb)
            .map_err(model_err("output projection"))?;
        self.unpatchify(&out, b, grid)
            .map_err(model_err("unpatchify"))
    }

    /// Validates shapes, returning the patch grid `[F/p_t, H/p_h, W/p_w]`.
    fn check_input(&self, input: &TransformerInput) -> Result<[usize; 3]> {
        let c = &self.config;
        let dims = input.hidden_states.dims();
        let [pt, ph, pw] = c.patch();
        let bad = |msg: String| {
            Err(Error::invalid(
                format!("Wan transformer input: {msg}"),
                "check the latent and conditioning shapes",
            ))
        };
        let &[b, ch, f, h, w] = dims else {
            return bad(format!(
                "hidden_states must be [B, C, F, H, W], got {dims:?}"
            ));
        };
        if ch != c.in_channels {
            return bad(format!(
                "hidden_states has {ch} channels, the model takes {}",
                c.in_channels
            ));
        }
        if !f.is_multiple_of(pt)
            || !h.is_multiple_of(ph)
            || !w.is_multiple_of(pw)
            || f == 0
            || h == 0
            || w == 0
        {
            return bad(format!(
                "latent size {f}×{h}×{w} is not a positive multiple of the patch {pt}×{ph}×{pw}"
            ));
        }
        let grid = [f / pt, h / ph, w / pw];
        let tokens = grid.iter().product::<usize>();
        match input.timestep.dims() {
            [tb] if *tb == b => {}
            [tb, s] if *tb == b && *s == tokens => {}
            other => {
                return bad(format!(
                    "timestep must be [{b}] or [{b}, {tokens}] (one per token), got {other:?}"
                ))
            }
        }
        match input.encoder_hidden_states.dims() {
            [tb, _, d] if *tb == b && *d == c.text_dim => {}
            other => {
                return bad(format!(
                    "encoder_hidden_states must be [{b}, L, {}], got {other:?}",
                    c.text_dim
                ))
            }
        }
        match (input.encoder_hidden_states_image, c.image_dim) {
            (None, _) => {}
            (Some(img), Some(d)) if img.rank() == 3 && img.dims()[2] == d => {}
            (Some(img), want) => {
                return bad(format!(
                    "encoder_hidden_states_image {:?} does not fit image_dim {want:?}",
                    img.dims()
                ))
            }
        }
        Ok(grid)
    }

    /// `[B, C, F, H, W]` → patch tokens `[B, N, dim]` (frame-major token order).
    fn patchify(&self, x: &Tensor) -> CResult<Tensor> {
        let (b, c, f, h, w) = x.dims5()?;
        let [pt, ph, pw] = self.config.patch();
        let (gf, gh, gw) = (f / pt, h / ph, w / pw);
        let patches = x
            .to_dtype(self.dtype)?
            .reshape(vec![b, c, gf, pt, gh, ph, gw, pw])?
            .permute(vec![0, 2, 4, 6, 1, 3, 5, 7])?
            .contiguous()?
            .reshape((b, gf * gh * gw, c * pt * ph * pw))?;
        self.patch_embedding.forward(&patches)
    }

    /// Final AdaLN (shift/scale from `temb`, no gate) and the projection to patch pixels.
    fn head(&self, x: &Tensor, temb: &Tensor) -> CResult<Tensor> {
        let mods = self
            .scale_shift_table
            .broadcast_add(&temb.to_dtype(DType::F32)?.unsqueeze(2)?)?;
        let shift = mods.narrow(2, 0, 1)?.squeeze(2)?;
        let scale = mods.narrow(2, 1, 1)?.squeeze(2)?;
        let normed = self
            .norm_out
            .forward_f32(x)?
            .broadcast_mul(&(scale + 1.0)?)?
            .broadcast_add(&shift)?;
        self.proj_out.forward(&normed.to_dtype(self.dtype)?)
    }

    /// `[B, N, p_t·p_h·p_w·C]` → `[B, C, F, H, W]`.
    fn unpatchify(&self, x: &Tensor, b: usize, [gf, gh, gw]: [usize; 3]) -> CResult<Tensor> {
        let [pt, ph, pw] = self.config.patch();
        let c = self.config.out_channels();
        x.reshape(vec![b, gf, gh, gw, pt, ph, pw, c])?
            .permute(vec![0, 7, 1, 4, 2, 5, 3, 6])?
            .contiguous()?
            .reshape((b, c, gf * pt, gh * ph, gw * pw))
    }
}

#[cfg(test)]
#[path = "transformer/tests.rs"]
mod tests;
