//! The model store against a fake hub on loopback: pull into the cache layout, resume,
//! verify, resolve offline, list, info, and every failure's message and hint.

use std::path::Path;
use std::sync::Mutex;

use kinema_models::testing::{
    fake_commit, sha256_hex, tiny_pipeline, write_files, FakeHub, FakeRepo,
    TINY_TEXT_ENCODER_PARAMS, TINY_TRANSFORMER_PARAMS, TINY_VAE_PARAMS,
};
use kinema_models::{FileStatus, ModelSource, PullOptions, Store};

const REPO: &str = "kinema-test/tiny-wan";
const SHARD1: &str = "transformer/diffusion_pytorch_model-00001-of-00002.safetensors";

fn tiny_repo() -> FakeRepo {
    FakeRepo {
        id: REPO.into(),
        commit: fake_commit("tiny-wan"),
        files: tiny_pipeline(),
        token: None,
    }
}

fn setup(repos: Vec<FakeRepo>) -> (FakeHub, tempfile::TempDir, Store) {
    let hub = FakeHub::start(repos);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("hub"), hub.endpoint.clone());
    (hub, dir, store)
}

fn total_size() -> u64 {
    tiny_pipeline().iter().map(|f| f.data.len() as u64).sum()
}

#[test]
fn pull_fills_the_cache_layout_and_resolve_list_info_read_it() {
    let (hub, _dir, store) = setup(vec![tiny_repo()]);
    let events = Mutex::new(Vec::new());
    let progress = |p: &kinema_models::PullProgress<'_>| {
        events
            .lock()
            .unwrap()
            .push((p.file.to_string(), p.total_done, p.total_size, p.file_count));
    };
    let report = store
        .pull(
            REPO,
            &PullOptions {
                progress: Some(&progress),
                ..PullOptions::default()
            },
        )
        .unwrap();
    let commit = fake_commit("tiny-wan");
    assert_eq!(report.commit, commit);
    assert_eq!(report.files.len(), tiny_pipeline().len());
    assert!(report
        .files
        .iter()
        .all(|f| f.status == FileStatus::Downloaded));
    assert_eq!(report.total_bytes, total_size());
    assert_eq!(report.downloaded_bytes, total_size());

    // The Hugging Face layout: refs, snapshot symlinks into blobs named by etag.
    let repo_dir = store.cache_dir.join("models--kinema-test--tiny-wan");
    assert_eq!(
        std::fs::read_to_string(repo_dir.join("refs/main")).unwrap(),
        commit
    );
    assert_eq!(report.dir, repo_dir.join("snapshots").join(&commit));
    for file in tiny_pipeline() {
        let pointer = report.dir.join(&file.path);
        assert_eq!(std::fs::read(&pointer).unwrap(), file.data, "{}", file.path);
        let target = std::fs::read_link(&pointer).unwrap();
        assert!(target.starts_with(".."), "{target:?} is not relative");
        if file.lfs {
            assert_eq!(
                target.file_name().unwrap().to_string_lossy(),
                sha256_hex(&file.data)
            );
        }
    }
    let events = events.into_inner().unwrap();
    let last = events.last().unwrap();
    assert_eq!((last.1, last.2), (total_size(), total_size()));
    assert!(events.iter().any(|e| e.0 == SHARD1));
    assert!(
        events.windows(2).all(|w| w[0].1 <= w[1].1),
        "total went back"
    );

    let resolved = store.resolve(REPO, None).unwrap();
    assert_eq!(resolved.dir, report.dir);
    assert_eq!(
        resolved.source,
        ModelSource::Cache {
            repo: REPO.into(),
            revision: "main".into(),
            commit: commit.clone()
        }
    );

    let models = store.list().unwrap();
    assert_eq!(models.len(), 1);
    let m = &models[0];
    assert_eq!(m.repo, REPO);
    assert!(m.complete && m.pipeline);
    assert_eq!(m.size_on_disk, total_size());
    assert_eq!(m.revisions[0].refs, vec!["main"]);
    assert!(kinema_models::list_table(&models).contains("complete"));

    let info = store.info(REPO, None).unwrap();
    assert_eq!(info.pipeline_class.as_deref(), Some("WanPipeline"));
    let comp = |name: &str| info.components.iter().find(|c| c.name == name).unwrap();
    assert_eq!(
        comp("transformer").weights.parameters,
        TINY_TRANSFORMER_PARAMS
    );
    assert_eq!(comp("transformer").weight_files, 2);
    assert_eq!(comp("transformer").weights.dtypes.get("BF16"), Some(&128));
    assert_eq!(comp("transformer").config["num_layers"], 2);
    assert_eq!(comp("vae").weights.parameters, TINY_VAE_PARAMS);
    assert_eq!(comp("vae").config["z_dim"], 48);
    assert_eq!(
        comp("text_encoder").weights.parameters,
        TINY_TEXT_ENCODER_PARAMS
    );
    assert_eq!(comp("scheduler").weight_files, 0);
    assert_eq!(
        info.parameters,
        TINY_TRANSFORMER_PARAMS + TINY_VAE_PARAMS + TINY_TEXT_ENCODER_PARAMS
    );
    assert!(info.missing.is_empty(), "{:?}", info.missing);
    let table = info.table();
    assert!(table.contains("heads=2×4=8"), "{table}");
    assert!(table.contains("WanTransformer3DModel"), "{table}");

    // A second pull only lists: every file is already complete.
    let before = hub.requests().len();
    let again = store.pull(REPO, &PullOptions::default()).unwrap();
    assert!(again.files.iter().all(|f| f.status == FileStatus::Cached));
    assert_eq!(again.downloaded_bytes, 0);
    let new: Vec<_> = hub.requests()[before..].to_vec();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(new[0].path.starts_with("/api/models/"));
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let (hub, _dir, store) = setup(vec![tiny_repo()]);
    let shard = tiny_pipeline()
        .into_iter()
        .find(|f| f.path == SHARD1)
        .unwrap();
    let half = shard.data.len() / 2;
    hub.cut_once(SHARD1, half);

    let err = store.pull(REPO, &PullOptions::default()).unwrap_err();
    assert!(err.message.contains("stopped at"), "{err}");
    assert!(err.hint.as_deref().unwrap().contains("resumes"), "{err}");
    let sha = sha256_hex(&shard.data);
    let partial = store
        .cache_dir
        .join("models--kinema-test--tiny-wan/blobs")
        .join(format!("{sha}.incomplete"));
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), half as u64);

    // Interrupted: resolve says so and gives the command that finishes it.
    let err = store.resolve(REPO, None).unwrap_err();
    assert!(err.message.contains("incomplete"), "{err}");
    assert!(err
        .hint
        .as_deref()
        .unwrap()
        .contains("kinema models pull kinema-test/tiny-wan"));
    assert!(!store.list().unwrap()[0].complete);

    let report = store.pull(REPO, &PullOptions::default()).unwrap();
    let entry = report.files.iter().find(|f| f.path == SHARD1).unwrap();
    assert_eq!(entry.status, FileStatus::Resumed(half as u64));
    let ranged = hub
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == format!("/cdn/{sha}"))
        .filter_map(|r| r.range)
        .collect::<Vec<_>>();
    assert_eq!(ranged, vec![format!("bytes={half}-")]);
    let blob = store
        .cache_dir
        .join("models--kinema-test--tiny-wan/blobs")
        .join(&sha);
    assert_eq!(kinema_models::sha256_file(&blob).unwrap(), sha);
    assert!(!partial.exists());
    assert!(store.resolve(REPO, None).is_ok());
}

#[test]
fn a_damaged_partial_download_is_caught_by_its_sha256_and_redone() {
    let (_hub, _dir, store) = setup(vec![tiny_repo()]);
    let shard = tiny_pipeline()
        .into_iter()
        .find(|f| f.path == SHARD1)
        .unwrap();
    let sha = sha256_hex(&shard.data);
    let blobs = store.cache_dir.join("models--kinema-test--tiny-wan/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let partial = blobs.join(format!("{sha}.incomplete"));
    std::fs::write(&partial, vec![0xAAu8; 100]).unwrap();

    let err = store.pull(REPO, &PullOptions::default()).unwrap_err();
    assert!(err.message.contains("damaged"), "{err}");
    assert!(!partial.exists(), "the damaged download was kept");
    let report = store.pull(REPO, &PullOptions::default()).unwrap();
    let entry = report.files.iter().find(|f| f.path == SHARD1).unwrap();
    assert_eq!(entry.status, FileStatus::Downloaded);
    assert_eq!(std::fs::read(report.dir.join(SHARD1)).unwrap(), shard.data);
}

#[test]
fn a_server_ignoring_ranges_restarts_the_file_instead_of_appending() {
    let (hub, _dir, store) = setup(vec![tiny_repo()]);
    let shard = tiny_pipeline()
        .into_iter()
        .find(|f| f.path == SHARD1)
        .unwrap();
    let half = shard.data.len() / 2;
    hub.cut_once(SHARD1, half);
    assert!(store.pull(REPO, &PullOptions::default()).is_err());
    hub.ignore_ranges(true);
    let report = store.pull(REPO, &PullOptions::default()).unwrap();
    let entry = report.files.iter().find(|f| f.path == SHARD1).unwrap();
    assert_eq!(entry.status, FileStatus::Downloaded);
    assert_eq!(std::fs::read(report.dir.join(SHARD1)).unwrap(), shard.data);
    assert!(hub.requests().iter().any(|r| r.range.is_some()));
}

#[test]
fn offline_pull_refuses_and_resolve_still_works_from_the_cache() {
    let (hub, _dir, store) = setup(vec![tiny_repo()]);
    store.pull(REPO, &PullOptions::default()).unwrap();
    let before = hub.requests().len();
    let offline = Store {
        offline: true,
        ..store.clone()
    };
    let err = offline.pull(REPO, &PullOptions::default()).unwrap_err();
    assert!(err.message.contains("HF_HUB_OFFLINE"), "{err}");
    assert!(err
        .hint
        .as_deref()
        .unwrap()
        .contains("unset HF_HUB_OFFLINE"));
    assert!(offline.resolve(REPO, None).is_ok());
    assert!(offline.info(REPO, None).is_ok());
    assert_eq!(hub.requests().len(), before, "offline touched the network");
}

#[test]
fn missing_models_name_the_pull_command() {
    let (_hub, _dir, store) = setup(vec![]);
    let err = store.resolve("org/name", None).unwrap_err();
    assert!(err.message.contains("not downloaded"), "{err}");
    assert_eq!(
        err.hint
            .as_deref()
            .map(|h| h.contains("`kinema models pull org/name`")),
        Some(true),
        "{err}"
    );
    let err = store.resolve("org/name", Some("v2")).unwrap_err();
    assert!(err.hint.unwrap().contains("pull org/name --revision v2"));
    let err = store.resolve("not an id", None).unwrap_err();
    assert!(err.message.contains("not a hub model id"), "{err}");
}

#[test]
fn hub_failures_are_specific() {
    let mut gated = tiny_repo();
    gated.id = "kinema-test/gated".into();
    gated.token = Some("hf_secret".into());
    let (_hub, _dir, store) = setup(vec![tiny_repo(), gated]);

    let err = store
        .pull("nobody/nothing", &PullOptions::default())
        .unwrap_err();
    assert!(
        err.message.contains("nobody/nothing was not found"),
        "{err}"
    );

    let err = store
        .pull(
            REPO,
            &PullOptions {
                revision: Some("v9".into()),
                ..PullOptions::default()
            },
        )
        .unwrap_err();
    assert!(err.message.contains("revision `v9`"), "{err}");

    let err = store
        .pull("kinema-test/gated", &PullOptions::default())
        .unwrap_err();
    assert!(err.message.contains("refused (HTTP 401)"), "{err}");
    assert!(err.hint.as_deref().unwrap().contains("HF_TOKEN"), "{err}");
    let wrong = Store {
        token: Some("hf_wrong".into()),
        ..store.clone()
    };
    let err = wrong
        .pull("kinema-test/gated", &PullOptions::default())
        .unwrap_err();
    assert!(err.message.contains("HTTP 403"), "{err}");
    let right = Store {
        token: Some("hf_secret".into()),
        ..store.clone()
    };
    assert!(right
        .pull("kinema-test/gated", &PullOptions::default())
        .is_ok());

    let unreachable = Store::new(store.cache_dir.clone(), "http://127.0.0.1:1");
    let err = unreachable.pull(REPO, &PullOptions::default()).unwrap_err();
    assert!(err.message.contains("cannot reach"), "{err}");
    assert!(err.hint.as_deref().unwrap().contains("HF_HUB_OFFLINE"));
}

#[test]
fn include_patterns_pull_a_subset_that_resolve_calls_incomplete() {
    let (_hub, _dir, store) = setup(vec![tiny_repo()]);
    let report = store
        .pull(
            REPO,
            &PullOptions {
                include: vec!["*.json".into()],
                ..PullOptions::default()
            },
        )
        .unwrap();
    assert!(report.files.iter().all(|f| f.path.ends_with(".json")));
    assert_eq!(report.skipped_by_filter, 4);
    let err = store.resolve(REPO, None).unwrap_err();
    assert!(err.message.contains("incomplete"), "{err}");
    let info = store.info(REPO, None).unwrap();
    assert!(!info.missing.is_empty());
    let err = store
        .pull(
            REPO,
            &PullOptions {
                include: vec!["nothing/*".into()],
                ..PullOptions::default()
            },
        )
        .unwrap_err();
    assert!(err.message.contains("no file"), "{err}");
}

#[test]
fn local_folders_are_used_as_is_or_rejected_specifically() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("hub"), "http://127.0.0.1:1");
    let model = dir.path().join("wan");
    write_files(&model, &tiny_pipeline()).unwrap();
    let resolved = store.resolve(&model.to_string_lossy(), None).unwrap();
    assert_eq!(resolved.source, ModelSource::Local);
    assert!(resolved.dir.join("model_index.json").is_file());
    let info = store.info(&model.to_string_lossy(), None).unwrap();
    assert_eq!(info.source, ModelSource::Local);
    assert_eq!(
        info.parameters,
        TINY_TRANSFORMER_PARAMS + TINY_VAE_PARAMS + TINY_TEXT_ENCODER_PARAMS
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = store.resolve(&empty.to_string_lossy(), None).unwrap_err();
    assert!(err.message.contains("model_index.json is missing"), "{err}");

    std::fs::remove_file(model.join(SHARD1)).unwrap();
    let err = store.resolve(&model.to_string_lossy(), None).unwrap_err();
    assert!(err.message.contains("incomplete"), "{err}");
    assert!(err.message.contains("00001-of-00002"), "{err}");

    let gone = dir.path().join("nope").join("wan");
    let err = store.resolve(&gone.to_string_lossy(), None).unwrap_err();
    assert!(err.message.contains("does not exist"), "{err}");
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let err = store.resolve(&file.to_string_lossy(), None).unwrap_err();
    assert!(err.message.contains("is a file"), "{err}");
    assert!(Path::new(&resolved.dir).is_absolute());
}

/// Throughput of a pull and of a resume on loopback, with sha256 verification:
/// `cargo test -p kinema-models --release --test hub -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_large_pull_and_resume() {
    const MIB: usize = 1 << 20;
    let size = 256 * MIB;
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let mut repo = tiny_repo();
    repo.files.push(kinema_models::testing::RepoFile {
        path: "big.safetensors".into(),
        data,
        lfs: true,
    });
    let (hub, _dir, store) = setup(vec![repo]);
    let start = std::time::Instant::now();
    store.pull(REPO, &PullOptions::default()).unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "full pull of 256 MiB: {secs:.2} s ({:.0} MiB/s incl. sha256)",
        256.0 / secs
    );

    hub.cut_once("big.safetensors", size / 2);
    let dir2 = tempfile::tempdir().unwrap();
    let store2 = Store::new(dir2.path().join("hub"), hub.endpoint.clone());
    assert!(store2.pull(REPO, &PullOptions::default()).is_err());
    let start = std::time::Instant::now();
    let report = store2.pull(REPO, &PullOptions::default()).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let big = report
        .files
        .iter()
        .find(|f| f.path == "big.safetensors")
        .unwrap();
    assert_eq!(big.status, FileStatus::Resumed((size / 2) as u64));
    println!("resume of the second 128 MiB: {secs:.2} s (hash covers all 256 MiB)");
    let start = std::time::Instant::now();
    store2.pull(REPO, &PullOptions::default()).unwrap();
    println!(
        "re-pull of a complete model: {:.3} s",
        start.elapsed().as_secs_f64()
    );
}

/// A repo with a licence to accept (Stable Video Diffusion) is not downloaded until the
/// user accepts it, and nothing reaches the hub before; the acceptance is remembered.
#[test]
fn licensed_repos_need_acceptance_before_any_request() {
    const SVD: &str = "stabilityai/stable-video-diffusion-img2vid-xt";
    let (hub, _dir, store) = setup(vec![FakeRepo {
        id: SVD.into(),
        commit: fake_commit("svd"),
        files: tiny_pipeline(),
        token: None,
    }]);
    let err = store.pull(SVD, &PullOptions::default()).unwrap_err();
    assert!(
        err.message.contains("Stability AI Community License") && err.message.contains("https://"),
        "{}",
        err.message
    );
    assert!(err.hint.as_deref().unwrap().contains("--accept-licence"));
    assert!(hub.requests().is_empty(), "{:?}", hub.requests());
    let accepted = PullOptions {
        accept_licence: true,
        ..PullOptions::default()
    };
    store.pull(SVD, &accepted).unwrap();
    let repo = kinema_models::RepoId::parse(SVD).unwrap();
    let licence = kinema_models::licence_for(&repo).unwrap();
    assert!(store.licence_accepted(&repo, licence));
    // Later pulls need no flag.
    store.pull(SVD, &PullOptions::default()).unwrap();
}
