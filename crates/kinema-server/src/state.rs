//! What every handler shares: configuration, the store, the queue, the data folders.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kinema_core::{Error, Result};

use crate::auth::Auth;
use crate::config::ServeConfig;
use crate::queue::Queue;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServeConfig>,
    pub store: Arc<Store>,
    pub queue: Arc<Queue>,
    pub data: Arc<DataDir>,
    pub auth: Arc<Auth>,
}

/// The data directory's layout. Every path the server touches is built here from
/// validated ids, so no request can name a file outside it.
///
/// ```text
/// DATA/kinema.sqlite3        tasks, uploads, transitions (SQLite, WAL)
/// DATA/uploads/upl_…         uploaded images, as received
/// DATA/outputs/tsk_…/        finished outputs of one task
/// DATA/tmp/tsk_….N/          a run in progress (attempt N); renamed into outputs/
/// ```
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Creates the folders if missing and clears leftovers of interrupted runs.
    pub fn prepare(root: &Path) -> Result<DataDir> {
        let dir = DataDir {
            root: root.to_path_buf(),
        };
        for sub in [dir.uploads(), dir.outputs(), dir.tmp()] {
            std::fs::create_dir_all(&sub).map_err(|e| {
                Error::invalid(
                    format!("cannot create {}", sub.display()),
                    "choose a writable --data directory",
                )
                .with_source(e)
            })?;
        }
        if let Ok(entries) = std::fs::read_dir(dir.tmp()) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(dir)
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

    pub fn task_tmp(&self, id: &str, attempt: u32) -> PathBuf {
        self.tmp().join(format!("{id}.{attempt}"))
    }
}
