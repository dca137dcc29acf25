//! `kinema models list|pull|info`: the model store from the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use kinema_core::{Error, Result};
use kinema_models::{human_bytes, PullOptions, PullProgress};

use crate::cli::{ModelsArgs, ModelsCommand, ModelsInfoArgs, ModelsPullArgs};

pub fn run(args: ModelsArgs) -> Result<()> {
    match args.command {
        ModelsCommand::List(a) => {
            let models = kinema_models::list()?;
            if a.json {
                print_json(&models)
            } else {
                print!("{}", kinema_models::list_table(&models));
                Ok(())
            }
        }
        ModelsCommand::Pull(a) => pull(a),
        ModelsCommand::Info(a) => info(a),
    }
}

fn pull(args: ModelsPullArgs) -> Result<()> {
    let accept_licence = args.accept_licence || ask_licence(&args.repo)?;
    let bars = PullBars::new();
    let progress = |p: &PullProgress<'_>| bars.update(p);
    let options = PullOptions {
        revision: args.revision.clone(),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        progress: Some(&progress),
        accept_licence,
    };
    let outcome = kinema_models::pull(&args.repo, &options);
    bars.finish();
    let report = outcome?;
    if args.json {
        return print_json(&report);
    }
    println!(
        "{} @ {} ({}): {} files, {} ({} downloaded now)",
        report.repo,
        report.revision,
        &report.commit[..report.commit.len().min(12)],
        report.files.len(),
        human_bytes(report.total_bytes),
        human_bytes(report.downloaded_bytes)
    );
    println!("snapshot: {}", report.dir.display());
    println!("use it with: --model {}", report.repo);
    Ok(())
}

/// For a repo with a licence this cache has not recorded as accepted: shows its terms on
/// stderr and, on a terminal, asks. Returns whether the user accepted; without a terminal
/// it returns false and the pull's own error says how to accept.
fn ask_licence(repo: &str) -> Result<bool> {
    let id = kinema_models::RepoId::parse(repo)?;
    let Some(licence) = kinema_models::licence_for(&id) else {
        return Ok(false);
    };
    if kinema_models::Store::from_env()?.licence_accepted(&id, licence) {
        return Ok(false);
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{id} is released under the {}.", licence.name);
    for point in &licence.summary {
        let _ = writeln!(err, "  - {point}");
    }
    let _ = writeln!(err, "This is a summary; the licence is at {}", licence.url);
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(false);
    }
    let _ = write!(err, "Do you accept the {}? [y/N] ", licence.name);
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::internal("cannot read the answer").with_source(e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

fn info(args: ModelsInfoArgs) -> Result<()> {
    let info = kinema_models::info(&args.model, args.revision.as_deref())?;
    if args.json {
        print_json(&info)
    } else {
        print!("{}", info.table());
        Ok(())
    }
}

/// A total bar and a per-file bar on a terminal; one line per finished file otherwise.
struct PullBars {
    bars: Option<(MultiProgress, ProgressBar, ProgressBar)>,
    last_logged: Mutex<Option<usize>>,
}

impl PullBars {
    fn new() -> PullBars {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::new();
            let style = |template: &str| {
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ")
            };
            let total = multi.add(ProgressBar::new(1));
            total.set_style(style(
                "total {bar:32} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            ));
            let file = multi.add(ProgressBar::new(1));
            file.set_style(style("      {bar:32} {bytes}/{total_bytes} {wide_msg}"));
            (multi, total, file)
        });
        PullBars {
            bars,
            last_logged: Mutex::new(None),
        }
    }

    fn update(&self, p: &PullProgress<'_>) {
        if let Some((_, total, file)) = &self.bars {
            total.set_length(p.total_size.max(1));
            total.set_position(p.total_done);
            total.set_message(format!("file {}/{}", p.file_index + 1, p.file_count));
            file.set_length(p.file_size.max(1));
            file.set_position(p.file_done);
            file.set_message(p.file.to_string());
            return;
        }
        if p.file_done == p.file_size {
            let mut last = self.last_logged.lock().unwrap_or_else(|e| e.into_inner());
            if *last != Some(p.file_index) {
                *last = Some(p.file_index);
                eprintln!(
                    "[{}/{}] {} ({})",
                    p.file_index + 1,
                    p.file_count,
                    p.file,
                    human_bytes(p.file_size)
                );
            }
        }
    }

    fn finish(&self) {
        if let Some((multi, total, file)) = &self.bars {
            file.finish_and_clear();
            total.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::internal("could not serialise the result").with_source(e))?;
    println!("{text}");
    Ok(())
}
