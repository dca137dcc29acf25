//! The `rig` engine behind `kinema --engine rig`.

use std::sync::Arc;

use kinema_core::{Clip, ClipSpec, Engine, Error, Generation, Job, Progress, Result};
use rayon::prelude::*;

use crate::gameplay::clip_gameplay;
use crate::library::MotionLibrary;
use crate::parts::build_model;
use crate::render::{canvas_for, render_pose};
use crate::rig::Rig;
use crate::skeleton::auto_rig;
use crate::timeline::frame_poses_seen;

/// Animates a character by deforming its own pixels; CPU only, no model weights.
#[derive(Clone, Debug)]
pub struct RigEngine {
    rig: Option<Rig>,
    motions: Arc<MotionLibrary>,
}

impl Default for RigEngine {
    fn default() -> Self {
        RigEngine::new()
    }
}

impl RigEngine {
    /// Auto-rigs each character and plays the built-in motions.
    pub fn new() -> Self {
        RigEngine {
            rig: None,
            motions: MotionLibrary::builtin(),
        }
    }

    /// Uses a (possibly hand-edited) rig instead of auto-rigging; it is checked against
    /// the character at generation time.
    pub fn with_rig(rig: Rig) -> Self {
        RigEngine {
            rig: Some(rig),
            ..RigEngine::new()
        }
    }

    /// Reads prompts with, and plays, the motions of `motions` (built-ins plus a user's).
    pub fn with_motions(self, motions: Arc<MotionLibrary>) -> Self {
        RigEngine { motions, ..self }
    }

    pub fn motions(&self) -> &Arc<MotionLibrary> {
        &self.motions
    }
}

impl Engine for RigEngine {
    fn name(&self) -> &'static str {
        "rig"
    }

    fn understand(&self, prompt: &str) -> Result<serde_json::Value> {
        let plan = self.motions.understand(prompt)?;
        serde_json::to_value(&plan)
            .map_err(|e| Error::internal("could not describe the plan").with_source(e))
    }

    fn generate(&self, job: Job<'_>, progress: &(dyn Fn(Progress) + Sync)) -> Result<Generation> {
        let spec = job.spec;
        if spec.frames == 0 || spec.fps == 0 {
            return Err(Error::invalid(
                format!("cannot render {} frames at {} fps", spec.frames, spec.fps),
                "use --frames and --fps of at least 1",
            ));
        }
        let plan = self.motions.understand(job.prompt)?;
        let character = job.character;
        progress(Progress {
            stage: "rig",
            done: 0,
            total: 1,
        });
        let rig = match &self.rig {
            Some(r) => {
                r.check_fits(character)?;
                r.clone()
            }
            None => auto_rig(character)?,
        };
        for step in &plan.steps {
            step.motion.require_kind(rig.kind, &character.name)?;
        }
        let model = build_model(character, &rig)?;
        progress(Progress {
            stage: "rig",
            done: 1,
            total: 1,
        });
        // A plan made only of cycles (idle, walk…) is a loop however it was asked for: whole
        // cycles, and no duplicated seam frame.
        let looping = spec.looping || plan.steps.iter().all(|s| s.motion.looping);
        let spec = &ClipSpec {
            looping,
            ..spec.clone()
        };
        let view = model.orientation.view;
        let poses = frame_poses_seen(&plan, rig.kind, view, spec);
        let (w, h, placement) = canvas_for(character);
        let total = poses.len() as u64;
        let done = std::sync::atomic::AtomicU64::new(0);
        let frames: Vec<kinema_core::Frame> = poses
            .par_iter()
            .map(|fp| {
                let f = render_pose(&model, &fp.pose, w, h, placement, fp.mirror);
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(Progress {
                    stage: "render",
                    done: n,
                    total,
                });
                f
            })
            .collect();
        let gameplay = clip_gameplay(&model, &plan, &poses, &frames, placement);
        let shares = plan.split_frames(spec.frames);
        let understood = serde_json::json!({
            "engine": "rig",
            "rig": rig.kind,
            "view": model.orientation.view,
            "faces": if model.orientation.faces_right { "right" } else { "left" },
            "plan": plan,
            "frames_per_step": shares,
        });
        Ok(Generation {
            clip: Clip {
                frames,
                fps: spec.fps,
                looping,
                pixel_art: character.pixel_art,
                placement,
            },
            understood,
            gameplay: Some(gameplay),
        })
    }
}
