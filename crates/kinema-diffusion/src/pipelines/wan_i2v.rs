//! diffusers' `WanImageToVideoPipeline`, step for step, from prompt embeddings onwards.
//!
//! Two conditioning modes, chosen by the checkpoint's `model_index.json`:
//! - `expand_timesteps` (Wan2.2 TI2V-5B): the image alone is VAE-encoded and normalised; before
//!   every model call the first latent frame is overwritten with it, and its tokens get
//!   timestep 0 while the others get `t`. After the last step the first frame is replaced once
//!   more, then the latents are denormalised and decoded.
//! - otherwise (Wan2.1 I2V): the image followed by `num_frames - 1` grey (zero) frames is
//!   encoded, and a 4-channel first-frame mask plus those latents are concatenated to the noisy
//!   latents as extra input channels. CLIP image embeddings are an input (`image_embeds`), made
//!   by [`crate::models::clip_vision`] from the same picture (the engine does that).
//!
//! Classifier-free guidance runs the model twice per step (conditional, then unconditional)
//! and mixes `uncond + g·(cond − uncond)`, exactly as diffusers does for `g > 1`.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};

use super::model_index::ModelIndex;
use super::noise;
use crate::models::wan::transformer::{TransformerInput, WanTransformer3DModel};
use crate::models::wan::{AutoencoderKLWan, VaeParts};
use crate::schedulers::{scheduler_from_json, Scheduler};

/// How to build a pipeline from a model folder.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub dtype: DType,
    pub device: Device,
    /// Overrides the scheduler's `flow_shift` (UniPC) or `shift` (Euler).
    pub shift: Option<f64>,
}

/// Where the initial latent noise comes from.
#[derive(Clone, Debug)]
pub enum InitialNoise {
    /// Our own generator ([`noise`]): reproducible for a seed on every device.
    Seed(u64),
    /// Given latents `[1, z_dim, T, h, w]` (diffusers' `latents=`), e.g. for parity checks.
    Latents(Tensor),
}

/// One generation request (batch 1).
pub struct I2vRequest<'a> {
    /// `[1, 3, height, width]` in `[0, 1]`, already at the output size.
    pub image: &'a Tensor,
    /// `[1, L, text_dim]`, padded positions zero (see [`crate::models::umt5::prompt`]).
    pub prompt_embeds: &'a Tensor,
    /// Required when `guidance_scale > 1`.
    pub negative_prompt_embeds: Option<&'a Tensor>,
    /// CLIP image tokens, for transformers with `image_dim` (Wan2.1 I2V).
    pub image_embeds: Option<&'a Tensor>,
    pub height: usize,
    pub width: usize,
    /// `4k + 1`.
    pub num_frames: usize,
    pub num_inference_steps: usize,
    pub guidance_scale: f64,
    pub noise: InitialNoise,
}

pub struct WanI2vPipeline {
    transformer: WanTransformer3DModel,
    vae: AutoencoderKLWan,
    scheduler: Box<dyn Scheduler>,
    expand_timesteps: bool,
    /// The dtype both networks were loaded in; latents stay float32 as in diffusers.
    dtype: DType,
    device: Device,
}

fn tensor_err(what: &'static str) -> impl FnOnce(candle_core::Error) -> Error {
    move |e| Error::internal(format!("Wan pipeline: {what} failed")).with_source(e)
}

impl WanI2vPipeline {
    /// Loads `transformer/`, `vae/` and `scheduler/` of a diffusers pipeline folder (the text
    /// encoder is not loaded: prompts come in as embeddings, so it can be freed first).
    pub fn load(dir: &Path, options: &LoadOptions) -> Result<Self> {
        let index = ModelIndex::read(dir)?;
        index.check_supported()?;
        let scheduler = load_scheduler(&dir.join("scheduler"), options.shift)?;
        let vae = AutoencoderKLWan::load(
            &dir.join("vae"),
            VaeParts::Both,
            options.dtype,
            &options.device,
        )?;
        let transformer = WanTransformer3DModel::from_dir(
            &dir.join("transformer"),
            options.dtype,
            &options.device,
        )?;
        Self::from_parts(
            transformer,
            vae,
            scheduler,
            index.expand_timesteps,
            options.dtype,
            &options.device,
        )
    }

    /// Assembles a pipeline from loaded parts, checking they fit together.
    pub fn from_parts(
        transformer: WanTransformer3DModel,
        vae: AutoencoderKLWan,
        scheduler: Box<dyn Scheduler>,
        expand_timesteps: bool,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let tc = transformer.config();
        let z = vae.config().z_dim;
        let wanted_in = if expand_timesteps { z } else { 2 * z + 4 };
        if tc.in_channels != wanted_in || tc.out_channels() != z {
            return Err(Error::model(format!(
                "the transformer takes {} channels and predicts {}, but a VAE with z_dim {z} {} needs {wanted_in} in and {z} out",
                tc.in_channels,
                tc.out_channels(),
                if expand_timesteps { "with expand_timesteps" } else { "in Wan2.1 I2V mode" },
            ))
            .with_hint("transformer/ and vae/ must come from the same checkpoint"));
        }
        if expand_timesteps && tc.patch()[1..] != [2, 2] {
            return Err(Error::unsupported(format!(
                "expand_timesteps with patch size {:?} (diffusers assumes 2×2 spatial patches)",
                tc.patch()
            )));
        }
        Ok(WanI2vPipeline {
            transformer,
            vae,
            scheduler,
            expand_timesteps,
            dtype,
            device: device.clone(),
        })
    }

    pub fn transformer(&self) -> &WanTransformer3DModel {
        &self.transformer
    }

    pub fn vae_mut(&mut self) -> &mut AutoencoderKLWan {
        &mut self.vae
    }

    pub fn expand_timesteps(&self) -> bool {
        self.expand_timesteps
    }

    /// Pixels per latent in height/width, as diffusers reads it (`scale_factor_spatial`).
    pub fn spatial_scale(&self) -> usize {
        self.vae.config().scale_factor_spatial.unwrap_or(8)
    }

    /// Frames per latent frame after the first (`scale_factor_temporal`).
    pub fn temporal_scale(&self) -> usize {
        self.vae.config().scale_factor_temporal.unwrap_or(4)
    }

    /// Output sizes must be multiples of this: VAE scale × transformer patch.
    pub fn size_multiple(&self) -> usize {
        self.spatial_scale()
            * self.transformer.config().patch()[1].max(self.transformer.config().patch()[2])
    }

    /// `[1, z_dim, T, h, w]` of the latents for a request.
    pub fn latent_shape(&self, height: usize, width: usize, num_frames: usize) -> [usize; 5] {
        let s = self.spatial_scale();
        [
            1,
            self.vae.config().z_dim,
            (num_frames - 1) / self.temporal_scale() + 1,
            height / s,
            width / s,
        ]
    }

    /// Denoises and decodes; returns the video `[1, F, 3, H, W]` in `[0, 1]`. `on_step(done,
    /// total)` is called after every denoising step.
    pub fn generate(
        &mut self,
        req: &I2vRequest,
        on_step: &mut dyn FnMut(usize, usize),
    ) -> Result<Tensor> {
        self.check_request(req)?;
        let shape = self.latent_shape(req.height, req.width, req.num_frames);
        let mut latents = match &req.noise {
            InitialNoise::Seed(seed) => noise::randn(&shape, *seed, &self.device)?,
            InitialNoise::Latents(t) => {
                if t.dims() != shape {
                    return Err(Error::invalid(
                        format!(
                            "initial latents have shape {:?}, this request needs {shape:?}",
                            t.dims()
                        ),
                        "pass latents shaped [1, z_dim, (frames-1)/4+1, height/scale, width/scale]",
                    ));
                }
                t.to_device(&self.device)
                    .and_then(|t| t.to_dtype(DType::F32))
                    .map_err(tensor_err("moving the initial latents"))?
            }
        };
        let condition = self.encode_condition(req)?;
        let first_frame_mask = self.first_frame_mask(&shape)?;
        let cfg = req.guidance_scale > 1.0;

        self.scheduler.set_timesteps(req.num_inference_steps)?;
        let timesteps = self.scheduler.timesteps().to_vec();
        let total = timesteps.len();
        let text_dtype = self.dtype;
        let prompt = req
            .prompt_embeds
            .to_device(&self.device)
            .and_then(|t| t.to_dtype(text_dtype))
            .map_err(tensor_err("prompt embeddings"))?;
        let negative = match (cfg, req.negative_prompt_embeds) {
            (true, Some(n)) => Some(
                n.to_device(&self.device)
                    .and_then(|t| t.to_dtype(text_dtype))
                    .map_err(tensor_err("negative prompt embeddings"))?,
            ),
            _ => None,
        };
        let image_embeds = match req.image_embeds {
            Some(t) => Some(
                t.to_device(&self.device)
                    .and_then(|t| t.to_dtype(text_dtype))
                    .map_err(tensor_err("image embeddings"))?,
            ),
            None => None,
        };
        for (i, &t) in timesteps.iter().enumerate() {
            let (model_input, timestep) =
                self.model_input(&latents, &condition, &first_frame_mask, t)?;
            let run = |text: &Tensor| {
                self.transformer.forward(&TransformerInput {
                    hidden_states: &model_input,
                    timestep: &timestep,
                    encoder_hidden_states: text,
                    encoder_hidden_states_image: image_embeds.as_ref(),
                })
            };
            let mut noise_pred = run(&prompt)?;
            if let Some(neg) = &negative {
                let uncond = run(neg)?;
                noise_pred = (&noise_pred - &uncond)
                    .and_then(|d| d.affine(req.guidance_scale, 0.0))
                    .and_then(|d| uncond + d)
                    .map_err(tensor_err("classifier-free guidance"))?;
            }
            latents = self
                .scheduler
                .step(&noise_pred, &latents)?
                .to_dtype(DType::F32)
                .map_err(tensor_err("scheduler output"))?;
            on_step(i + 1, total);
        }
        if self.expand_timesteps {
            latents = blend_first_frame(&latents, &condition, first_frame_mask.as_ref())?;
        }
        self.decode(&latents)
    }

    fn check_request(&self, req: &I2vRequest) -> Result<()> {
        let m = self.size_multiple();
        if req.height == 0
            || req.width == 0
            || !req.height.is_multiple_of(m)
            || !req.width.is_multiple_of(m)
        {
            return Err(Error::invalid(
                format!(
                    "{}x{} is not a size this model can generate",
                    req.width, req.height
                ),
                format!("use a width and height that are positive multiples of {m}"),
            ));
        }
        let ts = self.temporal_scale();
        if req.num_frames == 0 || !(req.num_frames - 1).is_multiple_of(ts) {
            return Err(Error::invalid(
                format!(
                    "{} frames cannot be generated: Wan makes {ts}k+1 frames",
                    req.num_frames
                ),
                format!("ask for 1, {}, {}, … frames", ts + 1, 2 * ts + 1),
            ));
        }
        if req.num_inference_steps == 0 {
            return Err(Error::invalid("0 denoising steps", "use at least 1 step"));
        }
        if !req.guidance_scale.is_finite() {
            return Err(Error::invalid(
                format!("guidance scale {} is not a number", req.guidance_scale),
                "use a guidance scale such as 5.0",
            ));
        }
        if req.guidance_scale > 1.0 && req.negative_prompt_embeds.is_none() {
            return Err(Error::invalid(
                "guidance above 1 needs negative prompt embeddings",
                "pass negative_prompt_embeds or set guidance_scale to 1",
            ));
        }
        if req.image.dims() != [1, 3, req.height, req.width] {
            return Err(Error::invalid(
                format!(
                    "image tensor is {:?}, expected [1, 3, {}, {}]",
                    req.image.dims(),
                    req.height,
                    req.width
                ),
                "resize the image to the output size first",
            ));
        }
        let embeddings = [
            ("prompt_embeds", Some(req.prompt_embeds)),
            ("negative_prompt_embeds", req.negative_prompt_embeds),
        ];
        for (name, t) in embeddings.iter().filter_map(|(n, t)| t.map(|t| (n, t))) {
            if t.rank() != 3 || t.dims()[0] != 1 {
                return Err(Error::invalid(
                    format!(
                        "{name} is {:?}; the pipeline runs one video at a time ([1, L, dim])",
                        t.dims()
                    ),
                    "encode one prompt per call",
                ));
            }
        }
        match (self.transformer.config().image_dim, req.image_embeds) {
            (Some(_), None) => Err(Error::unsupported(
                "this checkpoint (Wan2.1 I2V) needs CLIP image embeddings, and Kinema has no CLIP image encoder yet",
            )
            .with_hint("use Wan-AI/Wan2.2-TI2V-5B-Diffusers")),
            (None, Some(_)) => Err(Error::invalid(
                "image embeddings were given but this transformer has no image_dim",
                "leave image_embeds out for Wan2.2 TI2V",
            )),
            _ => Ok(()),
        }
    }

    /// The normalised latents of the conditioning video (see the module docs).
    fn encode_condition(&self, req: &I2vRequest) -> Result<Tensor> {
        let dtype = self.dtype;
        let image = req
            .image
            .to_device(&self.device)
            .and_then(|t| t.to_dtype(DType::F32))
            .and_then(|t| t.affine(2.0, -1.0))
            .and_then(|t| t.unsqueeze(2))
            .map_err(tensor_err("image preprocessing"))?;
        let video = if self.expand_timesteps {
            image
        } else {
            let zeros = Tensor::zeros(
                (1, 3, req.num_frames - 1, req.height, req.width),
                DType::F32,
                &self.device,
            )
            .map_err(tensor_err("conditioning frames"))?;
            Tensor::cat(&[&image, &zeros], 2).map_err(tensor_err("conditioning video"))?
        };
        let video = video
            .to_dtype(dtype)
            .map_err(tensor_err("conditioning video"))?;
        let latent = self
            .vae
            .encode(&video)?
            .mode()
            .to_dtype(DType::F32)
            .map_err(tensor_err("condition latents"))?;
        self.vae.normalize_latents(&latent)
    }

    /// `[1, 1, T, h, w]`: 0 on the first latent frame, 1 elsewhere (expand mode only).
    fn first_frame_mask(&self, shape: &[usize; 5]) -> Result<Option<Tensor>> {
        if !self.expand_timesteps {
            return Ok(None);
        }
        let [_, _, t, h, w] = *shape;
        let per_frame = h * w;
        let values: Vec<f32> = (0..t * per_frame)
            .map(|i| if i < per_frame { 0.0 } else { 1.0 })
            .collect();
        Tensor::from_vec(values, (1, 1, t, h, w), &self.device)
            .map(Some)
            .map_err(tensor_err("first-frame mask"))
    }

    /// The transformer input and its timestep tensor for step time `t`.
    fn model_input(
        &self,
        latents: &Tensor,
        condition: &Tensor,
        mask: &Option<Tensor>,
        t: f64,
    ) -> Result<(Tensor, Tensor)> {
        let [_, _, frames, h, w] = latents.dims() else {
            return Err(Error::internal(format!(
                "latents have shape {:?}",
                latents.dims()
            )));
        };
        let (frames, h, w) = (*frames, *h, *w);
        if self.expand_timesteps {
            let input = blend_first_frame(latents, condition, mask.as_ref())?;
            // diffusers: (first_frame_mask[0][0][:, ::2, ::2] * t).flatten(), in float32.
            let per_frame = h.div_ceil(2) * w.div_ceil(2);
            let values: Vec<f32> = (0..frames * per_frame)
                .map(|i| if i < per_frame { 0.0 } else { t as f32 })
                .collect();
            let timestep = Tensor::from_vec(values, (1, frames * per_frame), &self.device)
                .map_err(tensor_err("per-token timesteps"))?;
            Ok((input, timestep))
        } else {
            let mask = self.i2v_mask(frames, h, w)?;
            let input =
                Tensor::cat(&[latents, &mask, condition], 1).map_err(tensor_err("model input"))?;
            let timestep =
                Tensor::new(&[t as f32], &self.device).map_err(tensor_err("timestep"))?;
            Ok((input, timestep))
        }
    }

    /// Wan2.1 I2V's `[1, 4, T, h, w]` mask: the 4 sub-frames of latent frame 0 are the given
    /// image (1), every later frame is to be generated (0).
    fn i2v_mask(&self, frames: usize, h: usize, w: usize) -> Result<Tensor> {
        let ts = self.temporal_scale();
        let per_frame = h * w;
        let mut values = vec![0f32; ts * frames * per_frame];
        for c in 0..ts {
            let start = c * frames * per_frame;
            values[start..start + per_frame].fill(1.0);
        }
        Tensor::from_vec(values, (1, ts, frames, h, w), &self.device)
            .map_err(tensor_err("I2V mask"))
    }

    /// Denormalises, decodes and maps `[-1, 1]` to `[0, 1]` as `[1, F, 3, H, W]`.
    fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        let raw = self.vae.denormalize_latents(latents)?;
        let raw = raw
            .to_dtype(self.dtype)
            .map_err(tensor_err("latents to the VAE dtype"))?;
        let video = self.vae.decode(&raw)?;
        video
            .to_dtype(DType::F32)
            .and_then(|v| v.affine(0.5, 0.5))
            .and_then(|v| v.clamp(0f32, 1f32))
            .and_then(|v| v.permute((0, 2, 1, 3, 4)))
            .and_then(|v| v.contiguous())
            .map_err(tensor_err("video postprocessing"))
    }
}

/// `(1 − mask)·condition + mask·latents`: the first latent frame becomes the image's.
fn blend_first_frame(
    latents: &Tensor,
    condition: &Tensor,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let Some(mask) = mask else {
        return Ok(latents.clone());
    };
    let keep = mask
        .affine(-1.0, 1.0)
        .and_then(|m| m.broadcast_mul(condition));
    let noisy = mask.broadcast_mul(latents);
    keep.and_then(|k| noisy.and_then(|n| k + n))
        .map_err(tensor_err("first-frame replacement"))
}

/// Builds the scheduler of `dir`, overriding its shift when asked.
pub fn load_scheduler(dir: &Path, shift: Option<f64>) -> Result<Box<dyn Scheduler>> {
    let path = dir.join("scheduler_config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::model(format!("cannot read scheduler config {}", path.display()))
            .with_source(e)
            .with_hint("the model folder needs scheduler/scheduler_config.json")
    })?;
    let Some(shift) = shift else {
        return scheduler_from_json(&text);
    };
    if !(shift.is_finite() && shift > 0.0) {
        return Err(Error::invalid(
            format!("shift {shift} must be a positive number"),
            "use e.g. --shift 5.0 (Wan2.2 TI2V's default)",
        ));
    }
    let mut value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::model(format!("{} is not valid JSON: {e}", path.display())))?;
    let key = match value.get("_class_name").and_then(|v| v.as_str()) {
        Some("UniPCMultistepScheduler") => "flow_shift",
        Some("FlowMatchEulerDiscreteScheduler") => "shift",
        other => {
            return Err(Error::unsupported(format!(
                "cannot override the shift of scheduler {other:?}"
            )))
        }
    };
    if let Some(map) = value.as_object_mut() {
        map.insert(key.to_string(), serde_json::json!(shift));
    }
    scheduler_from_json(&value.to_string())
}
