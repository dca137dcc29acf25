//! A cluster of real processes on loopback: `kinema serve --workers 0` API servers and
//! `kinema worker` processes sharing the PostgreSQL and S3 servers that
//! `tools/cluster/dev-up.sh` started (`.ci/run` does). Each test has its own database
//! and S3 prefix; they take turns because some restart the shared servers.
//!
//! Without the services the tests say they are skipped and pass, unless `CI` is set.
//! `cargo test -p kinema --test cluster -- --nocapture` shows the measured numbers;
//! `-- --ignored cluster_benchmark` runs the benchmark of docs/PERFORMANCE.md.

mod cluster_support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use cluster_support::{endings_of, long_request, services, small_request, Cluster, TURN};
use kinema_server::backend::TaskStore;
use kinema_server::store::Status;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(300);

/// Frames of a job that renders for several seconds on a loaded two-core machine.
const LONG_FRAMES: u32 = 96;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_three_workers_take_200_submissions_from_20_clients() {
    let Some(s) = services("two_servers_three_workers") else {
        return;
    };
    let _turn = TURN.lock().await;
    let mut c = Cluster::new(s).await;
    c.api(&[]);
    c.api(&[]);
    for _ in 0..3 {
        c.worker(&[]);
    }
    let image = c.upload(0, None).await;
    let body = Arc::new(small_request(&image));
    let c = Arc::new(c);
    let t0 = Instant::now();
    let mut clients = Vec::new();
    for k in 0..20 {
        let (c, body) = (c.clone(), body.clone());
        clients.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for n in 0..10 {
                // Every client alternates between the two servers.
                let api = (k + n) % 2;
                let t = Instant::now();
                let r = c
                    .submit(api, None, &body, Some(&format!("c{k}-{n}")))
                    .await
                    .expect("submit");
                assert_eq!(r.status(), 202, "client {k} submit {n}");
                let v: Value = r.json().await.unwrap();
                out.push((v["id"].as_str().unwrap().to_string(), t.elapsed()));
            }
            out
        }));
    }
    let mut ids = Vec::new();
    let mut latencies = Vec::new();
    for h in clients {
        for (id, took) in h.await.unwrap() {
            ids.push(id);
            latencies.push(took);
        }
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (200, 200), "none duplicated");
    let bodies = c.wait_all(1, None, &ids, LONG).await;
    let wall = t0.elapsed();
    let q = c.queue().await;
    for t in &bodies {
        let id = t["id"].as_str().unwrap();
        assert_eq!(t["status"], "SUCCEEDED", "{t}");
        assert_eq!(endings_of(&q.transitions(id).await.unwrap()), 1, "{id}");
    }
    assert_eq!(
        q.count(Status::Succeeded).await.unwrap(),
        200,
        "none lost, none extra"
    );
    // Every output is downloadable, identically, from either server.
    for t in &bodies {
        let out = &t["outputs"][0];
        let url = out["url"].as_str().unwrap();
        let a = c.download(0, url).await;
        let b = c.download(1, url).await;
        assert_eq!(a.len() as u64, out["bytes"].as_u64().unwrap());
        assert!(a == b && a.starts_with(b"GIF"), "{url}");
    }
    // Ranged reads come from the store too.
    let url = bodies[0]["outputs"][0]["url"].as_str().unwrap();
    let part = c
        .client
        .get(c.url(1, url))
        .header("Range", "bytes=0-5")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"]
            .to_str()
            .unwrap()
            .split('/')
            .next(),
        Some("bytes 0-5")
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), b"GIF89a");
    let endings = c.endings();
    for (n, e) in endings.iter().enumerate() {
        assert!(
            e.get("succeeded").copied().unwrap_or(0) > 0,
            "worker {n} rendered nothing: {endings:?}"
        );
    }
    // Each process exposes its metrics.
    let worker_metrics = c
        .client
        .get(format!("http://127.0.0.1:{}/metrics", c.workers[0].port))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        worker_metrics.contains("kinema_job_seconds_count{engine=\"rig\",outcome=\"succeeded\"}"),
        "{worker_metrics}"
    );
    assert!(worker_metrics.contains("kinema_claim_seconds_bucket"));
    let api_metrics = c
        .client
        .get(c.url(0, "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(api_metrics.contains("# TYPE kinema_queue_tasks gauge") || !api_metrics.is_empty());
    latencies.sort();
    println!(
        "200 submissions from 20 clients over 2 API servers, 3 workers: all SUCCEEDED once in {:.2} s ({:.1} tasks/s); submit p50 {:.1} ms, p99 {:.1} ms; per worker {endings:?}",
        wall.as_secs_f64(),
        200.0 / wall.as_secs_f64(),
        latencies[100].as_secs_f64() * 1e3,
        latencies[197].as_secs_f64() * 1e3,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_job_loses_its_lease_and_another_finishes_once() {
    let Some(s) = services("worker_kill_9") else {
        return;
    };
    let _turn = TURN.lock().await;
    let mut c = Cluster::new(s).await;
    // Downloads here redirect to presigned URLs of the S3 server.
    c.api(&["--presign"]);
    c.worker(&["--lease", "3"]);
    c.worker(&["--lease", "3"]);
    let image = c.upload(0, None).await;
    // Long enough to be caught mid-render on a fast machine too.
    let id = c
        .submit_ok(0, None, &long_request(&image, LONG_FRAMES * 2))
        .await;
    let holder = c.wait_running(0, &id).await;
    c.workers[holder].kill9();
    let killed_at = Instant::now();
    let t = &c.wait_all(0, None, std::slice::from_ref(&id), LONG).await[0];
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["attempts"], 2, "{t}");
    let log = c.queue().await.transitions(&id).await.unwrap();
    let to: Vec<&str> = log.iter().map(|(_, to)| to.as_str()).collect();
    assert_eq!(
        to,
        ["PENDING", "RUNNING", "PENDING", "RUNNING", "SUCCEEDED"]
    );
    // One set of outputs: the second attempt's, downloadable.
    assert_eq!(c.output_attempts(&id).await, ["2"]);
    let out = &t["outputs"][0];
    let r = c
        .client
        .get(c.url(0, out["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let endpoint = c.services.var("AWS_ENDPOINT_URL").to_string();
    assert!(
        r.url().as_str().starts_with(&endpoint),
        "served by S3: {}",
        r.url()
    );
    assert_eq!(
        r.bytes().await.unwrap().len() as u64,
        out["bytes"].as_u64().unwrap()
    );
    let survivor = &c.workers[1 - holder];
    assert!(
        survivor.log_text().contains("stopped renewing the lease"),
        "the survivor reaped the lease"
    );
    println!(
        "worker killed mid-job: taken over and finished {:.1} s later (lease 3 s)",
        killed_at.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_api_server_killed_during_submissions_loses_and_duplicates_nothing() {
    let Some(s) = services("api_kill_9") else {
        return;
    };
    let _turn = TURN.lock().await;
    let mut c = Cluster::new(s).await;
    c.api(&[]);
    c.api(&[]);
    c.worker(&[]);
    c.worker(&[]);
    let image = c.upload(1, None).await;
    let body = Arc::new(small_request(&image));
    let c = Arc::new(c);
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for k in 0..10 {
        let (c, body, accepted) = (c.clone(), body.clone(), accepted.clone());
        clients.push(tokio::spawn(async move {
            let mut keys = Vec::new();
            for n in 0..10 {
                let key = format!("k{k}-{n}");
                // Server 0 first; on any failure (it is gone) the same key goes to server 1.
                let mut id = None;
                for api in [0, 1, 1, 1] {
                    let r = c.submit(api, None, &body, Some(&key)).await;
                    match r {
                        Ok(r) if r.status() == 202 || r.status() == 200 => {
                            let v: Value = r.json().await.unwrap();
                            id = Some(v["id"].as_str().unwrap().to_string());
                            break;
                        }
                        _ => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                keys.push((key, id.expect("accepted by one of the servers")));
            }
            keys
        }));
    }
    // Pull the plug on server 0 while submissions are flowing.
    while accepted.load(std::sync::atomic::Ordering::SeqCst) < 30 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    c.apis[0].kill9();
    let mut by_key = HashMap::new();
    for h in clients {
        for (key, id) in h.await.unwrap() {
            by_key.insert(key, id);
        }
    }
    let ids: Vec<String> = by_key.values().cloned().collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!((by_key.len(), unique.len()), (100, 100));
    let bodies = c.wait_all(1, None, &ids, LONG).await;
    assert!(bodies.iter().all(|t| t["status"] == "SUCCEEDED"));
    let q = c.queue().await;
    let mut all = 0;
    for status in Status::ALL {
        all += q.count(status).await.unwrap();
    }
    assert_eq!(
        all, 100,
        "one task per idempotency key, whichever server took it"
    );
}

/// One API server and two workers busy with 30 tasks, every third one long, once the
/// first has been claimed: an outage starting now finds work running and work queued.
async fn busy_cluster(s: cluster_support::DevServices) -> (Cluster, String, Vec<String>) {
    let mut c = Cluster::new(s).await;
    c.api(&[]);
    c.worker(&[]);
    c.worker(&[]);
    let image = c.upload(0, None).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let body = if i % 3 == 0 {
            long_request(&image, LONG_FRAMES)
        } else {
            small_request(&image)
        };
        ids.push(c.submit_ok(0, None, &body).await);
    }
    c.wait_started(0, &ids[0]).await;
    (c, image, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgresql_restart_while_workers_run_loses_nothing() {
    let Some(s) = services("postgres_restart") else {
        return;
    };
    let _turn = TURN.lock().await;
    let (c, image, ids) = busy_cluster(s).await;
    c.services.restart("postgres", Duration::from_secs(2));
    let bodies = c.wait_all(0, None, &ids, LONG).await;
    for w in &c.workers {
        assert!(
            w.log_text().contains("reconnecting"),
            "{} did not notice the restart",
            w.name
        );
    }
    let q = c.queue().await;
    for t in &bodies {
        assert_eq!(t["status"], "SUCCEEDED", "{t}");
        let id = t["id"].as_str().unwrap();
        assert_eq!(endings_of(&q.transitions(id).await.unwrap()), 1, "{id}");
    }
    // Everyone reconnected: a task submitted now runs too.
    let after = c.submit_ok(0, None, &small_request(&image)).await;
    let t = &c.wait_all(0, None, &[after], LONG).await[0];
    assert_eq!(t["status"], "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_s3_outage_delays_jobs_but_never_ends_one_without_its_files() {
    let Some(s) = services("s3_outage") else {
        return;
    };
    let _turn = TURN.lock().await;
    let (c, _image, ids) = busy_cluster(s).await;
    let outage = c.services.outage("s3");
    // A submit whose inline image cannot be stored gets a 503 with Retry-After (after the
    // server's own retries), not a 500; the store stays down until it has answered.
    let inline = serde_json::json!({"image": format!("data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(cluster_support::sample_bytes())),
        "prompt": "waves hello", "frames": 4, "size": 64, "outputs": ["gif"]});
    let during = c.submit(0, None, &inline, None).await.expect("answered");
    assert_eq!(during.status(), 503);
    assert!(during.headers().contains_key("retry-after"));
    outage.end();
    let bodies = c.wait_all(0, None, &ids, LONG).await;
    for t in &bodies {
        assert_eq!(t["status"], "SUCCEEDED", "{t}");
        for out in t["outputs"].as_array().unwrap() {
            let bytes = c.download(0, out["url"].as_str().unwrap()).await;
            assert_eq!(bytes.len() as u64, out["bytes"].as_u64().unwrap());
        }
    }
    // The workers met the outage: object_store's own retries ("backing off") or, when
    // they ran out, the worker's ("trying again").
    let waited: usize = c
        .workers
        .iter()
        .map(|w| {
            let log = w.log_text();
            log.matches("backing off").count() + log.matches("trying again").count()
        })
        .sum();
    assert!(waited > 0, "the outage was noticed by the workers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_on_one_server_stops_the_job_running_for_the_other() {
    let Some(s) = services("cross_server_cancel") else {
        return;
    };
    let _turn = TURN.lock().await;
    let mut c = Cluster::new(s).await;
    c.api(&[]);
    c.api(&[]);
    c.worker(&[]);
    let image = c.upload(0, None).await;
    let id = c
        .submit_ok(0, None, &long_request(&image, LONG_FRAMES * 4))
        .await;
    c.wait_running(0, &id).await;
    let r = c
        .client
        .delete(c.url(1, &format!("/v1/tasks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cancelled_at = Instant::now();
    let ended = loop {
        let ended = c.workers[0]
            .events("ended")
            .into_iter()
            .find(|e| e["task"] == id.as_str());
        if let Some(e) = ended {
            break e;
        }
        assert!(
            cancelled_at.elapsed() < Duration::from_secs(60),
            "the render went on after the cancel"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let reached = cancelled_at.elapsed();
    assert_eq!(ended["outcome"], "cancelled");
    let t = c.task(0, None, &id).await;
    assert_eq!(t["status"], "CANCELLED");
    assert!(t["outputs"].as_array().unwrap().is_empty());
    assert!(c.output_attempts(&id).await.is_empty(), "no files kept");
    // The worker is free again.
    let next = c.submit_ok(1, None, &small_request(&image)).await;
    assert_eq!(
        c.wait_all(1, None, &[next], LONG).await[0]["status"],
        "SUCCEEDED"
    );
    println!(
        "cancel on the other server reached the render in {:.0} ms",
        reached.as_secs_f64() * 1e3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tokens_get_turns_under_load() {
    let Some(s) = services("fairness") else {
        return;
    };
    let _turn = TURN.lock().await;
    const ALICE: &str = "alice-token-0123456789";
    const BOB: &str = "bob-token-0123456789ab";
    let mut c = Cluster::new(s).await;
    c.api(&["--token", ALICE, "--token", BOB]);
    c.worker(&[]);
    c.worker(&[]);
    let (a_image, b_image) = (c.upload(0, Some(ALICE)).await, c.upload(0, Some(BOB)).await);
    let mut alice = Vec::new();
    for _ in 0..30 {
        alice.push(c.submit_ok(0, Some(ALICE), &small_request(&a_image)).await);
    }
    let mut bob = Vec::new();
    for _ in 0..6 {
        bob.push(c.submit_ok(0, Some(BOB), &small_request(&b_image)).await);
    }
    let a = c.wait_all(0, Some(ALICE), &alice, LONG).await;
    let b = c.wait_all(0, Some(BOB), &bob, LONG).await;
    let bob_from = b
        .iter()
        .map(|t| t["created_at"].as_str().unwrap().to_string())
        .min()
        .unwrap();
    // Claims made after Bob's first submit, in order.
    let mut claims: Vec<(String, bool)> = a
        .iter()
        .map(|t| (t, false))
        .chain(b.iter().map(|t| (t, true)))
        .filter(|(t, _)| t["started_at"].as_str().unwrap() >= bob_from.as_str())
        .map(|(t, is_bob)| (t["started_at"].as_str().unwrap().to_string(), is_bob))
        .collect();
    claims.sort();
    let last_bob = claims.iter().rposition(|(_, is_bob)| *is_bob).unwrap();
    let alice_waiting = claims.iter().filter(|(_, is_bob)| !is_bob).count();
    // Round-robin: Bob's 6 tasks go in turns with Alice's (plus what the two workers
    // were already holding), not after all of her queued ones.
    assert!(
        last_bob < 2 * bob.len() + 3,
        "Bob's last task was claim {last_bob} of {} after he submitted (Alice had {alice_waiting} waiting)",
        claims.len()
    );
    println!(
        "fairness: Bob's 6 tasks were all claimed within the first {} claims after his submit; Alice had {alice_waiting} queued",
        last_bob + 1
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// 200 submissions from 20 concurrent clients, alternating between the two servers;
/// client `k` sends with `tokens[k % len]`. Returns the submit latencies (ms, sorted),
/// the task ids and the wall time until all ended.
async fn burst(
    c: &Arc<Cluster>,
    tokens: &[String],
    images: &[String],
) -> (Vec<f64>, Vec<String>, f64) {
    let t0 = Instant::now();
    let mut clients = Vec::new();
    for k in 0..20 {
        let c = c.clone();
        let token = tokens[k % tokens.len()].clone();
        let body = small_request(&images[k % images.len()]);
        clients.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for n in 0..10 {
                let t = Instant::now();
                let r = c
                    .submit((k + n) % 2, Some(&token), &body, None)
                    .await
                    .unwrap();
                assert_eq!(r.status(), 202);
                let v: Value = r.json().await.unwrap();
                out.push((
                    v["id"].as_str().unwrap().to_string(),
                    t.elapsed().as_secs_f64() * 1e3,
                ));
            }
            out
        }));
    }
    let mut ids = Vec::new();
    let mut submit_ms = Vec::new();
    for h in clients {
        for (id, ms) in h.await.unwrap() {
            ids.push(id);
            submit_ms.push(ms);
        }
    }
    let q = c.queue().await;
    let mut open = ids.len();
    while open > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        open = 0;
        for id in &ids {
            let done = q
                .task(None, id)
                .await
                .unwrap()
                .is_some_and(|t| t.status.is_terminal());
            open += usize::from(!done);
        }
    }
    submit_ms.sort_by(f64::total_cmp);
    (submit_ms, ids, t0.elapsed().as_secs_f64())
}

/// The numbers of docs/PERFORMANCE.md: two API servers and `KINEMA_BENCH_WORKERS` (4)
/// workers; 200 submissions from 20 clients with one token, then with a token each
/// (submit latency, throughput); then 10 tasks one at a time on the idle queue (claim
/// latency, overhead beside the render time).
/// `cargo test -p kinema --test cluster -- --ignored cluster_benchmark --nocapture`;
/// `KINEMA_BENCH_PG_OPTIONS=-csynchronous_commit=off` measures without the commit fsync.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark; prints figures"]
async fn cluster_benchmark() {
    let Some(s) = services("cluster_benchmark") else {
        return;
    };
    let _turn = TURN.lock().await;
    let workers: usize = std::env::var("KINEMA_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(4);
    let tokens: Vec<String> = (0..20)
        .map(|k| format!("bench-token-{k:02}-0123456789"))
        .collect();
    let token_args: Vec<String> = tokens
        .iter()
        .flat_map(|t| ["--token".to_string(), t.clone()])
        .collect();
    let token_args: Vec<&str> = token_args.iter().map(String::as_str).collect();
    let mut c = Cluster::new(s).await;
    // e.g. `-csynchronous_commit=off`, to see what the commit's fsync costs.
    if let Ok(options) = std::env::var("KINEMA_BENCH_PG_OPTIONS") {
        c.queue_url = format!("{}?options={}", c.queue_url, options.replace('=', "%3D"));
    }
    c.api(&token_args);
    c.api(&token_args);
    for _ in 0..workers {
        c.worker(&[]);
    }
    let mut images = Vec::new();
    for t in &tokens {
        images.push(c.upload(0, Some(t)).await);
    }
    let c = Arc::new(c);
    for (label, used) in [("one token", &tokens[..1]), ("20 tokens", &tokens[..])] {
        let (submit_ms, _, wall) = burst(&c, used, &images[..used.len()]).await;
        println!(
            "cluster, 2 API servers, {workers} workers, 200 submissions from 20 clients ({label}): \
             {wall:.2} s = {:.1} tasks/s; submit p50 {:.1} ms, p99 {:.1} ms",
            200.0 / wall,
            percentile(&submit_ms, 0.5),
            percentile(&submit_ms, 0.99),
        );
    }
    let q = c.queue().await;
    let (mut claim_ms, mut overhead_ms, mut render_ms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..10 {
        let id = c
            .submit_ok(0, Some(&tokens[0]), &small_request(&images[0]))
            .await;
        c.wait_all(0, Some(&tokens[0]), std::slice::from_ref(&id), LONG)
            .await;
        let t = q.task(None, &id).await.unwrap().unwrap();
        assert_eq!(t.status, Status::Succeeded);
        let render = t.render_ms.unwrap_or(0.0);
        claim_ms.push((t.started_at.unwrap() - t.created_at) as f64);
        overhead_ms.push((t.finished_at.unwrap() - t.created_at) as f64 - render);
        render_ms.push(render);
    }
    for v in [&mut claim_ms, &mut overhead_ms, &mut render_ms] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "cluster, idle queue, 10 tasks one at a time: claim latency (submit → RUNNING) p50 {:.1} ms, max {:.1} ms; \
         overhead (submit → SUCCEEDED minus render) p50 {:.1} ms, max {:.1} ms, beside a render of p50 {:.1} ms",
        percentile(&claim_ms, 0.5),
        claim_ms[9],
        percentile(&overhead_ms, 0.5),
        overhead_ms[9],
        percentile(&render_ms, 0.5),
    );
}

/// Runs `kinema ARGS` to completion, with no queue or store from the environment.
fn kinema(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kinema"))
        .args(args)
        .env_remove("KINEMA_QUEUE")
        .env_remove("KINEMA_STORE")
        .output()
        .expect("kinema runs")
}

/// Bad cluster settings fail at once with a message and a hint (no services needed).
#[test]
fn impossible_cluster_settings_are_refused_with_a_hint() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    for (args, expected) in [
        (vec!["worker", "--data", d], "shared queue"),
        (
            vec![
                "worker",
                "--data",
                d,
                "--queue",
                "postgres://k@127.0.0.1:9/k",
                "--engines",
                "rig,sora",
            ],
            "`sora` is not an engine",
        ),
        // A worker's metrics may listen on any address: it serves no tokens.
        (
            vec![
                "worker",
                "--data",
                d,
                "--queue",
                "postgres://k@127.0.0.1:9/k",
                "--metrics-addr",
                "0.0.0.0:0",
            ],
            "cannot connect to the queue database",
        ),
        (
            vec!["serve", "--data", d, "--workers", "0"],
            "shared --queue",
        ),
        (vec!["serve", "--data", d, "--presign"], "S3 store"),
        (
            vec!["serve", "--data", d, "--queue", "redis://x"],
            "postgres://",
        ),
        (
            vec!["serve", "--data", d, "--store", "gs://bucket"],
            "s3://",
        ),
    ] {
        let out = kinema(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(stderr.contains("hint:"), "{args:?}: {stderr}");
    }
}

/// A paid engine through the cluster: an API server without `--workers`, a `kinema worker
/// --engines runway` that holds the key (inherited from this process, pointed at the
/// loopback fake), one submit at the service, outputs in the shared store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paid_engine_task_runs_on_a_worker_and_submits_once() {
    use kinema_providers::testing::{FakeProvider, Vendor};
    let Some(s) = services("paid_engine_on_a_worker") else {
        return;
    };
    let _turn = TURN.lock().await;
    let fake = FakeProvider::shared(Vendor::Runway);
    let mut c = Cluster::new(s).await;
    c.api(&[]);
    c.worker(&["--engines", "runway"]);
    let image = c.upload(0, None).await;
    let prompt = "cluster: the hero bows";
    let body = serde_json::json!({"image": image, "engine": "runway", "prompt": prompt,
        "frames": 8, "fps": 8, "outputs": ["apng"]});
    let id = c.submit_ok(0, None, &body).await;
    let t = &c.wait_all(0, None, std::slice::from_ref(&id), LONG).await[0];
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["attempts"], 1, "{t}");
    assert_eq!(t["outputs"][0]["format"], "apng", "{t}");
    assert_eq!(fake.create_requests(prompt), 1);
}

/// The provider-task record lives in the queue: when the worker polling a paid task is
/// killed, the worker that takes the task over resumes the service's task by polling, the
/// service sees one create, and the other API server shows the service's task id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paid_task_taken_over_by_another_worker_is_not_paid_twice() {
    use kinema_providers::testing::{FakeProvider, Script, Step, Vendor};
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(s) = services("paid_engine_takeover") else {
        return;
    };
    let _turn = TURN.lock().await;
    let fake = FakeProvider::shared(Vendor::Runway);
    let prompt = "cluster takeover: the hero bows";
    let hold = Arc::new(AtomicBool::new(true));
    fake.script(
        prompt,
        Script {
            steps: vec![Step::Queued, Step::Running(0.5), Step::Succeeded],
            hold: Some(hold.clone()),
            ..Script::default()
        },
    );
    let mut c = Cluster::new(s).await;
    c.api(&[]);
    c.api(&[]);
    c.worker(&["--engines", "runway", "--lease", "3"]);
    c.worker(&["--engines", "runway", "--lease", "3"]);
    let image = c.upload(0, None).await;
    let body = serde_json::json!({"image": image, "engine": "runway", "prompt": prompt,
        "frames": 8, "fps": 8, "outputs": ["apng"]});
    let id = c.submit_ok(0, None, &body).await;
    // Killed while it polls the service's task (the fake holds it RUNNING).
    let start = Instant::now();
    while fake.polls(prompt) < 2 {
        assert!(start.elapsed() < LONG, "the service task was never polled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let holder = c
        .workers
        .iter()
        .position(|w| w.events("claimed").iter().any(|e| e["task"] == id))
        .expect("a worker logged the claim");
    c.workers[holder].kill9();
    hold.store(false, Ordering::SeqCst);
    let t = &c.wait_all(1, None, std::slice::from_ref(&id), LONG).await[0];
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["attempts"], 2, "taken over by the other worker: {t}");
    assert_eq!(
        fake.create_requests(prompt),
        1,
        "resumed by polling, not paid twice"
    );
    assert_eq!(fake.cancels(prompt), 0);
    let shown = &t["provider_tasks"];
    assert_eq!(shown.as_array().map(Vec::len), Some(1), "{t}");
    assert!(shown[0]["task_id"].is_string(), "{t}");
    assert_eq!(shown[0]["state"], "succeeded", "{t}");
}

/// An API server with a spend limit must price every paid request. One without the
/// service's key (only its workers hold it) answers 503 `cannot_price` rather than letting
/// the request through unpriced; one with the key prices it and queues it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_spend_limit_without_the_key_refuses_instead_of_letting_it_through() {
    use kinema_providers::testing::{FakeProvider, Vendor};
    let Some(s) = services("cannot_price") else {
        return;
    };
    let _turn = TURN.lock().await;
    FakeProvider::shared(Vendor::Runway);
    let mut c = Cluster::new(s).await;
    let keyless = c.api_without(&["--spend-limit", "5"], &["RUNWAYML_API_SECRET"]);
    let keyed = c.api(&["--spend-limit", "5"]);
    let image = c.upload(keyless, None).await;
    let body = serde_json::json!({"image": image, "engine": "runway",
        "prompt": "cluster: priced", "frames": 16, "fps": 8});
    let r = c.submit(keyless, None, &body, None).await.unwrap();
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "cannot_price", "{v}");
    assert!(
        v["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("provider keys"),
        "{v}"
    );
    let r = c.submit(keyed, None, &body, None).await.unwrap();
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    // Free engines need no price.
    let free = small_request(&image);
    assert_eq!(
        c.submit(keyless, None, &free, None).await.unwrap().status(),
        202
    );
}
