//! Batch runs end to end on the shipped sample sprites: resume, selective redo, isolated
//! failures, protection of files the batch did not write, manifest errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use kinema_jobs::batch::{run_batch, BatchOptions, BatchSummary, JobStatus, Manifest};

fn sample(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name);
    p.display().to_string()
}

fn manifest(dir: &Path, body: &str) -> Manifest {
    let path = dir.join("manifest.toml");
    std::fs::write(&path, body).unwrap();
    Manifest::load(&path).unwrap_or_else(|e| panic!("manifest rejected: {e}"))
}

fn run(m: &Manifest, force: bool) -> BatchSummary {
    run_batch(m, &BatchOptions { force, jobs: 2 }, &|_| {})
        .unwrap_or_else(|e| panic!("batch failed as a whole: {e}"))
}

fn statuses(s: &BatchSummary) -> BTreeMap<String, JobStatus> {
    s.jobs.iter().map(|j| (j.id.clone(), j.status)).collect()
}

/// Modification times of every file under `dir`, to prove a skipped run touched nothing.
fn mtimes(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.ends_with("index.html") && !p.ends_with(".kinema-batch.json") {
                out.insert(p.clone(), e.metadata().unwrap().modified().unwrap());
            }
        }
    }
    out
}

fn two_characters(slime_extra: &str) -> String {
    format!(
        "out_dir = \"out\"\n[defaults]\nfps = 8\nframes = 6\nformats = [\"gif\", \"frames\"]\nsheet = true\n\
         [[character]]\nname = \"hero\"\nimage = {:?}\n\
         [[character]]\nname = \"slime\"\nimage = {:?}\n{slime_extra}\
         [[action]]\nactions = [\"idle\", \"jump\"]\n\
         [[action]]\nname = \"greet\"\nprompt = \"waves hello\"\ncharacters = [\"hero\"]\n",
        sample("femaleAdventurer_idle.png"),
        sample("slimeBlue.png"),
    )
}

#[test]
fn second_run_skips_everything_and_a_change_redoes_only_its_job() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), &two_characters(""));
    let out = tmp.path().join("out");

    let first = run(&m, false);
    assert_eq!(
        (first.done, first.skipped, first.failed),
        (3, 0, 0),
        "{}",
        first.to_text()
    );
    for f in [
        "hero/hero-idle.gif",
        "hero/hero-jump.gif",
        "hero/hero-greet.gif",
        "hero/hero-sheet.png",
        "slime/slime-idle.gif",
        "index.html",
        ".kinema-batch.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert!(
        std::fs::read_dir(out.join("hero/frames/idle"))
            .unwrap()
            .count()
            >= 6,
        "frames folder incomplete"
    );
    let before = mtimes(&out);

    let second = run(&m, false);
    assert_eq!(
        (second.done, second.skipped, second.failed),
        (0, 3, 0),
        "{}",
        second.to_text()
    );
    assert_eq!(
        mtimes(&out),
        before,
        "a fully skipped run must not rewrite any output"
    );

    let m = manifest(tmp.path(), &two_characters("fps = 10\n"));
    let third = run(&m, false);
    let s = statuses(&third);
    assert_eq!(s["slime/*"], JobStatus::Done, "{}", third.to_text());
    assert_eq!(s["hero/*"], JobStatus::Skipped);
    assert_eq!(s["hero/greet"], JobStatus::Skipped);

    std::fs::remove_file(out.join("hero/hero-greet.gif")).unwrap();
    let fourth = run(&m, false);
    let s = statuses(&fourth);
    assert_eq!(
        s["hero/greet"],
        JobStatus::Done,
        "a deleted output must redo its job"
    );
    assert_eq!(
        (s["hero/*"], s["slime/*"]),
        (JobStatus::Skipped, JobStatus::Skipped)
    );
    assert!(out.join("hero/hero-greet.gif").is_file());

    let forced = run(&m, true);
    assert_eq!(
        (forced.done, forced.skipped),
        (3, 0),
        "--force redoes everything"
    );
}

#[test]
fn one_failing_job_leaves_the_others_intact() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("broken.png"), b"this is not a PNG").unwrap();
    let body = format!(
        "[defaults]\nfps = 8\nframes = 6\n\
         [[character]]\nname = \"hero\"\nimage = {:?}\n\
         [[character]]\nname = \"ghost\"\nimage = \"missing.png\"\n\
         [[character]]\nname = \"broken\"\nimage = \"broken.png\"\n\
         [[action]]\nactions = [\"idle\"]\n\
         [[action]]\nactions = [\"moonwalk\"]\ncharacters = [\"broken\"]\n",
        sample("femaleAdventurer_idle.png"),
    );
    let m = manifest(tmp.path(), &body);
    let s = run(&m, false);
    assert_eq!((s.done, s.skipped, s.failed), (1, 0, 2), "{}", s.to_text());
    let by_id = statuses(&s);
    assert_eq!(by_id["hero/*"], JobStatus::Done);
    let ghost = s.jobs.iter().find(|j| j.id == "ghost/*").unwrap();
    assert!(
        ghost.error.as_deref().unwrap().contains("missing.png"),
        "{:?}",
        ghost.error
    );
    assert!(ghost.hint.is_some());
    let text = s.to_text();
    assert!(
        text.contains("failed ghost/*") && text.contains("failed broken/*"),
        "{text}"
    );
    assert!(tmp.path().join("out/hero/hero-idle.gif").is_file());
    let page = std::fs::read_to_string(tmp.path().join("out/index.html")).unwrap();
    assert!(
        page.contains("1 done · 0 skipped · 2 failed"),
        "contact sheet must show the failures"
    );

    // The failures are retried, the finished job is not.
    let again = run(&m, false);
    assert_eq!(
        (again.done, again.skipped, again.failed),
        (0, 1, 2),
        "{}",
        again.to_text()
    );
}

#[test]
fn an_unknown_action_fails_only_its_character() {
    let tmp = tempfile::tempdir().unwrap();
    let body = format!(
        "[defaults]\nfps = 8\nframes = 6\n\
         [[character]]\nname = \"hero\"\nimage = {:?}\n\
         [[character]]\nname = \"bug\"\nimage = {:?}\n\
         [[action]]\nname = \"idle\"\n\
         [[action]]\nname = \"moonwalk\"\ncharacters = [\"bug\"]\n",
        sample("femaleAdventurer_idle.png"),
        sample("ladybug.png"),
    );
    let s = run(&manifest(tmp.path(), &body), false);
    let by_id = statuses(&s);
    assert_eq!(by_id["hero/*"], JobStatus::Done, "{}", s.to_text());
    assert_eq!(by_id["bug/*"], JobStatus::Failed);
    let bug = s.jobs.iter().find(|j| j.id == "bug/*").unwrap();
    assert!(
        bug.error.as_deref().unwrap_or("").contains("moonwalk"),
        "{:?}",
        bug.error
    );
}

#[test]
fn files_the_batch_did_not_write_are_never_overwritten_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let body = format!(
        "[defaults]\nfps = 8\nframes = 6\n[[character]]\nname = \"hero\"\nimage = {:?}\n[[action]]\nname = \"idle\"\n",
        sample("femaleAdventurer_idle.png"),
    );
    let m = manifest(tmp.path(), &body);
    let mine = tmp.path().join("out/hero/hero-idle.gif");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, b"the artist's own file").unwrap();

    let s = run(&m, false);
    assert_eq!(s.failed, 1, "{}", s.to_text());
    assert!(s.to_text().contains("--force"), "{}", s.to_text());
    assert_eq!(std::fs::read(&mine).unwrap(), b"the artist's own file");

    let forced = run(&m, true);
    assert_eq!(forced.done, 1, "{}", forced.to_text());
    assert_ne!(std::fs::read(&mine).unwrap(), b"the artist's own file");
}

#[test]
fn malformed_manifests_name_the_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("manifest.toml");
    std::fs::write(&path, "[defaults]\nfps = 12\nfsp = 24\n[[character]]\nimage = \"a.png\"\n[[action]]\nname = \"idle\"\n").unwrap();
    let e = Manifest::load(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("manifest.toml:3: key \"fsp\" is not known (did you mean \"fps\"?)"),
        "{e}"
    );

    std::fs::write(
        &path,
        "[[character]]\nname = \"a\"\n\n[[action]]\nname = \"idle\"\n",
    )
    .unwrap();
    let e = Manifest::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("manifest.toml:1:") && e.contains("\"image\""),
        "{e}"
    );

    std::fs::write(&path, "[[character]]\nimage = \"a.png\"\nsheet = true\natlas = [\"godot\", \"unreal\"]\n[[action]]\nname = \"idle\"\n").unwrap();
    let m = Manifest::load(&path).unwrap();
    let e = run_batch(&m, &BatchOptions::default(), &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("manifest.toml:4: atlas \"unreal\" is not known"),
        "{e}"
    );

    let e = Manifest::load(&tmp.path().join("nope.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read the batch manifest"), "{e}");
}
