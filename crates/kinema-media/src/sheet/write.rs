//! Putting a sheet and its atlases on disk, each file atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use kinema_core::{Error, Frame, Result};

use super::{
    aseprite_json, godot_sprite_frames, layout_sheet, render_sheet, texturepacker_json, unity_meta,
    Animation, AtlasFormat, SheetOptions,
};

/// Where the atlas of `format` goes for a sheet at `png_path` (`hero.png` gives
/// `hero.json`, `hero.aseprite.json`, `hero.tres`, `hero.png.meta`).
pub fn atlas_path(png_path: &Path, format: AtlasFormat) -> PathBuf {
    match format {
        AtlasFormat::TexturePacker => png_path.with_extension("json"),
        AtlasFormat::Aseprite => png_path.with_extension("aseprite.json"),
        AtlasFormat::Godot => png_path.with_extension("tres"),
        AtlasFormat::Unity => {
            let mut name = png_path.as_os_str().to_owned();
            name.push(".meta");
            PathBuf::from(name)
        }
    }
}

/// Packs `animations` into `png_path` and writes one atlas per `opts.atlases` entry
/// beside it; returns every file written, the PNG first.
///
/// Nothing is written unless everything could be produced, each file appears whole or
/// not at all (temp file + rename in the same directory), and existing files are left
/// alone unless `force`.
pub fn write_sheet(
    png_path: &Path,
    animations: &[Animation],
    opts: &SheetOptions,
    force: bool,
) -> Result<Vec<PathBuf>> {
    check_sheet_targets(png_path, opts, force)?;
    let (image_file, paths) = sheet_files(png_path, opts)?;
    let image_file = image_file.as_str();
    let mut files: Vec<(PathBuf, Vec<u8>)> = paths.into_iter().map(|p| (p, Vec::new())).collect();
    let formats = unique_formats(opts);

    let layout = layout_sheet(animations, opts)?;
    let sheet = render_sheet(animations, &layout)?;
    files[0].1 = encode_png(&sheet)?;
    for (slot, &f) in files[1..].iter_mut().zip(&formats) {
        let text = match f {
            AtlasFormat::TexturePacker => texturepacker_json(&layout, image_file)?,
            AtlasFormat::Aseprite => aseprite_json(&layout, image_file)?,
            AtlasFormat::Godot => godot_sprite_frames(&layout, image_file)?,
            AtlasFormat::Unity => unity_meta(&layout, image_file)?,
        };
        slot.1 = text.into_bytes();
    }
    for (path, bytes) in &files {
        write_atomically(path, bytes, force)?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// Every file [`write_sheet`] writes for `png_path`: the PNG first, then its atlases.
pub fn sheet_paths(png_path: &Path, opts: &SheetOptions) -> Result<Vec<PathBuf>> {
    Ok(sheet_files(png_path, opts)?.1)
}

/// The atlas formats asked for, each once, in the order given.
fn unique_formats(opts: &SheetOptions) -> Vec<AtlasFormat> {
    let mut formats: Vec<AtlasFormat> = Vec::new();
    for f in &opts.atlases {
        if !formats.contains(f) {
            formats.push(*f);
        }
    }
    formats
}

/// The sheet's image file name and every path it would write (PNG first), after checking
/// the sheet path itself.
fn sheet_files(png_path: &Path, opts: &SheetOptions) -> Result<(String, Vec<PathBuf>)> {
    let is_png = png_path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        return Err(Error::output(format!(
            "sprite sheet path `{}` does not end in .png",
            png_path.display()
        ))
        .with_hint("name the sheet like `hero.png`; the atlases are written beside it"));
    }
    let image_file = png_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            Error::output(format!(
                "sprite sheet path `{}` has no UTF-8 file name",
                png_path.display()
            ))
            .with_hint("atlases refer to the PNG by name; use a plain file name such as `hero.png`")
        })?;
    let mut files = vec![png_path.to_path_buf()];
    files.extend(
        unique_formats(opts)
            .into_iter()
            .map(|f| atlas_path(png_path, f)),
    );
    Ok((image_file.to_string(), files))
}

/// Checks, before anything is rendered, that a sheet and its atlases could be written:
/// a `.png` path in an existing folder, and no existing file unless `force`.
pub fn check_sheet_targets(png_path: &Path, opts: &SheetOptions, force: bool) -> Result<()> {
    let (_, files) = sheet_files(png_path, opts)?;
    let dir = crate::output::atomic::parent_dir(png_path);
    if !dir.is_dir() {
        return Err(crate::output::atomic::missing_dir_error(&dir));
    }
    if !force {
        if let Some(existing) = files.iter().find(|p| p.exists()) {
            return Err(crate::output::atomic::exists_error(existing));
        }
    }
    Ok(())
}

/// Encodes an RGBA frame as an 8-bit RGBA PNG in memory.
pub(crate) fn encode_png(frame: &Frame) -> Result<Vec<u8>> {
    let fail = |e: png::EncodingError| {
        Error::internal("could not encode the sprite sheet PNG").with_source(e)
    };
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, frame.width, frame.height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().map_err(fail)?;
    writer.write_image_data(&frame.rgba).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

/// Writes `bytes` with the same all-or-nothing, no-clobber rules as every other output.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    crate::output::atomic::write_file(path, force, |w| {
        w.write_all(bytes)
            .map_err(|e| crate::output::atomic::write_error(path, e))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlas_paths_sit_beside_the_png() {
        let p = Path::new("out/hero.png");
        assert_eq!(
            atlas_path(p, AtlasFormat::TexturePacker),
            Path::new("out/hero.json")
        );
        assert_eq!(
            atlas_path(p, AtlasFormat::Aseprite),
            Path::new("out/hero.aseprite.json")
        );
        assert_eq!(
            atlas_path(p, AtlasFormat::Godot),
            Path::new("out/hero.tres")
        );
        assert_eq!(
            atlas_path(p, AtlasFormat::Unity),
            Path::new("out/hero.png.meta")
        );
    }

    #[test]
    fn atomic_write_refuses_to_clobber_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomically(&p, b"one", false).unwrap();
        let e = write_atomically(&p, b"two", false).unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_atomically(&p, b"two", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp files left behind");
    }

    #[test]
    fn unwritable_places_give_output_errors() {
        let e =
            write_atomically(Path::new("/nonexistent-dir-kinema/x.png"), b"x", true).unwrap_err();
        assert_eq!(e.kind, kinema_core::ErrorKind::Output);
        assert!(e.hint.is_some());
    }
}
