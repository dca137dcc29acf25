//! The `opensora` engine: a character image and a prompt → a clip with Open-Sora 2.0's
//! image-to-video mode (`hpcai-tech/Open-Sora-v2`, folder layout in [`super::opensora_folder`])
//! on candle.
//!
//! Per request, in Open-Sora's order: plan the layout and compose the sprite on a key colour
//! (as `wan` and `svd` do), estimate memory and refuse what will not fit, encode the composed
//! picture with the VAE (Open-Sora's tiling; the latent is a posterior *sample* × 0.476986),
//! encode `motion_prompt(prompt, 24, score)` and the empty negative prompt with T5 (512
//! tokens, padding attended) and pooled CLIP (77 tokens) and **drop both encoders**, load the
//! MMDiT, sample (three-way guidance), decode, key the frames back to alpha and bring them to
//! the character's scale.
//!
//! Frames: the causal VAE makes `4k + 1` frames, so a request for another count is rounded up
//! to the next `4k + 1` and the clip keeps the first frames asked for (as `wan` does);
//! `understood.frames` records both counts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use kinema_core::{Engine, Error, Generation, Job, Progress, Result};
use serde_json::json;

use super::opensora_folder::{self, OpenSoraFolder};
use super::opensora_settings::{OpenSoraSettings, MAX_FRAMES};
use super::report::{keyed_generation, memory_report};
use super::settings::dtype_label;
use super::{
    check_frame_count, finish_frames, keyed_canvas, require_model_dir, wan_frame_count, KeyedCanvas,
};
use crate::models::clip_text::{ClipTextEncoder, CLIP_TEXT_TOKENS};
use crate::models::hunyuan_vae::{AutoencoderKLHunyuanVideo, Tiling, VaeParts};
use crate::models::opensora_mmdit::MmditModel;
use crate::models::t5::{T5Encoder, T5_TEXT_TOKENS};
use crate::models::text_tokens::padded_ids;
use crate::models::umt5::load_tokenizer;
use crate::pipelines::image::{frame_to_tensor, video_to_frames};
use crate::pipelines::memory;
use crate::pipelines::noise::randn;
use crate::pipelines::opensora_i2v::{self, I2vInputs, I2vSampling};
use crate::pipelines::opensora_prompt::{motion_prompt, OPEN_SORA_FPS};

/// CLIP-L pads with its end-of-text token (id 49407 in the released tokenizer).
const CLIP_PAD_TOKEN: &str = "<|endoftext|>";

pub struct OpenSoraEngine {
    folder: OpenSoraFolder,
    settings: OpenSoraSettings,
    device: Device,
    dtype: DType,
    size_multiple: u32,
}

/// The text conditions of one request: T5 `[1, 512, C]` and pooled CLIP `[1, V]`, for the
/// prompt and for the empty negative prompt.
struct TextConditions {
    txt: Tensor,
    txt_neg: Tensor,
    y_vec: Tensor,
    y_vec_neg: Tensor,
}

fn err(what: &'static str) -> impl FnOnce(candle_core::Error) -> Error {
    move |e| Error::internal(format!("opensora engine: {what}")).with_source(e)
}

impl OpenSoraEngine {
    /// Checks the model folder (every part present, configs consistent) and opens the
    /// device; weights are read at generation time.
    pub fn load(dir: &Path, settings: OpenSoraSettings) -> Result<Self> {
        settings.validate()?;
        require_model_dir(
            dir,
            "pass --model the folder of an Open-Sora 2.0 release (hpcai-tech/Open-Sora-v2, see docs/OPENSORA.md), or its pulled hub id",
        )?;
        let folder = OpenSoraFolder::open(dir)?;
        let multiple = (folder.vae.spatial_compression_ratio * folder.mmdit.patch_size) as u32;
        let device = settings.device.open()?;
        Ok(OpenSoraEngine {
            dtype: settings.effective_dtype(),
            size_multiple: multiple,
            folder,
            device,
            settings,
        })
    }

    pub fn settings(&self) -> &OpenSoraSettings {
        &self.settings
    }

    pub fn dir(&self) -> &PathBuf {
        &self.folder.dir
    }

    fn check_prompt(prompt: &str) -> Result<()> {
        if prompt.trim().is_empty() {
            return Err(Error::invalid(
                "the prompt is empty",
                "describe the action, e.g. --prompt \"the knight swings his sword\"",
            ));
        }
        Ok(())
    }

    /// T5 and pooled CLIP of the prompt and of "" (Open-Sora's negative), then frees both.
    fn encode_text(&self, prompt: &str) -> Result<TextConditions> {
        let texts = [prompt, ""];
        let t5_dir = self.folder.t5_dir();
        let tokenizer = load_tokenizer(&t5_dir)?;
        let t5 = T5Encoder::from_dir(&t5_dir, self.dtype, &self.device)?;
        let txt = t5.encode_padded(&tokenizer, &texts, T5_TEXT_TOKENS)?;
        drop(t5);

        let clip_dir = self.folder.clip_dir();
        let tokenizer = load_tokenizer(&clip_dir)?;
        let pad = tokenizer.token_to_id(CLIP_PAD_TOKEN).ok_or_else(|| {
            Error::model(format!(
                "the CLIP tokenizer in {} has no {CLIP_PAD_TOKEN} token",
                clip_dir.display()
            ))
            .with_hint("use the tokenizer.json of openai/clip-vit-large-patch14")
        })?;
        let ids = padded_ids(&tokenizer, &texts, CLIP_TEXT_TOKENS, pad, CLIP_PAD_TOKEN)?
            .to_device(&self.device)
            .map_err(err("CLIP ids"))?;
        let clip = ClipTextEncoder::from_dir(&clip_dir, self.dtype, &self.device)?;
        let y = clip.pooled(&ids)?;
        drop(clip);
        let row = |t: &Tensor, i| t.narrow(0, i, 1).map_err(err("text rows"));
        Ok(TextConditions {
            txt: row(&txt, 0)?,
            txt_neg: row(&txt, 1)?,
            y_vec: row(&y, 0)?,
            y_vec_neg: row(&y, 1)?,
        })
    }

    fn sampling(&self) -> I2vSampling {
        I2vSampling {
            num_steps: self.settings.steps,
            guidance: self.settings.guidance,
            guidance_img: self.settings.image_guidance,
            ..I2vSampling::default()
        }
    }

    fn settings_json(&self, prompt: &str) -> serde_json::Value {
        let model_prompt = motion_prompt(prompt, OPEN_SORA_FPS, self.settings.motion_score).ok();
        let mmdit_config = if self.folder.mmdit_config_in_folder {
            "config.json"
        } else {
            "built-in Open-Sora 2.0"
        };
        let vae_config = if self.folder.vae_config_in_folder {
            opensora_folder::VAE_CONFIG_FILE
        } else {
            "built-in (diffusers defaults = the release)"
        };
        json!({
            "engine": "opensora",
            "model": self.folder.dir.display().to_string(),
            "prompt": prompt,
            "model_prompt": model_prompt,
            "negative_prompt": "",
            "steps": self.settings.steps,
            "guidance": self.settings.guidance,
            "image_guidance": self.settings.image_guidance,
            "motion_score": self.settings.motion_score,
            "oscillation": {"text": true, "image": true, "temporal": true},
            "resolution": self.settings.resolution,
            "device": self.settings.device.label(),
            "dtype": dtype_label(self.dtype),
            "configs": {"mmdit": mmdit_config, "vae": vae_config},
        })
    }
}

impl Engine for OpenSoraEngine {
    fn name(&self) -> &'static str {
        "opensora"
    }

    fn understand(&self, prompt: &str) -> Result<serde_json::Value> {
        Self::check_prompt(prompt)?;
        motion_prompt(prompt, OPEN_SORA_FPS, self.settings.motion_score)?;
        Ok(self.settings_json(prompt))
    }

    fn generate(&self, job: Job<'_>, progress: &(dyn Fn(Progress) + Sync)) -> Result<Generation> {
        let started = Instant::now();
        let _heap = crate::heap::HeapRetention::engage();
        Self::check_prompt(job.prompt)?;
        let spec = job.spec;
        check_frame_count("opensora", spec.frames, MAX_FRAMES, "")?;
        let character = job.character;
        let KeyedCanvas {
            layout,
            filter,
            key,
            canvas,
        } = keyed_canvas(character, self.settings.resolution, self.size_multiple)?;
        let model_prompt = motion_prompt(job.prompt, OPEN_SORA_FPS, self.settings.motion_score)?;
        let frames = wan_frame_count(spec.frames) as usize;
        let latent_frames = opensora_i2v::latent_frames(frames)?;

        let scale = self.folder.vae.spatial_compression_ratio;
        let (lh, lw) = (
            layout.model_height as usize / scale,
            layout.model_width as usize / scale,
        );
        let patch = self.folder.mmdit.patch_size;
        let image_tokens = latent_frames * (lh / patch) * (lw / patch);
        let estimate =
            opensora_folder::estimate(&self.folder, self.dtype, image_tokens, T5_TEXT_TOKENS)?;
        let available = memory::available_memory();
        if let (true, Some(avail)) = (self.device.is_cpu(), available) {
            opensora_folder::check_fits(&estimate, avail)?;
        }

        let stage = |name: &'static str, done, total| {
            progress(Progress {
                stage: name,
                done,
                total,
            })
        };
        stage("encoding prompt", 0, 1);
        let t0 = Instant::now();
        let text = self.encode_text(&model_prompt)?;
        let text_ms = t0.elapsed().as_millis();

        stage("encoding image", 0, 1);
        let t1 = Instant::now();
        let mut vae = AutoencoderKLHunyuanVideo::from_file(
            self.folder.vae.clone(),
            &self.folder.vae_file(),
            VaeParts::Both,
            self.dtype,
            &self.device,
        )?;
        vae.set_tiling(Tiling::open_sora())?;
        let picture = frame_to_tensor(&canvas, &self.device)?
            .affine(2.0, -1.0)
            .and_then(|t| t.unsqueeze(2))
            .and_then(|t| t.to_dtype(self.dtype))
            .map_err(err("reference frame"))?;
        let ref_latents = vae
            .reference_latent(&picture, spec.seed)?
            .to_dtype(DType::F32)
            .map_err(err("reference latent"))?;
        let image_ms = t1.elapsed().as_millis();

        stage("loading model", 0, 1);
        let t2 = Instant::now();
        let mmdit = MmditModel::from_file(
            self.folder.mmdit.clone(),
            &self.folder.mmdit_file(),
            self.dtype,
            &self.device,
        )?;
        let load_ms = t2.elapsed().as_millis();
        let channels = self.folder.vae.latent_channels;
        let noise = randn(
            &[1, channels, latent_frames, lh, lw],
            // A stream apart from the posterior sample's, so the two are independent.
            spec.seed.wrapping_add(1),
            &self.device,
        )?;
        let cast = |t: &Tensor| t.to_dtype(self.dtype).map_err(err("text dtype"));
        let (txt, txt_neg, y_vec, y_vec_neg) = (
            cast(&text.txt)?,
            cast(&text.txt_neg)?,
            cast(&text.y_vec)?,
            cast(&text.y_vec_neg)?,
        );
        let t3 = Instant::now();
        let sampled = opensora_i2v::sample(
            &mmdit,
            &I2vInputs {
                noise: &noise,
                ref_latents: &ref_latents,
                txt: &txt,
                txt_neg: &txt_neg,
                y_vec: &y_vec,
                y_vec_neg: &y_vec_neg,
            },
            &self.sampling(),
            &mut |done, total| stage("denoising", done as u64, total as u64),
        )?;
        drop(mmdit);
        let denoise_ms = t3.elapsed().as_millis();

        stage("decoding", 0, 1);
        let t4 = Instant::now();
        let latents = sampled
            .latents
            .to_dtype(self.dtype)
            .map_err(err("latents"))?;
        let video = vae
            .decode(&vae.unscale_latents(&latents)?)?
            .to_dtype(DType::F32)
            .and_then(|v| v.permute((0, 2, 1, 3, 4)))
            .and_then(|v| v.affine(0.5, 0.5))
            .map_err(err("decoded video"))?;
        drop(vae);
        let decode_ms = t4.elapsed().as_millis();

        stage("keying", 0, 1);
        let decoded = video_to_frames(&video)?;
        if decoded.len() < spec.frames as usize {
            return Err(Error::internal(format!(
                "the VAE decoded {} frames for a request of {}",
                decoded.len(),
                spec.frames
            )));
        }
        let frames_out = finish_frames(decoded, spec.frames as usize, &layout, &key, filter);

        let mut understood = self.settings_json(job.prompt);
        understood["frames"] = json!({
            "requested": spec.frames,
            "generated": frames,
            "latent": latent_frames,
            "rule": "Open-Sora makes 4k+1 frames: the next 4k+1 is generated and the clip keeps the first frames requested",
        });
        understood["timesteps"] = json!(sampled.timesteps);
        understood["memory"] = memory_report(&estimate, estimate.peak(), available);
        understood["timings_ms"] = json!({
            "text_encoders": text_ms,
            "vae_encode": image_ms,
            "load": load_ms,
            "denoise": denoise_ms,
            "vae_decode": decode_ms,
            "total": started.elapsed().as_millis(),
        });
        Ok(keyed_generation(
            frames_out, character, spec, &layout, &key, understood,
        ))
    }
}
