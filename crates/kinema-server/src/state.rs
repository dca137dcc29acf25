//! What every handler shares: configuration, the queue backend, the file store, the
//! workers, the data folders.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kinema_core::{Error, Result};

use crate::auth::Auth;
use crate::backend::TaskStore;
use crate::config::ServeConfig;
use crate::files::Files;
use crate::metrics::Metrics;
use crate::queue::Queue;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServeConfig>,
    /// The task queue: embedded SQLite or shared PostgreSQL.
    pub store: Arc<dyn TaskStore>,
    /// Uploads and outputs: the data directory, another folder, or S3.
    pub files: Arc<Files>,
    pub queue: Arc<Queue>,
    pub data: Arc<DataDir>,
    pub auth: Arc<Auth>,
    pub metrics: Arc<Metrics>,
}

/// The data directory's layout. Every path the server touches is built here from
/// validated ids, so no request can name a file outside it.
///
/// ```text
/// DATA/kinema.sqlite3        tasks, uploads, transitions (SQLite, WAL)
/// DATA/uploads/upl_…         uploaded images, as received (a local copy with S3)
/// DATA/outputs/tsk_…/        finished outputs of one task (default store)
/// DATA/tmp/tsk_….N/          a run in progress (attempt N); moved into the store
/// DATA/providers/tsk_….json  video-service tasks, as releases before queue schema 2 kept
///                            them (read only; the queue database holds them now)
/// ```
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
    /// Held for the process's life: a second process on the same folder would clear this
    /// one's renders in `tmp/` and, with SQLite, re-queue its running tasks.
    _lock: Arc<std::fs::File>,
}

impl DataDir {
    /// Creates the folders if missing, makes sure no other process uses them, and clears
    /// leftovers of interrupted runs.
    pub fn prepare(root: &Path) -> Result<DataDir> {
        std::fs::create_dir_all(root).map_err(|e| {
            Error::invalid(
                format!("cannot create {}", root.display()),
                "choose a writable --data directory",
            )
            .with_source(e)
        })?;
        let lock_path = root.join("kinema.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                Error::invalid(
                    format!("cannot open {}", lock_path.display()),
                    "choose a writable --data directory",
                )
                .with_source(e)
            })?;
        if let Err(e) = lock.try_lock() {
            return Err(Error::invalid(
                format!(
                    "{} is in use by another kinema process ({e})",
                    root.display()
                ),
                "give each `kinema serve` and `kinema worker` its own --data directory",
            ));
        }
        let dir = DataDir {
            root: root.to_path_buf(),
            _lock: Arc::new(lock),
        };
        for sub in [dir.uploads(), dir.outputs(), dir.tmp(), dir.providers()] {
            std::fs::create_dir_all(&sub).map_err(|e| {
                Error::invalid(
                    format!("cannot create {}", sub.display()),
                    "choose a writable --data directory",
                )
                .with_source(e)
            })?;
        }
        dir.check_separate()?;
        if let Ok(entries) = std::fs::read_dir(dir.tmp()) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(dir)
    }

    /// Refuses a layout in which uploads share a folder with outputs or runs (through a
    /// link or a mount): `tmp/` is emptied on every start and a finished task's folder
    /// replaces whatever is at its place in `outputs/`, so either would delete uploads.
    /// Outputs never overwrite an input, here as in the CLI.
    fn check_separate(&self) -> Result<()> {
        let folders = [
            ("uploads", self.uploads()),
            ("outputs", self.outputs()),
            ("tmp", self.tmp()),
        ];
        let resolved: Vec<(&str, PathBuf)> = folders
            .iter()
            .map(|(name, p)| {
                (
                    *name,
                    std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()),
                )
            })
            .collect();
        for (i, (a, pa)) in resolved.iter().enumerate() {
            for (b, pb) in &resolved[i + 1..] {
                if pa.starts_with(pb) || pb.starts_with(pa) || same_folder(pa, pb) {
                    return Err(Error::invalid(
                        format!(
                            "{}/{a} and {}/{b} are the same folder or one holds the other ({} and {})",
                            self.root.display(),
                            self.root.display(),
                            pa.display(),
                            pb.display()
                        ),
                        "make uploads/, outputs/ and tmp/ separate folders (remove the link), \
                         or choose another --data directory: uploaded images must never be overwritten",
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn database(&self) -> PathBuf {
        self.root.join("kinema.sqlite3")
    }

    pub fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }

    pub fn outputs(&self) -> PathBuf {
        self.root.join("outputs")
    }

    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// `id` must already be checked with [`crate::ids::is_valid`].
    pub fn upload(&self, id: &str) -> PathBuf {
        self.uploads().join(id)
    }

    pub fn task_outputs(&self, id: &str) -> PathBuf {
        self.outputs().join(id)
    }

    pub fn providers(&self) -> PathBuf {
        self.root.join("providers")
    }

    /// The provider task journal of task `id` (checked with [`crate::ids::is_valid`]).
    pub fn provider_journal(&self, id: &str) -> PathBuf {
        self.providers().join(format!("{id}.json"))
    }

    pub fn task_tmp(&self, id: &str, attempt: u32) -> PathBuf {
        self.tmp().join(format!("{id}.{attempt}"))
    }
}

/// Two paths to one directory (a bind mount has another path, but the same inode).
#[cfg(unix)]
fn same_folder(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_folder(_a: &Path, _b: &Path) -> bool {
    false
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_tmp_or_outputs_folder_linked_to_uploads_is_refused_and_uploads_survive() {
        for linked in ["tmp", "outputs"] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("data");
            let uploads = root.join("uploads");
            std::fs::create_dir_all(&uploads).unwrap();
            let upload = uploads.join("upl_0123456789abcdef0123456789abcdef");
            std::fs::write(&upload, b"the user's picture").unwrap();
            std::os::unix::fs::symlink(&uploads, root.join(linked)).unwrap();
            let e = DataDir::prepare(&root).unwrap_err().to_string();
            assert!(e.contains("same folder") && e.contains("--data"), "{e}");
            assert_eq!(std::fs::read(&upload).unwrap(), b"the user's picture");
        }
        let dir = tempfile::tempdir().unwrap();
        DataDir::prepare(&dir.path().join("data")).expect("a fresh layout is fine");
    }
}
