//! A fake Hugging Face hub on loopback and a tiny Wan-shaped pipeline, for tests of
//! this crate and of the CLI (enabled by the `testing` feature).
//!
//! The server speaks just enough HTTP/1.1 (one request per connection) to play the
//! hub's part: the repo listing at `/api/models/{repo}/revision/{rev}`, file metadata
//! and bodies at `/{repo}/resolve/{rev}/{path}` (LFS files answer `302` to a `/cdn/`
//! URL with `X-Linked-Etag`/`X-Linked-Size`, as the real hub does), `Range` requests
//! with `206`/`Content-Range`, gated repos (401 without the token, 403 with a wrong
//! one) and `404` with `X-Error-Code`. It can cut a body off midway once, to test
//! resuming, and logs every request.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use safetensors::tensor::TensorView;
use safetensors::Dtype;
use sha2::{Digest, Sha256};

/// One file of a fake repo.
#[derive(Clone, Debug)]
pub struct RepoFile {
    pub path: String,
    pub data: Vec<u8>,
    /// Served like an LFS file: sha256 etag, redirect to the CDN.
    pub lfs: bool,
}

/// A fake repo: id, commit and files; gated repos want `Bearer {token}`.
#[derive(Clone, Debug)]
pub struct FakeRepo {
    pub id: String,
    pub commit: String,
    pub files: Vec<RepoFile>,
    pub token: Option<String>,
}

/// A logged request.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub authorized: bool,
}

#[derive(Default)]
struct State {
    repos: Vec<FakeRepo>,
    log: Vec<LoggedRequest>,
    /// File path -> bytes to send before hanging up, used once.
    cut: BTreeMap<String, usize>,
    /// Answer every request with the whole file, as servers without range support do.
    ignore_ranges: bool,
}

/// The fake hub; stops when dropped.
pub struct FakeHub {
    /// `http://127.0.0.1:PORT`, for `HF_ENDPOINT`.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeHub {
    pub fn start(repos: Vec<FakeRepo>) -> FakeHub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let endpoint = format!(
            "http://{}",
            listener.local_addr().expect("loopback address")
        );
        let state = Arc::new(Mutex::new(State {
            repos,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop, endpoint) = (state.clone(), stop.clone(), endpoint.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, endpoint) = (state.clone(), endpoint.clone());
                    std::thread::spawn(move || {
                        let _ = serve(stream, &state, &endpoint);
                    });
                }
            })
        };
        FakeHub {
            endpoint,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The next body of `path` (repo-relative) stops after `bytes` bytes, once.
    pub fn cut_once(&self, path: &str, bytes: usize) {
        lock(&self.state).cut.insert(path.to_string(), bytes);
    }

    /// Makes the server ignore `Range` headers (answer `200` with the whole body).
    pub fn ignore_ranges(&self, ignore: bool) {
        lock(&self.state).ignore_ranges = ignore;
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.state).log.clone()
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes, then close (Content-Length stays full).
    cut_at: Option<usize>,
}

impl Reply {
    fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            cut_at: None,
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    fn error(status: u16, code: &str) -> Reply {
        let mut r = Reply::new(status).header("X-Error-Code", code);
        r.body = format!("{{\"error\":\"{code}\"}}").into_bytes();
        r
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, endpoint: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let path = target.split('?').next().unwrap_or("").to_string();
    let reply = route(&method, &path, &headers, state, endpoint);
    let mut out = stream;
    let reason = match reply.status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        reply.body.len()
    ));
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        let n = reply
            .cut_at
            .unwrap_or(reply.body.len())
            .min(reply.body.len());
        out.write_all(&reply.body[..n])?;
    }
    out.flush()?;
    if reply.cut_at.is_some() {
        out.shutdown(std::net::Shutdown::Both)?;
    }
    Ok(())
}

fn route(
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    state: &Mutex<State>,
    endpoint: &str,
) -> Reply {
    let mut st = lock(state);
    let auth = headers.get("authorization").cloned();
    st.log.push(LoggedRequest {
        method: method.to_string(),
        path: path.to_string(),
        range: headers.get("range").cloned(),
        authorized: auth.is_some(),
    });
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["cdn", sha] = segments.as_slice() {
        let found = st
            .repos
            .iter()
            .flat_map(|r| &r.files)
            .find(|f| f.lfs && sha256_hex(&f.data) == *sha)
            .map(|f| f.path.clone());
        let Some(file_path) = found else {
            return Reply::error(404, "EntryNotFound");
        };
        let cut = take_cut(&mut st, method, &file_path);
        let st = &*st;
        let Some(file) = st
            .repos
            .iter()
            .flat_map(|r| &r.files)
            .find(|f| f.path == file_path)
        else {
            return Reply::error(404, "EntryNotFound");
        };
        return body_reply(st, file, headers, &file_etag(file), cut);
    }
    let (repo_id, rest) = if segments.first() == Some(&"api") {
        match segments.as_slice() {
            ["api", "models", org, name, "revision", rev] => {
                (format!("{org}/{name}"), vec!["listing", *rev])
            }
            _ => return Reply::error(404, "EntryNotFound"),
        }
    } else if segments.len() >= 5 && segments[2] == "resolve" {
        let mut rest = vec!["resolve", segments[3]];
        rest.extend(&segments[4..]);
        (format!("{}/{}", segments[0], segments[1]), rest)
    } else {
        return Reply::error(404, "EntryNotFound");
    };
    // LFS bodies come from /cdn/ after the redirect; only there may a cut apply.
    let wanted = rest.get(2..).map(|p| p.join("/")).unwrap_or_default();
    let is_lfs = st
        .repos
        .iter()
        .find(|r| r.id == repo_id)
        .and_then(|r| r.files.iter().find(|f| f.path == wanted))
        .is_some_and(|f| f.lfs);
    let cut = if is_lfs {
        None
    } else {
        take_cut(&mut st, method, &wanted)
    };
    let st = &*st;
    let Some(repo) = st.repos.iter().find(|r| r.id == repo_id) else {
        return Reply::error(404, "RepositoryNotFound");
    };
    if let Some(token) = &repo.token {
        match &auth {
            None => return Reply::error(401, "GatedRepo"),
            Some(a) if *a != format!("Bearer {token}") => return Reply::error(403, "GatedRepo"),
            _ => {}
        }
    }
    let rev = rest[1];
    if rev != "main" && rev != repo.commit {
        return Reply::error(404, "RevisionNotFound");
    }
    if rest[0] == "listing" {
        let siblings: Vec<serde_json::Value> = repo
            .files
            .iter()
            .map(|f| {
                let mut v = serde_json::json!({
                    "rfilename": f.path,
                    "size": f.data.len(),
                    "blobId": git_like_id(&f.data),
                });
                if f.lfs {
                    v["lfs"] = serde_json::json!({
                        "sha256": sha256_hex(&f.data),
                        "size": f.data.len(),
                        "pointerSize": 134,
                    });
                }
                v
            })
            .collect();
        let mut reply = Reply::new(200).header("Content-Type", "application/json");
        reply.body = serde_json::json!({"id": repo.id, "sha": repo.commit, "siblings": siblings})
            .to_string()
            .into_bytes();
        return reply;
    }
    let file_path = rest[2..].join("/");
    let Some(file) = repo.files.iter().find(|f| f.path == file_path) else {
        return Reply::error(404, "EntryNotFound");
    };
    let etag = file_etag(file);
    if file.lfs {
        let sha = sha256_hex(&file.data);
        return Reply::new(302)
            .header("Location", format!("{endpoint}/cdn/{sha}"))
            .header("X-Repo-Commit", repo.commit.clone())
            .header("X-Linked-Etag", format!("\"{etag}\""))
            .header("X-Linked-Size", file.data.len().to_string());
    }
    body_reply(st, file, headers, &etag, cut).header("X-Repo-Commit", repo.commit.clone())
}

/// The pending cut for a file, consumed only by a request that gets a body.
fn take_cut(st: &mut State, method: &str, path: &str) -> Option<usize> {
    if method == "GET" {
        st.cut.remove(path)
    } else {
        None
    }
}

fn body_reply(
    st: &State,
    file: &RepoFile,
    headers: &BTreeMap<String, String>,
    etag: &str,
    cut: Option<usize>,
) -> Reply {
    let total = file.data.len();
    let range = headers
        .get("range")
        .filter(|_| !st.ignore_ranges)
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            let start: usize = a.parse().ok()?;
            let end: usize = if b.is_empty() {
                total.saturating_sub(1)
            } else {
                b.parse().ok()?
            };
            Some((start, end.min(total.saturating_sub(1))))
        });
    let mut reply = match range {
        Some((start, _)) if start >= total => {
            return Reply::new(416).header("Content-Range", format!("bytes */{total}"))
        }
        Some((start, end)) => {
            let mut r =
                Reply::new(206).header("Content-Range", format!("bytes {start}-{end}/{total}"));
            r.body = file.data[start..=end].to_vec();
            r
        }
        None => {
            let mut r = Reply::new(200);
            r.body = file.data.clone();
            r
        }
    };
    reply.cut_at = cut;
    reply
        .header("ETag", format!("\"{etag}\""))
        .header("Accept-Ranges", "bytes")
}

fn file_etag(file: &RepoFile) -> String {
    if file.lfs {
        sha256_hex(&file.data)
    } else {
        git_like_id(&file.data)
    }
}

/// A 40-hex stand-in for a git blob id (the hub's etag for small files).
fn git_like_id(data: &[u8]) -> String {
    sha256_hex(data)[..40].to_string()
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parameter counts of [`tiny_pipeline`], per component.
pub const TINY_TRANSFORMER_PARAMS: u64 = 64 * 64 + 8 * 8 + 8 * 8 + 4 * 16;
pub const TINY_VAE_PARAMS: u64 = 2 * 4 * 3 * 3 * 3;
pub const TINY_TEXT_ENCODER_PARAMS: u64 = 32 * 8;

/// A Wan-shaped diffusers pipeline in miniature: a transformer in two shards with an
/// index (F32 and BF16), a VAE, a text encoder, a tokenizer and a scheduler.
pub fn tiny_pipeline() -> Vec<RepoFile> {
    let json = |path: &str, value: serde_json::Value| RepoFile {
        path: path.to_string(),
        data: serde_json::to_vec_pretty(&value).unwrap_or_default(),
        lfs: false,
    };
    let weights = |path: &str, tensors: &[(&str, Dtype, &[usize])]| RepoFile {
        path: path.to_string(),
        data: safetensors_bytes(tensors),
        lfs: true,
    };
    vec![
        json(
            "model_index.json",
            serde_json::json!({
                "_class_name": "WanPipeline",
                "_diffusers_version": "0.35.0",
                "scheduler": ["diffusers", "UniPCMultistepScheduler"],
                "text_encoder": ["transformers", "UMT5EncoderModel"],
                "tokenizer": ["transformers", "T5TokenizerFast"],
                "transformer": ["diffusers", "WanTransformer3DModel"],
                "transformer_2": [null, null],
                "vae": ["diffusers", "AutoencoderKLWan"],
                "expand_timesteps": true
            }),
        ),
        json(
            "scheduler/scheduler_config.json",
            serde_json::json!({"_class_name": "UniPCMultistepScheduler", "flow_shift": 5.0}),
        ),
        json(
            "tokenizer/tokenizer_config.json",
            serde_json::json!({"model_max_length": 512}),
        ),
        json(
            "text_encoder/config.json",
            serde_json::json!({"d_model": 8, "num_layers": 1, "num_heads": 2, "vocab_size": 32}),
        ),
        weights(
            "text_encoder/model.safetensors",
            &[("shared.weight", Dtype::BF16, &[32, 8])],
        ),
        json(
            "transformer/config.json",
            serde_json::json!({
                "_class_name": "WanTransformer3DModel",
                "num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 4,
                "in_channels": 48, "out_channels": 48, "patch_size": [1, 2, 2]
            }),
        ),
        json(
            "transformer/diffusion_pytorch_model.safetensors.index.json",
            serde_json::json!({"weight_map": {
                "patch_embedding.weight": "diffusion_pytorch_model-00001-of-00002.safetensors",
                "blocks.0.attn.q.weight": "diffusion_pytorch_model-00001-of-00002.safetensors",
                "blocks.1.attn.q.weight": "diffusion_pytorch_model-00002-of-00002.safetensors",
                "proj_out.weight": "diffusion_pytorch_model-00002-of-00002.safetensors"
            }}),
        ),
        weights(
            "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
            &[
                ("patch_embedding.weight", Dtype::F32, &[64, 64]),
                ("blocks.0.attn.q.weight", Dtype::F32, &[8, 8]),
            ],
        ),
        weights(
            "transformer/diffusion_pytorch_model-00002-of-00002.safetensors",
            &[
                ("blocks.1.attn.q.weight", Dtype::BF16, &[8, 8]),
                ("proj_out.weight", Dtype::BF16, &[4, 16]),
            ],
        ),
        json(
            "vae/config.json",
            serde_json::json!({"_class_name": "AutoencoderKLWan", "z_dim": 48, "base_dim": 160}),
        ),
        weights(
            "vae/diffusion_pytorch_model.safetensors",
            &[
                ("encoder.conv_in.weight", Dtype::F32, &[4, 3, 3, 3]),
                ("decoder.conv_out.weight", Dtype::F32, &[3, 4, 3, 3]),
            ],
        ),
    ]
}

/// A safetensors file whose tensor bytes follow a simple pattern (so hashes differ).
pub fn safetensors_bytes(tensors: &[(&str, Dtype, &[usize])]) -> Vec<u8> {
    let buffers: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, dtype, shape)| {
            let n = shape.iter().product::<usize>() * dtype.bitsize() / 8;
            (0..n).map(|i| (i * 31 % 251) as u8).collect()
        })
        .collect();
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .zip(&buffers)
        .filter_map(|((name, dtype, shape), data)| {
            TensorView::new(*dtype, shape.to_vec(), data)
                .ok()
                .map(|v| (*name, v))
        })
        .collect();
    safetensors::serialize(views, None).unwrap_or_default()
}

/// Writes files into a folder (a local pipeline folder for `--model DIR`).
pub fn write_files(dir: &Path, files: &[RepoFile]) -> std::io::Result<()> {
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, &file.data)?;
    }
    Ok(())
}

/// A commit hash for a fake repo, stable per label.
pub fn fake_commit(label: &str) -> String {
    sha256_hex(label.as_bytes())[..40].to_string()
}
