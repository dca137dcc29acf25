//! The same ask through every front end gives the same request.
//!
//! `kinema generate` flags, a batch manifest and a service JSON body that each say only
//! "this image, this prompt (or these actions), a GIF (or a sheet)" must come out as one
//! request: the same clip length, rate and seed, the same output size and background, the
//! same sheet layout. Each front end takes what is left out from `kinema_jobs::defaults`;
//! this test catches one that stops doing so. (Suites: `kinema_jobs` tests `suite.rs`.)

use std::path::Path;

use clap::Parser;
use kinema_jobs::batch::{plan, to_request, Manifest};
use kinema_jobs::{defaults, Request, What};
use kinema_server::plan::{plan as plan_task, ImageToVideoRequest};
use kinema_server::ServeConfig;

use crate::cli::{Cli, Command};

fn from_cli(args: &[&str]) -> Request {
    let mut argv = vec!["kinema", "generate", "--image", "hero.png"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv).expect("valid flags").command {
        Command::Generate(a) => super::generate::request(&a).expect("a request"),
        _ => unreachable!("parsed a generate command"),
    }
}

fn from_batch(text: &str) -> Request {
    let manifest = Manifest::parse(Path::new("/p/batch.toml"), text).expect("valid manifest");
    let jobs = plan(&manifest);
    assert_eq!(jobs.len(), 1, "one job");
    to_request(&manifest, &jobs[0], &manifest.characters[0], None, false).expect("a request")
}

fn config() -> ServeConfig {
    ServeConfig::new("127.0.0.1:0".parse().expect("addr"), "/tmp/unused")
}

fn from_service(json: serde_json::Value) -> Request {
    let body: ImageToVideoRequest = serde_json::from_value(json).expect("valid body");
    plan_task(&body, &config())
        .expect("a plan")
        .to_request(Path::new("/d/upl"), Path::new("/d/out"))
}

/// Everything but where the files go.
fn assert_same(name: &str, a: &Request, b: &Request) {
    assert_eq!(a.engine, b.engine, "{name}: engine");
    assert_eq!(a.spec, b.spec, "{name}: clip spec");
    assert_eq!(
        a.encode.background, b.encode.background,
        "{name}: background"
    );
    assert_eq!(a.encode.scale, b.encode.scale, "{name}: scale");
    assert_eq!(a.encode.size, b.encode.size, "{name}: size");
    assert_eq!(a.encode.force, b.encode.force, "{name}: force");
    assert_eq!(
        a.sheet.as_ref().map(|s| &s.options),
        b.sheet.as_ref().map(|s| &s.options),
        "{name}: sheet layout and atlases"
    );
    let what = |r: &Request| match &r.what {
        What::Prompt(p) => format!("prompt {p}"),
        What::Actions(list) => format!("actions {}", list.join(",")),
    };
    assert_eq!(what(a), what(b), "{name}: what");
}

#[test]
fn a_prompt_and_a_gif_give_the_same_request_everywhere() {
    let cli = from_cli(&["--prompt", "waves hello", "--out", "clip.gif"]);
    let batch = from_batch(
        "[[character]]\nname = \"hero\"\nimage = \"hero.png\"\n\
         [[action]]\nname = \"wave\"\nprompt = \"waves hello\"\n",
    );
    let service = from_service(serde_json::json!({
        "image": "upl_x", "prompt": "waves hello", "outputs": ["gif"]
    }));
    assert_eq!(cli.spec, defaults::clip_spec());
    assert_eq!(cli.encode.scale, Some(defaults::SCALE));
    assert_same("batch", &cli, &batch);
    assert_same("service", &cli, &service);
}

#[test]
fn actions_on_a_sheet_give_the_same_request_everywhere() {
    let cli = from_cli(&["--actions", "idle,walk", "--sheet", "hero-sheet.png"]);
    let batch = from_batch(
        "[defaults]\nformats = []\nsheet = true\n\
         [[character]]\nname = \"hero\"\nimage = \"hero.png\"\n\
         [[action]]\nactions = [\"idle\", \"walk\"]\n",
    );
    let service = from_service(serde_json::json!({
        "image": "upl_x", "actions": ["idle", "walk"], "outputs": ["sheet"]
    }));
    assert_eq!(
        cli.sheet.as_ref().map(|s| s.options.clone()),
        Some(defaults::sheet_options()),
        "trimmed, 2 px padding, TexturePacker atlas"
    );
    assert_same("batch", &cli, &batch);
    assert_same("service", &cli, &service);
}

#[test]
fn every_front_end_reads_images_with_the_same_pixel_limit() {
    let limit = defaults::limits().max_input_pixels;
    assert_eq!(config().max_pixels, limit, "service uploads");
    assert_eq!(
        defaults::load_options(None, None).max_pixels,
        limit,
        "CLI and batch"
    );
    assert_eq!(
        kinema_media::LoadOptions::default().max_pixels,
        limit,
        "library users"
    );
}
