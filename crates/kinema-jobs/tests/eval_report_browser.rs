//! The `kinema eval --suite` report in a real browser: headless Chromium opens
//! `index.html` from disk, offline, and every animated preview and per-frame plot must
//! decode; a screenshot must come out.
//!
//! Needs Debian's `chromium`; see `common::require_chromium` for what happens without it.

mod common;

use common::{require_chromium, run_browser, sample, screenshot};
use kinema_jobs::run_suite;

#[test]
fn eval_report_previews_and_plots_all_load_in_chromium() {
    let Some(chromium) = require_chromium("eval_report_previews_and_plots_all_load_in_chromium")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let suite = format!(
        "frames = 8\nfps = 8\nprompts = [\"waves hello\", \"jumps\"]\n\
         [[character]]\nimage = {:?}\nname = \"hero\"\n\
         [[character]]\nimage = {:?}\n",
        sample("femaleAdventurer_idle.png"),
        sample("slimeBlue.png"),
    );
    let suite_path = tmp.path().join("suite.toml");
    std::fs::write(&suite_path, suite).unwrap();
    let report_dir = tmp.path().join("report");
    let outcome = run_suite(&suite_path, &report_dir, false, &|_| {}).unwrap();
    assert_eq!(
        outcome.entries.len(),
        4,
        "2 characters × 2 prompts × 1 engine"
    );

    let page = outcome.index.canonicalize().unwrap();
    let profile = tmp.path().join("chromium-profile");
    let dom = run_browser(&chromium, &profile, &["--dump-dom".to_string()], &page);
    // Per clip: the animated preview and two plots (identity, motion).
    let expected = "data-images=\"12/12\"";
    assert!(
        dom.contains(expected),
        "expected {expected} on <body>; the browser saw:\n{}",
        &dom[..dom.len().min(2000)]
    );
    for needle in ["hero", "slimeBlue", "waves hello", "identity per frame"] {
        assert!(dom.contains(needle), "the page lacks {needle:?}");
    }
    screenshot(&chromium, &profile, &page, &tmp.path().join("report.png"));
}
