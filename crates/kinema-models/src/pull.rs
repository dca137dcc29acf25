//! `pull`: every file of a repo snapshot into the cache, resuming and skipping what is
//! already there, with a manifest written at the end so `resolve` knows it finished.

use std::path::PathBuf;

use kinema_core::{Error, Result};
use serde::Serialize;

use crate::download::{Fetcher, FileStatus};
use crate::layout::{self, Manifest};
use crate::pattern;
use crate::store::{check_revision, RepoId, Store};

/// Progress of a pull, reported after every received piece of a file.
#[derive(Clone, Copy, Debug)]
pub struct PullProgress<'a> {
    /// The file being fetched, relative to the repo root.
    pub file: &'a str,
    /// 0-based position of the file among those selected.
    pub file_index: usize,
    pub file_count: usize,
    /// Bytes of this file on disk so far (resumed bytes count).
    pub file_done: u64,
    pub file_size: u64,
    /// Bytes of all selected files on disk so far.
    pub total_done: u64,
    /// Size of all selected files, from the hub listing (0 where it gave none).
    pub total_size: u64,
}

/// What to pull besides the repo itself.
#[derive(Default)]
pub struct PullOptions<'a> {
    /// Branch, tag or commit; `None` means `main`.
    pub revision: Option<String>,
    /// Only files matching one of these globs (see [`crate::pattern`]); empty: all.
    pub include: Vec<String>,
    /// Skip files matching any of these globs, e.g. `*.bin`.
    pub exclude: Vec<String>,
    /// Called as bytes arrive; the CLI draws bars from it, services forward it.
    pub progress: Option<&'a (dyn Fn(&PullProgress<'_>) + Sync)>,
    /// Accept the repo's licence ([`crate::licence_for`]) if it has one that this cache does
    /// not record as accepted yet; without it such a pull is refused.
    pub accept_licence: bool,
}

/// One file of a finished pull.
#[derive(Clone, Debug, Serialize)]
pub struct PulledFile {
    pub path: String,
    pub size: u64,
    #[serde(flatten)]
    pub status: FileStatus,
}

/// The outcome of a pull: where the snapshot is and what was transferred.
#[derive(Clone, Debug, Serialize)]
pub struct PullReport {
    pub repo: String,
    pub revision: String,
    pub commit: String,
    /// The snapshot folder, ready for `--model`.
    pub dir: PathBuf,
    pub files: Vec<PulledFile>,
    /// Files the include/exclude patterns left out.
    pub skipped_by_filter: usize,
    /// Bytes of the selected files.
    pub total_bytes: u64,
    /// Bytes that came over the network in this pull.
    pub downloaded_bytes: u64,
}

impl Store {
    /// Downloads `repo` at a revision into the cache. Files already complete are not
    /// fetched again; interrupted ones continue where they stopped.
    pub fn pull(&self, repo: &str, options: &PullOptions<'_>) -> Result<PullReport> {
        let id = RepoId::parse(repo)?;
        let revision = options.revision.as_deref().unwrap_or("main");
        check_revision(revision)?;
        self.check_licence(&id, options.accept_licence)?;
        if self.offline {
            return Err(Error::model(format!(
                "not downloading {id}: HF_HUB_OFFLINE is set, so Kinema stays off the network"
            ))
            .with_hint(
                "unset HF_HUB_OFFLINE (or set HF_HUB_OFFLINE=0) to download; `kinema models \
                 list` shows what is already cached",
            ));
        }
        let listing = crate::hub::list_repo(self, &id, revision)?;
        let commit = listing.sha.clone();
        let repo_dir = self.repo_dir(&id);
        let selected: Vec<_> = listing
            .siblings
            .iter()
            .filter(|s| pattern::selected(&s.rfilename, &options.include, &options.exclude))
            .collect();
        if selected.is_empty() {
            return Err(Error::invalid(
                format!(
                    "no file of {id} matches the include/exclude patterns ({} files listed)",
                    listing.siblings.len()
                ),
                "loosen --include/--exclude; `*` matches across folders, e.g. 'vae/*'",
            ));
        }
        // Point the ref at the commit first, so an interrupted pull reads as
        // "incomplete" (with the resume command) rather than "not downloaded".
        self.hf_cache()
            .repo(id.hf_repo(revision))
            .create_ref(&commit)
            .map_err(|e| crate::download::io_error(e, &layout::refs_dir(&repo_dir)))?;

        let sizes: Vec<u64> = selected
            .iter()
            .map(|s| s.lfs.as_ref().and_then(|l| l.size).or(s.size).unwrap_or(0))
            .collect();
        let total_size: u64 = sizes.iter().sum();
        let fetcher = Fetcher::new(self, &id, revision, &commit);
        let mut finished_bytes = 0u64;
        let mut files = Vec::with_capacity(selected.len());
        let mut entries = Vec::with_capacity(selected.len());
        let mut downloaded_bytes = 0u64;
        for (index, sibling) in selected.iter().enumerate() {
            let mut report = |done: u64, size: u64| {
                if let Some(progress) = options.progress {
                    progress(&PullProgress {
                        file: &sibling.rfilename,
                        file_index: index,
                        file_count: selected.len(),
                        file_done: done,
                        file_size: size,
                        total_done: finished_bytes + done,
                        total_size,
                    });
                }
            };
            let (status, entry) = fetcher.fetch(sibling, &mut report)?;
            downloaded_bytes += match status {
                FileStatus::Cached => 0,
                FileStatus::Downloaded => entry.size,
                FileStatus::Resumed(from) => entry.size.saturating_sub(from),
            };
            finished_bytes += entry.size;
            files.push(PulledFile {
                path: entry.path.clone(),
                size: entry.size,
                status,
            });
            entries.push(entry);
        }
        Manifest {
            repo: id.to_string(),
            commit: commit.clone(),
            include: options.include.clone(),
            exclude: options.exclude.clone(),
            files: entries,
        }
        .write(&repo_dir)?;
        Ok(PullReport {
            repo: id.to_string(),
            revision: revision.to_string(),
            dir: layout::snapshot_dir(&repo_dir, &commit),
            commit,
            skipped_by_filter: listing.siblings.len() - files.len(),
            files,
            total_bytes: finished_bytes,
            downloaded_bytes,
        })
    }
}
