//! The `opensora` engine end to end on the committed tiny random-weight Open-Sora 2.0 folder
//! (`tests/models/tiny-opensora`, release layout, written by
//! `tools/reference/make_tiny_model.py --variant opensora`).
//!
//! Random weights make noise, so what is checked is the plumbing: the frame rule (4k+1,
//! trimmed), size, seeded determinism and seed sensitivity, progress stages in Open-Sora's
//! order, the `understood` report, and the errors for folders that are not a release.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kinema_core::{ClipSpec, Engine, Generation, Job, Progress};
use kinema_diffusion::engine::{plan, OpenSoraEngine, OpenSoraSettings};

use common::blob;

fn tiny_model() -> PathBuf {
    common::tiny_model("tiny-opensora")
}

fn engine() -> OpenSoraEngine {
    OpenSoraEngine::load(
        &tiny_model(),
        OpenSoraSettings {
            steps: 2,
            resolution: 64,
            ..OpenSoraSettings::default()
        },
    )
    .unwrap()
}

fn run(
    engine: &OpenSoraEngine,
    frames: u32,
    seed: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> Generation {
    engine
        .generate(
            Job {
                character: &blob(),
                prompt: "the blob bounces",
                spec: &ClipSpec {
                    frames,
                    fps: 8,
                    seed,
                    looping: false,
                },
            },
            progress,
        )
        .unwrap()
}

#[test]
fn frames_are_trimmed_from_the_next_4k_plus_1_and_seeds_reproduce() {
    let engine = engine();
    let stages = Mutex::new(Vec::new());
    let record = |p: Progress| {
        let mut s = stages.lock().unwrap();
        if s.last() != Some(&p.stage) {
            s.push(p.stage);
        }
    };
    let a = run(&engine, 6, 1, &record);
    assert_eq!(a.clip.frames.len(), 6);
    let layout = plan(20, 28, 64, 16);
    for f in &a.clip.frames {
        assert_eq!((f.width, f.height), (layout.clip_width, layout.clip_height));
    }
    assert_eq!(
        *stages.lock().unwrap(),
        [
            "encoding prompt",
            "encoding image",
            "loading model",
            "denoising",
            "decoding",
            "keying"
        ]
    );
    let u = &a.understood;
    assert_eq!(u["engine"], "opensora");
    assert_eq!(u["frames"]["generated"], 9);
    assert_eq!(u["frames"]["latent"], 3);
    assert_eq!(
        u["model_prompt"],
        "the blob bounces. 24 FPS. 4 motion score."
    );
    assert_eq!(u["configs"]["mmdit"], "config.json");
    assert!(u["memory"]["estimated_peak_bytes"].as_u64().unwrap() > 0);

    let again = run(&engine, 6, 1, &|_| {});
    assert_eq!(a.clip.frames, again.clip.frames, "same seed, same frames");
    let other = run(&engine, 6, 2, &|_| {});
    assert_ne!(
        a.clip.frames, other.clip.frames,
        "another seed, other frames"
    );
}

#[test]
fn folders_that_are_not_a_release_are_refused_by_name() {
    let err = OpenSoraEngine::load(Path::new("/nonexistent/os2"), OpenSoraSettings::default())
        .err()
        .unwrap();
    assert!(err.message.contains("is not a model folder"), "{err:?}");
    assert!(err.hint.unwrap().contains("hpcai-tech/Open-Sora-v2"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        tiny_model().join("Open_Sora_v2.safetensors"),
        dir.path().join("Open_Sora_v2.safetensors"),
    )
    .unwrap();
    let err = OpenSoraEngine::load(dir.path(), OpenSoraSettings::default())
        .err()
        .unwrap();
    assert!(err.message.contains("hunyuan_vae.safetensors"), "{err:?}");
    assert!(
        err.message
            .contains("openai/clip-vit-large-patch14/config.json"),
        "{err:?}"
    );
    assert!(err
        .hint
        .unwrap()
        .contains("kinema models pull hpcai-tech/Open-Sora-v2"));
}

#[test]
fn the_released_model_on_a_small_cpu_is_refused_with_numbers() {
    use kinema_diffusion::engine::opensora_folder::{check_fits, OpenSoraMemory};
    use kinema_diffusion::models::opensora_mmdit::MmditConfig;

    let release = MmditConfig::open_sora_v2().parameter_count();
    let memory = OpenSoraMemory {
        mmdit_parameters: release,
        bytes_per_parameter: 4,
        text_stage_bytes: 20_000_000_000,
        denoise_stage_bytes: release * 4 + 1_000_000_000,
    };
    let err = check_fits(&memory, 24_000_000_000).unwrap_err();
    assert!(err.message.contains("11.89B-parameter MMDiT"), "{err:?}");
    assert!(err.message.contains("24.0 GB is available"), "{err:?}");
    let hint = err.hint.unwrap();
    assert!(hint.contains("large GPU"), "{hint}");
    assert!(hint.contains("--device cuda --dtype bf16"), "{hint}");
    assert!(hint.contains("23.8 GB in bf16"), "{hint}");
    assert!(check_fits(&memory, memory.peak()).is_ok());
}
