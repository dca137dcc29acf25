//! Refusing any output that would replace an input, even with `--force`.
//!
//! `--image bee.png --out bee.png --force` means "make a clip of bee", never "replace my
//! sprite with it". `--force` is about files the user wants replaced; an input is never
//! one of them. Paths are compared after resolving links (canonical paths, also for
//! outputs that do not exist yet, through their folder), and existing files by identity
//! (device and inode on Unix), so `./`, `..`, a symbolic link, a hard link or a folder
//! reached through a link all count as the same file.

use std::path::{Path, PathBuf};

use kinema_core::{Error, Result};

use super::frames::is_frame_file;
use super::{OutputFormat, OutputTarget, CLIP_META_FILE};

/// The files one run reads, to check every output against before anything is written.
#[derive(Clone, Debug, Default)]
pub struct InputFiles {
    files: Vec<Input>,
}

#[derive(Clone, Debug)]
struct Input {
    /// How messages name it, a noun phrase: `the --image file`, `the image of character
    /// "hero"`, `an uploaded image`.
    role: String,
    path: PathBuf,
    canonical: PathBuf,
    id: Option<FileId>,
}

/// What makes two directory entries the same file whatever their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    device: u64,
    inode: u64,
}

impl InputFiles {
    pub fn new() -> Self {
        InputFiles::default()
    }

    /// Records `path` as read by this run; `role` names it in messages as a noun phrase
    /// ("the --image file"). A path that does
    /// not exist is skipped: reading it fails later with its own, more useful error.
    pub fn add(&mut self, role: impl Into<String>, path: &Path) {
        let Ok(canonical) = std::fs::canonicalize(path) else {
            return;
        };
        self.files.push(Input {
            role: role.into(),
            path: path.to_path_buf(),
            canonical,
            id: file_id(path),
        });
    }

    /// [`InputFiles::add`] for chaining.
    pub fn with(mut self, role: impl Into<String>, path: &Path) -> Self {
        self.add(role, path);
        self
    }

    /// Refuses a clip target that is, or (for a frame folder) would replace, an input.
    pub fn check_target(&self, target: &OutputTarget) -> Result<()> {
        match target.format {
            OutputFormat::Frames => self.check_frames(&target.path),
            _ => self.check_file(&target.path),
        }
    }

    /// Refuses `output`, a file the run would create or replace, when it is an input.
    pub fn check_file(&self, output: &Path) -> Result<()> {
        let canonical = resolved(output);
        let id = file_id(output);
        match self
            .files
            .iter()
            .find(|i| i.canonical == canonical || (id.is_some() && i.id == id))
        {
            Some(input) => Err(refusal(output, input)),
            None => Ok(()),
        }
    }

    /// Refuses a frame folder that holds an input under a name the frame writer replaces
    /// (`frame_0000.png`, …, `clip.json`); other files in the folder are left alone.
    pub fn check_frames(&self, dir: &Path) -> Result<()> {
        let dir: PathBuf = dir.components().collect();
        let folder = resolved(&dir);
        let replaced = |name: &str| is_frame_file(name) || name == CLIP_META_FILE;
        for input in &self.files {
            let inside = input.canonical.parent() == Some(folder.as_path());
            let name = input.canonical.file_name().map(|n| n.to_string_lossy());
            if inside && name.is_some_and(|n| replaced(&n)) {
                return Err(refusal(&input_in(&dir, &input.canonical), input));
            }
        }
        // A hard link to an input, under a frame name in that folder.
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if !replaced(&entry.file_name().to_string_lossy()) {
                continue;
            }
            let id = file_id(&entry.path());
            if let Some(input) = self.files.iter().find(|i| id.is_some() && i.id == id) {
                return Err(refusal(&entry.path(), input));
            }
        }
        Ok(())
    }
}

fn input_in(dir: &Path, canonical: &Path) -> PathBuf {
    canonical
        .file_name()
        .map_or_else(|| dir.to_path_buf(), |n| dir.join(n))
}

fn refusal(output: &Path, input: &Input) -> Error {
    let through = if output.components().eq(input.path.components()) {
        String::new()
    } else {
        format!(
            " {} (the same file, reached through a link or another spelling)",
            input.path.display()
        )
    };
    Error::invalid(
        format!(
            "{} is {}{through}; writing it would destroy an input",
            output.display(),
            input.role
        ),
        "choose another output path; an input is never overwritten, even with --force",
    )
}

/// The canonical path `path` has or would have: for a path that does not exist yet, the
/// canonical folder it would be created in, joined with its name.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(path) {
        return c;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            resolved(parent).join(name)
        }
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileId {
        device: m.dev(),
        inode: m.ino(),
    })
}

/// Elsewhere canonical paths alone decide (they already resolve symbolic links).
#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<FileId> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf, InputFiles) {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("bee.png");
        std::fs::write(&image, b"sprite").expect("seed");
        let inputs = InputFiles::new().with("the --image file", &image);
        (dir, image, inputs)
    }

    fn refused(result: Result<()>) -> String {
        let e = result.expect_err("must be refused");
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("--force")),
            "{e}"
        );
        e.to_string()
    }

    #[test]
    fn the_same_path_however_spelt_is_refused() {
        let (dir, image, inputs) = setup();
        let e = refused(inputs.check_file(&image));
        assert!(e.contains("is the --image file;"), "{e}");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        refused(inputs.check_file(&dir.path().join("./sub/../bee.png")));
        inputs
            .check_file(&dir.path().join("bee.gif"))
            .expect("another file is fine");
        inputs
            .check_file(&dir.path().join("new/bee.png"))
            .expect("a file in a folder that does not exist yet is fine");
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_and_hard_links_are_the_same_file() {
        let (dir, image, inputs) = setup();
        let soft = dir.path().join("soft.png");
        std::os::unix::fs::symlink(&image, &soft).expect("symlink");
        let e = refused(inputs.check_file(&soft));
        assert!(e.contains("through a link"), "{e}");
        let hard = dir.path().join("hard.png");
        std::fs::hard_link(&image, &hard).expect("hard link");
        refused(inputs.check_file(&hard));
        // A folder reached through a link: `linked/bee.png` is `bee.png`.
        let linked = dir.path().join("linked");
        std::os::unix::fs::symlink(dir.path(), &linked).expect("dir symlink");
        refused(inputs.check_file(&linked.join("bee.png")));
        inputs
            .check_file(&linked.join("other.png"))
            .expect("a new file through the linked folder is fine");
    }

    #[test]
    fn frame_folders_that_would_replace_an_input_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let frames = dir.path().join("frames");
        std::fs::create_dir(&frames).expect("mkdir");
        let first = frames.join("frame_0000.png");
        std::fs::write(&first, b"x").expect("seed");
        let notes = frames.join("notes.png");
        std::fs::write(&notes, b"x").expect("seed");
        let target = |p: &Path| OutputTarget {
            path: p.to_path_buf(),
            format: OutputFormat::Frames,
        };
        let by_frame = InputFiles::new().with("the --image file", &first);
        refused(by_frame.check_target(&target(&dir.path().join("frames/"))));
        let by_other = InputFiles::new().with("the --image file", &notes);
        by_other
            .check_target(&target(&frames))
            .expect("the frame writer leaves notes.png alone");
        #[cfg(unix)]
        {
            let outside = dir.path().join("hero.png");
            std::fs::write(&outside, b"x").expect("seed");
            std::fs::remove_file(&first).expect("rm");
            std::fs::hard_link(&outside, &first).expect("hard link");
            let inputs = InputFiles::new().with("the --image file", &outside);
            refused(inputs.check_target(&target(&frames)));
        }
    }

    #[test]
    fn missing_inputs_are_left_to_the_loader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.png");
        let inputs = InputFiles::new().with("the --image file", &missing);
        inputs.check_file(&missing).expect("nothing to protect");
    }
}
