//! User motion files through the engine: a motion from `samples/motions` renders on both
//! kinds of skeleton, joins the prompt reader, and a kind it lacks is a clear error.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{load, mean_abs_diff};
use kinema_core::{ClipSpec, Engine, Job, Progress};
use kinema_rig::{MotionLibrary, RigEngine};

fn quiet(_: Progress) {}

fn user_library() -> Arc<MotionLibrary> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/motions");
    MotionLibrary::load(&dir).unwrap()
}

const SPEC: ClipSpec = ClipSpec {
    frames: 8,
    fps: 12,
    seed: 1,
    looping: true,
};

#[test]
fn a_user_motion_plays_on_both_kinds_from_its_words() {
    let engine = RigEngine::new().with_motions(user_library());
    for (name, prompt) in [
        ("femaleAdventurer_idle", "prowl"),
        ("slimeBlue", "the slime creeps slowly"),
        ("alienBlue_front", "悄悄走然后挥手"),
    ] {
        let c = load(name);
        let clip = engine
            .generate(
                Job {
                    character: &c,
                    prompt,
                    spec: &SPEC,
                },
                &quiet,
            )
            .unwrap()
            .clip;
        assert_eq!(clip.len(), 8, "{name}");
        let moved = clip
            .frames
            .iter()
            .map(|f| mean_abs_diff(f, &clip.frames[0]))
            .fold(0.0, f64::max);
        assert!(moved > 0.3, "{name}/{prompt}: barely moves ({moved:.3})");
    }
    let plan = engine.understand("walk then prowl").unwrap();
    assert_eq!(plan["steps"][1]["action"], "prowl");
    // The built-in engine does not know it, and says which actions it does know.
    let e = RigEngine::new().understand("prowl").unwrap_err();
    assert!(e.message.contains("not a supported action"), "{e}");
}

#[test]
fn an_override_replaces_the_builtin_for_every_prompt() {
    let dir = std::env::temp_dir().join(format!("kinema-override-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A stiller idle: only the chest rises.
    std::fs::write(
        dir.join("idle.toml"),
        "name = \"idle\"\nsummary = \"stands still, breathing\"\nloops = true\nseconds = 2.5\n\
         [words]\nenglish = [\"idle\", \"stand\"]\nchinese = [\"待机\"]\n\
         [kinds.humanoid]\neasing = \"spline\"\n\
         [kinds.humanoid.keys]\nsquash_y = [[0.0, 0.0], [0.5, 0.05], [1.0, 0.0]]\n",
    )
    .unwrap();
    let library = MotionLibrary::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let c = load("femaleAdventurer_idle");
    let job = Job {
        character: &c,
        prompt: "idle",
        spec: &SPEC,
    };
    let ours = RigEngine::new()
        .with_motions(Arc::clone(&library))
        .generate(job, &quiet)
        .unwrap()
        .clip;
    let builtin = RigEngine::new().generate(job, &quiet).unwrap().clip;
    assert_ne!(ours.frames, builtin.frames);
    // It applies to humanoids only: a body chain gets told what to add, and where.
    let slime = load("slimeBlue");
    let e = RigEngine::new()
        .with_motions(library)
        .generate(
            Job {
                character: &slime,
                ..job
            },
            &quiet,
        )
        .unwrap_err();
    assert!(
        e.message
            .contains("motion `idle` has no keys for body_chain rigs")
            && e.message.contains("`slimeBlue` is rigged as a body_chain"),
        "{e}"
    );
    let hint = e.hint.unwrap_or_default();
    assert!(
        hint.contains("add a [kinds.body_chain] section to")
            && hint.contains(&PathBuf::from("idle.toml").display().to_string()),
        "{hint}"
    );
}
