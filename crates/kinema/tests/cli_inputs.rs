//! An input is never overwritten, not even with `--force`, however the output path reaches
//! it: the same path, a symbolic link, a hard link, a folder reached through a link, a
//! frame folder, a sheet's atlas, or another character's output in a batch.

mod common;

use std::path::{Path, PathBuf};

use common::{kinema, s, sample};

/// A copy of a sample in a fresh folder, so tests can link to it and check its bytes.
fn sprite(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(sample("slimeBlue.png"), &path).expect("copy sample");
    path
}

/// Runs kinema with `--force`, expects the input refusal, and checks every input is intact.
fn refused(args: &[&str], inputs: &[&Path]) -> String {
    let before: Vec<Vec<u8>> = inputs
        .iter()
        .map(|p| std::fs::read(p).expect("input"))
        .collect();
    let mut argv = args.to_vec();
    argv.push("--force");
    let o = kinema(&argv);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains("would destroy an input") && err.contains("never overwritten"),
        "{args:?}: {err}"
    );
    for (p, bytes) in inputs.iter().zip(&before) {
        assert_eq!(&std::fs::read(p).expect("input"), bytes, "{}", p.display());
    }
    err
}

fn generate<'a>(image: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "generate", "--image", image, "--prompt", "bounce", "--frames", "2",
    ];
    v.extend_from_slice(rest);
    v
}

#[test]
fn the_image_itself_is_refused_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let bee = sprite(dir.path(), "bee.png");
    let b = s(&bee);
    let e = refused(&generate(&b, &["--out", &b]), &[&bee]);
    assert!(e.contains("is the input image"), "{e}");
    // `./x/../bee.png` is the same file spelt another way.
    let other = s(&dir.path().join("x/../bee.png"));
    std::fs::create_dir(dir.path().join("x")).unwrap();
    refused(&generate(&b, &["--out", &other]), &[&bee]);
    // A sheet at the image's path.
    refused(&generate(&b, &["--sheet", &b]), &[&bee]);
}

#[cfg(unix)]
#[test]
fn links_to_the_image_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bee = sprite(dir.path(), "bee.png");
    let b = s(&bee);
    let soft = dir.path().join("soft.png");
    std::os::unix::fs::symlink(&bee, &soft).unwrap();
    let e = refused(&generate(&b, &["--out", &s(&soft)]), &[&bee]);
    assert!(e.contains("through a link"), "{e}");
    let hard = dir.path().join("hard.png");
    std::fs::hard_link(&bee, &hard).unwrap();
    refused(&generate(&b, &["--out", &s(&hard)]), &[&bee]);
    // The output's folder is a link to the image's folder; the file does not exist as such.
    let linked = dir.path().join("linked");
    std::os::unix::fs::symlink(dir.path(), &linked).unwrap();
    refused(
        &generate(&b, &["--out", &s(&linked.join("bee.png"))]),
        &[&bee],
    );
    assert!(
        soft.is_symlink() && hard.is_file(),
        "links are left alone too"
    );
}

#[test]
fn masks_rigs_and_frame_folders_are_inputs_too() {
    let dir = tempfile::tempdir().unwrap();
    let bee = sprite(dir.path(), "bee.png");
    let b = s(&bee);
    // The mask.
    let mask = dir.path().join("mask.png");
    std::fs::copy(sample("slimeBlue.png"), &mask).unwrap();
    refused(
        &generate(&b, &["--mask", &s(&mask), "--out", &s(&mask)]),
        &[&bee, &mask],
    );
    // The rig: `--sheet hero.rig.png` writes its TexturePacker atlas to hero.rig.json.
    let rig = dir.path().join("hero.rig.json");
    let o = kinema(&["rig", "--image", &b, "--out", &s(&rig)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sheet = s(&dir.path().join("hero.rig.png"));
    let e = refused(
        &generate(&b, &["--rig", &s(&rig), "--sheet", &sheet]),
        &[&bee, &rig],
    );
    assert!(e.contains("the rig file"), "{e}");
    // A frame folder whose frame_0000.png is the image.
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    let first = sprite(&frames, "frame_0000.png");
    let f = s(&first);
    refused(
        &generate(&f, &["--out", &format!("{}/", frames.display())]),
        &[&first],
    );
    // `kinema rig` cannot write its JSON or overlay over the image either.
    refused(&["rig", "--image", &b, "--out", &b], &[&bee]);
    refused(
        &["rig", "--image", &b, "--out", &s(&rig), "--overlay", &b],
        &[&bee, &rig],
    );
}

#[test]
fn a_batch_never_writes_over_any_characters_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("hero")).unwrap();
    // bee's picture sits exactly where hero's idle APNG would be written.
    let bee = sprite(&out.join("hero"), "hero-idle.png");
    let hero = sprite(dir.path(), "hero.png");
    let manifest = dir.path().join("batch.toml");
    std::fs::write(
        &manifest,
        "out_dir = \"out\"\n[defaults]\nformats = [\"apng\"]\nframes = 2\n\
         [[character]]\nname = \"hero\"\nimage = \"hero.png\"\n\
         [[character]]\nname = \"bee\"\nimage = \"out/hero/hero-idle.png\"\n\
         [[action]]\nactions = [\"idle\"]\n",
    )
    .unwrap();
    let e = refused(&["batch", &s(&manifest)], &[&bee, &hero, &manifest]);
    assert!(e.contains("the image of character \"bee\""), "{e}");
    assert!(
        !out.join("index.html").exists(),
        "the batch stopped before writing anything"
    );
    #[cfg(unix)]
    {
        // The same through a hard link: bee's image elsewhere, linked into hero's output.
        std::fs::remove_file(&bee).unwrap();
        let elsewhere = sprite(dir.path(), "bee.png");
        std::fs::hard_link(&elsewhere, &bee).unwrap();
        let text = std::fs::read_to_string(&manifest)
            .unwrap()
            .replace("out/hero/hero-idle.png", "bee.png");
        std::fs::write(&manifest, text).unwrap();
        refused(&["batch", &s(&manifest)], &[&elsewhere, &hero, &manifest]);
    }
}
