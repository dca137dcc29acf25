//! Moving a finished render into the store, and objects back out to local files.

use std::path::{Path, PathBuf};

use futures_util::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path as Key;
use object_store::GetResult;
use tokio::io::AsyncWriteExt;

use super::{ChildPath, Files};
use crate::backend::BackendResult;

/// Files uploaded at once; enough to hide per-request latency for `frames` outputs.
const PARALLEL_UPLOADS: usize = 8;
/// Parts of this size go up as a multipart upload (S3's minimum part is 5 MiB).
const PART_BYTES: usize = 8 << 20;

/// Every file below `dir`, as `/`-separated paths relative to it, sorted.
fn walk(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let path = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                let parts: Vec<String> = path
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// BufWriter reports store errors as io::Error wrapping the store's own error.
fn store_error(e: std::io::Error) -> object_store::Error {
    match e
        .into_inner()
        .map(|inner| inner.downcast::<object_store::Error>())
    {
        Some(Ok(store_error)) => *store_error,
        Some(Err(other)) => object_store::Error::Generic {
            store: "upload",
            source: other,
        },
        None => object_store::Error::Generic {
            store: "upload",
            source: "the upload stopped".into(),
        },
    }
}

/// Streams an object into `dest` through a temporary sibling, so `dest` is whole or absent.
pub(super) async fn write_local(result: GetResult, dest: &Path) -> object_store::Result<()> {
    let io = |e: std::io::Error| object_store::Error::Generic {
        store: "local copy",
        source: Box::new(e),
    };
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    // Unique per copy: two tasks of this process may fetch the same upload at once.
    static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let part = dest.with_extension(format!("part{}-{n}", std::process::id()));
    let written = async {
        let mut file = tokio::fs::File::create(&part).await.map_err(io)?;
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        tokio::fs::rename(&part, dest).await.map_err(io)
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    written
}

impl Files {
    /// Puts every file of the finished render in `dir` under task `task`'s outputs
    /// (attempt-scoped when `attempt` is given). Unscoped outputs are cleared first of
    /// whatever an interrupted earlier run left; an attempt's own prefix is only ever
    /// written by that attempt. Files already inside a local store are renamed.
    pub async fn publish(&self, task: &str, attempt: Option<u32>, dir: &Path) -> BackendResult<()> {
        let prefix = self.outputs_key(task, attempt);
        if attempt.is_none() {
            self.delete_prefix(&prefix).await?;
        }
        let files = walk(dir).map_err(|e| {
            kinema_core::Error::output(format!("cannot list the render in {}: {e}", dir.display()))
        })?;
        let inside_store = self.local_dir.as_ref().and_then(|local| {
            let dir = dir.canonicalize().ok()?;
            let rel = dir.strip_prefix(local).ok()?;
            Some(Key::from_iter(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned()),
            ))
        });
        futures_util::stream::iter(files)
            .map(|rel| {
                let to = prefix.clone().child_path(&rel);
                let from = inside_store.clone().map(|k| k.child_path(&rel));
                let source = dir.join(&rel);
                async move {
                    let result = match from {
                        Some(from) => self.store.rename(&from, &to).await,
                        None => self.upload_file(&source, &to).await,
                    };
                    result.map_err(|e| self.error(format!("cannot store {rel}"), e))
                }
            })
            .buffer_unordered(PARALLEL_UPLOADS)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// One file, streamed: a single PUT when small, a multipart upload when large; a
    /// failed upload is aborted so no partial object remains.
    async fn upload_file(&self, source: &Path, to: &Key) -> object_store::Result<()> {
        let mut file =
            tokio::fs::File::open(source)
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "local render",
                    source: Box::new(e),
                })?;
        let mut writer = BufWriter::with_capacity(self.store.clone(), to.clone(), PART_BYTES);
        if let Err(e) = tokio::io::copy(&mut file, &mut writer).await {
            // Parts already sent are dropped with the unfinished multipart upload.
            let _ = writer.abort().await;
            return Err(store_error(e));
        }
        // Completing it (or the single PUT of a small file) either shows the whole object
        // or nothing; BufWriter cannot be aborted once shutting down.
        writer.shutdown().await.map_err(store_error)
    }

    /// After attempt `keep` of `task` succeeded: removes what earlier attempts wrote (a
    /// worker killed while uploading leaves its objects behind). Attempt 1 had none.
    pub async fn discard_other_attempts(&self, task: &str, keep: u32) -> BackendResult<()> {
        if keep <= 1 {
            return Ok(());
        }
        let all = self.outputs_key(task, None);
        let keep = self.outputs_key(task, Some(keep));
        let stale: Vec<Key> = self
            .store
            .list(Some(&all))
            .map_ok(|m| m.location)
            .try_filter(|k| std::future::ready(!k.prefix_matches(&keep)))
            .try_collect()
            .await
            .map_err(|e| self.error(format!("cannot list the outputs of {task}"), e))?;
        for key in stale {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.error(format!("cannot delete {key}"), e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::StoreLocation;
    use std::time::Duration;

    fn render(dir: &Path) {
        std::fs::create_dir_all(dir.join("frames/walk")).unwrap();
        std::fs::write(dir.join("clip.gif"), b"GIF89a").unwrap();
        std::fs::write(dir.join("frames/walk/frame_0000.png"), b"png").unwrap();
    }

    #[tokio::test]
    async fn a_render_is_published_whole_and_stale_attempts_are_removed() {
        let data = tempfile::tempdir().unwrap();
        let files = Files::open(&StoreLocation::Data, data.path(), Duration::from_secs(1)).unwrap();
        // Inside the store (renamed) and outside it (uploaded).
        let inside = data.path().join("tmp/tsk_1.1");
        let outside = tempfile::tempdir().unwrap();
        render(&inside);
        render(outside.path());
        files.publish("tsk_1", Some(1), &inside).await.unwrap();
        files
            .publish("tsk_1", Some(2), outside.path())
            .await
            .unwrap();
        let out = data.path().join("outputs/tsk_1");
        assert!(out.join("1/clip.gif").is_file());
        assert!(!inside.join("clip.gif").exists(), "renamed, not copied");
        assert_eq!(
            std::fs::read(out.join("2/frames/walk/frame_0000.png")).unwrap(),
            b"png"
        );
        files.discard_other_attempts("tsk_1", 2).await.unwrap();
        assert!(!out.join("1").exists());
        assert!(out.join("2/clip.gif").is_file());
        let meta = files
            .output_meta("tsk_1", Some(2), "clip.gif")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(meta.size, 6);
        assert!(files
            .output_meta("tsk_1", Some(2), "nope.gif")
            .await
            .unwrap()
            .is_none());
        files.discard_outputs("tsk_1", None).await.unwrap();
        assert!(!out.exists());
    }

    #[tokio::test]
    async fn uploads_round_trip_to_a_local_copy() {
        let data = tempfile::tempdir().unwrap();
        let store = tempfile::tempdir().unwrap();
        let files = Files::open(
            &StoreLocation::Local(store.path().to_path_buf()),
            data.path(),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!files.keeps_files_in(data.path()));
        files
            .put_upload("upl_1", b"image".to_vec().into())
            .await
            .unwrap();
        let dest = data.path().join("uploads/upl_1");
        files.fetch_upload("upl_1", &dest).await.unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"image");
        let e = files
            .fetch_upload("upl_2", &data.path().join("uploads/upl_2"))
            .await
            .unwrap_err();
        assert!(!e.unavailable, "a missing upload is not an outage");
        assert!(!data.path().join("uploads/upl_2").exists());
    }
}
