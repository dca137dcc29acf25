//! Writing clips: where (targets and their checks), how big (prepare), and in which format.

mod apng;
pub(crate) mod atomic;
mod check;
mod frames;
mod gif;
mod h264;
mod inputs;
mod mp4;
mod prepare;

use std::path::{Path, PathBuf};

use kinema_core::{Background, Clip, Error, Result};

pub use check::check_targets;
pub use frames::{frame_file_name, frame_number, is_frame_file, CLIP_META_FILE};
pub(crate) use h264::parse_repeat_marker;
pub use inputs::InputFiles;
pub use mp4::{playback_rate, STANDARD_RATES};
pub use prepare::prepare_for;

/// The container a clip is written as, chosen from the output path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Mp4,
    Gif,
    /// Animated PNG (`.png`): full alpha, what engines and browsers import losslessly.
    Apng,
    /// Animated WebP: full alpha, lossless, far smaller than APNG.
    Webp,
    /// A directory of `frame_0000.png`, … for engines that import image sequences.
    Frames,
}

impl OutputFormat {
    /// Short lowercase name for messages and JSON reports.
    pub fn name(&self) -> &'static str {
        match self {
            OutputFormat::Mp4 => "mp4",
            OutputFormat::Gif => "gif",
            OutputFormat::Apng => "apng",
            OutputFormat::Webp => "webp",
            OutputFormat::Frames => "frames",
        }
    }

    /// Whether the format stores transparency (MP4 does not, so it gets a background).
    pub fn has_alpha(&self) -> bool {
        !matches!(self, OutputFormat::Mp4)
    }
}

/// One file or directory to write, with its format already decided.
#[derive(Clone, Debug)]
pub struct OutputTarget {
    pub path: PathBuf,
    pub format: OutputFormat,
}

/// How clips are sized and flattened on the way out.
#[derive(Clone, Debug, Default)]
pub struct EncodeOptions {
    pub background: Background,
    /// Integer upscale (nearest-neighbour for pixel art); `None` is 1, for every format.
    pub scale: Option<u32>,
    /// Final frame size; the clip is fitted inside, letterboxed with transparency.
    pub size: Option<(u32, u32)>,
    /// Overwrite existing outputs.
    pub force: bool,
}

/// What was written, for the user's report and `--json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Written {
    pub path: PathBuf,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    pub bytes: u64,
}

/// Every clip format, as `--help` and errors list it.
pub const OUTPUT_FORMATS: &str =
    ".mp4, .gif, .png (animated PNG), .webp, or a path ending in / for a folder of PNG frames";
const ACCEPTED: &str = OUTPUT_FORMATS;

/// Picks the format from the path: the extension, or a trailing `/` / existing directory
/// for a frame folder.
pub fn parse_output(path: &Path) -> Result<OutputTarget> {
    let text = path.as_os_str().to_string_lossy();
    if text.is_empty() {
        return Err(Error::output("the output path is empty")
            .with_hint(format!("give a path ending in {ACCEPTED}")));
    }
    if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) || path.is_dir() {
        return Ok(OutputTarget {
            path: path.to_path_buf(),
            format: OutputFormat::Frames,
        });
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let format = match ext.as_deref() {
        Some("mp4") => OutputFormat::Mp4,
        Some("gif") => OutputFormat::Gif,
        Some("png") | Some("apng") => OutputFormat::Apng,
        Some("webp") => OutputFormat::Webp,
        Some(other) => {
            return Err(Error::output(format!(
                "{}: `.{other}` is not an output format Kinema writes",
                path.display()
            ))
            .with_hint(format!("use {ACCEPTED}")))
        }
        None => {
            return Err(
                Error::output(format!("{}: the output has no extension", path.display()))
                    .with_hint(format!("use {ACCEPTED}")),
            )
        }
    };
    Ok(OutputTarget {
        path: path.to_path_buf(),
        format,
    })
}

/// Sizes, flattens and encodes `clip` into `target`, atomically: a failed or interrupted
/// write leaves no partial file behind.
pub fn write_clip(clip: &Clip, target: &OutputTarget, opts: &EncodeOptions) -> Result<Written> {
    if clip.is_empty() {
        return Err(Error::internal(format!(
            "refusing to write an empty clip to {}",
            target.path.display()
        )));
    }
    let prepared = prepare_for(clip, target.format, opts)?;
    let bytes = match target.format {
        OutputFormat::Mp4 => {
            atomic::write_file(&target.path, opts.force, |w| mp4::encode(&prepared, w))?
        }
        OutputFormat::Gif => {
            atomic::write_file(&target.path, opts.force, |w| gif::encode(&prepared, w))?
        }
        OutputFormat::Apng => {
            atomic::write_file(&target.path, opts.force, |w| apng::encode(&prepared, w))?
        }
        OutputFormat::Webp => {
            let bytes = crate::webp::encode_webp(&prepared, &crate::webp::WebpOptions::default())?;
            atomic::write_file(&target.path, opts.force, |w| {
                use std::io::Write;
                w.write_all(&bytes)
                    .map_err(|e| atomic::write_error(&target.path, e))
            })?
        }
        OutputFormat::Frames => frames::write(&prepared, &target.path, opts.force)?,
    };
    Ok(Written {
        path: target.path.clone(),
        format: target.format,
        width: prepared.width(),
        height: prepared.height(),
        frames: prepared.len(),
        bytes,
    })
}

/// Writes a small text file (a rig, a report) with the same no-partial-file and
/// no-overwrite-without-force guarantees as clips.
pub fn write_text(path: &Path, text: &str, force: bool) -> Result<()> {
    atomic::write_file(path, force, |w| {
        use std::io::Write;
        w.write_all(text.as_bytes())
            .map_err(|e| Error::output(format!("cannot write {}", path.display())).with_source(e))
    })?;
    Ok(())
}

/// Writes one still as an 8-bit RGBA PNG (a texture page, an overlay), with the same
/// guarantees as [`write_text`].
pub fn write_png(path: &Path, frame: &kinema_core::Frame, force: bool) -> Result<()> {
    let bytes = crate::sheet::encode_png(frame)?;
    crate::sheet::write_atomically(path, &bytes, force)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinema_core::ErrorKind;

    #[test]
    fn formats_come_from_extensions_and_slashes() {
        let f = |p: &str| parse_output(Path::new(p)).map(|t| t.format);
        assert_eq!(f("out/hero.mp4").expect("mp4"), OutputFormat::Mp4);
        assert_eq!(f("HERO.GIF").expect("gif"), OutputFormat::Gif);
        assert_eq!(f("a/b.png").expect("png"), OutputFormat::Apng);
        assert_eq!(f("frames/").expect("dir"), OutputFormat::Frames);
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            parse_output(dir.path()).expect("existing dir").format,
            OutputFormat::Frames
        );
    }

    #[test]
    fn unknown_extensions_list_the_accepted_ones() {
        let e = parse_output(Path::new("clip.avi")).expect_err("avi");
        assert_eq!(e.kind, ErrorKind::Output);
        assert!(
            e.hint
                .as_deref()
                .is_some_and(|h| h.contains(".mp4") && h.contains(".gif")),
            "{e}"
        );
        assert_eq!(
            parse_output(Path::new("clip.webp")).expect("webp").format,
            OutputFormat::Webp
        );
        assert!(parse_output(Path::new("noext")).is_err());
        assert!(parse_output(Path::new("")).is_err());
    }

    #[test]
    fn text_is_written_atomically_and_respects_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("rig.json");
        write_text(&p, "{}", false).expect("first write");
        let e = write_text(&p, "{\"a\":1}", false).expect_err("exists");
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("--force")),
            "{e}"
        );
        write_text(&p, "{\"a\":1}", true).expect("forced");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "{\"a\":1}");
    }
}
