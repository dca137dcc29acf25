//! The diffusion engines: `wan` (here) — a character image and a prompt → a clip, with
//! Wan2.2 TI2V-5B or a Wan2.1 I2V checkpoint (diffusers layout) on candle — `svd`
//! ([`SvdEngine`], Stable Video Diffusion) and `opensora` ([`OpenSoraEngine`], Open-Sora
//! 2.0 i2v). All share the layout and keying below.
//!
//! Per request: plan the layout ([`layout`]), compose the sprite on a key colour ([`kinema_media::key`]),
//! estimate memory and refuse what will not fit, encode the prompt and the negative prompt
//! with umT5 and **drop the text encoder**, for Wan2.1 I2V encode the composed picture with
//! the CLIP image encoder and drop it too, load the transformer and VAE, sample, decode, key
//! the frames back to alpha and bring them to the character's scale. Models are loaded per
//! request (memory-mapped, so a repeat load is mostly page cache) because keeping the text
//! encoder and the transformer both resident would roughly double the peak.
//!
//! Frames: Wan makes `4k + 1` frames, so the requested count is rounded up to the next
//! `4k + 1`, generated, and the clip keeps the first `ClipSpec.frames` of them.

mod layout;
mod opensora;
pub mod opensora_folder;
mod opensora_settings;
mod report;
mod settings;
mod svd;
mod svd_settings;

pub use crate::pipelines::image::Filter;
pub use kinema_media::key::{choose_key, compose, key_out, lab, ChromaKey, KEY_CANDIDATES};
pub use layout::{plan, Layout, MARGIN};
pub use opensora::OpenSoraEngine;
pub use opensora_settings::{
    OpenSoraSettings, DEFAULT_MOTION_SCORE, MAX_FRAMES as OPENSORA_MAX_FRAMES,
    OPENSORA_DEFAULT_MODEL,
};
use report::{keyed_generation, memory_report};
pub use settings::{dtype_label, parse_dtype, DeviceChoice, WanSettings, WAN_NEGATIVE_PROMPT};
pub use svd::{MotionReader, PromptMotion, SvdEngine};
pub use svd_settings::{
    SvdSettings, DEFAULT_FPS_ID, DEFAULT_MOTION_BUCKET, MAX_FRAMES as SVD_MAX_FRAMES,
    SVD_DEFAULT_MODEL,
};

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device};
use kinema_core::{Character, Engine, Error, Frame, Generation, Job, Progress, Result};
use serde_json::json;

use crate::models::clip_vision::ClipVisionEncoder;
use crate::models::umt5::Umt5Encoder;
use crate::models::umt5::{clean_prompt, encode_prompt, load_tokenizer};
use crate::models::wan::transformer::WanTransformerConfig;
use crate::models::wan::WanVaeConfig;
use crate::pipelines::clip_image::ClipImageProcessor;
use crate::pipelines::image::{frame_to_tensor, resize, video_to_frames};
use crate::pipelines::memory::{self, RequestShape};
use crate::pipelines::{I2vRequest, InitialNoise, LoadOptions, ModelIndex, WanI2vPipeline};

/// Most frames one request may ask for (Wan2.2 TI2V-5B was trained on 121).
pub const MAX_FRAMES: u32 = 241;

pub struct WanEngine {
    dir: PathBuf,
    settings: WanSettings,
    device: Device,
    dtype: DType,
    size_multiple: u32,
    /// The scheduler shift actually used (the override or the checkpoint's).
    shift: Option<f64>,
    /// Wan2.1 I2V: the transformer takes CLIP image tokens (`image_encoder/`).
    image_conditioned: bool,
}

impl WanEngine {
    /// Checks the model folder (layout, configs, supported variant) and opens the device;
    /// weights are read at generation time.
    pub fn load(dir: &Path, settings: WanSettings) -> Result<Self> {
        settings.validate()?;
        require_model_dir(
            dir,
            "pass --model the local folder of a diffusers Wan checkpoint, e.g. a download of Wan-AI/Wan2.2-TI2V-5B-Diffusers (see docs/WAN.md)",
        )?;
        let index = ModelIndex::read(dir)?;
        index.check_supported()?;
        if !index.has_text_encoder {
            return Err(Error::model(format!(
                "{} has no text_encoder/ and tokenizer/",
                dir.display()
            ))
            .with_hint("download the complete checkpoint; the engine encodes prompts itself"));
        }
        let tcfg = WanTransformerConfig::from_dir(&dir.join("transformer"))?;
        let image_conditioned = tcfg.image_dim.is_some();
        if image_conditioned {
            for part in ["image_encoder", "image_processor"] {
                if !index.has_image_encoder || !dir.join(part).is_dir() {
                    return Err(Error::model(format!(
                        "{} is a Wan2.1 I2V checkpoint (its transformer takes image tokens) but has no {part}/",
                        dir.display()
                    ))
                    .with_hint("download the complete checkpoint, e.g. Wan-AI/Wan2.1-I2V-14B-480P-Diffusers, including image_encoder/ and image_processor/"));
                }
            }
        } else if !index.expand_timesteps {
            return Err(Error::unsupported(format!(
                "{} is not image-conditioned: neither a TI2V checkpoint (expand_timesteps) nor an I2V one (image_dim)",
                dir.display()
            ))
            .with_hint("use Wan-AI/Wan2.2-TI2V-5B-Diffusers or a Wan2.1 I2V checkpoint"));
        }
        let vcfg = WanVaeConfig::from_dir(&dir.join("vae"))?;
        let multiple =
            vcfg.scale_factor_spatial.unwrap_or(8) * tcfg.patch()[1].max(tcfg.patch()[2]);
        let shift = match settings.shift {
            Some(s) => Some(s),
            None => scheduler_shift(&dir.join("scheduler")),
        };
        let device = settings.device.open()?;
        Ok(WanEngine {
            dir: dir.to_path_buf(),
            dtype: settings.effective_dtype(),
            size_multiple: multiple as u32,
            shift,
            device,
            settings,
            image_conditioned,
        })
    }

    pub fn settings(&self) -> &WanSettings {
        &self.settings
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

    /// Encodes the prompt (and the negative prompt when guidance is on), then frees umT5.
    fn encode_prompts(
        &self,
        prompt: &str,
    ) -> Result<(candle_core::Tensor, Option<candle_core::Tensor>)> {
        let tokenizer = load_tokenizer(&self.dir.join("tokenizer"))?;
        let encoder =
            Umt5Encoder::from_dir(&self.dir.join("text_encoder"), self.dtype, &self.device)?;
        let max_len = self.settings.max_sequence_length;
        let (positive, _) = encode_prompt(&tokenizer, &encoder, &[prompt], max_len)?;
        let negative = if self.settings.guidance > 1.0 {
            Some(
                encode_prompt(
                    &tokenizer,
                    &encoder,
                    &[self.settings.negative_prompt()],
                    max_len,
                )?
                .0,
            )
        } else {
            None
        };
        drop(encoder);
        Ok((positive, negative))
    }

    /// Wan2.1 I2V: the composed picture → CLIP tokens (`hidden_states[-2]`), then frees CLIP.
    fn encode_image(&self, canvas: &Frame) -> Result<candle_core::Tensor> {
        let processor = ClipImageProcessor::from_dir(&self.dir.join("image_processor"))?;
        let encoder =
            ClipVisionEncoder::from_dir(&self.dir.join("image_encoder"), self.dtype, &self.device)?;
        let pixels = processor.preprocess(canvas, &self.device)?;
        // The encoder is dropped on return, before the transformer loads.
        encoder.penultimate_hidden_states(&pixels)
    }

    fn settings_json(&self, prompt: &str) -> serde_json::Value {
        json!({
            "engine": "wan",
            "model": self.dir.display().to_string(),
            "prompt": prompt,
            "negative_prompt": self.settings.negative_prompt(),
            "negative_prompt_is_default": self.settings.negative_prompt.is_none(),
            "steps": self.settings.steps,
            "guidance": self.settings.guidance,
            "shift": self.shift,
            "device": self.settings.device.label(),
            "dtype": dtype_label(self.dtype),
        })
    }
}

/// The checkpoint's own flow shift (`flow_shift` for UniPC, `shift` for Euler), if readable.
fn scheduler_shift(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("scheduler_config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("flow_shift")
        .or_else(|| v.get("shift"))
        .and_then(|s| s.as_f64())
}

/// `n` rounded up to the next `4k + 1`.
pub fn wan_frame_count(n: u32) -> u32 {
    if n <= 1 {
        1
    } else {
        (n - 1).div_ceil(4) * 4 + 1
    }
}

impl Engine for WanEngine {
    fn name(&self) -> &'static str {
        "wan"
    }

    fn understand(&self, prompt: &str) -> Result<serde_json::Value> {
        Self::check_prompt(prompt)?;
        let tokenizer = load_tokenizer(&self.dir.join("tokenizer"))?;
        let tokens = tokenizer
            .encode(clean_prompt(prompt), true)
            .map(|e| e.get_ids().len())
            .map_err(|e| {
                Error::invalid(
                    format!("cannot tokenise the prompt: {e}"),
                    "check the prompt text",
                )
            })?;
        let mut v = self.settings_json(prompt);
        v["prompt_tokens"] = json!(tokens);
        v["prompt_truncated"] = json!(tokens > self.settings.max_sequence_length);
        Ok(v)
    }

    fn generate(&self, job: Job<'_>, progress: &(dyn Fn(Progress) + Sync)) -> Result<Generation> {
        let started = Instant::now();
        let _heap = crate::heap::HeapRetention::engage();
        Self::check_prompt(job.prompt)?;
        let spec = job.spec;
        check_frame_count("wan", spec.frames, MAX_FRAMES, "")?;
        let character = job.character;
        let KeyedCanvas {
            layout,
            filter,
            key,
            canvas,
        } = keyed_canvas(character, self.settings.resolution, self.size_multiple)?;
        let frames = wan_frame_count(spec.frames);

        let shape = RequestShape {
            height: layout.model_height as usize,
            width: layout.model_width as usize,
            num_frames: frames as usize,
            max_sequence_length: self.settings.max_sequence_length,
            guidance: self.settings.guidance > 1.0,
            dtype: self.dtype,
            cpu: self.device.is_cpu(),
        };
        let estimate = memory::estimate(&self.dir, &shape)?;
        let available = memory::available_memory();
        if let (Device::Cpu, Some(avail)) = (&self.device, available) {
            memory::check_fits(&estimate, avail, &shape)?;
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
        let (prompt_embeds, negative_embeds) = self.encode_prompts(job.prompt)?;
        let text_ms = t0.elapsed().as_millis();

        let t_image = Instant::now();
        let image_embeds = if self.image_conditioned {
            stage("encoding image", 0, 1);
            Some(self.encode_image(&canvas)?)
        } else {
            None
        };
        let image_ms = t_image.elapsed().as_millis();

        stage("loading model", 0, 1);
        let t1 = Instant::now();
        let mut pipeline = WanI2vPipeline::load(
            &self.dir,
            &LoadOptions {
                dtype: self.dtype,
                device: self.device.clone(),
                shift: self.settings.shift,
            },
        )?;
        let load_ms = t1.elapsed().as_millis();

        let image = frame_to_tensor(&canvas, &self.device)?;
        let request = I2vRequest {
            image: &image,
            prompt_embeds: &prompt_embeds,
            negative_prompt_embeds: negative_embeds.as_ref(),
            image_embeds: image_embeds.as_ref(),
            height: shape.height,
            width: shape.width,
            num_frames: shape.num_frames,
            num_inference_steps: self.settings.steps,
            guidance_scale: self.settings.guidance,
            noise: InitialNoise::Seed(spec.seed),
        };
        let t2 = Instant::now();
        let mut last_step = t2;
        let video = pipeline.generate(&request, &mut |done, total| {
            last_step = Instant::now();
            stage("denoising", done as u64, total as u64);
        })?;
        let denoise_ms = last_step.duration_since(t2).as_millis();
        let decode_ms = last_step.elapsed().as_millis();
        drop(pipeline);

        stage("keying", 0, 1);
        let t3 = Instant::now();
        let frames_out = finish_frames(
            video_to_frames(&video)?,
            spec.frames as usize,
            &layout,
            &key,
            filter,
        );
        let post_ms = t3.elapsed().as_millis();

        let mut understood = self.settings_json(job.prompt);
        understood["frames"] = json!({"requested": spec.frames, "generated": frames});
        understood["memory"] = memory_report(&estimate, estimate.peak(), available);
        understood["timings_ms"] = json!({
            "text_encoder": text_ms,
            "image_encoder": image_ms,
            "load": load_ms,
            "denoise": denoise_ms,
            "vae_decode": decode_ms,
            "keying": post_ms,
            "total": started.elapsed().as_millis(),
        });
        Ok(keyed_generation(
            frames_out, character, spec, &layout, &key, understood,
        ))
    }
}

/// Generated opaque frames → the clip's frames: the first `count`, keyed to alpha at the
/// model's resolution (where the key colour is cleanest), then scaled to the clip canvas.
pub fn finish_frames(
    frames: Vec<Frame>,
    count: usize,
    layout: &Layout,
    key: &ChromaKey,
    filter: Filter,
) -> Vec<Frame> {
    frames
        .into_iter()
        .take(count)
        .map(|f| {
            resize(
                &key_out(&f, key),
                layout.clip_width,
                layout.clip_height,
                filter,
            )
        })
        .collect()
}

/// Refuses a `--model` path that is not a folder; `hint` says what folder the engine wants.
pub(crate) fn require_model_dir(dir: &Path, hint: &str) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("`{}` is not a model folder", dir.display()),
            hint,
        ))
    }
}

/// Refuses a clip of no frames or more than `max` before any model loads; `note` is added
/// to the hint (what the model was trained on).
pub(crate) fn check_frame_count(engine: &str, frames: u32, max: u32, note: &str) -> Result<()> {
    if frames == 0 || frames > max {
        return Err(Error::invalid(
            format!("{frames} frames is out of range for the {engine} engine"),
            format!("use --frames between 1 and {max}{note}"),
        ));
    }
    Ok(())
}

/// A character set up for a video model: where it sits in the model picture, the filter
/// that scales it, the key colour chosen against its own colours, and the composed picture.
pub struct KeyedCanvas {
    pub layout: Layout,
    pub filter: Filter,
    pub key: ChromaKey,
    pub canvas: Frame,
}

/// Frames and keys `character` the same way for every diffusion engine (wan, svd,
/// opensora), so their clips come back at the same place and scale; a fully transparent
/// image is refused here, before any model loads.
pub fn keyed_canvas(character: &Character, resolution: u32, multiple: u32) -> Result<KeyedCanvas> {
    if !character.image.has_visible_pixels() {
        return Err(Error::image("the character image is fully transparent")
            .with_hint("use an image with a visible character"));
    }
    let layout = plan(character.width(), character.height(), resolution, multiple);
    let filter = if character.pixel_art {
        Filter::Nearest
    } else {
        Filter::Smooth
    };
    let key = choose_key(&character.image);
    let canvas = compose_canvas(&character.image, &layout, filter, &key);
    Ok(KeyedCanvas {
        layout,
        filter,
        key,
        canvas,
    })
}

/// The sprite scaled into its rectangle of the model picture, over the key colour.
pub fn compose_canvas(sprite: &Frame, layout: &Layout, filter: Filter, key: &ChromaKey) -> Frame {
    let scaled = resize(sprite, layout.sprite_width, layout.sprite_height, filter);
    let mut canvas = Frame::new(layout.model_width, layout.model_height);
    for y in 0..scaled.height {
        for x in 0..scaled.width {
            canvas.set_pixel(layout.sprite_x + x, layout.sprite_y + y, scaled.pixel(x, y));
        }
    }
    compose(&canvas, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_counts_round_up_to_4k_plus_1() {
        let got: Vec<u32> = [0, 1, 2, 4, 5, 6, 9, 16, 17, 121]
            .iter()
            .map(|&n| wan_frame_count(n))
            .collect();
        assert_eq!(got, [1, 1, 5, 5, 5, 9, 9, 17, 17, 121]);
    }

    #[test]
    fn missing_folder_is_a_clear_error() {
        let err = WanEngine::load(Path::new("/nonexistent/wan-model"), WanSettings::default())
            .err()
            .unwrap();
        assert_eq!(err.kind, kinema_core::ErrorKind::InvalidInput);
        assert!(
            err.message.contains("is not a model folder"),
            "{}",
            err.message
        );
        assert!(err.hint.unwrap().contains("Wan2.2-TI2V-5B-Diffusers"));
    }

    #[test]
    fn canvas_is_key_coloured_around_the_sprite() {
        let sprite = Frame::filled(10, 20, [200, 50, 50, 255]);
        let layout = plan(10, 20, 64, 32);
        let key = choose_key(&sprite);
        let canvas = compose_canvas(&sprite, &layout, Filter::Nearest, &key);
        assert_eq!(
            (canvas.width, canvas.height),
            (layout.model_width, layout.model_height)
        );
        let k = key.rgb;
        assert_eq!(canvas.pixel(0, 0), [k[0], k[1], k[2], 255]);
        let (cx, cy) = (
            layout.sprite_x + layout.sprite_width / 2,
            layout.sprite_y + layout.sprite_height / 2,
        );
        assert_eq!(canvas.pixel(cx, cy), [200, 50, 50, 255]);
    }
}
