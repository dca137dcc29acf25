//! Headless Chromium for the tests that check pages people open in a browser.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A shipped sample character, as a path string for TOML files.
pub fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name)
        .display()
        .to_string()
}

/// Debian's `chromium` (or another Chromium on PATH). Without one, the test says so loudly
/// and passes on a developer machine, but fails when `CI` is set.
pub fn require_chromium(test: &str) -> Option<PathBuf> {
    let found = find_chromium();
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed; CI must install it: apt-get install -y chromium");
        }
        eprintln!("\n*** SKIPPED {test}: chromium is not installed ***\n*** install it with: apt-get install -y chromium ***\n");
    }
    found
}

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Runs the browser with a hard deadline, so a wedged browser fails the test, never hangs it.
pub fn run_browser(chromium: &Path, profile: &Path, extra: &[String], page: &Path) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader thread")
}

/// Takes a screenshot of `page` and checks it is a real PNG; keeps a copy at
/// `$KINEMA_KEEP_SCREENSHOT` when set, for docs and for eyeballing.
pub fn screenshot(chromium: &Path, profile: &Path, page: &Path, shot: &Path) {
    run_browser(
        chromium,
        profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,900".to_string(),
        ],
        page,
    );
    let png = std::fs::read(shot).expect("chromium wrote the screenshot");
    assert!(
        png.len() > 1000 && png.starts_with(b"\x89PNG"),
        "screenshot is {} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("KINEMA_KEEP_SCREENSHOT") {
        std::fs::copy(shot, keep).unwrap();
    }
}
