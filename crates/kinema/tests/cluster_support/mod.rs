//! A Kinema cluster of real processes on loopback: `kinema serve` API servers and
//! `kinema worker` processes on one fresh PostgreSQL database and one fresh S3 prefix of
//! the services `tools/cluster/dev-up.sh` started.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kinema_server::backend::postgres::PgQueue;
pub use kinema_server::testing::DevServices;
use serde_json::{json, Value};

/// One spawned process and its log (stderr: JSON lines and the startup banner).
pub struct Proc {
    pub name: String,
    /// Behind a lock so a shared cluster can still kill one of its processes.
    child: std::sync::Mutex<Child>,
    pub log: PathBuf,
    /// The API port, or the metrics port of a worker.
    pub port: u16,
}

impl Proc {
    /// SIGKILL: no shutdown code runs, exactly like a machine losing power.
    pub fn kill9(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Waits until `ready` says so; fails with the log if the process exits first.
    fn wait_until(&self, ready: impl Fn(&Proc) -> bool) {
        let start = Instant::now();
        while !ready(self) {
            if let Some(status) = self.exited() {
                panic!("{} exited ({status}): {}", self.name, self.log_text());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} did not start",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process has exited (and how), without waiting.
    fn exited(&self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        child.try_wait().ok().flatten()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The JSON log events with `message`, in order.
    pub fn events(&self, message: &str) -> Vec<Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["message"] == message)
            .collect()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub struct Cluster {
    pub services: DevServices,
    pub queue_url: String,
    pub store_url: String,
    pub dir: tempfile::TempDir,
    pub apis: Vec<Proc>,
    pub workers: Vec<Proc>,
    pub client: reqwest::Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn sample_bytes() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../samples/characters/femaleAdventurer_idle.png"),
    )
    .expect("the shipped sample")
}

/// A small, fast request: 4 frames, 64 px, one GIF.
pub fn small_request(image: &str) -> Value {
    json!({"image": image, "prompt": "waves hello", "frames": 4, "fps": 8, "size": 64, "outputs": ["gif"]})
}

/// A request that renders for several seconds, with progress along the way.
pub fn long_request(image: &str, frames: u32) -> Value {
    json!({"image": image, "prompt": "walks then waves", "frames": frames, "fps": 12, "size": 256,
        "outputs": ["gif"]})
}

impl Cluster {
    /// A cluster on a fresh database and store prefix; no processes yet.
    pub async fn new(services: DevServices) -> Cluster {
        let queue_url = services.fresh_database().await;
        let store_url = services.fresh_store_url();
        Cluster {
            services,
            queue_url,
            store_url,
            dir: tempfile::tempdir().expect("tempdir"),
            apis: Vec::new(),
            workers: Vec::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kinema"));
        cmd.args(args)
            .args(["--queue", &self.queue_url, "--store", &self.store_url])
            .args(["--log-format", "json"])
            .env_remove("KINEMA_QUEUE")
            .env_remove("KINEMA_STORE")
            .env("RUST_LOG", "info")
            .envs(self.services.aws_env())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }

    fn spawn(&self, name: &str, mut cmd: Command, port: u16) -> Proc {
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd.stderr(file).spawn().expect("kinema starts");
        Proc {
            name: name.into(),
            child: std::sync::Mutex::new(child),
            log,
            port,
        }
    }

    /// Starts an API server (`--workers 0`); returns its index once it accepts connections.
    pub fn api(&mut self, extra: &[&str]) -> usize {
        self.api_without(extra, &[])
    }

    /// [`Cluster::api`] without the environment variables `unset` (a provider's key).
    pub fn api_without(&mut self, extra: &[&str], unset: &[&str]) -> usize {
        let n = self.apis.len();
        let port = free_port();
        let data = self.dir.path().join(format!("api{n}"));
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec![
            "serve",
            "--addr",
            &addr,
            "--workers",
            "0",
            "--quota",
            "1000",
        ];
        args.extend_from_slice(extra);
        let mut cmd = self.command(&args);
        cmd.arg("--data").arg(&data);
        for var in unset {
            cmd.env_remove(var);
        }
        let proc = self.spawn(&format!("api{n}"), cmd, port);
        proc.wait_until(|_| TcpStream::connect(("127.0.0.1", port)).is_ok());
        self.apis.push(proc);
        n
    }

    /// Starts a worker; returns its index once it has announced itself.
    pub fn worker(&mut self, extra: &[&str]) -> usize {
        let n = self.workers.len();
        let port = free_port();
        let data = self.dir.path().join(format!("w{n}"));
        let id = format!("w{n}");
        let metrics = format!("127.0.0.1:{port}");
        let mut args = vec!["worker", "--id", &id, "--metrics-addr", &metrics];
        args.extend_from_slice(extra);
        let mut cmd = self.command(&args);
        cmd.arg("--data").arg(&data);
        let proc = self.spawn(&id, cmd, port);
        proc.wait_until(|p| !p.events("worker started").is_empty());
        self.workers.push(proc);
        n
    }

    pub fn url(&self, api: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.apis[api].port)
    }

    /// The queue, read directly (transitions are not part of the API).
    pub async fn queue(&self) -> PgQueue {
        PgQueue::connect(&self.queue_url, 3).await.expect("queue")
    }

    pub async fn upload(&self, api: usize, token: Option<&str>) -> String {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(sample_bytes()).file_name("hero.png"),
        );
        let mut req = self
            .client
            .post(self.url(api, "/v1/uploads"))
            .multipart(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("upload");
        assert_eq!(r.status(), 201, "upload");
        let v: Value = r.json().await.unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    pub async fn submit(
        &self,
        api: usize,
        token: Option<&str>,
        body: &Value,
        key: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = self
            .client
            .post(self.url(api, "/v1/image_to_video"))
            .json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await
    }

    /// Submits and returns the task id, asserting 202.
    pub async fn submit_ok(&self, api: usize, token: Option<&str>, body: &Value) -> String {
        let r = self.submit(api, token, body, None).await.expect("submit");
        assert_eq!(r.status(), 202, "submit");
        let v: Value = r.json().await.unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    /// The task body, retrying while the server is briefly unavailable.
    pub async fn task(&self, api: usize, token: Option<&str>, id: &str) -> Value {
        for _ in 0..600 {
            let mut req = self.client.get(self.url(api, &format!("/v1/tasks/{id}")));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Ok(r) = req.send().await {
                if r.status() == 200 {
                    return r.json().await.unwrap();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {id} could not be read");
    }

    /// Waits until every task has ended (reading the queue directly, which is cheaper
    /// than polling each task over HTTP), then returns their bodies from `api`.
    pub async fn wait_all(
        &self,
        api: usize,
        token: Option<&str>,
        ids: &[String],
        limit: Duration,
    ) -> Vec<Value> {
        use kinema_server::backend::TaskStore;
        let q = self.queue().await;
        let start = Instant::now();
        loop {
            let mut open = 0;
            for id in ids {
                match q.task(None, id).await {
                    Ok(Some(t)) if t.status.is_terminal() => {}
                    _ => open += 1,
                }
            }
            if open == 0 {
                break;
            }
            assert!(
                start.elapsed() < limit,
                "{open} of {} tasks still open after {limit:?}",
                ids.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut bodies = Vec::new();
        for id in ids {
            bodies.push(self.task(api, token, id).await);
        }
        bodies
    }

    /// Waits until task `id` runs with some progress, and returns the worker holding it
    /// (from the workers' `claimed` log events).
    pub async fn wait_running(&self, api: usize, id: &str) -> usize {
        let start = Instant::now();
        loop {
            let t = self.task(api, None, id).await;
            assert_ne!(
                t["status"], "SUCCEEDED",
                "the job finished before it could be interrupted"
            );
            if t["status"] == "RUNNING" && t["progress"].as_f64().unwrap_or(0.0) > 0.05 {
                let attempt = t["attempts"].as_u64().unwrap();
                for (n, w) in self.workers.iter().enumerate() {
                    if w.events("claimed")
                        .iter()
                        .any(|e| e["task"] == id && e["attempt"].as_u64() == Some(attempt))
                    {
                        return n;
                    }
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{id} never ran: {t}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until task `id` has been claimed (it may have finished since).
    pub async fn wait_started(&self, api: usize, id: &str) {
        let start = Instant::now();
        while self.task(api, None, id).await["status"] == "PENDING" {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{id} never started"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Downloads `url` from `api` (no token), asserting 200.
    pub async fn download(&self, api: usize, url: &str) -> Vec<u8> {
        let r = self
            .client
            .get(self.url(api, url))
            .send()
            .await
            .expect("download");
        assert_eq!(r.status(), 200, "{url} from api{api}");
        r.bytes().await.unwrap().to_vec()
    }

    /// Which attempt prefixes hold outputs of `task` in the store.
    pub async fn output_attempts(&self, task: &str) -> Vec<String> {
        let mut attempts: Vec<String> = self
            .services
            .keys_under(&self.store_url, &format!("outputs/{task}"))
            .await
            .iter()
            .filter_map(|k| k.split('/').nth(2).map(str::to_string))
            .collect();
        attempts.dedup();
        attempts
    }

    /// Tasks each worker ended, from their `ended` log events, by outcome.
    pub fn endings(&self) -> Vec<HashMap<String, usize>> {
        self.workers
            .iter()
            .map(|w| {
                let mut m = HashMap::new();
                for e in w.events("ended") {
                    *m.entry(e["outcome"].as_str().unwrap_or("?").to_string())
                        .or_default() += 1;
                }
                m
            })
            .collect()
    }
}

impl Drop for Cluster {
    /// A failing test shows the end of every process's log, which is where the reason is.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for p in self.apis.iter().chain(&self.workers) {
            let text = p.log_text();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            eprintln!("--- last lines of {} ---", p.name);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// The services, or `None` (skipped loudly; a failure under CI).
pub fn services(test: &str) -> Option<DevServices> {
    DevServices::for_test(test)
}

/// The cluster tests restart the shared PostgreSQL and S3 servers, so they take turns.
pub static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Number of transitions of `id` into an ending.
pub fn endings_of(log: &[(Option<String>, String)]) -> usize {
    log.iter()
        .filter(|(_, to)| matches!(to.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED"))
        .count()
}
