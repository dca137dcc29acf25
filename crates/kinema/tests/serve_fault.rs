//! `kill -9` the real `kinema serve` while tasks are queued and running, restart it on
//! the same data directory, and check that every accepted task ends exactly once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A minimal HTTP/1.1 client (one request per connection), enough for JSON calls.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").expect("http response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    // Bodies may be chunked; take the JSON between the first `{` and the last `}`.
    let json = match (rest.find('{'), rest.rfind('}')) {
        (Some(a), Some(b)) => serde_json::from_str(&rest[a..=b]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, json)
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The sample hero as an inline `data:` image.
fn hero_data_url() -> String {
    let image = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../samples/characters/femaleAdventurer_idle.png"),
    )
    .unwrap();
    format!("data:image/png;base64,{}", base64(&image))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(data: &Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_kinema"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--workers",
            "1",
            "--data",
        ])
        .arg(data)
        // The embedded queue and store under test, whatever the shell exports.
        .env_remove("KINEMA_QUEUE")
        .env_remove("KINEMA_STORE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kinema serve starts");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn status(port: u16, id: &str) -> String {
    let (_, v) = http(port, "GET", &format!("/v1/tasks/{id}"), &[], "");
    v["status"].as_str().unwrap_or("").to_string()
}

fn submit_all(port: u16, body: &str, n: usize, want: u16) -> Vec<String> {
    (0..n)
        .map(|i| {
            let key = format!("fault-{i}");
            let (code, v) = http(
                port,
                "POST",
                "/v1/image_to_video",
                &[("Idempotency-Key", &key)],
                body,
            );
            assert_eq!(code, want, "submit {i}: {v}");
            v["id"].as_str().expect("id").to_string()
        })
        .collect()
}

#[test]
fn kill_9_loses_no_task_and_finishes_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let body = json!({"image": hero_data_url(),
        "prompt": "walks then waves", "frames": 36, "size": 256, "outputs": ["mp4", "gif"]})
    .to_string();

    let port = free_port();
    let mut first = spawn(&data, port);
    let ids = submit_all(port, &body, 5, 202);
    let start = Instant::now();
    while status(port, &ids[0]) != "RUNNING" && status(port, &ids[0]) != "SUCCEEDED" {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(10));
    }
    first.kill().expect("SIGKILL");
    first.wait().unwrap();

    let port = free_port();
    let mut second = spawn(&data, port);
    // Retried submits find the tasks accepted before the crash.
    assert_eq!(submit_all(port, &body, 5, 200), ids);
    let start = Instant::now();
    for id in &ids {
        loop {
            let s = status(port, id);
            if s == "SUCCEEDED" {
                break;
            }
            assert!(!matches!(s.as_str(), "FAILED" | "CANCELLED"), "{id}: {s}");
            assert!(start.elapsed() < Duration::from_secs(300), "{id} still {s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    second.kill().unwrap();
    second.wait().unwrap();

    let store = kinema_server::store::Store::open(&data.join("kinema.sqlite3")).unwrap();
    for id in &ids {
        let log = store.transitions(id).unwrap();
        let ends = log
            .iter()
            .filter(|(_, to)| to == "SUCCEEDED" || to == "FAILED" || to == "CANCELLED")
            .count();
        assert_eq!(ends, 1, "{id}: {log:?}");
        let files: Vec<_> = std::fs::read_dir(data.join("outputs").join(id))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(files.len(), 2, "{id}: {files:?}");
    }
    assert_eq!(
        store
            .count(kinema_server::store::Status::Succeeded)
            .unwrap(),
        ids.len()
    );
    assert_eq!(
        std::fs::read_dir(data.join("outputs")).unwrap().count(),
        ids.len()
    );
}

/// A paid engine's task survives `kill -9` of the server: the restarted server resumes the
/// provider's task by polling it, never by submitting (and paying) again.
#[test]
fn kill_9_during_a_provider_task_resumes_without_a_second_submit() {
    use kinema_providers::testing::{FakeProvider, Script, Step, Vendor};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    // The fake sets the base URL and key in this process's environment; `kinema serve`
    // inherits them.
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "serve fault: the hero bows";
    let hold = Arc::new(AtomicBool::new(true));
    fake.script(
        prompt,
        Script {
            steps: vec![Step::Queued, Step::Running(0.5), Step::Succeeded],
            hold: Some(hold.clone()),
            ..Script::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let body = json!({"image": hero_data_url(),
        "engine": "runway", "prompt": prompt, "frames": 8, "fps": 8, "outputs": ["apng"]})
    .to_string();
    let port = free_port();
    let mut first = spawn(&data, port);
    let (code, v) = http(port, "POST", "/v1/image_to_video", &[], &body);
    assert_eq!(code, 202, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    while fake.polls(prompt) < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the task never ran"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    hold.store(false, Ordering::SeqCst);

    let port = free_port();
    let mut second = spawn(&data, port);
    let start = Instant::now();
    loop {
        let s = status(port, &id);
        if s == "SUCCEEDED" {
            break;
        }
        assert!(!matches!(s.as_str(), "FAILED" | "CANCELLED"), "{id}: {s}");
        assert!(start.elapsed() < Duration::from_secs(120), "{id} still {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, task) = http(port, "GET", &format!("/v1/tasks/{id}"), &[], "");
    assert!(task["provider_tasks"][0]["task_id"].is_string(), "{task}");
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(
        fake.create_requests(prompt),
        1,
        "resumed by polling, not paid twice"
    );
    assert_eq!(fake.cancels(prompt), 0);
}
