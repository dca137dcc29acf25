//! All-or-nothing file creation: encode into a temporary file beside the target, then
//! rename it into place, so a failed encode or a crash never leaves a half-written clip.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};

/// What encoders write into: buffered, seekable (MP4 needs to patch sizes).
pub type Sink<'a> = BufWriter<&'a mut File>;

/// The directory a file target lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub fn exists_error(path: &Path) -> Error {
    Error::output(format!("{} already exists", path.display()))
        .with_hint("pass --force to overwrite it, or choose another path")
}

/// Why the folder `dir` cannot hold an output: it does not exist (then `mkdir -p` helps),
/// or it, or a folder above it, is a file (then no `mkdir` can help).
pub fn missing_dir_error(dir: &Path) -> Error {
    let blocking_file = dir
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists())
        .filter(|a| !a.is_dir());
    if let Some(file) = blocking_file {
        return Error::output(format!(
            "{} is a file, not a folder, so nothing can be written inside it",
            file.display()
        ))
        .with_hint(format!(
            "check the output path: did you mean a name next to {} rather than below it?",
            file.display()
        ));
    }
    Error::output(format!("the directory {} does not exist", dir.display()))
        .with_hint(format!("create it first (mkdir -p {})", dir.display()))
}

/// A temporary file in `dir` with ordinary permissions (temp files default to owner-only).
pub fn temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".kinema-").suffix(".part");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(dir).map_err(|e| {
        Error::output(format!("cannot write in {}", dir.display()))
            .with_hint(
                "check the directory's permissions and free space, or choose another output path",
            )
            .with_source(e)
    })
}

/// Runs `encode` into a temporary file and renames it to `path`; returns the size written.
pub fn write_file(
    path: &Path,
    force: bool,
    encode: impl FnOnce(&mut Sink<'_>) -> Result<()>,
) -> Result<u64> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(missing_dir_error(&dir));
    }
    if path.is_dir() {
        return Err(Error::output(format!("{} is a directory", path.display()))
            .with_hint("give a file name, or end the path with / to write PNG frames into it"));
    }
    if path.exists() && !force {
        return Err(exists_error(path));
    }
    let mut tmp = temp_file_in(&dir)?;
    {
        let mut sink = BufWriter::new(tmp.as_file_mut());
        encode(&mut sink)?;
        sink.flush().map_err(|e| write_error(path, e))?;
    }
    // On disk before the rename, so a crash cannot leave an empty file under the final name.
    tmp.as_file().sync_all().map_err(|e| write_error(path, e))?;
    let bytes = tmp
        .as_file()
        .metadata()
        .map_err(|e| write_error(path, e))?
        .len();
    let persisted = if force {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            exists_error(path)
        } else {
            write_error(path, e.error)
        }
    })?;
    Ok(bytes)
}

pub fn write_error(path: &Path, e: std::io::Error) -> Error {
    Error::output(format!("cannot write {}", path.display()))
        .with_hint("check free disk space and permissions")
        .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_encode_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("clip.gif");
        let e = write_file(&path, false, |w| {
            w.write_all(b"half a clip")
                .map_err(|e| write_error(&path, e))?;
            Err(Error::internal("encoder gave up"))
        })
        .expect_err("fails");
        assert_eq!(e.message, "encoder gave up");
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("list").count(),
            0,
            "no temp or partial file"
        );
    }

    #[test]
    fn existing_files_need_force_and_missing_dirs_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.png");
        std::fs::write(&path, b"old").expect("seed");
        let ok = |w: &mut Sink<'_>| {
            w.write_all(b"new")
                .map_err(|e| Error::internal(e.to_string()))
        };
        assert!(write_file(&path, false, ok)
            .expect_err("exists")
            .message
            .contains("already exists"));
        assert_eq!(write_file(&path, true, ok).expect("forced"), 3);
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        let e = write_file(&dir.path().join("nope/a.png"), false, ok).expect_err("no dir");
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("mkdir")),
            "{e}"
        );
        // `a.png/x.gif` and `a.png/sub/x.gif`, where a.png is a file: no mkdir can help.
        for below in ["x.gif", "sub/x.gif"] {
            let e = write_file(&path.join(below), false, ok).expect_err("below a file");
            assert!(e.message.contains("a.png is a file, not a folder"), "{e}");
            assert!(!e.to_string().contains("mkdir"), "{e}");
        }
    }
}
