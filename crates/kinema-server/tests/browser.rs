//! The web page in a real browser: the server runs in-process on a free port and
//! `tests/browser/e2e.mjs` drives headless Chromium through it with Playwright (upload,
//! generate, live progress, previews, downloads, a failing submit, Chinese).
//!
//! Needs Node.js ≥ 18, Debian's `chromium` and the pinned `playwright-core`
//! (`npm ci --prefix crates/kinema-server/tests/browser`). Without them the test says so
//! loudly and passes on a developer machine, but fails when `CI` is set.
//! `KINEMA_KEEP_SCREENSHOTS=DIR` copies the screenshots into `DIR`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kinema_server::ServeConfig;

const INSTALL: &str =
    "apt-get install -y nodejs npm chromium && npm ci --prefix crates/kinema-server/tests/browser";
/// The script has its own 7-minute budget; this one catches a wedged Node itself.
const DEADLINE: Duration = Duration::from_secs(480);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Node, playwright-core and Chromium, or the reason the test cannot run.
fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let node = on_path(&["node", "nodejs"]).ok_or("node is not installed")?;
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path(&["chromium", "chromium-browser", "google-chrome"]))
        .ok_or("chromium is not installed")?;
    let package = browser_dir().join("node_modules/playwright-core/package.json");
    if !package.is_file() {
        return Err(format!("{} is missing", package.display()));
    }
    Ok((node, chromium))
}

/// Node and Chromium when the test can run; `None` after printing why it is skipped.
fn ready(test: &str) -> Option<(PathBuf, PathBuf)> {
    match prerequisites() {
        Ok(found) => Some(found),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{why}; CI must install the browser test's tools: {INSTALL}")
        }
        Err(why) => {
            // Straight to stderr: the test harness would swallow eprintln! of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test}: {why} ***\n*** install with: {INSTALL} ***\n"
            );
            None
        }
    }
}

/// Runs the script to completion or the deadline; returns (success, stdout + stderr).
fn run_e2e(
    node: &Path,
    chromium: &Path,
    url: &str,
    shot: &Path,
    token: Option<&str>,
) -> (bool, String) {
    let log = tempfile::NamedTempFile::new().expect("temporary log file");
    let mut cmd = Command::new(node);
    cmd.current_dir(browser_dir())
        .arg("e2e.mjs")
        .arg(url)
        .arg(shot)
        .env("CHROMIUM", chromium)
        .stdin(Stdio::null())
        .stdout(log.reopen().expect("log for stdout"))
        .stderr(log.reopen().expect("log for stderr"));
    match token {
        Some(t) => cmd.env("KINEMA_E2E_TOKEN", t),
        None => cmd.env_remove("KINEMA_E2E_TOKEN"),
    };
    let mut child = cmd.spawn().expect("node starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut output = String::new();
    let _ = log.reopen().and_then(|mut f| f.read_to_string(&mut output));
    match status {
        Some(s) => (s.success(), output),
        None => (
            false,
            format!("{output}\nnode did not finish within {DEADLINE:?}"),
        ),
    }
}

/// Starts a server on a free loopback port with its data in `data`.
fn serve(data: &Path, token: Option<&str>) -> kinema_server::RunningServer {
    let mut config = ServeConfig::new("127.0.0.1:0".parse().expect("loopback address"), data);
    config.workers = 1;
    if let Some(t) = token {
        config.tokens = vec![t.to_string()];
    }
    kinema_server::start(config).expect("the server starts")
}

fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kinema-server-browser/{name}.png"))
}

/// Where e2e.mjs puts the Chinese screenshot.
fn zh_sibling(shot: &Path) -> PathBuf {
    let stem = shot.file_stem().unwrap_or_default().to_string_lossy();
    shot.with_file_name(format!("{stem}-zh.png"))
}

fn keep_screenshots(shot: &Path) {
    let Some(dir) = std::env::var_os("KINEMA_KEEP_SCREENSHOTS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    for file in [shot.to_path_buf(), zh_sibling(shot)] {
        if let Some(name) = file.file_name().filter(|_| file.is_file()) {
            std::fs::copy(&file, dir.join(name)).expect("copy screenshot");
        }
    }
}

fn assert_png(path: &Path) {
    let png = std::fs::read(path).unwrap_or_default();
    assert!(
        png.len() > 1000 && png.starts_with(b"\x89PNG"),
        "screenshot {} is missing or not a PNG ({} bytes)",
        path.display(),
        png.len()
    );
}

/// Runs the page test against a fresh server; `token` starts it with `--token`.
fn check(name: &str, token: Option<&str>) {
    let Some((node, chromium)) = ready(name) else {
        return;
    };
    let data = tempfile::tempdir().expect("data folder");
    let server = serve(data.path(), token);
    let url = format!("{}/", server.url());
    let shot = screenshot_path(name);
    let (ok, output) = run_e2e(&node, &chromium, &url, &shot, token);
    eprintln!("{output}");
    assert!(ok, "the browser test failed:\n{output}");
    assert!(
        output.contains("E2E OK"),
        "the script did not finish:\n{output}"
    );
    assert_png(&shot);
    if token.is_none() {
        assert_png(&zh_sibling(&shot));
    }
    keep_screenshots(&shot);
    server.stop();
}

#[test]
fn page_works_end_to_end_in_chromium() {
    check("serve-page", None);
}

#[test]
fn page_asks_for_and_uses_the_access_token() {
    check("serve-page-token", Some("e2e-token-0123456789abcdef"));
}
