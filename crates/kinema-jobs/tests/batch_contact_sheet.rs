//! The contact sheet in a real browser: headless Chromium loads `index.html` from disk,
//! every preview must decode, and a screenshot must come out.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`). Without it the test says so
//! loudly and passes on a developer machine, but fails when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kinema_jobs::batch::{run_batch, BatchOptions, Manifest};

fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name)
        .display()
        .to_string()
}

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Runs the browser with a hard deadline, so a wedged browser fails the test, never hangs it.
fn run_browser(chromium: &Path, profile: &Path, extra: &[String], page: &Path) -> String {
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

#[test]
fn contact_sheet_previews_all_load_in_chromium() {
    let Some(chromium) = find_chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed; CI must install it: apt-get install -y chromium");
        }
        eprintln!("\n*** SKIPPED contact_sheet_previews_all_load_in_chromium: chromium is not installed ***\n*** install it with: apt-get install -y chromium ***\n");
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

    let shot = tmp.path().join("contact.png");
    run_browser(
        &chromium,
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,900".to_string(),
        ],
        &page,
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png.len() > 1000 && png.starts_with(b"\x89PNG"),
        "screenshot is {} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("KINEMA_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
