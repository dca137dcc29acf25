//! `kinema batch`: progress display and summary around `kinema_jobs::batch::run_batch`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kinema_core::{Error, ErrorKind, Result};
use kinema_jobs::batch::{
    estimate_batch, run_batch, BatchEvent, BatchOptions, JobResult, JobStatus, Manifest,
};

use crate::cli::BatchArgs;

pub fn run(args: BatchArgs) -> Result<()> {
    let manifest = Manifest::load(&args.manifest)?;
    let opts = BatchOptions {
        force: args.force,
        jobs: args.jobs.map_or(0, |n| n as usize),
    };
    if let Some(cost) = estimate_batch(&manifest, &opts)? {
        kinema_jobs::install_ctrl_c_handler()?;
        crate::commands::consent(&args.cost)(&cost)?;
    }
    let ui = Ui::new(std::io::stderr().is_terminal());
    let summary = run_batch(&manifest, &opts, &|e| ui.event(e));
    ui.finish();
    let summary = summary?;
    if args.json {
        let text = serde_json::to_string_pretty(&summary)
            .map_err(|e| Error::internal("could not serialise the batch summary").with_source(e))?;
        println!("{text}");
    }
    eprint!("{}", summary.to_text());
    if summary.failed == 0 {
        return Ok(());
    }
    let kind = summary
        .failures()
        .find_map(|f| f.error_kind)
        .unwrap_or(ErrorKind::InvalidInput);
    Err(Error::new(
        kind,
        format!(
            "{} of {} batch jobs failed",
            summary.failed,
            summary.jobs.len()
        ),
    )
    .with_hint(
        "fix the causes listed above and run the same command again: finished jobs are skipped",
    ))
}

/// Bars on a terminal (one overall, one per running job); one log line per event otherwise.
struct Ui {
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    running: Mutex<HashMap<String, ProgressBar>>,
}

impl Ui {
    fn new(terminal: bool) -> Ui {
        if !terminal {
            return Ui { bars: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(style(
            "{spinner} batch [{bar:32}] {pos}/{len} jobs {elapsed}",
        ));
        overall.enable_steady_tick(Duration::from_millis(120));
        Ui {
            bars: Some(Bars {
                multi,
                overall,
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn event(&self, e: BatchEvent<'_>) {
        let Some(b) = &self.bars else {
            log_line(e);
            return;
        };
        match e {
            BatchEvent::Planned { to_run, .. } => b.overall.set_length(to_run as u64),
            BatchEvent::Started { id, label } => {
                let bar = b.multi.add(ProgressBar::new(1));
                bar.set_style(style("  {msg:32!} [{bar:24}] {pos}/{len} frames"));
                bar.set_message(label.to_string());
                lock(&b.running).insert(id.to_string(), bar);
            }
            BatchEvent::Progress { id, progress } => {
                if let Some(bar) = lock(&b.running).get(id) {
                    bar.set_length(progress.total.max(1));
                    bar.set_position(progress.done);
                }
            }
            BatchEvent::Finished { label, result } => {
                if let Some(bar) = lock(&b.running).remove(&result.id) {
                    bar.finish_and_clear();
                    b.multi.remove(&bar);
                    b.overall.inc(1);
                }
                let _ = b.multi.println(finished_line(label, result));
            }
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bars {
            b.overall.finish_and_clear();
        }
    }
}

fn log_line(e: BatchEvent<'_>) {
    match e {
        BatchEvent::Planned { total, to_run } => eprintln!("batch: {total} jobs, {to_run} to run"),
        BatchEvent::Started { label, .. } => eprintln!("start   {label}"),
        BatchEvent::Progress { .. } => {}
        BatchEvent::Finished { label, result } => eprintln!("{}", finished_line(label, result)),
    }
}

fn finished_line(label: &str, r: &JobResult) -> String {
    match r.status {
        JobStatus::Done => format!("done    {label} ({:.1} s)", r.seconds),
        JobStatus::Skipped => format!("skipped {label} (up to date)"),
        JobStatus::Failed => format!(
            "FAILED  {label}: {}",
            r.error.as_deref().unwrap_or("unknown error")
        ),
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
