//! Load and overhead measurement over loopback:
//! `cargo run --release -p kinema-server --example load [SUBMISSIONS] [CLIENTS]`.
//!
//! Submits small clips (4 frames, 64 px, GIF) from concurrent clients while the queue is
//! busy, checks that every accepted task ends exactly once, and prints throughput and
//! submit latency. Then, with an idle queue, measures the server's own overhead per task:
//! accepted→SUCCEEDED wall time minus the engine's render time.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kinema_server::store::Status;
use kinema_server::{start, RunningServer, ServeConfig};
use serde_json::{json, Value};

pub struct LoadReport {
    pub submissions: usize,
    pub clients: usize,
    pub wall_s: f64,
    pub submit_p50_ms: f64,
    pub submit_p99_ms: f64,
    pub overhead_p50_ms: f64,
    pub overhead_max_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sample() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters/femaleAdventurer_idle.png");
    std::fs::read(path).expect("the shipped sample")
}

async fn upload(client: &reqwest::Client, base: &str) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(sample()).file_name("hero.png"),
    );
    let v: Value = client
        .post(format!("{base}/v1/uploads"))
        .multipart(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("upload body");
    v["id"].as_str().expect("upload id").to_string()
}

async fn wait_all(server: &RunningServer, ids: &[String]) {
    let store = &server.state().store;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut done = 0;
        for id in ids {
            if let Ok(Some(t)) = store.task(None, id).await {
                done += usize::from(t.status.is_terminal());
            }
        }
        if done == ids.len() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{done} of {} finished",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs the load phase and the overhead phase; panics if any task is lost, duplicated
/// or does not succeed.
pub async fn run(submissions: usize, clients: usize) -> LoadReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.quota = submissions + 10;
    let server = start(config).expect("server");
    let base = server.url();
    let client = reqwest::Client::new();
    let image = upload(&client, &base).await;
    let body = Arc::new(
        json!({"image": image, "prompt": "waves hello", "frames": 4, "fps": 8,
        "size": 64, "outputs": ["gif"]}),
    );

    let t0 = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let (client, base, body) = (client.clone(), base.clone(), body.clone());
        let share = submissions / clients + usize::from(c < submissions % clients);
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for n in 0..share {
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/v1/image_to_video"))
                    .header("Idempotency-Key", format!("load-{c}-{n}"))
                    .json(&*body)
                    .send()
                    .await
                    .expect("submit");
                let ms = t.elapsed().as_secs_f64() * 1e3;
                assert_eq!(r.status(), 202, "submit {c}/{n}");
                let v: Value = r.json().await.expect("submit body");
                out.push((v["id"].as_str().expect("id").to_string(), ms));
            }
            out
        }));
    }
    let mut ids = Vec::new();
    let mut latencies = Vec::new();
    for h in handles {
        for (id, ms) in h.await.expect("client") {
            ids.push(id);
            latencies.push(ms);
        }
    }
    wait_all(&server, &ids).await;
    let wall_s = t0.elapsed().as_secs_f64();

    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), submissions, "duplicate task ids");
    let store = &server.state().store;
    for id in &ids {
        let t = store.task(None, id).await.unwrap().expect("task kept");
        assert_eq!(t.status, Status::Succeeded, "{id}: {:?}", t.error);
        let ends = store
            .transitions(id)
            .await
            .unwrap()
            .iter()
            .filter(|(_, to)| to == "SUCCEEDED" || to == "FAILED" || to == "CANCELLED")
            .count();
        assert_eq!(ends, 1, "{id} ended {ends} times");
    }
    assert_eq!(store.count(Status::Succeeded).await.unwrap(), submissions);
    latencies.sort_by(f64::total_cmp);

    // Overhead with an idle queue: one task at a time.
    let mut overheads = Vec::new();
    for _ in 0..10 {
        let v: Value = client
            .post(format!("{base}/v1/image_to_video"))
            .json(&*body)
            .send()
            .await
            .expect("submit")
            .json()
            .await
            .expect("body");
        let id = v["id"].as_str().expect("id").to_string();
        wait_all(&server, std::slice::from_ref(&id)).await;
        let t = store.task(None, &id).await.unwrap().expect("task");
        let wall = (t.finished_at.unwrap_or(0) - t.created_at) as f64;
        overheads.push(wall - t.render_ms.unwrap_or(0.0));
    }
    overheads.sort_by(f64::total_cmp);
    server.stop();
    LoadReport {
        submissions,
        clients,
        wall_s,
        submit_p50_ms: percentile(&latencies, 0.5),
        submit_p99_ms: percentile(&latencies, 0.99),
        overhead_p50_ms: percentile(&overheads, 0.5),
        overhead_max_ms: *overheads.last().unwrap_or(&0.0),
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} submissions from {} clients: all SUCCEEDED exactly once in {:.2} s ({:.1} tasks/s)",
            self.submissions,
            self.clients,
            self.wall_s,
            self.submissions as f64 / self.wall_s
        )?;
        writeln!(
            f,
            "submit latency (queue busy): p50 {:.2} ms, p99 {:.2} ms",
            self.submit_p50_ms, self.submit_p99_ms
        )?;
        write!(
            f,
            "server overhead per task (idle queue, wall minus engine render): p50 {:.1} ms, max {:.1} ms",
            self.overhead_p50_ms, self.overhead_max_ms
        )
    }
}

#[allow(dead_code)]
fn main() {
    let mut args = std::env::args().skip(1);
    let submissions = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let clients = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let report = runtime.block_on(run(submissions, clients));
    println!("{report}");
}
