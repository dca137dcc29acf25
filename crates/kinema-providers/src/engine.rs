//! A video service as a Kinema [`Engine`]: check, compose, submit (or resume), poll,
//! download, key back to alpha.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Instant;

use kinema_core::{
    Character, Clip, ClipSpec, CostEstimate, Engine, Error, Frame, Generation, Job, Progress,
    Result,
};
use kinema_media::key::choose_key_for;
use serde_json::json;

use crate::adapter::{adapter_for, Adapter};
use crate::canvas::plan_canvas;
use crate::catalog::{provider, ProviderSpec};
use crate::finish::{finish, Cut};
use crate::http::Client;
use crate::journal::Journal;
use crate::keys::{base_url, credentials};
use crate::picture::encode;
use crate::plan::{plan, quality_of, Plan, Settings};
use crate::task::{Submission, TaskRun};
use crate::upload::Uploader;
use crate::wait::{interrupt_flag, InFlight, TimeScale, Waiter, DEADLINE_ENV};

/// What a front end may set for a provider engine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderOptions {
    pub model: Option<String>,
    /// Luma's resolution or Kling's mode.
    pub quality: Option<String>,
    pub negative_prompt: Option<String>,
    /// A picture of the character's last pose (first+last frame models).
    pub last_image: Option<PathBuf>,
    /// Where submitted tasks are remembered, so an interrupted run resumes them.
    pub journal: Option<Journal>,
}

pub struct ProviderEngine {
    provider: &'static ProviderSpec,
    settings: Settings,
    last_image: Option<Character>,
    journal: Option<Journal>,
    client: Client,
    adapter: Box<dyn Adapter>,
    uploader: Option<Uploader>,
    scale: TimeScale,
    deadline_s: u64,
    interrupt: &'static AtomicBool,
}

impl std::fmt::Debug for ProviderEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderEngine")
            .field("provider", &self.provider.name)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ProviderEngine {
    /// The engine for provider `name`: checks the model and quality names, reads the
    /// keys (a missing one is an error naming it), loads a last image. Nothing is sent.
    pub fn new(name: &str, options: ProviderOptions) -> Result<Self> {
        let provider =
            provider(name).ok_or_else(|| Error::internal(format!("no provider `{name}`")))?;
        let adapter =
            adapter_for(name).ok_or_else(|| Error::internal(format!("no adapter for `{name}`")))?;
        let model = provider.model(options.model.as_deref())?;
        model.quality(options.quality.as_deref())?;
        let last_image = match &options.last_image {
            Some(path) => Some(kinema_media::load_character(
                path,
                &kinema_media::LoadOptions::default(),
            )?),
            None => None,
        };
        let client = Client::new(
            provider,
            base_url(provider)?,
            credentials(provider)?,
            adapter.headers(),
        );
        let uploader = if name == "luma" {
            Uploader::from_env()?
        } else {
            None
        };
        let deadline_s = std::env::var(DEADLINE_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(provider.poll.deadline_s);
        Ok(ProviderEngine {
            provider,
            settings: Settings {
                model: Some(model.name.clone()),
                quality: options.quality,
                negative_prompt: options.negative_prompt,
                last_image: last_image.is_some(),
            },
            last_image,
            journal: options.journal,
            client,
            adapter,
            uploader,
            scale: TimeScale::from_env(),
            deadline_s,
            interrupt: interrupt_flag(),
        })
    }

    pub fn provider(&self) -> &'static ProviderSpec {
        self.provider
    }

    fn describe(&self, plan: &Plan) -> String {
        format!(
            "{} {}{}, {} s",
            self.provider.title,
            plan.model,
            plan.quality
                .as_deref()
                .map(|q| format!(" ({q})"))
                .unwrap_or_default(),
            plan.duration_s
        )
    }
}

impl Engine for ProviderEngine {
    fn name(&self) -> &'static str {
        self.provider.name.as_str()
    }

    fn understand(&self, prompt: &str) -> Result<serde_json::Value> {
        if prompt.trim().is_empty() {
            return Err(Error::invalid(
                "the prompt is empty",
                "describe the action, e.g. --prompt \"the knight swings his sword\"",
            ));
        }
        let model = self.provider.model(self.settings.model.as_deref())?;
        if let Some(max) = model.prompt_max_chars {
            let n = prompt.chars().count();
            if n > max {
                return Err(Error::invalid(
                    format!(
                        "the prompt has {n} characters; {} takes at most {max}",
                        model.name
                    ),
                    "shorten the prompt",
                ));
            }
        }
        Ok(json!({
            "engine": self.provider.name,
            "provider": self.provider.title,
            "model": model.name,
            "prompt": prompt,
        }))
    }

    fn check(&self, spec: &ClipSpec) -> Result<()> {
        if spec.looping && self.last_image.is_some() {
            return Err(Error::invalid(
                "--loop and --last-image contradict each other: a loop ends where it starts",
                "drop one of them",
            ));
        }
        plan(self.provider, &self.settings, spec, None).map(|_| ())
    }

    fn estimate(&self, spec: &ClipSpec) -> Option<CostEstimate> {
        let plan = plan(self.provider, &self.settings, spec, None).ok()?;
        Some(CostEstimate {
            usd: plan.usd,
            video_seconds: f64::from(plan.duration_s),
            typical_wait_s: u64::from(plan.typical_wait_s),
            what: self.describe(&plan),
        })
    }

    fn generate(&self, job: Job<'_>, progress: &(dyn Fn(Progress) + Sync)) -> Result<Generation> {
        self.check(job.spec)?;
        let plan = plan(self.provider, &self.settings, job.spec, Some(job.prompt))?;
        let model = self.provider.model(Some(&plan.model))?;
        let quality = quality_of(model, &plan);
        let character = job.character;
        if !character.image.has_visible_pixels() {
            return Err(Error::image("the character image is fully transparent")
                .with_hint("use an image with a visible character"));
        }
        let canvas = plan_canvas(
            character.width(),
            character.height(),
            model,
            quality,
            &self.provider.image,
        )?;
        let mut sprites: Vec<&Frame> = vec![&character.image];
        sprites.extend(self.last_image.as_ref().map(|c| &c.image));
        let key = choose_key_for(&sprites);
        let first = encode(
            &canvas.compose(&character.image, &key, character.pixel_art),
            &self.provider.image,
        )?;
        let last = match &self.last_image {
            Some(c) => Some(encode(
                &canvas.compose(&c.image, &key, character.pixel_art),
                &self.provider.image,
            )?),
            None => None,
        };

        let _in_flight = InFlight::new();
        let stage = Mutex::new(("submitting", 0u64));
        let tick = || {
            let (name, done) = *stage.lock().unwrap_or_else(|e| e.into_inner());
            progress(Progress {
                stage: name,
                done,
                total: 1000,
            });
        };
        let waiter = Waiter {
            scale: self.scale,
            interrupt: self.interrupt,
            deadline: Instant::now() + std::time::Duration::from_secs(self.deadline_s),
            what: format!("{} to finish the clip", self.provider.title),
            tick: &tick,
        };
        let run = TaskRun {
            provider: self.provider,
            client: &self.client,
            adapter: self.adapter.as_ref(),
            journal: self.journal.as_ref(),
            uploader: self.uploader.as_ref(),
            waiter: &waiter,
            stage: &stage,
        };
        let submission = Submission {
            plan: &plan,
            prompt: job.prompt,
            negative_prompt: self.settings.negative_prompt.as_deref(),
            ratio: canvas.ratio.clone(),
            first: &first,
            last: last.as_ref(),
        };
        let started = Instant::now();
        let outcome = run.run(&submission)?;

        *stage.lock().unwrap_or_else(|e| e.into_inner()) = ("keying", 950);
        tick();
        let cut = Cut {
            loop_search: plan.loop_search,
            cyclic: plan.provider_loop,
        };
        let (frames, report) = finish(
            outcome.video.path(),
            &canvas,
            &key,
            job.spec,
            cut,
            character.pixel_art,
            &tick,
        )?;
        *stage.lock().unwrap_or_else(|e| e.into_inner()) = ("done", 1000);
        tick();
        let understood = json!({
            "engine": self.provider.name,
            "provider": self.provider.title,
            "model": plan.model,
            "quality": plan.quality,
            "prompt": job.prompt,
            "negative_prompt": self.settings.negative_prompt,
            "task_id": outcome.task_id,
            "resumed": outcome.resumed,
            "estimated_usd": plan.usd,
            "duration_s": plan.duration_s,
            "seed": plan.seed,
            "last_image": self.last_image.is_some(),
            "canvas": canvas,
            "key_colour": key,
            "video": report.video,
            "video_bytes": outcome.video_bytes,
            "looping": {
                "requested": job.spec.looping,
                "provider_loop": plan.provider_loop,
                "window": report.loop_window,
            },
            "wait_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        });
        Ok(Generation {
            clip: Clip {
                frames,
                fps: job.spec.fps,
                looping: job.spec.looping,
                pixel_art: character.pixel_art,
                placement: canvas.placement,
            },
            understood,
            // A video service returns pixels, not a skeleton: no boxes or events to report.
            gameplay: None,
        })
    }
}
