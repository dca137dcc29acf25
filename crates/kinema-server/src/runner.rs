//! Running one claimed task: render into a private temp folder, stop early on cancel.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kinema_core::Progress;

use crate::errors::{detail_of, ErrorDetail};
use crate::ids::{is_valid, UPLOAD};
use crate::outputs::{describe, OutputFile};
use crate::plan::{plan, ImageToVideoRequest};
use crate::state::DataDir;
use crate::store::TaskRow;
use crate::ServeConfig;

/// How a run ended.
pub enum Outcome {
    /// Outputs are complete in `dir` (a temp folder to be renamed into place).
    Succeeded {
        dir: PathBuf,
        outputs: Vec<OutputFile>,
        render_ms: f64,
    },
    Failed(ErrorDetail),
    /// The cancel flag was seen; nothing was kept.
    Cancelled,
}

/// Unwinds out of the engine when a cancel arrives. The engine's progress callback
/// cannot return an error, so this is how the callback path aborts a render; it is
/// raised with `resume_unwind` (no panic message) and caught in [`execute`].
struct CancelSignal;

fn failed(code: &str, message: impl Into<String>, hint: &str) -> Outcome {
    Outcome::Failed(ErrorDetail {
        code: code.into(),
        message: message.into(),
        hint: hint.into(),
    })
}

/// Renders `task` into a fresh temp folder. `report` receives (fraction, stage) now and
/// then; `cancel` is polled at every engine progress step. A paid engine records its
/// video-service tasks in `journal` (the queue's record of this task).
pub fn execute(
    task: &TaskRow,
    data: &DataDir,
    config: &ServeConfig,
    journal: kinema_jobs::Journal,
    cancel: &AtomicBool,
    report: &(dyn Fn(f64, &str) + Sync),
) -> Outcome {
    let request: ImageToVideoRequest = match serde_json::from_value(task.request.clone()) {
        Ok(r) => r,
        Err(e) => {
            return failed(
                "invalid_request",
                format!("the stored request cannot be read: {e}"),
                "submit the task again",
            )
        }
    };
    let plan = match plan(&request, config) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(e.detail),
    };
    if !is_valid(UPLOAD, &request.image) {
        return failed(
            "invalid_request",
            "the stored request does not name an upload",
            "submit the task again",
        );
    }
    let image = data.upload(&request.image);
    let dir = data.task_tmp(&task.id, task.attempts);
    let _ = std::fs::remove_dir_all(&dir);
    // Frame folders of action sets go to frames/ACTION/, whose parent must exist.
    let frames_parent = plan
        .formats
        .contains(&kinema_media::OutputFormat::Frames)
        .then(|| dir.join("frames"));
    let created = std::fs::create_dir_all(&dir)
        .and_then(|_| frames_parent.map_or(Ok(()), std::fs::create_dir_all));
    if let Err(e) = created {
        return failed(
            "output_failed",
            format!("cannot create {}: {e}", dir.display()),
            "check free space and permissions of the --data directory",
        );
    }
    let mut job = plan.to_request(&image, &dir);
    if kinema_jobs::is_service_engine(&job.engine) {
        // A video service: remember its tasks, so a run after a crash resumes them.
        job.engine_options.journal = Some(journal);
    }
    let last = Mutex::new(Instant::now() - Duration::from_secs(1));
    let progress = |p: Progress| {
        if cancel.load(Ordering::Relaxed) {
            std::panic::resume_unwind(Box::new(CancelSignal));
        }
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= Duration::from_millis(100) || p.done >= p.total {
            *last = Instant::now();
            report(p.done as f64 / p.total.max(1) as f64, p.stage);
        }
    };
    let result = catch_unwind(AssertUnwindSafe(|| kinema_jobs::run(&job, &progress)));
    let outcome = match result {
        Ok(Ok(done)) if !cancel.load(Ordering::Relaxed) => {
            return Outcome::Succeeded {
                outputs: describe(&task.id, &dir, &plan, &done),
                render_ms: done.timings.render_ms,
                dir,
            }
        }
        Ok(Ok(_)) => Outcome::Cancelled,
        Ok(Err(e)) => Outcome::Failed(detail_of(&e)),
        Err(payload) if payload.is::<CancelSignal>() => Outcome::Cancelled,
        Err(payload) => {
            let what = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            failed(
                "internal",
                format!("the engine crashed: {what}"),
                "this is a bug in Kinema; try another seed or prompt, and report it with the request",
            )
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}
