//! A job's content hash: if it matches the one recorded when the job last succeeded, the
//! outputs on disk are what this run would write, and the job can be skipped.
//!
//! It covers the bytes of every input file (not their times: a `touch` or a checkout
//! should not redo work) including the manifest's motion files, every setting that
//! reaches the encoders, the output paths, and the Kinema version (a new engine may draw
//! differently).

use std::path::Path;

use kinema_core::{Background, Error, Result};
use kinema_rig::MotionLibrary;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::manifest::CharacterEntry;
use super::plan::{JobWhat, PlannedJob};

/// Bumped when the hash's contents change shape, so old state never matches by accident.
const SCHEME: &str = "kinema-batch-fingerprint/1";

/// The job's fingerprint as lowercase hex SHA-256; `motions` is the batch's motion
/// library when the manifest names a `motions` folder.
pub fn fingerprint(
    job: &PlannedJob,
    character: &CharacterEntry,
    out_dir: &Path,
    motions: Option<&MotionLibrary>,
) -> Result<String> {
    let mut h = Sha256::new();
    h.update(SCHEME.as_bytes());
    add(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
    add(
        &mut h,
        &read_input(&character.image, "character image", "image")?,
    );
    for (path, what, key) in [
        (&character.mask, "mask", "mask"),
        (&character.rig, "rig file", "rig"),
    ] {
        match path {
            Some(p) => add(&mut h, &read_input(p, what, key)?),
            None => add(&mut h, b"-"),
        }
    }
    // Only present boxes are hashed, so manifests without one keep their fingerprints.
    if let Some(b) = &character.subject_box {
        add(&mut h, format!("box:{b}").as_bytes());
    }
    add(&mut h, settings_json(job, out_dir).to_string().as_bytes());
    // Only when a folder is named, so batches without one keep their fingerprints.
    if let Some(library) = motions {
        for (path, text) in library.user_files() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            add(&mut h, name.as_bytes());
            add(&mut h, text.as_bytes());
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Length-prefixed, so no two different field sequences hash the same bytes.
fn add(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn read_input(path: &Path, what: &str, key: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::image(format!("cannot read the {what} {}", path.display()))
            .with_source(e)
            .with_hint(format!(
                "fix the `{key}` path in the manifest (paths are relative to the manifest file)"
            ))
    })
}

/// Everything about the job except input bytes, in a fixed order.
fn settings_json(job: &PlannedJob, out_dir: &Path) -> serde_json::Value {
    let rel = |p: &Path| {
        p.strip_prefix(out_dir)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let s = &job.settings;
    let what = match &job.what {
        JobWhat::Actions(list) => json!({ "actions": list }),
        JobWhat::Prompt { name, text } => json!({ "prompt": text, "name": name }),
    };
    let background = match s.background {
        Background::Transparent => "transparent".to_string(),
        Background::Solid([r, g, b]) => format!("#{r:02x}{g:02x}{b:02x}"),
    };
    json!({
        "engine": s.engine,
        "model": s.model,
        "quality": s.quality,
        "what": what,
        "spec": job.spec,
        "formats": s.formats,
        "size": s.size,
        "scale": s.scale,
        "background": background,
        "sheet": job.sheet.as_deref().map(rel),
        "atlas": s.atlas.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        "trim": s.trim,
        "columns": s.columns,
        "padding": s.padding,
        "extrude": s.extrude,
        "pot": s.pot,
        "outs": job.outs.iter().map(|p| rel(p)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::manifest::Manifest;
    use super::super::plan::plan;
    use super::*;

    fn fixture(dir: &Path, body: &str) -> (Manifest, Vec<PlannedJob>) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("a.png"), b"image bytes").unwrap();
        let m = Manifest::parse(&dir.join("m.toml"), body).unwrap();
        let jobs = plan(&m);
        (m, jobs)
    }

    #[test]
    fn hash_follows_settings_and_image_bytes_only() {
        let dir = std::env::temp_dir().join(format!("kinema-fp-{}", std::process::id()));
        let base =
            "[[character]]\nname = \"a\"\nimage = \"a.png\"\n[[action]]\nactions = [\"idle\"]\n";
        let (m, jobs) = fixture(&dir, base);
        let first = fingerprint(&jobs[0], &m.characters[0], &m.out_dir, None).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(
            first,
            fingerprint(&jobs[0], &m.characters[0], &m.out_dir, None).unwrap()
        );

        let (m2, jobs2) = fixture(
            &dir,
            &base.replace("name = \"a\"\n", "name = \"a\"\nfps = 13\n"),
        );
        assert_ne!(
            first,
            fingerprint(&jobs2[0], &m2.characters[0], &m2.out_dir, None).unwrap()
        );

        // A motion folder's files are inputs too.
        let prowl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/motions");
        let library = MotionLibrary::load(&prowl).unwrap();
        let with_motions =
            fingerprint(&jobs[0], &m.characters[0], &m.out_dir, Some(&library)).unwrap();
        assert_ne!(first, with_motions);
        let text = library.user_files()[0]
            .1
            .replace("seconds = 1.6", "seconds = 1.5");
        let edited = MotionLibrary::builtin()
            .with_files(vec![(library.user_files()[0].0.clone(), text)])
            .unwrap();
        assert_ne!(
            with_motions,
            fingerprint(&jobs[0], &m.characters[0], &m.out_dir, Some(&edited)).unwrap()
        );

        std::fs::write(dir.join("a.png"), b"other bytes").unwrap();
        assert_ne!(
            first,
            fingerprint(&jobs[0], &m.characters[0], &m.out_dir, None).unwrap()
        );

        std::fs::remove_file(dir.join("a.png")).unwrap();
        let e = fingerprint(&jobs[0], &m.characters[0], &m.out_dir, None).unwrap_err();
        assert!(
            e.to_string().contains("cannot read the character image"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
