//! One file from the hub into the cache: resumable, verified, linked into the snapshot.
//!
//! hf-hub's sync download resumes a `.part` file, but it appends whatever the server
//! sends (a server that ignores `Range` answers with the whole file, corrupting it) and
//! never checks the result. Multi-gigabyte shards deserve better, so this module:
//! writes `blobs/<etag>.incomplete` (the name Python's `huggingface_hub` uses, so either
//! tool resumes the other's download), asks for `Range: bytes=N-`, accepts `206` as a
//! continuation and `200` as a restart, checks the final size and, for LFS files whose
//! etag is their sha256, the hash, and only then renames the blob into place.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};
use sha2::{Digest, Sha256};

use crate::hub::{self, Request, Sibling, CONNECT_TIMEOUT, READ_TIMEOUT};
use crate::layout::{self, ManifestFile};
use crate::store::{RepoId, Store};

/// How a file came to be in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "from")]
pub enum FileStatus {
    /// Already complete in the cache; nothing was downloaded.
    Cached,
    /// Downloaded from the first byte.
    Downloaded,
    /// An earlier partial download was continued from this byte offset.
    Resumed(u64),
}

/// Downloads files of one repo commit into the cache.
pub(crate) struct Fetcher<'a> {
    pub store: &'a Store,
    pub repo: &'a RepoId,
    pub revision: &'a str,
    pub commit: &'a str,
    pub repo_dir: PathBuf,
    head_agent: ureq::Agent,
    get_agent: ureq::Agent,
}

impl<'a> Fetcher<'a> {
    pub fn new(store: &'a Store, repo: &'a RepoId, revision: &'a str, commit: &'a str) -> Self {
        let base = || {
            ureq::AgentBuilder::new()
                .timeout_connect(CONNECT_TIMEOUT)
                .timeout_read(READ_TIMEOUT)
                .try_proxy_from_env(true)
        };
        Fetcher {
            store,
            repo,
            revision,
            commit,
            repo_dir: store.repo_dir(repo),
            // Metadata comes from the hub's own answer, before any CDN redirect.
            head_agent: base().redirects(0).build(),
            get_agent: base()
                .redirects(8)
                .redirect_auth_headers(ureq::RedirectAuthHeaders::SameHost)
                .build(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{}",
            self.store.endpoint,
            self.repo,
            self.commit,
            encode_path(path)
        )
    }

    fn request(&self, agent: &ureq::Agent, method: &str, url: &str) -> ureq::Request {
        let mut req = agent
            .request(method, url)
            .set("User-Agent", concat!("kinema/", env!("CARGO_PKG_VERSION")))
            .set("Accept-Encoding", "identity");
        if let Some(token) = &self.store.token {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        req
    }

    /// The hub's own metadata answer. Relative redirects (renamed repos) are followed, as
    /// `huggingface_hub` does; absolute ones lead to the CDN and carry the `X-Linked-*`
    /// headers we need, so they are not.
    fn head(&self, url: &str, path: &str) -> Result<ureq::Response> {
        let mut url = url.to_string();
        for _ in 0..5 {
            let response = self
                .request(&self.head_agent, "HEAD", &url)
                .call()
                .map_err(|e| hub::http_error(e, &self.context(path)))?;
            match response.header("location") {
                Some(next) if (300..400).contains(&response.status()) && next.starts_with('/') => {
                    url = format!("{}{next}", self.store.endpoint);
                }
                _ => return Ok(response),
            }
        }
        Err(Error::model(format!(
            "the hub redirected the request for {path} of {} too many times",
            self.repo
        )))
    }

    fn context<'b>(&'b self, file: &'b str) -> Request<'b> {
        Request {
            store: self.store,
            repo: self.repo,
            revision: self.revision,
            file: Some(file),
        }
    }

    /// Makes one listed file complete in the snapshot. `on_bytes(done, size)` reports
    /// progress within the file, resumed bytes included.
    pub fn fetch(
        &self,
        file: &Sibling,
        on_bytes: &mut dyn FnMut(u64, u64),
    ) -> Result<(FileStatus, ManifestFile)> {
        let path = file.rfilename.as_str();
        check_repo_path(path)?;
        let pointer = layout::snapshot_dir(&self.repo_dir, self.commit).join(path);
        let listed_size = file.lfs.as_ref().and_then(|l| l.size).or(file.size);
        if let Some(entry) = cached_entry(&pointer, listed_size) {
            on_bytes(entry.size, entry.size);
            return Ok((
                FileStatus::Cached,
                ManifestFile {
                    path: path.into(),
                    ..entry
                },
            ));
        }

        let url = self.url(path);
        let head = self.head(&url, path)?;
        let etag = response_etag(&head).ok_or_else(|| {
            Error::model(format!(
                "{} sent no etag for {path} of {}",
                self.store.endpoint, self.repo
            ))
            .with_hint("HF_ENDPOINT must point at a Hugging Face hub or a full mirror")
        })?;
        let size = header_u64(&head, "x-linked-size")
            .or(if head.status() == 200 {
                header_u64(&head, "content-length")
            } else {
                None
            })
            .or(listed_size)
            .ok_or_else(|| {
                Error::model(format!("the hub gave no size for {path} of {}", self.repo))
            })?;

        let blob = layout::blob_path(&self.repo_dir, &etag);
        let mut status = FileStatus::Cached;
        if std::fs::metadata(&blob).ok().map(|m| m.len()) != Some(size) {
            // The listing's LFS sha256 is authoritative; a sha256-shaped etag is the same.
            let expected = file
                .lfs
                .as_ref()
                .map(|l| l.sha256.as_str())
                .filter(|s| is_sha256(s))
                .or_else(|| is_sha256(&etag).then_some(etag.as_str()));
            let target = Blob {
                etag: &etag,
                size,
                sha256: expected,
                path: &blob,
            };
            status = self.download_blob(&url, path, &target, on_bytes)?;
        } else {
            on_bytes(size, size);
        }
        link_into_snapshot(&blob, &pointer, path).map_err(|e| io_error(e, &pointer))?;
        Ok((
            status,
            ManifestFile {
                path: path.into(),
                size,
                etag,
            },
        ))
    }

    fn download_blob(
        &self,
        url: &str,
        path: &str,
        blob: &Blob<'_>,
        on_bytes: &mut dyn FnMut(u64, u64),
    ) -> Result<FileStatus> {
        let size = blob.size;
        let partial = layout::incomplete_path(&self.repo_dir, blob.etag);
        if let Some(dir) = partial.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(e, dir))?;
        }
        let mut out = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&partial)
            .map_err(|e| io_error(e, &partial))?;
        let mut start = out.metadata().map_err(|e| io_error(e, &partial))?.len();
        if start > size {
            start = 0;
        }
        // Where the bytes of this run continue from; 0 when the server made us restart.
        let mut resumed_from = start;
        if start < size {
            (resumed_from, start) =
                self.receive(url, path, &mut out, &partial, start, size, on_bytes)?;
        }
        if start != size {
            return Err(Error::model(format!(
                "the hub sent {start} bytes for {path}, expected {size}"
            ))
            .with_hint("run the same pull again"));
        }
        on_bytes(size, size);
        out.sync_all().map_err(|e| io_error(e, &partial))?;
        drop(out);
        if let Some(expected) = blob.sha256 {
            verify_sha256(&partial, expected, path)?;
        }
        std::fs::rename(&partial, blob.path).map_err(|e| io_error(e, blob.path))?;
        Ok(if resumed_from > 0 {
            FileStatus::Resumed(resumed_from)
        } else {
            FileStatus::Downloaded
        })
    }

    /// Streams the rest of the file into `out` from byte `start`; returns the offset it
    /// really continued from (0 after a restart) and the new length.
    #[allow(clippy::too_many_arguments)]
    fn receive(
        &self,
        url: &str,
        path: &str,
        out: &mut File,
        partial: &Path,
        mut start: u64,
        size: u64,
        on_bytes: &mut dyn FnMut(u64, u64),
    ) -> Result<(u64, u64)> {
        let mut req = self.request(&self.get_agent, "GET", url);
        if start > 0 {
            req = req.set("Range", &format!("bytes={start}-"));
        }
        let response = match req.call() {
            // The partial file no longer fits the blob: start over once.
            Err(ureq::Error::Status(416, _)) if start > 0 => {
                start = 0;
                self.request(&self.get_agent, "GET", url).call()
            }
            other => other,
        }
        .map_err(|e| hub::http_error(e, &self.context(path)))?;
        let continues = response.status() == 206
            && response
                .header("content-range")
                .and_then(range_start)
                .is_some_and(|s| s == start);
        if !continues {
            // A full answer (200), or a range we did not ask for: rewrite from zero.
            start = 0;
        }
        out.set_len(start).map_err(|e| io_error(e, partial))?;
        out.seek(SeekFrom::Start(start))
            .map_err(|e| io_error(e, partial))?;
        on_bytes(start, size);
        let mut body = response.into_reader();
        let mut buf = vec![0u8; 1 << 20];
        let mut done = start;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::model(format!(
                        "the download of {path} stopped at {done} of {size} bytes"
                    ))
                    .with_source(e)
                    .with_hint("run the same pull again: it resumes from where it stopped"))
                }
            };
            if done + n as u64 > size {
                out.set_len(0).map_err(|e| io_error(e, partial))?;
                return Err(Error::model(format!(
                    "the hub sent more than the announced {size} bytes for {path}; the partial \
                     file was discarded"
                ))
                .with_hint("run the same pull again"));
            }
            out.write_all(&buf[..n]).map_err(|e| io_error(e, partial))?;
            done += n as u64;
            on_bytes(done, size);
        }
        if done < size {
            return Err(Error::model(format!(
                "the download of {path} stopped at {done} of {size} bytes"
            ))
            .with_hint("run the same pull again: it resumes from where it stopped"));
        }
        Ok((start, done))
    }
}

/// Where a file's content goes and how to check it.
struct Blob<'a> {
    etag: &'a str,
    size: u64,
    sha256: Option<&'a str>,
    path: &'a Path,
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// The snapshot entry is already there with the listed size: no request needed.
fn cached_entry(pointer: &Path, listed_size: Option<u64>) -> Option<ManifestFile> {
    let size = std::fs::metadata(pointer).ok()?.len();
    if listed_size != Some(size) {
        return None;
    }
    let target = std::fs::read_link(pointer).ok()?;
    let etag = target.file_name()?.to_string_lossy().into_owned();
    Some(ManifestFile {
        path: String::new(),
        size,
        etag,
    })
}

fn response_etag(response: &ureq::Response) -> Option<String> {
    let raw = response
        .header("x-linked-etag")
        .or_else(|| response.header("etag"))?;
    let etag = raw.trim().trim_start_matches("W/").trim_matches('"');
    let safe = !etag.is_empty()
        && etag.len() <= 128
        && etag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    safe.then(|| etag.to_string())
}

fn header_u64(response: &ureq::Response, name: &str) -> Option<u64> {
    response.header(name)?.trim().parse().ok()
}

/// The first byte of `bytes START-END/TOTAL`.
fn range_start(content_range: &str) -> Option<u64> {
    let spec = content_range.trim().strip_prefix("bytes ")?;
    spec.split_once('-')?.0.trim().parse().ok()
}

/// Checks a finished download against its sha256, discarding it when damaged.
fn verify_sha256(file: &Path, etag: &str, path: &str) -> Result<()> {
    let actual = sha256_file(file).map_err(|e| io_error(e, file))?;
    if actual.eq_ignore_ascii_case(etag) {
        return Ok(());
    }
    let _ = std::fs::remove_file(file);
    Err(Error::model(format!(
        "{path} arrived damaged: its sha256 is {actual}, the hub says {etag}; the download was \
         deleted"
    ))
    .with_hint("run the same pull again"))
}

/// Hex sha256 of a file, read in 1 MiB pieces.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Refuses listed file names that would land outside the snapshot folder.
fn check_repo_path(path: &str) -> Result<()> {
    let safe = !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if safe {
        Ok(())
    } else {
        Err(Error::model(format!(
            "the hub listed a file named `{path}`, which would be written outside the cache; \
             refusing it"
        ))
        .with_hint("check HF_ENDPOINT points at a trusted hub"))
    }
}

/// Percent-encodes each path segment, keeping the `/` between them.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Points `snapshots/<commit>/<path>` at the blob with a relative symlink, as the
/// Python hub does; copies where symlinks are unavailable.
fn link_into_snapshot(blob: &Path, pointer: &Path, repo_path: &str) -> std::io::Result<()> {
    if let Some(dir) = pointer.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if pointer.symlink_metadata().is_ok() {
        std::fs::remove_file(pointer)?;
    }
    let depth = repo_path.split('/').count() + 1;
    let mut target = PathBuf::new();
    for _ in 0..depth {
        target.push("..");
    }
    target.push("blobs");
    target.push(blob.file_name().unwrap_or_default());
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&target, pointer)
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        std::fs::hard_link(blob, pointer).or_else(|_| std::fs::copy(blob, pointer).map(|_| ()))
    }
}

/// A failed write, with "disk full" called out since model files are large.
pub(crate) fn io_error(err: std::io::Error, path: &Path) -> Error {
    if err.kind() == std::io::ErrorKind::StorageFull {
        return Error::output(format!("the disk is full while writing {}", path.display()))
            .with_hint(
                "free some space (Wan2.2 TI2V-5B needs about 35 GB) or set HF_HOME to a bigger \
                 disk; the partial download is kept and the next pull resumes it",
            );
    }
    Error::output(format!("cannot write {}", path.display()))
        .with_source(err)
        .with_hint("check the folder's permissions, or set HF_HOME to a writable folder")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_start_is_parsed() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes */200"), None);
        assert_eq!(range_start("junk"), None);
    }

    #[test]
    fn unsafe_listed_paths_are_refused() {
        assert!(check_repo_path("vae/config.json").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a\\b",
            "./a",
        ] {
            assert!(check_repo_path(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn paths_are_percent_encoded_per_segment() {
        assert_eq!(encode_path("vae/config.json"), "vae/config.json");
        assert_eq!(encode_path("a b/ü#.txt"), "a%20b/%C3%BC%23.txt");
    }

    #[test]
    fn snapshot_links_are_relative_and_replace_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let blob = layout::blob_path(repo, "abc");
        std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
        std::fs::write(&blob, "data").unwrap();
        let pointer = layout::snapshot_dir(repo, "c0ffee").join("vae/config.json");
        link_into_snapshot(&blob, &pointer, "vae/config.json").unwrap();
        link_into_snapshot(&blob, &pointer, "vae/config.json").unwrap();
        assert_eq!(std::fs::read_to_string(&pointer).unwrap(), "data");
        #[cfg(unix)]
        assert_eq!(
            std::fs::read_link(&pointer).unwrap(),
            Path::new("../../../blobs/abc")
        );
        let entry = cached_entry(&pointer, Some(4)).unwrap();
        assert_eq!(entry.etag, "abc");
        assert!(cached_entry(&pointer, Some(5)).is_none());
    }

    #[test]
    fn a_full_disk_is_called_out_and_keeps_the_partial_file() {
        let err = io_error(
            std::io::Error::from(std::io::ErrorKind::StorageFull),
            Path::new("/c/blobs/x.incomplete"),
        );
        assert!(err.message.contains("disk is full"), "{err}");
        assert!(err.hint.unwrap().contains("resumes"));
        let err = io_error(
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            Path::new("/c"),
        );
        assert!(err.message.starts_with("cannot write /c"), "{err}");
    }

    #[test]
    fn a_damaged_lfs_file_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.incomplete");
        std::fs::write(&file, "hello").unwrap();
        let good = sha256_file(&file).unwrap();
        assert_eq!(
            good,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(verify_sha256(&file, &good, "x").is_ok());
        assert!(is_sha256(&good) && !is_sha256("not-a-sha"));
        let wrong = "0".repeat(64);
        assert!(verify_sha256(&file, &wrong, "x").is_err());
        assert!(!file.exists());
    }
}
