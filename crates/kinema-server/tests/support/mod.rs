//! Shared test helpers: a server on a loopback port in a temp folder, a client, fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kinema_server::{start, RunningServer, ServeConfig};
use serde_json::{json, Value};

pub struct TestServer {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name)
}

pub fn sample_bytes() -> Vec<u8> {
    std::fs::read(sample("femaleAdventurer_idle.png")).expect("shipped sample")
}

pub fn serve(tune: impl FnOnce(&mut ServeConfig)) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    tune(&mut config);
    let server = start(config).expect("server starts");
    TestServer {
        server,
        dir,
        client: reqwest::Client::new(),
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn upload(&self, token: Option<&str>, bytes: Vec<u8>) -> reqwest::Response {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("hero.png"),
        );
        let mut req = self.client.post(self.url("/v1/uploads")).multipart(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("upload request")
    }

    pub async fn upload_id(&self, token: Option<&str>) -> String {
        let r = self.upload(token, sample_bytes()).await;
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    pub async fn submit(&self, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.client.post(self.url("/v1/image_to_video")).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("submit request")
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("get request")
    }

    /// Polls until the task ends; panics after `limit`.
    pub async fn wait(&self, token: Option<&str>, id: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let v: Value = self
                .get(token, &format!("/v1/tasks/{id}"))
                .await
                .json()
                .await
                .unwrap();
            let s = v["status"].as_str().unwrap_or("");
            if matches!(s, "SUCCEEDED" | "FAILED" | "CANCELLED") {
                return v;
            }
            assert!(start.elapsed() < limit, "task {id} still {s}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A small, fast request: 4 frames, 64 px, one GIF.
pub fn small_request(image: &str) -> Value {
    json!({"image": image, "prompt": "waves hello", "frames": 4, "fps": 8, "size": 64, "outputs": ["gif"]})
}

/// The error code of a JSON error response, after checking the shape.
pub async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let v: Value = r.json().await.expect("error body is JSON");
    let e = &v["error"];
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(e["hint"].is_string(), "{v}");
    (status, e["code"].as_str().unwrap_or("").to_string())
}
