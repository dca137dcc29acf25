//! The `svd` engine: a character image → a clip with Stable Video Diffusion (diffusers
//! layout, e.g. stabilityai/stable-video-diffusion-img2vid-xt) on candle.
//!
//! SVD takes no text. The prompt steers it only through its two motion conditions, the
//! motion bucket and the frame rate, and only where a [`MotionReader`] (given by the caller,
//! who owns the prompt reader and its table) can tell what the prompt asks for; `understood`
//! says which values were used and where they came from. Otherwise per request: plan the
//! layout, compose the sprite on a key colour, estimate memory and refuse what will not fit
//! (or pick the largest decode chunk that fits), sample, decode, key the frames back to
//! alpha and bring them to the character's scale.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Device};
use kinema_core::{Engine, Generation, Job, Progress, Result};
use serde::Serialize;
use serde_json::json;

use super::report::{keyed_generation, memory_report};
use super::settings::dtype_label;
use super::svd_settings::{SvdSettings, DEFAULT_FPS_ID, DEFAULT_MOTION_BUCKET, MAX_FRAMES};
use super::{check_frame_count, finish_frames, keyed_canvas, require_model_dir, KeyedCanvas};
use crate::pipelines::image::{frame_to_tensor, video_to_frames};
use crate::pipelines::memory;
use crate::pipelines::svd::{SvdNoise, SvdOptions, SvdPipeline, SvdRequest, SvdStage};
use crate::pipelines::svd_image::ImageInput;
use crate::pipelines::svd_memory::{self, SvdShape};

/// What a prompt asks of SVD's motion conditions, as the caller's prompt reader sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromptMotion {
    pub motion_bucket: u32,
    pub fps_id: u32,
    /// Why, for `understood` (e.g. the action and modifiers the reader found).
    pub reason: serde_json::Value,
}

/// Maps a prompt to motion conditions; `None` when it cannot tell.
pub type MotionReader = Arc<dyn Fn(&str) -> Option<PromptMotion> + Send + Sync>;

pub struct SvdEngine {
    dir: PathBuf,
    settings: SvdSettings,
    device: Device,
    dtype: DType,
    /// Output sizes are multiples of this (VAE scale × U-Net downsampling, at least 8).
    size_multiple: u32,
    /// Longer side of the model's picture (the setting, or the model's own size).
    resolution: u32,
    motion: Option<MotionReader>,
}

/// The motion conditions used for one prompt, and where each came from.
#[derive(Clone, Debug, Serialize)]
struct MotionChoice {
    motion_bucket: u32,
    fps_id: u32,
    source: serde_json::Value,
}

impl SvdEngine {
    /// Checks the model folder and opens the device; weights are read at generation time.
    pub fn load(dir: &Path, settings: SvdSettings) -> Result<Self> {
        settings.validate()?;
        require_model_dir(
            dir,
            "pass --model the folder of a diffusers Stable Video Diffusion checkpoint, or a pulled hub id such as stabilityai/stable-video-diffusion-img2vid-xt",
        )?;
        let dtype = settings.effective_dtype();
        let device = settings.device.open()?;
        let pipeline = SvdPipeline::open(
            dir,
            SvdOptions {
                dtype,
                device: device.clone(),
            },
        )?;
        let scale = pipeline.vae_scale_factor();
        let multiple = (scale * pipeline.unet_config().downsample_factor()).max(8) as u32;
        let resolution = settings.resolution.unwrap_or_else(|| {
            pipeline
                .unet_config()
                .sample_size
                .map_or(1024, |s| (s * scale) as u32)
        });
        Ok(SvdEngine {
            resolution,
            dir: dir.to_path_buf(),
            settings,
            device,
            dtype,
            size_multiple: multiple,
            motion: None,
        })
    }

    /// Lets the prompt choose the motion conditions the settings leave open.
    pub fn with_motion_reader(mut self, reader: MotionReader) -> Self {
        self.motion = Some(reader);
        self
    }

    pub fn settings(&self) -> &SvdSettings {
        &self.settings
    }

    fn motion(&self, prompt: &str) -> MotionChoice {
        let read = self.motion.as_ref().and_then(|r| r(prompt));
        let pick =
            |flag: Option<u32>, from_prompt: Option<u32>, default: u32| match (flag, from_prompt) {
                (Some(v), _) => (v, "setting"),
                (None, Some(v)) => (v, "prompt"),
                (None, None) => (default, "default"),
            };
        let (bucket, bucket_from) = pick(
            self.settings.motion_bucket,
            read.as_ref().map(|m| m.motion_bucket),
            DEFAULT_MOTION_BUCKET,
        );
        let (fps_id, fps_from) = pick(
            self.settings.fps_id,
            read.as_ref().map(|m| m.fps_id),
            DEFAULT_FPS_ID,
        );
        MotionChoice {
            motion_bucket: bucket,
            fps_id,
            source: json!({
                "motion_bucket": bucket_from,
                "fps_id": fps_from,
                "prompt_reader": read.map(|m| m.reason),
            }),
        }
    }

    fn settings_json(&self, prompt: &str, motion: &MotionChoice) -> serde_json::Value {
        json!({
            "engine": "svd",
            "model": self.dir.display().to_string(),
            "prompt": prompt,
            "steps": self.settings.steps,
            "guidance": {"min": self.settings.min_guidance, "max": self.settings.max_guidance},
            "motion_bucket": motion.motion_bucket,
            "fps_id": motion.fps_id,
            "motion_source": motion.source,
            "noise_aug": self.settings.noise_aug,
            "resolution": self.resolution,
            "device": self.settings.device.label(),
            "dtype": dtype_label(self.dtype),
        })
    }
}

impl Engine for SvdEngine {
    fn name(&self) -> &'static str {
        "svd"
    }

    fn understand(&self, prompt: &str) -> Result<serde_json::Value> {
        Ok(self.settings_json(prompt, &self.motion(prompt)))
    }

    fn generate(&self, job: Job<'_>, progress: &(dyn Fn(Progress) + Sync)) -> Result<Generation> {
        let started = Instant::now();
        let _heap = crate::heap::HeapRetention::engage();
        let spec = job.spec;
        check_frame_count(
            "svd",
            spec.frames,
            MAX_FRAMES,
            " (SVD-XT was trained on 25)",
        )?;
        let character = job.character;
        let KeyedCanvas {
            layout,
            filter,
            key,
            canvas,
        } = keyed_canvas(character, self.resolution, self.size_multiple)?;
        let motion = self.motion(job.prompt);

        let frames = spec.frames as usize;
        let mut shape = SvdShape {
            height: layout.model_height as usize,
            width: layout.model_width as usize,
            frames,
            decode_chunk: self.settings.decode_chunk.unwrap_or(frames),
            dtype: self.dtype,
        };
        let available = memory::available_memory();
        if let (None, Some(avail), true) =
            (self.settings.decode_chunk, available, self.device.is_cpu())
        {
            shape.decode_chunk = svd_memory::largest_decode_chunk(&self.dir, &shape, avail)?;
        }
        let estimate = svd_memory::estimate(&self.dir, &shape)?;
        if let (true, Some(avail)) = (self.device.is_cpu(), available) {
            svd_memory::check_fits(&estimate, avail, &shape)?;
        }

        let stage = |name: &'static str, done, total| {
            progress(Progress {
                stage: name,
                done,
                total,
            })
        };
        let pipeline = SvdPipeline::open(
            &self.dir,
            SvdOptions {
                dtype: self.dtype,
                device: self.device.clone(),
            },
        )?;
        let image = frame_to_tensor(&canvas, &self.device)?;
        let request = SvdRequest {
            image: &image,
            image_input: ImageInput::Pil,
            height: shape.height,
            width: shape.width,
            num_frames: frames,
            num_inference_steps: self.settings.steps,
            min_guidance_scale: self.settings.min_guidance,
            max_guidance_scale: self.settings.max_guidance,
            fps: motion.fps_id + 1,
            motion_bucket_id: motion.motion_bucket,
            noise_aug_strength: self.settings.noise_aug,
            decode_chunk_size: shape.decode_chunk,
            noise: SvdNoise::Seed(spec.seed),
        };
        let mut times = [Instant::now(); 3];
        let video = pipeline.generate(&request, &mut |s| match s {
            SvdStage::EncodingImage => {
                times[0] = Instant::now();
                stage("encoding image", 0, 1);
            }
            SvdStage::Denoising { done, total } => {
                if done == 0 {
                    times[1] = Instant::now();
                }
                stage("denoising", done as u64, total as u64);
            }
            SvdStage::Decoding => {
                times[2] = Instant::now();
                stage("decoding", 0, 1);
            }
        })?;
        let decoded = Instant::now();

        stage("keying", 0, 1);
        let frames_out = finish_frames(video_to_frames(&video)?, frames, &layout, &key, filter);
        let mut understood = self.settings_json(job.prompt, &motion);
        understood["frames"] = json!({"requested": spec.frames, "generated": frames});
        understood["decode_chunk"] = json!(shape.decode_chunk);
        understood["memory"] = memory_report(&estimate, estimate.peak(), available);
        understood["memory"]["peak_stage"] = json!(estimate.peak_stage().0);
        let ms = |a: Instant, b: Instant| b.saturating_duration_since(a).as_millis();
        understood["timings_ms"] = json!({
            "encode": ms(times[0], times[1]),
            "denoise": ms(times[1], times[2]),
            "vae_decode": ms(times[2], decoded),
            "total": started.elapsed().as_millis(),
        });
        Ok(keyed_generation(
            frames_out, character, spec, &layout, &key, understood,
        ))
    }
}
