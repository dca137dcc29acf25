//! diffusers' `StableVideoDiffusionPipeline`, step for step, with `output_type="pt"`.
//!
//! 1. CLIP: the image → `image_embeds` (with the resize diffusers applies to its input type,
//!    see [`super::svd_image`]), one token `[1, 1, D]`.
//! 2. Noise augmentation: the image in `[-1, 1]` plus `noise_aug_strength ·` Gaussian noise.
//! 3. VAE: its latent is the posterior's `mode()`, **unscaled**, repeated for every frame and
//!    concatenated to the noisy latents on channels.
//! 4. Sampling: latents = noise · `init_noise_sigma`; each step scales the model input,
//!    runs the U-Net with `added_time_ids = [fps − 1, motion bucket, noise aug]`, and with
//!    guidance (`max_guidance > 1`) runs it again with zero image latents and a zero
//!    embedding, mixing `uncond + g_f·(cond − uncond)` with `g_f` linear from the minimum (first
//!    frame) to the maximum (last frame) guidance.
//! 5. Decode: latents ÷ `scaling_factor`, decoded in chunks of `decode_chunk_size` frames,
//!    mapped to `[0, 1]`: `[1, F, 3, H, W]`.
//!
//! The networks are loaded stage by stage and dropped when their stage ends (CLIP, the VAE
//! encoder, the U-Net, the VAE decoder), so the peak is the largest stage, not their sum.
//! Weights are memory-mapped; reloading them per request is mostly page cache.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use kinema_core::{Error, Result};

use super::noise;
use super::svd_image::{clip_pixels, ClipNormalisation, ImageInput};
use crate::models::clip_vision::projection::ClipVisionModelWithProjection;
use crate::models::svd::{
    AutoencoderKLTemporalDecoder, TemporalVaeConfig, UNetConfig, UNetInput,
    UNetSpatioTemporalConditionModel, VaeHalves,
};
use crate::schedulers::betas::linspace_f32;
use crate::schedulers::{scheduler_from_dir, Scheduler};

/// The pipeline class this reproduces (`_class_name` of `model_index.json`).
pub const SVD_PIPELINE_CLASS: &str = "StableVideoDiffusionPipeline";
/// The folders a Stable Video Diffusion checkpoint must hold.
pub const SVD_COMPONENTS: &[&str] = &[
    "unet",
    "vae",
    "image_encoder",
    "feature_extractor",
    "scheduler",
];
/// Seeded runs draw the noise-augmentation noise from this stream (the latents from `seed`).
const IMAGE_NOISE_STREAM: u64 = 0x5EED_1A6E_0A06_0000;

/// Where the sampling noise comes from.
#[derive(Clone, Debug)]
pub enum SvdNoise {
    /// Our generator ([`noise`]): latents from `seed`, the augmentation noise from a second
    /// stream derived from it. Reproducible on every device.
    Seed(u64),
    /// Given tensors: `latents` `[1, F, 4, h, w]` (diffusers' `latents=`) and `image_noise`
    /// `[1, 3, H, W]`, e.g. for parity checks.
    Given {
        latents: Tensor,
        image_noise: Tensor,
    },
}

/// One generation (batch 1).
#[derive(Clone, Debug)]
pub struct SvdRequest<'a> {
    /// `[1, 3, height, width]` in `[0, 1]`.
    pub image: &'a Tensor,
    pub image_input: ImageInput,
    pub height: usize,
    pub width: usize,
    pub num_frames: usize,
    pub num_inference_steps: usize,
    pub min_guidance_scale: f64,
    pub max_guidance_scale: f64,
    /// The frame rate the clip is conditioned on (the U-Net sees `fps − 1`).
    pub fps: u32,
    /// Amount of motion, 0–255 in training (127 by default).
    pub motion_bucket_id: u32,
    pub noise_aug_strength: f64,
    pub decode_chunk_size: usize,
    pub noise: SvdNoise,
}

/// How to run a pipeline folder.
#[derive(Clone, Debug)]
pub struct SvdOptions {
    pub dtype: DType,
    pub device: Device,
}

/// Which stage is running, for progress reports (denoising reports 0 before its first step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvdStage {
    EncodingImage,
    Denoising { done: usize, total: usize },
    Decoding,
}

/// A checked Stable Video Diffusion folder; networks load during [`Self::generate`].
pub struct SvdPipeline {
    dir: PathBuf,
    options: SvdOptions,
    unet: UNetConfig,
    vae: TemporalVaeConfig,
    normalisation: ClipNormalisation,
}

fn tensor_err(what: &'static str) -> impl FnOnce(candle_core::Error) -> Error {
    move |e| Error::internal(format!("SVD pipeline: {what} failed")).with_source(e)
}

/// Checks `model_index.json` names the SVD pipeline and every component folder exists.
pub fn check_folder(dir: &Path) -> Result<()> {
    let path = dir.join("model_index.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::model(format!(
            "`{}` is not a model folder: cannot read {}",
            dir.display(),
            path.display()
        ))
        .with_source(e)
        .with_hint("pass the folder of a diffusers Stable Video Diffusion checkpoint (the one holding model_index.json)")
    })?;
    let index: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::model(format!("{} is not valid JSON: {e}", path.display())))?;
    let class = index
        .get("_class_name")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if class != SVD_PIPELINE_CLASS {
        return Err(Error::unsupported(format!(
            "{} holds a `{class}`, not a {SVD_PIPELINE_CLASS}",
            dir.display()
        ))
        .with_hint("use --engine svd with a Stable Video Diffusion checkpoint, e.g. stabilityai/stable-video-diffusion-img2vid-xt"));
    }
    for part in SVD_COMPONENTS {
        if !dir.join(part).is_dir() {
            return Err(
                Error::model(format!("{} has no {part}/ folder", dir.display()))
                    .with_hint("download the complete checkpoint"),
            );
        }
    }
    Ok(())
}

impl SvdPipeline {
    /// Reads and checks the folder's configs; no weights are read yet.
    pub fn open(dir: &Path, options: SvdOptions) -> Result<Self> {
        check_folder(dir)?;
        let unet = UNetConfig::from_dir(&dir.join("unet"))?;
        let vae = TemporalVaeConfig::from_dir(&dir.join("vae"))?;
        if unet.in_channels != 2 * vae.latent_channels || unet.out_channels != vae.latent_channels {
            return Err(Error::model(format!(
                "the U-Net takes {} channels and predicts {}, but the VAE's latents have {}",
                unet.in_channels, unet.out_channels, vae.latent_channels
            ))
            .with_hint("unet/ and vae/ must come from the same checkpoint"));
        }
        let normalisation = ClipNormalisation::from_dir(&dir.join("feature_extractor"))?;
        Ok(SvdPipeline {
            dir: dir.to_path_buf(),
            options,
            unet,
            vae,
            normalisation,
        })
    }

    pub fn unet_config(&self) -> &UNetConfig {
        &self.unet
    }

    pub fn vae_config(&self) -> &TemporalVaeConfig {
        &self.vae
    }

    /// Pixels per latent along each side.
    pub fn vae_scale_factor(&self) -> usize {
        self.vae.scale_factor()
    }

    /// `[1, F, latent_channels, H/s, W/s]`.
    pub fn latent_shape(&self, height: usize, width: usize, frames: usize) -> [usize; 5] {
        let s = self.vae_scale_factor();
        [1, frames, self.vae.latent_channels, height / s, width / s]
    }

    /// Samples and decodes; returns `[1, F, 3, H, W]` in `[0, 1]`.
    pub fn generate(&self, req: &SvdRequest, progress: &mut dyn FnMut(SvdStage)) -> Result<Tensor> {
        self.check(req)?;
        let (latents, image_noise) = self.noise(req)?;
        progress(SvdStage::EncodingImage);
        let embeds = self.encode_clip(req)?;
        let image_latents = self.encode_vae(req, &image_noise)?;
        let latents = self.denoise(req, latents, &embeds, &image_latents, progress)?;
        progress(SvdStage::Decoding);
        self.decode(&latents, req)
    }

    fn check(&self, req: &SvdRequest) -> Result<()> {
        let s = self.vae_scale_factor();
        if req.height == 0
            || req.width == 0
            || !req.height.is_multiple_of(s)
            || !req.width.is_multiple_of(s)
        {
            return Err(Error::invalid(
                format!(
                    "{}x{} is not a size this model can generate",
                    req.width, req.height
                ),
                format!("use a width and height that are positive multiples of {s}"),
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
        if req.num_frames == 0 || req.num_inference_steps == 0 || req.decode_chunk_size == 0 {
            return Err(Error::invalid(
                "frames, steps and the decode chunk must all be at least 1",
                "check --frames, --steps and --decode-chunk",
            ));
        }
        for (name, g) in [
            ("min", req.min_guidance_scale),
            ("max", req.max_guidance_scale),
        ] {
            if !g.is_finite() {
                return Err(Error::invalid(
                    format!("{name} guidance {g} is not a number"),
                    "use guidance scales such as 1.0 and 3.0",
                ));
            }
        }
        if !req.noise_aug_strength.is_finite() || req.noise_aug_strength < 0.0 {
            return Err(Error::invalid(
                format!("noise augmentation {} must be ≥ 0", req.noise_aug_strength),
                "use e.g. --noise-aug 0.02",
            ));
        }
        if req.fps == 0 {
            return Err(Error::invalid(
                "an fps of 0",
                "use --fps-id 1 or more (SVD-XT: 6)",
            ));
        }
        Ok(())
    }

    /// The initial latents (before `init_noise_sigma`) and the augmentation noise.
    fn noise(&self, req: &SvdRequest) -> Result<(Tensor, Tensor)> {
        let shape = self.latent_shape(req.height, req.width, req.num_frames);
        let device = &self.options.device;
        match &req.noise {
            SvdNoise::Seed(seed) => Ok((
                noise::randn(&shape, *seed, device)?,
                noise::randn(
                    &[1, 3, req.height, req.width],
                    seed ^ IMAGE_NOISE_STREAM,
                    device,
                )?,
            )),
            SvdNoise::Given {
                latents,
                image_noise,
            } => {
                if latents.dims() != shape || image_noise.dims() != req.image.dims() {
                    return Err(Error::invalid(
                        format!(
                            "given latents {:?} / image noise {:?} do not fit {shape:?} / {:?}",
                            latents.dims(),
                            image_noise.dims(),
                            req.image.dims()
                        ),
                        "pass latents [1, F, 4, H/s, W/s] and image noise shaped like the image",
                    ));
                }
                let f32_on = |t: &Tensor| t.to_device(device).and_then(|t| t.to_dtype(DType::F32));
                Ok((
                    f32_on(latents).map_err(tensor_err("moving the latents"))?,
                    f32_on(image_noise).map_err(tensor_err("moving the image noise"))?,
                ))
            }
        }
    }

    /// CLIP `image_embeds` `[1, 1, D]` in the model dtype; the encoder is dropped on return.
    fn encode_clip(&self, req: &SvdRequest) -> Result<Tensor> {
        let encoder = ClipVisionModelWithProjection::from_dir(
            &self.dir.join("image_encoder"),
            self.options.dtype,
            &self.options.device,
        )?;
        let image = req
            .image
            .to_device(&self.options.device)
            .map_err(tensor_err("moving the image"))?;
        let pixels = clip_pixels(&image, req.image_input, &self.normalisation)?;
        let size = encoder.config().image_size;
        if pixels.dims()[2..] != [size, size] {
            return Err(Error::invalid(
                format!(
                    "CLIP takes {size}×{size} images but gets {:?}: a tensor image is not resized",
                    &pixels.dims()[2..]
                ),
                "pass the image as decoded pixels (resized to 224) or at the encoder's size",
            ));
        }
        let pixels = pixels
            .to_dtype(self.options.dtype)
            .map_err(tensor_err("CLIP input"))?;
        encoder
            .image_embeds(&pixels)?
            .unsqueeze(1)
            .map_err(tensor_err("image embeddings"))
    }

    /// The noise-augmented image's latent (the posterior mode, unscaled), `[1, C, h, w]`.
    fn encode_vae(&self, req: &SvdRequest, image_noise: &Tensor) -> Result<Tensor> {
        // diffusers runs a float16 VAE's encoder in float32 when the config asks for it.
        let dtype = if self.options.dtype == DType::F16 && self.vae.force_upcast {
            DType::F32
        } else {
            self.options.dtype
        };
        let vae = AutoencoderKLTemporalDecoder::from_dir(
            &self.dir.join("vae"),
            VaeHalves::EncoderOnly,
            dtype,
            &self.options.device,
        )?;
        let image = req
            .image
            .to_device(&self.options.device)
            .and_then(|t| t.to_dtype(DType::F32))
            .and_then(|t| t.affine(2.0, -1.0))
            .and_then(|t| t + image_noise.affine(req.noise_aug_strength as f32 as f64, 0.0)?)
            .and_then(|t| t.to_dtype(dtype))
            .map_err(tensor_err("noise augmentation"))?;
        vae.encode(&image)?
            .to_dtype(self.options.dtype)
            .map_err(tensor_err("image latents"))
    }

    fn denoise(
        &self,
        req: &SvdRequest,
        noise: Tensor,
        embeds: &Tensor,
        image_latents: &Tensor,
        progress: &mut dyn FnMut(SvdStage),
    ) -> Result<Tensor> {
        let dtype = self.options.dtype;
        let device = &self.options.device;
        let frames = req.num_frames;
        let mut scheduler: Box<dyn Scheduler> = scheduler_from_dir(&self.dir.join("scheduler"))?;
        scheduler.set_timesteps(req.num_inference_steps)?;
        let unet =
            UNetSpatioTemporalConditionModel::from_dir(&self.dir.join("unet"), dtype, device)?;
        let cfg = req.max_guidance_scale > 1.0;
        let a = self.unet.addition_time_embed_dim;
        if 3 * a != self.unet.projection_class_embeddings_input_dim {
            return Err(Error::model(format!(
                "the U-Net's added time embedding takes {} values, but 3 ids × {a} make {}",
                self.unet.projection_class_embeddings_input_dim,
                3 * a
            )));
        }
        let ids = Tensor::new(
            &[[
                (req.fps - 1) as f32,
                req.motion_bucket_id as f32,
                req.noise_aug_strength as f32,
            ]],
            device,
        )
        .and_then(|t| t.to_dtype(dtype))
        .map_err(tensor_err("added_time_ids"))?;
        let cond_latents = image_latents
            .unsqueeze(1)
            .and_then(|t| t.repeat((1, frames, 1, 1, 1)))
            .map_err(tensor_err("image latents per frame"))?;
        let uncond = if cfg {
            Some((
                cond_latents
                    .zeros_like()
                    .map_err(tensor_err("zero latents"))?,
                embeds.zeros_like().map_err(tensor_err("zero embedding"))?,
            ))
        } else {
            None
        };
        let guidance = Tensor::from_vec(
            linspace_f32(req.min_guidance_scale, req.max_guidance_scale, frames),
            (1, frames, 1, 1, 1),
            device,
        )
        .and_then(|g| g.to_dtype(dtype))
        .map_err(tensor_err("guidance scales"))?;
        let mut latents = noise
            .affine(scheduler.init_noise_sigma(), 0.0)
            .and_then(|t| t.to_dtype(dtype))
            .map_err(tensor_err("initial latents"))?;
        let timesteps = scheduler.timesteps().to_vec();
        let total = timesteps.len();
        progress(SvdStage::Denoising { done: 0, total });
        for (i, &t) in timesteps.iter().enumerate() {
            let scaled = scheduler.scale_model_input(&latents)?;
            let run = |image: &Tensor, embedding: &Tensor| -> Result<Tensor> {
                let sample =
                    Tensor::cat(&[&scaled, image], 2).map_err(tensor_err("model input"))?;
                unet.forward(&UNetInput {
                    sample: &sample,
                    timesteps: &[t as f32],
                    encoder_hidden_states: embedding,
                    added_time_ids: &ids,
                })
            };
            let mut pred = run(&cond_latents, embeds)?;
            if let Some((zero_latents, zero_embeds)) = &uncond {
                let base = run(zero_latents, zero_embeds)?;
                pred = (&pred - &base)
                    .and_then(|d| d.broadcast_mul(&guidance))
                    .and_then(|d| base + d)
                    .map_err(tensor_err("classifier-free guidance"))?;
            }
            latents = scheduler.step(&pred, &latents)?;
            progress(SvdStage::Denoising { done: i + 1, total });
        }
        Ok(latents)
    }

    /// Latents → `[1, F, 3, H, W]` in `[0, 1]` (float32).
    fn decode(&self, latents: &Tensor, req: &SvdRequest) -> Result<Tensor> {
        let vae = AutoencoderKLTemporalDecoder::from_dir(
            &self.dir.join("vae"),
            VaeHalves::DecoderOnly,
            self.options.dtype,
            &self.options.device,
        )?;
        let frames = req.num_frames;
        let [_, _, c, h, w] = self.latent_shape(req.height, req.width, frames);
        // diffusers: `1 / scaling_factor * latents`, the reciprocal rounded once.
        let z = latents
            .reshape((frames, c, h, w))
            .and_then(|z| z.affine(1.0 / self.vae.scaling_factor, 0.0))
            .map_err(tensor_err("latent scaling"))?;
        let video = vae.decode_in_chunks(&z, req.decode_chunk_size)?;
        video
            .to_dtype(DType::F32)
            .and_then(|v| v.reshape((1, frames, self.vae.out_channels, req.height, req.width)))
            .and_then(|v| v.affine(0.5, 0.5))
            .and_then(|v| v.clamp(0f32, 1f32))
            .map_err(tensor_err("video postprocessing"))
    }
}
