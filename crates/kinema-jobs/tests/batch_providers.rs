//! Batches rendered by a video service (its loopback fake): the cost estimate, the tasks
//! recorded in the state file and the summary, skipping what is done, and the engine key.

mod common;

use std::path::Path;

use common::sample;
use kinema_jobs::batch::{
    estimate_batch, run_batch, BatchOptions, BatchState, JobStatus, Manifest,
};
use kinema_providers::testing::{FakeProvider, Vendor};

fn manifest(dir: &Path, body: &str) -> kinema_core::Result<Manifest> {
    let path = dir.join("manifest.toml");
    std::fs::write(&path, body).unwrap();
    Manifest::load(&path)
}

#[test]
fn a_runway_batch_records_its_tasks_and_skips_them_next_time() {
    let fake = FakeProvider::shared(Vendor::Runway);
    let dir = tempfile::tempdir().unwrap();
    let prompt = "batch: the hero waves";
    let m = manifest(
        dir.path(),
        &format!(
            "[defaults]\nengine = \"runway\"\nfps = 12\nframes = 12\nformats = [\"apng\"]\nsheet = true\natlas = [\"godot\"]\n\
             [[character]]\nname = \"hero\"\nimage = {:?}\n\
             [[action]]\nname = \"wave\"\nprompt = {prompt:?}\n",
            sample("femaleAdventurer_idle.png")
        ),
    )
    .unwrap();
    let opts = BatchOptions {
        force: false,
        jobs: 1,
    };
    let cost = estimate_batch(&m, &opts)
        .unwrap()
        .expect("a paid batch has a price");
    assert_eq!(cost.usd, 0.1, "gen4_turbo's shortest clip, 2 s");
    let summary = run_batch(&m, &opts, &|_| {}).unwrap();
    assert_eq!(summary.done, 1, "{}", summary.to_text());
    let job = &summary.jobs[0];
    assert_eq!(job.provider_tasks.len(), 1);
    let task_id = job.provider_tasks[0].task_id.clone().unwrap();
    assert!(job
        .outputs
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "png")));
    assert!(job
        .sheet_files
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "tres")));
    let state = BatchState::load(&m.out_dir).unwrap();
    let record = state.jobs.values().next().unwrap();
    assert_eq!(
        record
            .provider_tasks
            .values()
            .next()
            .unwrap()
            .task_id
            .as_deref(),
        Some(task_id.as_str()),
        "the provider's task id is in .kinema-batch.json"
    );
    // Up to date: nothing to pay for, nothing sent.
    assert!(estimate_batch(&m, &opts).unwrap().is_none());
    let again = run_batch(&m, &opts, &|_| {}).unwrap();
    assert_eq!(again.jobs[0].status, JobStatus::Skipped);
    assert_eq!(fake.create_requests(prompt), 1);
    // --force redoes the job with a new task.
    let forced = BatchOptions {
        force: true,
        jobs: 1,
    };
    let redone = run_batch(&m, &forced, &|_| {}).unwrap();
    assert_eq!(redone.done, 1);
    assert_eq!(fake.create_requests(prompt), 2);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn unknown_engines_in_a_manifest_get_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let e = manifest(
        dir.path(),
        &format!(
            "[[character]]\nimage = {:?}\nengine = \"runwya\"\n[[action]]\nactions = [\"idle\"]\n",
            sample("slimeBlue.png")
        ),
    )
    .unwrap_err();
    assert!(e.message.contains("did you mean \"runway\""), "{e}");
}
