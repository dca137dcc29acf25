//! The `rig` engine behind `kinema --engine rig`.

use std::sync::Arc;

use kinema_core::{
    Character, Clip, ClipSpec, Engine, Error, FrameGameplay, Generation, Job, Progress, Result,
};
use rayon::prelude::*;

use crate::bvh::retarget;
use crate::export::{export, ExportAnimation, ExportFile, ExportFormat, RigExport};
use crate::gameplay::clip_gameplay;
use crate::library::MotionLibrary;
use crate::parts::build_model;
use crate::parts::Model;
use crate::render::{canvas_for, render_pose};
use crate::rig::Rig;
use crate::rig::RigKind;
use crate::skeleton::auto_rig;
use crate::text::Plan;
use crate::timeline::{frame_poses_seen, FramePose};

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

    /// The rig used for `character`: the given one (checked against it) or the auto-rig.
    pub fn rig_for(&self, character: &Character) -> Result<Rig> {
        match &self.rig {
            Some(r) => {
                r.check_fits(character)?;
                Ok(r.clone())
            }
            None => auto_rig(character),
        }
    }

    /// The plan of `prompt` for this character, refused when a step's motion cannot play
    /// on its rig. Motion captures are fitted to the character here, sampled at `fps`.
    fn plan_for(
        &self,
        prompt: &str,
        rig: &Rig,
        model: &Model,
        character: &Character,
        fps: u32,
    ) -> Result<Plan> {
        let mut plan = self.motions.understand(prompt)?;
        for step in &mut plan.steps {
            if let Some(mocap) = &step.motion.mocap {
                if rig.kind == RigKind::Humanoid || step.motion.for_kind(rig.kind).is_none() {
                    let (fitted, _) = retarget(mocap, model, model.orientation, fps)?;
                    let mut motion = (*step.motion).clone();
                    motion.kinds.retain(|k| k.kind != RigKind::Humanoid);
                    motion.kinds.insert(0, fitted);
                    step.motion = Arc::new(motion);
                }
            }
            step.motion.require_kind(rig.kind, &character.name)?;
        }
        Ok(plan)
    }

    /// What a render of `prompt` under `spec` draws for `character`, before drawing it:
    /// the rig, the model, the plan (motion captures fitted), the spec as drawn and one
    /// pose per frame. Exports and tests use it to see exactly the frames `generate` draws.
    pub fn animate(
        &self,
        character: &Character,
        prompt: &str,
        spec: &ClipSpec,
    ) -> Result<Animated> {
        let rig = self.rig_for(character)?;
        let model = build_model(character, &rig)?;
        let posed = self.pose_with(prompt, &rig, &model, character, spec)?;
        Ok(Animated {
            rig,
            model,
            plan: posed.plan,
            spec: posed.spec,
            poses: posed.poses,
        })
    }

    fn pose_with(
        &self,
        prompt: &str,
        rig: &Rig,
        model: &Model,
        character: &Character,
        spec: &ClipSpec,
    ) -> Result<Posed> {
        let plan = self.plan_for(prompt, rig, model, character, spec.fps)?;
        // A plan made only of cycles (idle, walk…) is a loop however it was asked for:
        // whole cycles, and no duplicated seam frame.
        let spec = ClipSpec {
            looping: spec.looping || plan.steps.iter().all(|s| s.motion.looping),
            ..spec.clone()
        };
        let poses = frame_poses_seen(&plan, rig.kind, &model.orientation, &spec);
        Ok(Posed { plan, spec, poses })
    }

    /// The rig of `character` for animation tools ([`crate::export`]): its bones, skinned
    /// parts and texture page, with one animation per action, keyed on the frames a
    /// render of the same prompt and spec draws (and carrying `gameplay`, the render's
    /// records, when given). No actions exports the rig alone.
    pub fn export(
        &self,
        character: &Character,
        name: &str,
        actions: &[ExportAction<'_>],
        formats: &[ExportFormat],
    ) -> Result<Vec<ExportFile>> {
        let rig = self.rig_for(character)?;
        let model = build_model(character, &rig)?;
        let mut animations = Vec::with_capacity(actions.len());
        for a in actions {
            let posed = self.pose_with(a.prompt, &rig, &model, character, a.spec)?;
            animations.push(ExportAnimation {
                name: a.name.to_string(),
                fps: posed.spec.fps,
                looping: posed.spec.looping,
                frames: posed.poses,
                gameplay: a
                    .gameplay
                    .map(<[FrameGameplay]>::to_vec)
                    .unwrap_or_default(),
            });
        }
        let (_, _, placement) = canvas_for(character);
        export(
            &RigExport {
                name,
                model: &model,
                placement,
                animations: &animations,
            },
            formats,
        )
    }
}

/// A render prepared: everything but the pixels.
#[derive(Clone, Debug)]
pub struct Animated {
    pub rig: Rig,
    pub model: Model,
    pub plan: Plan,
    /// The spec as drawn (a plan of cycles always loops).
    pub spec: ClipSpec,
    pub poses: Vec<FramePose>,
}

struct Posed {
    plan: Plan,
    spec: ClipSpec,
    poses: Vec<FramePose>,
}

/// One action of an export: the animation's name, the prompt and spec it was rendered
/// with, and the render's gameplay records.
#[derive(Clone, Copy, Debug)]
pub struct ExportAction<'a> {
    pub name: &'a str,
    pub prompt: &'a str,
    pub spec: &'a ClipSpec,
    pub gameplay: Option<&'a [FrameGameplay]>,
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
        self.motions.understand(job.prompt)?;
        let character = job.character;
        progress(Progress {
            stage: "rig",
            done: 0,
            total: 1,
        });
        let Animated {
            rig,
            model,
            plan,
            spec,
            poses,
        } = self.animate(character, job.prompt, spec)?;
        let spec = &spec;
        let looping = spec.looping;
        progress(Progress {
            stage: "rig",
            done: 1,
            total: 1,
        });
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
            // The one line every front end shows: `hurt → die (12 + 12 frames)`.
            "reading": plan.reading(Some(spec.frames)),
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
