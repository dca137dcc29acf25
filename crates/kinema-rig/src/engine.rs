//! The `rig` engine behind `kinema --engine rig`.

use kinema_core::{Clip, Engine, Error, Generation, Job, Progress, Result};
use rayon::prelude::*;

use crate::parts::build_model;
use crate::render::{canvas_for, render_pose};
use crate::rig::Rig;
use crate::skeleton::auto_rig;
use crate::text::understand;
use crate::timeline::frame_poses;

/// Animates a character by deforming its own pixels; CPU only, no model weights.
#[derive(Clone, Debug, Default)]
pub struct RigEngine {
    rig: Option<Rig>,
}

impl RigEngine {
    pub fn new() -> Self {
        RigEngine { rig: None }
    }

    /// Uses a (possibly hand-edited) rig instead of auto-rigging; it is checked against
    /// the character at generation time.
    pub fn with_rig(rig: Rig) -> Self {
        RigEngine { rig: Some(rig) }
    }
}

impl Engine for RigEngine {
    fn name(&self) -> &'static str {
        "rig"
    }

    fn understand(&self, prompt: &str) -> Result<serde_json::Value> {
        let plan = understand(prompt)?;
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
        let plan = understand(job.prompt)?;
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
        let model = build_model(character, &rig)?;
        progress(Progress {
            stage: "rig",
            done: 1,
            total: 1,
        });
        let poses = frame_poses(&plan, rig.kind, spec);
        let (w, h, placement) = canvas_for(character);
        let total = poses.len() as u64;
        let done = std::sync::atomic::AtomicU64::new(0);
        let frames = poses
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
        let shares = plan.split_frames(spec.frames);
        let understood = serde_json::json!({
            "engine": "rig",
            "rig": rig.kind,
            "plan": plan,
            "frames_per_step": shares,
        });
        Ok(Generation {
            clip: Clip {
                frames,
                fps: spec.fps,
                looping: spec.looping,
                pixel_art: character.pixel_art,
                placement,
            },
            understood,
        })
    }
}
