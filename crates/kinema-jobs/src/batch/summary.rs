//! What a batch run did, job by job: the data behind the closing summary and `--json`.

use std::path::PathBuf;

use kinema_core::ErrorKind;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Rendered and written in this run.
    Done,
    /// Its inputs and settings match the last successful run and its files are all there.
    Skipped,
    Failed,
}

/// One job's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct JobResult {
    /// `hero/*` (the character's catalogue actions) or `hero/wave` (a prompt).
    pub id: String,
    pub character: String,
    pub actions: Vec<String>,
    pub status: JobStatus,
    /// Why it failed, and what to do about it.
    pub error: Option<String>,
    pub hint: Option<String>,
    #[serde(skip)]
    pub error_kind: Option<ErrorKind>,
    /// Clip files and frame folders.
    pub outputs: Vec<PathBuf>,
    /// Sprite sheet and atlases.
    pub sheet_files: Vec<PathBuf>,
    /// How the prompt was read (`read as: hurt → die (12 + 12 frames)`), as `generate`
    /// prints it; empty when the job failed or the engine does not say.
    pub reading: Vec<String>,
    /// Time spent on it in this run (zero when skipped).
    pub seconds: f64,
    /// The video service tasks behind its files (provider engines only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provider_tasks: Vec<kinema_providers::ProviderTask>,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct BatchSummary {
    pub manifest: PathBuf,
    pub out_dir: PathBuf,
    /// `out_dir/index.html`.
    pub contact_sheet: PathBuf,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub wall_seconds: f64,
    pub jobs: Vec<JobResult>,
}

impl BatchSummary {
    pub fn failures(&self) -> impl Iterator<Item = &JobResult> {
        self.jobs.iter().filter(|j| j.status == JobStatus::Failed)
    }

    /// The human summary printed at the end: counts, then every failure with its reason.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} done, {} skipped, {} failed in {:.1} s; contact sheet: {}\n",
            self.done,
            self.skipped,
            self.failed,
            self.wall_seconds,
            self.contact_sheet.display()
        );
        // Prompts are shown as read; catalogue jobs (`hero/*`) play their actions' names.
        for j in self.jobs.iter().filter(|j| !j.id.ends_with("/*")) {
            for line in &j.reading {
                s.push_str(&format!("{}: {line}\n", j.id));
            }
        }
        for f in self.failures() {
            s.push_str(&format!(
                "failed {} [{}]: {}\n",
                f.id,
                f.actions.join(", "),
                f.error.as_deref().unwrap_or("unknown error")
            ));
            if let Some(h) = &f.hint {
                s.push_str(&format!("  hint: {h}\n"));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lists_each_failure_with_reason_and_hint() {
        let job = |id: &str, status, error: Option<&str>| JobResult {
            id: id.into(),
            character: "hero".into(),
            actions: vec!["wave".into()],
            status,
            error: error.map(str::to_string),
            hint: error.map(|_| "fix it".to_string()),
            error_kind: None,
            outputs: vec![],
            sheet_files: vec![],
            reading: if status == JobStatus::Done {
                vec!["read as: hurt → die (12 + 12 frames)".into()]
            } else {
                vec![]
            },
            seconds: 0.0,
            provider_tasks: vec![],
        };
        let s = BatchSummary {
            manifest: "m.toml".into(),
            out_dir: "out".into(),
            contact_sheet: "out/index.html".into(),
            done: 1,
            skipped: 0,
            failed: 1,
            wall_seconds: 1.25,
            jobs: vec![
                job("hero/*", JobStatus::Done, None),
                job("hero/wave", JobStatus::Failed, Some("bad prompt")),
                job("hero/knocked-out", JobStatus::Done, None),
            ],
        };
        let t = s.to_text();
        assert!(t.starts_with("1 done, 0 skipped, 1 failed in 1.2 s"), "{t}");
        assert!(!t.contains("hero/*: read as"), "{t}");
        assert!(
            t.contains("hero/knocked-out: read as: hurt → die (12 + 12 frames)\n"),
            "{t}"
        );
        assert!(
            t.contains("failed hero/wave [wave]: bad prompt\n  hint: fix it"),
            "{t}"
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["jobs"][1]["status"], "failed");
    }
}
