//! A user's motion files (`samples/motions/prowl.toml`) drive a single request and a
//! batch; a batch notices when a motion file changes and redoes only what it affects.

use std::path::{Path, PathBuf};

use kinema_core::ClipSpec;
use kinema_jobs::batch::{run_batch, BatchOptions, JobStatus, Manifest};
use kinema_jobs::{EngineOptions, Request, What};
use kinema_media::EncodeOptions;
use kinema_rig::MotionLibrary;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn a_request_renders_a_user_motion_by_name_and_by_its_words() {
    let tmp = tempfile::tempdir().unwrap();
    let motions = MotionLibrary::load(&repo("samples/motions")).unwrap();
    let request = |what: What, out: &str| Request {
        image: repo("samples/characters/femaleAdventurer_idle.png"),
        mask: None,
        subject_box: None,
        engine: "rig".into(),
        engine_options: EngineOptions {
            motions: Some(motions.clone()),
            ..EngineOptions::default()
        },
        what,
        spec: ClipSpec {
            frames: 6,
            fps: 8,
            seed: 0,
            looping: false,
        },
        outs: vec![tmp.path().join(out)],
        sheet: None,
        export: None,
        encode: EncodeOptions::default(),
    };
    let report = kinema_jobs::run(
        &request(
            What::Actions(vec!["prowl".into(), "idle".into()]),
            "hero.gif",
        ),
        &|_| {},
    )
    .unwrap();
    assert!(tmp.path().join("hero-prowl.gif").is_file());
    assert!(tmp.path().join("hero-idle.gif").is_file());
    // A cycle loops by nature, like walk.
    assert!(report.actions[0].looping);
    let report = kinema_jobs::run(
        &request(What::Prompt("悄悄走然后挥手".into()), "p.gif"),
        &|_| {},
    )
    .unwrap();
    assert_eq!(
        report.actions[0].understood["plan"]["steps"][0]["action"],
        "prowl"
    );
    // Without the folder, the same words are not understood, and nothing is written.
    let mut plain = request(What::Prompt("prowl".into()), "q.gif");
    plain.engine_options = EngineOptions::default();
    let e = kinema_jobs::run(&plain, &|_| {}).unwrap_err();
    assert!(e.message.contains("`prowl`"), "{e}");
    assert!(!tmp.path().join("q.gif").exists());
}

#[test]
fn a_batch_plays_its_manifests_motions_and_redoes_jobs_when_they_change() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("my-motions");
    std::fs::create_dir(&folder).unwrap();
    let prowl = std::fs::read_to_string(repo("samples/motions/prowl.toml")).unwrap();
    std::fs::write(folder.join("prowl.toml"), &prowl).unwrap();
    let body = format!(
        "out_dir = \"out\"\nmotions = \"my-motions\"\n[defaults]\nfps = 8\nframes = 6\n\
         [[character]]\nname = \"hero\"\nimage = {:?}\n\
         [[character]]\nname = \"slime\"\nimage = {:?}\n\
         [[action]]\nactions = [\"prowl\", \"idle\"]\n\
         [[action]]\nname = \"sneaky\"\nprompt = \"creeps then waves\"\n",
        repo("samples/characters/femaleAdventurer_idle.png")
            .display()
            .to_string(),
        repo("samples/characters/slimeBlue.png")
            .display()
            .to_string(),
    );
    let path = tmp.path().join("manifest.toml");
    std::fs::write(&path, body).unwrap();
    let manifest = Manifest::load(&path).unwrap();
    let opts = BatchOptions {
        force: false,
        jobs: 2,
    };
    let first = run_batch(&manifest, &opts, &|_| {}).unwrap();
    assert_eq!((first.done, first.failed), (4, 0), "{}", first.to_text());
    for f in [
        "hero/hero-prowl.gif",
        "slime/slime-prowl.gif",
        "hero/hero-sneaky.gif",
    ] {
        assert!(tmp.path().join("out").join(f).is_file(), "{f}");
    }
    let again = run_batch(&manifest, &opts, &|_| {}).unwrap();
    assert_eq!(again.skipped, 4, "{}", again.to_text());

    // Editing the motion file is a change of input: every job reruns.
    std::fs::write(
        folder.join("prowl.toml"),
        prowl.replace("seconds = 1.6", "seconds = 1.4"),
    )
    .unwrap();
    let third = run_batch(&manifest, &opts, &|_| {}).unwrap();
    assert!(
        third.jobs.iter().all(|j| j.status == JobStatus::Done),
        "{}",
        third.to_text()
    );

    // A broken motion file stops the batch before any job, naming the file and line.
    std::fs::write(
        folder.join("prowl.toml"),
        prowl.replace("easing = \"spline\"", "easing = \"bouncy\""),
    )
    .unwrap();
    let e = run_batch(&manifest, &opts, &|_| {}).unwrap_err();
    assert!(
        e.message.contains("prowl.toml:")
            && e.message
                .contains("key `kinds.humanoid.easing`: \"bouncy\" is not an easing"),
        "{e}"
    );
}
