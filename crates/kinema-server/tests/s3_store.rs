//! The file store against a real S3 server (`tools/cluster/dev-up.sh`): whole objects,
//! multipart uploads of large outputs, ranged reads, presigned URLs, attempt clean-up.
//! Skipped, loudly, without the services unless `CI` is set.

use std::time::Duration;

use kinema_server::files::Files;
use kinema_server::testing::DevServices;
use object_store::{GetOptions, GetRange};

fn open(services: &DevServices) -> Files {
    let files = Files::open(
        &services.fresh_store(),
        std::env::temp_dir().as_path(),
        Duration::from_secs(5),
    )
    .expect("S3 store");
    assert!(files.can_presign());
    files
}

#[tokio::test]
async fn renders_are_published_whole_read_by_range_and_presigned() {
    let Some(services) = DevServices::for_test("s3_publish") else {
        return;
    };
    let files = open(&services);
    let render = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(render.path().join("frames")).unwrap();
    // Larger than one multipart part, so it goes up as a multipart upload.
    let big: Vec<u8> = (0..(9u32 << 20)).map(|i| (i % 251) as u8).collect();
    std::fs::write(render.path().join("clip.mp4"), &big).unwrap();
    std::fs::write(render.path().join("frames/frame_0000.png"), b"png").unwrap();
    files
        .publish("tsk_a", Some(1), render.path())
        .await
        .unwrap();
    files
        .publish("tsk_a", Some(2), render.path())
        .await
        .unwrap();

    let meta = files
        .output_meta("tsk_a", Some(2), "clip.mp4")
        .await
        .unwrap()
        .expect("published");
    assert_eq!(meta.size, big.len() as u64);
    let part = files
        .output(
            "tsk_a",
            Some(2),
            "clip.mp4",
            GetOptions {
                range: Some(GetRange::Bounded(1000..1010)),
                ..GetOptions::default()
            },
        )
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(part.as_ref(), &big[1000..1010]);

    let url = files
        .presigned_output(
            "tsk_a",
            Some(2),
            "frames/frame_0000.png",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), 200, "{url}");
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"png");

    files.discard_other_attempts("tsk_a", 2).await.unwrap();
    assert!(files
        .output_meta("tsk_a", Some(1), "clip.mp4")
        .await
        .unwrap()
        .is_none());
    assert!(files
        .output_meta("tsk_a", Some(2), "clip.mp4")
        .await
        .unwrap()
        .is_some());
    files.discard_outputs("tsk_a", None).await.unwrap();
    assert!(files
        .output_meta("tsk_a", Some(2), "frames/frame_0000.png")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn uploads_round_trip_and_a_missing_one_is_not_an_outage() {
    let Some(services) = DevServices::for_test("s3_uploads") else {
        return;
    };
    let files = open(&services);
    files
        .put_upload("upl_1", b"image bytes".to_vec().into())
        .await
        .unwrap();
    let local = tempfile::tempdir().unwrap();
    let dest = local.path().join("uploads/upl_1");
    files.fetch_upload("upl_1", &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"image bytes");
    let e = files
        .fetch_upload("upl_2", &local.path().join("uploads/upl_2"))
        .await
        .unwrap_err();
    assert!(!e.unavailable, "{e}");
}

#[tokio::test]
async fn an_unreachable_store_is_reported_as_unavailable() {
    let Some(services) = DevServices::for_test("s3_unreachable") else {
        return;
    };
    let mut options = services.s3_options();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    options.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let location =
        kinema_server::backend::StoreLocation::parse("s3://kinema/nowhere", options).unwrap();
    let files = Files::open(
        &location,
        std::env::temp_dir().as_path(),
        Duration::from_millis(500),
    )
    .unwrap();
    let e = files
        .put_upload("upl_1", b"x".to_vec().into())
        .await
        .unwrap_err();
    assert!(e.unavailable, "{e}");
}
