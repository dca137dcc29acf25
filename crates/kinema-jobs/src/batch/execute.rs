//! Runs a batch: skip what is up to date, run the rest on N workers, record each result.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kinema_core::{Error, Progress, Result};

use super::contact::write_contact_sheet;
use super::fingerprint::fingerprint;
use super::journal::BatchJournal;
use super::manifest::Manifest;
use super::plan::{plan, PlannedJob};
use super::state::{BatchState, JobRecord};
use super::summary::{BatchSummary, JobResult, JobStatus};
use super::to_request::{check_manifest, load_motions, refuse_inputs, to_request};

/// How to run a batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchOptions {
    /// Redo every job and overwrite whatever is in the way.
    pub force: bool,
    /// Jobs running at once; 0 means one per core.
    pub jobs: usize,
}

/// What happens during a run, for progress bars and logs. Sent from worker threads.
#[derive(Clone, Copy, Debug)]
pub enum BatchEvent<'a> {
    /// Every job was checked: `to_run` will run, the others are failed or up to date.
    Planned {
        total: usize,
        to_run: usize,
    },
    Started {
        id: &'a str,
        label: &'a str,
    },
    Progress {
        id: &'a str,
        progress: Progress,
    },
    /// A job ended (done, skipped or failed).
    Finished {
        label: &'a str,
        result: &'a JobResult,
    },
}

/// Shared by the workers: the state file and every job's result slot.
struct Shared<'a> {
    manifest: &'a Manifest,
    motions: Option<std::sync::Arc<kinema_rig::MotionLibrary>>,
    jobs: &'a [PlannedJob],
    /// Shared with the provider task journals of running jobs.
    state: Arc<Mutex<BatchState>>,
    results: Mutex<Vec<Option<JobResult>>>,
    force: bool,
}

/// Runs every job of the manifest and writes `out_dir/index.html`.
///
/// Errors only for problems with the batch as a whole (the manifest, an unusable state
/// file or output folder); a job that fails is recorded in the summary and the rest go on.
pub fn run_batch(
    manifest: &Manifest,
    opts: &BatchOptions,
    events: &(dyn Fn(BatchEvent<'_>) + Sync),
) -> Result<BatchSummary> {
    let start = Instant::now();
    check_manifest(manifest)?;
    let motions = load_motions(manifest)?;
    let jobs = plan(manifest);
    refuse_inputs(manifest, &jobs, motions.as_ref())?;
    let out_dir = &manifest.out_dir;
    std::fs::create_dir_all(out_dir).map_err(|e| {
        Error::output(format!(
            "cannot create the output folder {}",
            out_dir.display()
        ))
        .with_source(e)
        .with_hint("change `out_dir` in the manifest to a writable folder")
    })?;
    let state = match BatchState::load(out_dir) {
        Ok(s) => s,
        Err(_) if opts.force => BatchState::default(),
        Err(e) => return Err(e),
    };
    let mut results: Vec<Option<JobResult>> = vec![None; jobs.len()];
    let mut queue: Vec<(usize, String)> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let ch = &manifest.characters[job.character];
        match fingerprint(job, ch, out_dir, motions.as_deref()) {
            Err(e) => results[i] = Some(failed(manifest, job, &e, 0.0)),
            Ok(hash) if !opts.force && state.is_fresh(&job.id, &hash, out_dir) => {
                let record = state.jobs.get(&job.id).cloned().unwrap_or_default();
                results[i] = Some(result(manifest, job, JobStatus::Skipped, &record, 0.0));
            }
            Ok(hash) => queue.push((i, hash)),
        }
    }
    events(BatchEvent::Planned {
        total: jobs.len(),
        to_run: queue.len(),
    });
    for (job, r) in jobs.iter().zip(&results) {
        if let Some(r) = r {
            events(BatchEvent::Finished {
                label: &job.label(manifest),
                result: r,
            });
        }
    }
    // Longest first, so the last job to finish is a short one and no core idles long.
    queue.sort_by_key(|(i, _)| std::cmp::Reverse(jobs[*i].cost()));

    let workers = match opts.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(queue.len())
    .max(1);
    let shared = Shared {
        manifest,
        motions,
        jobs: &jobs,
        state: Arc::new(Mutex::new(state)),
        results: Mutex::new(results),
        force: opts.force,
    };
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((index, hash)) = queue.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let r = run_one(&shared, *index, hash, events);
                    let label = shared.jobs[*index].label(manifest);
                    events(BatchEvent::Finished {
                        label: &label,
                        result: &r,
                    });
                    lock(&shared.results)[*index] = Some(r);
                }
            });
        }
    });

    let results: Vec<JobResult> = shared
        .results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .zip(&jobs)
        .map(|(r, job)| {
            r.unwrap_or_else(|| failed(manifest, job, &Error::internal("the job never ran"), 0.0))
        })
        .collect();
    let contact_sheet = write_contact_sheet(manifest, &jobs, &results)?;
    let count = |s: JobStatus| results.iter().filter(|r| r.status == s).count();
    Ok(BatchSummary {
        manifest: manifest.path.clone(),
        out_dir: out_dir.clone(),
        contact_sheet,
        done: count(JobStatus::Done),
        skipped: count(JobStatus::Skipped),
        failed: count(JobStatus::Failed),
        wall_seconds: start.elapsed().as_secs_f64(),
        jobs: results,
    })
}

/// What the jobs that are not up to date would cost with a billed engine, summed; `None`
/// when none of them uses one. Nothing is sent anywhere.
pub fn estimate_batch(
    manifest: &Manifest,
    opts: &BatchOptions,
) -> Result<Option<kinema_core::CostEstimate>> {
    check_manifest(manifest)?;
    let motions = load_motions(manifest)?;
    let state = BatchState::load(&manifest.out_dir).unwrap_or_default();
    let mut parts = Vec::new();
    for job in plan(manifest) {
        let ch = &manifest.characters[job.character];
        if !crate::is_service_engine(&job.settings.engine) {
            continue;
        }
        let fresh = fingerprint(&job, ch, &manifest.out_dir, motions.as_deref())
            .is_ok_and(|hash| !opts.force && state.is_fresh(&job.id, &hash, &manifest.out_dir));
        if fresh {
            continue;
        }
        let request = to_request(manifest, &job, ch, motions.as_ref(), true)?;
        parts.extend(crate::request::estimate(&request)?);
    }
    Ok(kinema_core::CostEstimate::total(&parts))
}

/// One job, start to finish, including its state-file bookkeeping.
fn run_one(
    shared: &Shared,
    index: usize,
    hash: &str,
    events: &(dyn Fn(BatchEvent<'_>) + Sync),
) -> JobResult {
    let t = Instant::now();
    let manifest = shared.manifest;
    let out_dir = &manifest.out_dir;
    let job = &shared.jobs[index];
    let ch = &manifest.characters[job.character];
    let label = job.label(manifest);
    events(BatchEvent::Started {
        id: &job.id,
        label: &label,
    });

    // Files a previous run of this job recorded are the batch's to replace. A job new to
    // this folder claims its files only if none exist yet, so a person's files stay safe.
    let owned = {
        let mut state = lock(&shared.state);
        let owned = match state.jobs.get_mut(&job.id) {
            Some(record) => {
                // A job that last succeeded starts afresh; one that was interrupted keeps
                // its provider tasks, so they are resumed rather than paid for again.
                if record.hash.is_some() || shared.force {
                    record.provider_tasks.clear();
                }
                record.hash = None;
                true
            }
            None if !planned_paths(job).iter().any(|p| p.exists()) => {
                let outputs = planned_paths(job)
                    .iter()
                    .map(|p| relative(out_dir, p))
                    .collect();
                state.jobs.insert(
                    job.id.clone(),
                    JobRecord {
                        hash: None,
                        outputs,
                        sheet_files: Vec::new(),
                        provider_tasks: Default::default(),
                        reading: Vec::new(),
                    },
                );
                false
            }
            None => false,
        };
        if let Err(e) = state.save(out_dir) {
            return failed(manifest, job, &e, secs(t));
        }
        owned
    };

    // The encoders write into existing folders only.
    for dir in planned_paths(job).iter().filter_map(|p| p.parent()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            let e = Error::output(format!("cannot create the folder {}", dir.display()))
                .with_source(e)
                .with_hint("check that `out_dir` is writable");
            return failed(manifest, job, &e, secs(t));
        }
    }
    let request = match to_request(
        manifest,
        job,
        ch,
        shared.motions.as_ref(),
        shared.force || owned,
    ) {
        Ok(mut r) => {
            // A service engine's tasks are remembered in the state file.
            r.engine_options.journal = Some(BatchJournal::for_job(
                shared.state.clone(),
                out_dir,
                &job.id,
            ));
            r
        }
        Err(e) => return failed(manifest, job, &e, secs(t)),
    };
    let progress = |p: Progress| {
        events(BatchEvent::Progress {
            id: &job.id,
            progress: p,
        })
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        crate::request::run(&request, &progress)
    }))
    .unwrap_or_else(|panic| {
        Err(Error::internal(format!(
            "Kinema crashed on this job: {}",
            panic_text(&panic)
        )))
    });
    match outcome {
        Ok(report) => {
            let mut state = lock(&shared.state);
            let provider_tasks = state
                .jobs
                .get(&job.id)
                .map(|r| r.provider_tasks.clone())
                .unwrap_or_default();
            let record = JobRecord {
                hash: Some(hash.to_string()),
                outputs: report
                    .outputs
                    .iter()
                    .map(|w| relative(out_dir, &w.path))
                    .collect(),
                sheet_files: report
                    .sheet_files
                    .iter()
                    .map(|p| relative(out_dir, p))
                    .collect(),
                provider_tasks,
                reading: report.reading_lines(),
            };
            state.jobs.insert(job.id.clone(), record.clone());
            if let Err(e) = state.save(out_dir) {
                return failed(manifest, job, &e, secs(t));
            }
            result(manifest, job, JobStatus::Done, &record, secs(t))
        }
        Err(e) => failed(manifest, job, &e, secs(t)),
    }
}

/// The paths the job will create, as far as the batch names them (atlases are the sheet
/// writer's choice and are checked by it).
fn planned_paths(job: &PlannedJob) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = job
        .clips
        .iter()
        .flat_map(|c| c.files.iter().chain([&c.preview]))
        .cloned()
        .collect();
    paths.extend(job.sheet.clone());
    paths.dedup();
    paths
}

fn result(
    manifest: &Manifest,
    job: &PlannedJob,
    status: JobStatus,
    record: &JobRecord,
    seconds: f64,
) -> JobResult {
    let abs = |p: &PathBuf| manifest.out_dir.join(p);
    JobResult {
        id: job.id.clone(),
        character: manifest.characters[job.character].name.clone(),
        actions: job.clips.iter().map(|c| c.action.clone()).collect(),
        status,
        error: None,
        hint: None,
        error_kind: None,
        outputs: record.outputs.iter().map(abs).collect(),
        sheet_files: record.sheet_files.iter().map(abs).collect(),
        reading: record.reading.clone(),
        seconds,
        provider_tasks: record.provider_tasks.values().cloned().collect(),
    }
}

fn failed(manifest: &Manifest, job: &PlannedJob, e: &Error, seconds: f64) -> JobResult {
    let mut message = e.message.clone();
    if let Some(src) = &e.source {
        message.push_str(&format!(": {src}"));
    }
    JobResult {
        error: Some(message),
        hint: e.hint.clone(),
        error_kind: Some(e.kind),
        ..result(
            manifest,
            job,
            JobStatus::Failed,
            &JobRecord::default(),
            seconds,
        )
    }
}

fn relative(out_dir: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(out_dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| p.to_path_buf())
}

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// A worker that panicked while holding a lock must not take the others down with it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}
