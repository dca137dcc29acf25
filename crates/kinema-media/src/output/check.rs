//! Checking every output before any rendering, so a typo or an existing file costs the
//! user nothing rather than a render followed by an error.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};

use super::atomic::{exists_error, missing_dir_error, parent_dir, temp_file_in};
use super::frames::has_frame_files;
use super::{OutputFormat, OutputTarget};

/// Refuses duplicate targets, existing outputs (unless `force`), missing or unwritable
/// directories. Probes writability by creating and removing a temporary file.
pub fn check_targets(targets: &[OutputTarget], force: bool) -> Result<()> {
    let mut seen = HashSet::new();
    for t in targets {
        if !seen.insert(normalise(&t.path)) {
            return Err(Error::invalid(
                format!("{} is given as an output more than once", t.path.display()),
                "give each output a different path",
            ));
        }
        check_one(t, force)?;
    }
    Ok(())
}

fn check_one(t: &OutputTarget, force: bool) -> Result<()> {
    let path = &t.path;
    if t.format == OutputFormat::Frames {
        if path.exists() && !path.is_dir() {
            return Err(
                Error::output(format!("{} exists and is not a directory", path.display()))
                    .with_hint("choose another folder for the PNG frames"),
            );
        }
        if path.is_dir() {
            if has_frame_files(path)? && !force {
                return Err(Error::output(format!(
                    "{} already holds frame_*.png files",
                    path.display()
                ))
                .with_hint("pass --force to replace them, or choose another folder"));
            }
            drop(temp_file_in(path)?);
        }
        let parent = parent_dir(&trimmed(path));
        if !parent.is_dir() {
            return Err(missing_dir_error(&parent));
        }
        drop(temp_file_in(&parent)?);
        return Ok(());
    }
    if path.is_dir() {
        return Err(Error::output(format!("{} is a directory", path.display()))
            .with_hint("give a file name, or end the path with / to write PNG frames into it"));
    }
    if path.exists() && !force {
        return Err(exists_error(path));
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(missing_dir_error(&dir));
    }
    drop(temp_file_in(&dir)?);
    Ok(())
}

/// `out/frames/` and `out/frames` are the same folder.
fn trimmed(path: &Path) -> PathBuf {
    path.components().collect()
}

fn normalise(path: &Path) -> PathBuf {
    let p = trimmed(path);
    std::path::absolute(&p).unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinema_core::ErrorKind;

    fn t(path: PathBuf, format: OutputFormat) -> OutputTarget {
        OutputTarget { path, format }
    }

    #[test]
    fn fresh_targets_pass_and_leave_no_probe_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let targets = [
            t(dir.path().join("a.mp4"), OutputFormat::Mp4),
            t(dir.path().join("a.gif"), OutputFormat::Gif),
            t(dir.path().join("frames/"), OutputFormat::Frames),
        ];
        check_targets(&targets, false).expect("all fine");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    #[test]
    fn existing_outputs_need_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.png");
        std::fs::write(&file, b"x").expect("seed");
        let e = check_targets(&[t(file.clone(), OutputFormat::Apng)], false).expect_err("exists");
        assert_eq!(e.kind, ErrorKind::Output);
        assert!(e.hint.as_deref().is_some_and(|h| h.contains("--force")));
        check_targets(&[t(file, OutputFormat::Apng)], true).expect("forced");

        let frames = dir.path().join("frames");
        std::fs::create_dir(&frames).expect("mkdir");
        std::fs::write(frames.join("notes.txt"), b"x").expect("seed");
        check_targets(&[t(frames.clone(), OutputFormat::Frames)], false).expect("no frames yet");
        std::fs::write(frames.join("frame_0000.png"), b"x").expect("seed");
        assert!(check_targets(&[t(frames.clone(), OutputFormat::Frames)], false).is_err());
        check_targets(&[t(frames, OutputFormat::Frames)], true).expect("forced");
    }

    #[test]
    fn duplicates_missing_dirs_and_directories_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.gif");
        let dup = [
            t(a.clone(), OutputFormat::Gif),
            t(dir.path().join("./a.gif"), OutputFormat::Gif),
        ];
        assert!(check_targets(&dup, false)
            .expect_err("dup")
            .message
            .contains("more than once"));
        let e = check_targets(&[t(dir.path().join("no/a.gif"), OutputFormat::Gif)], false)
            .expect_err("missing");
        assert!(e.message.contains("does not exist"), "{e}");
        let e = check_targets(&[t(dir.path().to_path_buf(), OutputFormat::Mp4)], true)
            .expect_err("dir");
        assert!(e.message.contains("is a directory"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_directories_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).expect("mkdir");
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        // Root ignores permissions; only assert when the probe can tell.
        let can_write = std::fs::write(ro.join("probe"), b"").is_ok();
        let result = check_targets(&[t(ro.join("a.gif"), OutputFormat::Gif)], false);
        assert_eq!(result.is_ok(), can_write, "{result:?}");
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
    }
}
