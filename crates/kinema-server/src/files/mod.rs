//! Uploads and outputs, through the `object_store` crate: the data directory by default,
//! another folder, or an S3-compatible bucket.
//!
//! ```text
//! PREFIX/uploads/upl_…                  an uploaded image, as received
//! PREFIX/outputs/tsk_…/clip.gif …       outputs (embedded SQLite queue: one writer per task)
//! PREFIX/outputs/tsk_…/N/clip.gif …     outputs of attempt N (shared queue; see below)
//! ```
//!
//! Every object is written whole or not at all (a local file is renamed into place, an S3
//! object appears when its single or multipart upload completes), and a task's outputs
//! are only served once its SUCCEEDED row is committed, so no client sees half a result.
//! With a shared queue a worker that lost its lease may still be uploading while another
//! redoes the task, so each attempt writes under its own prefix; the row records which
//! attempt succeeded, and the other attempts' objects are removed.

mod publish;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::signer::Signer;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetResult, ObjectMeta, ObjectStore, RetryConfig,
};

use crate::backend::{BackendError, BackendResult, StoreLocation};

const STORE_HINT: &str = "check that the object store is reachable and the credentials and bucket are right (--store, AWS_* variables)";

/// Where uploads and outputs are kept.
pub struct Files {
    store: Arc<dyn ObjectStore>,
    /// The key prefix everything lives under (empty for a local folder).
    root: Key,
    /// Presigns download URLs (S3 only).
    signer: Option<Arc<dyn Signer>>,
    /// For a local store: its folder, so files already inside it are renamed, not copied.
    local_dir: Option<PathBuf>,
    display: String,
}

/// Whether `e` can go away by itself (a store that is down or overloaded), as opposed to
/// a missing object or a local disk problem.
fn is_transient(e: &object_store::Error, remote: bool) -> bool {
    use object_store::Error as E;
    remote
        && !matches!(
            e,
            E::NotFound { .. }
                | E::InvalidPath { .. }
                | E::NotSupported { .. }
                | E::NotImplemented
                | E::NotModified { .. }
                | E::Precondition { .. }
                | E::AlreadyExists { .. }
        )
}

impl Files {
    /// Opens the store `location` names; `data` is the data directory (the default store).
    /// The S3 client retries a failing request for up to `patience` before reporting it.
    pub fn open(location: &StoreLocation, data: &Path, patience: Duration) -> BackendResult<Files> {
        match location {
            StoreLocation::Data => Self::local(data),
            StoreLocation::Local(dir) => Self::local(dir),
            StoreLocation::S3 {
                bucket,
                prefix,
                options,
            } => {
                let client = ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(3))
                    .with_timeout(Duration::from_secs(120));
                // Client options first: they carry allow_http, set below.
                let mut b = AmazonS3Builder::from_env()
                    .with_client_options(client)
                    .with_bucket_name(bucket);
                if let Some(endpoint) = &options.endpoint {
                    b = b.with_endpoint(endpoint);
                }
                if let Some(region) = &options.region {
                    b = b.with_region(region);
                }
                if let Some(key) = &options.access_key_id {
                    b = b.with_access_key_id(key);
                }
                if let Some(secret) = &options.secret_access_key {
                    b = b.with_secret_access_key(secret);
                }
                // A plain-HTTP endpoint (a store on the local network) is what the user
                // asked for by writing http://, not a mistake to refuse.
                if b.get_config_value(&AmazonS3ConfigKey::Endpoint)
                    .is_some_and(|e| e.starts_with("http://"))
                {
                    b = b.with_allow_http(true);
                }
                let retry = RetryConfig {
                    backoff: BackoffConfig {
                        init_backoff: Duration::from_millis(100),
                        max_backoff: Duration::from_secs(2),
                        base: 2.0,
                    },
                    max_retries: 10,
                    retry_timeout: patience,
                };
                let s3 = Arc::new(
                    b.with_retry(retry)
                        .build()
                        .map_err(|e| {
                            kinema_core::Error::invalid(
                                format!("cannot use s3://{bucket}: {e}"),
                                "set AWS_ENDPOINT_URL (for S3-compatible stores), AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the --s3-* flags",
                            )
                        })?,
                );
                Ok(Files {
                    store: s3.clone(),
                    root: Key::from(prefix.as_str()),
                    signer: Some(s3),
                    local_dir: None,
                    display: location.display(),
                })
            }
        }
    }

    fn local(dir: &Path) -> BackendResult<Files> {
        let fail = |e: &dyn std::fmt::Display| {
            kinema_core::Error::invalid(
                format!("cannot use {} as the file store: {e}", dir.display()),
                "choose a writable --data directory, or another --store",
            )
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let canonical = dir.canonicalize().map_err(|e| fail(&e))?;
        let store = LocalFileSystem::new_with_prefix(&canonical)
            .map_err(|e| fail(&e))?
            .with_automatic_cleanup(true);
        Ok(Files {
            store: Arc::new(store),
            root: Key::default(),
            signer: None,
            local_dir: Some(canonical),
            display: dir.display().to_string(),
        })
    }

    /// `s3://bucket/prefix` or the folder, for logs.
    pub fn describe(&self) -> &str {
        &self.display
    }

    pub fn can_presign(&self) -> bool {
        self.signer.is_some()
    }

    /// Whether this store keeps its files in `dir` itself (the default `--data` layout),
    /// so a local copy of an upload is the stored file and must never be deleted.
    pub fn keeps_files_in(&self, dir: &Path) -> bool {
        match (&self.local_dir, dir.canonicalize()) {
            (Some(local), Ok(dir)) => *local == dir,
            _ => false,
        }
    }

    fn key<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> Key {
        let mut key = self.root.clone();
        for p in parts {
            for piece in p.split('/').filter(|s| !s.is_empty()) {
                key = key.child(piece);
            }
        }
        key
    }

    fn upload_key(&self, id: &str) -> Key {
        self.key(["uploads", id])
    }

    /// Where task `task`'s outputs live: per attempt for shared queues.
    fn outputs_key(&self, task: &str, attempt: Option<u32>) -> Key {
        match attempt {
            Some(n) => self.key(["outputs", task, &n.to_string()]),
            None => self.key(["outputs", task]),
        }
    }

    fn error(&self, what: String, e: object_store::Error) -> BackendError {
        if is_transient(&e, self.local_dir.is_none()) {
            return BackendError::unavailable(
                "the object store",
                STORE_HINT,
                format!("{what}: {e}"),
            );
        }
        kinema_core::Error::output(format!("{what}: {e}"))
            .with_hint(STORE_HINT)
            .into()
    }

    /// Stores an uploaded image under its id, whole or not at all.
    pub async fn put_upload(&self, id: &str, bytes: Bytes) -> BackendResult<()> {
        self.store
            .put(&self.upload_key(id), bytes.into())
            .await
            .map_err(|e| self.error(format!("cannot store upload {id}"), e))?;
        Ok(())
    }

    /// Makes upload `id` available at `dest` on this machine (a no-op when it is there).
    pub async fn fetch_upload(&self, id: &str, dest: &Path) -> BackendResult<()> {
        if dest.is_file() {
            return Ok(());
        }
        let result = self
            .store
            .get(&self.upload_key(id))
            .await
            .map_err(|e| self.error(format!("cannot read upload {id}"), e))?;
        publish::write_local(result, dest)
            .await
            .map_err(|e| self.error(format!("cannot read upload {id}"), e))
    }

    /// Size, date and ETag of one output file, or `None` if there is no such file.
    pub async fn output_meta(
        &self,
        task: &str,
        attempt: Option<u32>,
        file: &str,
    ) -> BackendResult<Option<ObjectMeta>> {
        let key = self.outputs_key(task, attempt).child_path(file);
        match self.store.head(&key).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(format!("cannot read {file}"), e)),
        }
    }

    /// Opens one output file (a byte range of it, or a `NotModified` answer, per `options`).
    pub async fn output(
        &self,
        task: &str,
        attempt: Option<u32>,
        file: &str,
        options: GetOptions,
    ) -> Result<GetResult, object_store::Error> {
        let key = self.outputs_key(task, attempt).child_path(file);
        self.store.get_opts(&key, options).await
    }

    /// A URL that lets whoever holds it download one output file for `ttl`.
    pub async fn presigned_output(
        &self,
        task: &str,
        attempt: Option<u32>,
        file: &str,
        ttl: Duration,
    ) -> BackendResult<String> {
        let signer = self.signer.as_ref().ok_or_else(|| {
            kinema_core::Error::invalid(
                "this file store cannot presign URLs",
                "--presign needs an S3 store (--store s3://…)",
            )
        })?;
        let key = self.outputs_key(task, attempt).child_path(file);
        let url = signer
            .signed_url(axum::http::Method::GET, &key, ttl)
            .await
            .map_err(|e| self.error(format!("cannot presign {file}"), e))?;
        Ok(url.to_string())
    }

    /// Deletes every object under `prefix`.
    async fn delete_prefix(&self, prefix: &Key) -> BackendResult<()> {
        let keys: Vec<Key> = self
            .store
            .list(Some(prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| self.error(format!("cannot list {prefix}"), e))?;
        futures_util::stream::iter(keys)
            .map(|k| async move {
                match self.store.delete(&k).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(self.error(format!("cannot delete {k}"), e)),
                }
            })
            .buffer_unordered(8)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// Removes the outputs of task `task` (one attempt's, or all for unscoped stores).
    pub async fn discard_outputs(&self, task: &str, attempt: Option<u32>) -> BackendResult<()> {
        self.delete_prefix(&self.outputs_key(task, attempt)).await
    }
}

/// `path` joined below `key`, one part per `/`-separated piece.
trait ChildPath {
    fn child_path(self, rel: &str) -> Key;
}

impl ChildPath for Key {
    fn child_path(self, rel: &str) -> Key {
        rel.split('/')
            .filter(|s| !s.is_empty())
            .fold(self, |k, piece| k.child(piece))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::open(&StoreLocation::Data, dir.path(), Duration::from_secs(1)).unwrap();
        assert_eq!(files.upload_key("upl_1").as_ref(), "uploads/upl_1");
        assert_eq!(files.outputs_key("tsk_1", None).as_ref(), "outputs/tsk_1");
        assert_eq!(
            files
                .outputs_key("tsk_1", Some(2))
                .child_path("frames/walk/frame_0000.png")
                .as_ref(),
            "outputs/tsk_1/2/frames/walk/frame_0000.png"
        );
        assert!(files.keeps_files_in(dir.path()));
        assert!(!files.can_presign());
    }

    #[test]
    fn only_remote_failures_other_than_missing_objects_are_worth_waiting_for() {
        let missing = object_store::Error::NotFound {
            path: "x".into(),
            source: "gone".into(),
        };
        let down = || object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        assert!(!is_transient(&missing, true));
        assert!(is_transient(&down(), true));
        assert!(
            !is_transient(&down(), false),
            "a local disk error is not an outage"
        );
    }
}
