//! Luma with pictures uploaded to a configured store and sent as URLs (its own test
//! binary: the upload settings are process environment).

use std::path::Path;

use kinema_core::{ClipSpec, Engine, Job};
use kinema_providers::testing::{FakeProvider, Script, UploadStore, Vendor};
use kinema_providers::{ProviderEngine, ProviderOptions};

#[test]
fn luma_fetches_uploaded_pictures_by_url() {
    let fake = FakeProvider::shared(Vendor::Luma);
    let store = UploadStore::start("Bearer upload-secret");
    std::env::set_var("KINEMA_LUMA_UPLOAD_URL", store.url());
    std::env::set_var("KINEMA_LUMA_UPLOAD_AUTHORIZATION", "Bearer upload-secret");
    let prompt = "luma: uploaded keyframes";
    // This Luma refuses data URIs: only the upload path can work.
    fake.script(
        prompt,
        Script {
            refuse_data_uris: true,
            ..Script::default()
        },
    );
    let options = ProviderOptions {
        last_image: Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../samples/characters/femaleAdventurer_walk3.png"),
        ),
        ..Default::default()
    };
    let engine = ProviderEngine::new("luma", options).unwrap();
    let character = kinema_media::load_character(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../samples/characters/femaleAdventurer_idle.png"),
        &Default::default(),
    )
    .unwrap();
    let spec = ClipSpec {
        frames: 12,
        fps: 12,
        seed: 0,
        looping: false,
    };
    let g = engine
        .generate(
            Job {
                character: &character,
                prompt,
                spec: &spec,
            },
            &|_| {},
        )
        .expect("generates from uploaded pictures");
    assert_eq!(g.clip.len(), 12);
    let body = fake.created_body(prompt).unwrap();
    for frame in ["frame0", "frame1"] {
        let url = body["keyframes"][frame]["url"].as_str().unwrap();
        assert!(url.starts_with(&store.url()), "{frame}: {url}");
    }
    assert_eq!(store.count(), 2, "first and last picture uploaded");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}
