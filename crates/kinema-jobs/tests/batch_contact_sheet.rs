//! The contact sheet in a real browser: headless Chromium loads `index.html` from disk,
//! every preview must decode, and a screenshot must come out.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`). Without it the test says so
//! loudly and passes on a developer machine, but fails when `CI` is set.

mod common;

use common::{require_chromium, run_browser, sample, screenshot};

use kinema_jobs::batch::{run_batch, BatchOptions, Manifest};

#[test]
fn contact_sheet_previews_all_load_in_chromium() {
    let Some(chromium) = require_chromium("contact_sheet_previews_all_load_in_chromium") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // gif previews for the hero, generated `.previews/` APNGs for the mp4-only slime.
    let body = format!(
        "[defaults]\nfps = 8\nframes = 6\n\
         [[character]]\nname = \"hero\"\nimage = {:?}\nformats = [\"gif\", \"frames\"]\n\
         [[character]]\nname = \"slime\"\nimage = {:?}\nformats = [\"mp4\"]\nsheet = true\n\
         [[action]]\nactions = [\"idle\", \"jump\"]\n\
         [[action]]\nname = \"greet\"\nprompt = \"waves hello\"\ncharacters = [\"hero\"]\n",
        sample("femaleAdventurer_idle.png"),
        sample("slimeBlue.png"),
    );
    let manifest_path = tmp.path().join("manifest.toml");
    std::fs::write(&manifest_path, body).unwrap();
    let m = Manifest::load(&manifest_path).unwrap();
    let summary = run_batch(&m, &BatchOptions::default(), &|_| {}).unwrap();
    assert_eq!(summary.failed, 0, "{}", summary.to_text());
    assert!(tmp
        .path()
        .join("out/.previews/slime/slime-idle.png")
        .is_file());
    let page = summary.contact_sheet.canonicalize().unwrap();

    let profile = tmp.path().join("chromium-profile");
    let dom = run_browser(&chromium, &profile, &["--dump-dom".to_string()], &page);
    let expected = "data-previews=\"5/5\"";
    assert!(
        dom.contains(expected),
        "expected {expected} on <body>; the browser saw:\n{}",
        &dom[..dom.len().min(2000)]
    );

    screenshot(&chromium, &profile, &page, &tmp.path().join("contact.png"));
}
