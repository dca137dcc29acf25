//! The HTTP side of the fakes: one axum server per fake on its own runtime thread, the
//! shared pieces (replies, the request log, pictures, download links), and a small upload
//! store for the Luma upload path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use kinema_core::Frame;
use serde_json::{json, Value};

use super::{FakeTask, Injected, Logged, Polled, State, Step, Vendor};

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the fake's server on a runtime thread and returns its address.
pub(crate) fn serve(vendor: Vendor, state: Shared) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    listener.set_nonblocking(true).expect("nonblocking");
    let base = format!("http://{addr}");
    let app = match vendor {
        Vendor::Runway => super::runway::router(),
        Vendor::Luma => super::luma::router(),
        Vendor::Kling => super::kling::router(),
    }
    .route("/files/{task}/{link}", get(download))
    .fallback(unknown_endpoint)
    .with_state(Fake { state, base });
    spawn_server(listener, app);
    addr
}

fn spawn_server(listener: std::net::TcpListener, app: Router) {
    std::thread::Builder::new()
        .name("kinema-fake".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("fake runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(listener, app).await;
            });
        })
        .expect("fake server thread");
}

/// What every handler gets: the state and the fake's own URL (for download links).
#[derive(Clone)]
pub(crate) struct Fake {
    pub state: Shared,
    pub base: String,
}

impl Fake {
    pub fn log(&self, method: &str, path: &str, prompt: Option<&str>, status: u16) {
        lock(&self.state).log.push(Logged {
            method: method.into(),
            path: path.into(),
            prompt: prompt.map(str::to_string),
            status,
        });
    }

    pub fn violation(&self, what: String) {
        lock(&self.state).violations.push(what);
    }

    /// Runs blocking work (decoding pictures, fetching URLs) off the async threads.
    pub async fn blocking<F>(&self, f: F) -> Response
    where
        F: FnOnce(Fake) -> Response + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(me))
            .await
            .unwrap_or_else(|_| reply(500, json!({"error": "the fake panicked"})))
    }

    /// A fresh download link for `task` (the first `expired_links` are already expired).
    pub fn link(&self, task: &str) -> String {
        let mut st = lock(&self.state);
        let n = st.task_mut(task).map_or(0, |t| {
            t.links_given += 1;
            t.links_given
        });
        format!("{}/files/{task}/{n}", self.base)
    }
}

/// The task and the step a poll of `id` shows, or (as `Break`) the answer to send instead:
/// `missing` for an unknown task, or a scripted failure. Logs what it answers.
pub(crate) fn polled(
    fake: &Fake,
    id: &str,
    path: &str,
    missing: impl FnOnce() -> Response,
) -> ControlFlow<Response, (FakeTask, Step)> {
    let result = lock(&fake.state).poll(id);
    match result {
        Polled::Missing => {
            fake.log("GET", path, None, 404);
            ControlFlow::Break(missing())
        }
        Polled::Failure(task, failure) => {
            fake.log("GET", path, Some(&task.prompt), failure.status);
            ControlFlow::Break(injected(&failure))
        }
        Polled::Step(task, step) => ControlFlow::Continue((task, step)),
    }
}

/// Marks task `id` cancelled and logs the DELETE; the task's prompt, if it exists.
pub(crate) fn cancel_task(fake: &Fake, id: &str, path: &str) -> Option<String> {
    let prompt = lock(&fake.state).task_mut(id).map(|t| {
        t.cancelled = true;
        t.prompt.clone()
    });
    let status = if prompt.is_some() { 204 } else { 404 };
    fake.log("DELETE", path, prompt.as_deref(), status);
    prompt
}

pub(crate) fn reply(status: u16, body: Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

pub(crate) fn injected(i: &Injected) -> Response {
    let mut r = reply(i.status, i.body.clone());
    if let Some(s) = i.retry_after {
        r.headers_mut()
            .insert("Retry-After", s.to_string().parse().expect("header value"));
    }
    r
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The JSON body, or a violation: creates must send `Content-Type: application/json`.
pub(crate) fn json_body(fake: &Fake, headers: &HeaderMap, body: &Bytes) -> Result<Value, String> {
    if !header(headers, "content-type").is_some_and(|c| c.starts_with("application/json")) {
        return Err("Content-Type is not application/json".into());
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    if !v.is_object() {
        fake.violation("the body is not a JSON object".into());
        return Err("the body is not a JSON object".into());
    }
    Ok(v)
}

/// Refuses fields the API does not document.
pub(crate) fn only_fields(body: &Value, known: &[&str]) -> Result<(), String> {
    let unknown: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().filter(|k| !known.contains(&k.as_str())).collect())
        .unwrap_or_default();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!("unknown fields {unknown:?}"))
    }
}

/// A picture given inline (`data:image/…;base64,…`, or bare base64 when `bare` is
/// allowed) or as an http(s) URL the fake fetches.
pub(crate) fn picture(value: &str, bare: bool, max_bytes: usize) -> Result<(Frame, usize), String> {
    let bytes = if let Some(rest) = value.strip_prefix("data:") {
        if bare {
            return Err("a data: prefix where bare base64 is wanted".into());
        }
        let (meta, payload) = rest.split_once(',').ok_or("a data URI without a comma")?;
        let mime = meta
            .strip_suffix(";base64")
            .ok_or("a data URI that is not base64")?;
        if !["image/png", "image/jpeg", "image/webp"].contains(&mime) {
            return Err(format!("an unsupported media type {mime}"));
        }
        STANDARD
            .decode(payload)
            .map_err(|e| format!("invalid base64: {e}"))?
    } else if value.starts_with("http://") || value.starts_with("https://") {
        let response = ureq::get(value)
            .call()
            .map_err(|e| format!("cannot fetch {value}: {e}"))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes)
            .map_err(|e| format!("cannot read {value}: {e}"))?;
        bytes
    } else if bare {
        STANDARD
            .decode(value)
            .map_err(|e| format!("invalid base64: {e}"))?
    } else {
        return Err("neither a data URI nor an http(s) URL".into());
    };
    if bytes.len() > max_bytes {
        return Err(format!("{} bytes, more than {max_bytes}", bytes.len()));
    }
    let img = image::load_from_memory(&bytes)
        .map_err(|e| format!("not a picture: {e}"))?
        .to_rgba8();
    let (w, h) = img.dimensions();
    let frame = Frame::from_rgba(w, h, img.into_raw()).map_err(|e| e.to_string())?;
    Ok((frame, bytes.len()))
}

async fn download(
    AxState(fake): AxState<Fake>,
    Path((task, link)): Path<(String, usize)>,
) -> Response {
    fake.blocking(move |fake| {
        let path = format!("/files/{task}/{link}");
        let (prompt, expired, cached, picture, seconds, fps, side) = {
            let mut st = lock(&fake.state);
            let Some(t) = st.task_mut(&task).cloned() else {
                drop(st);
                fake.log("GET", &path, None, 404);
                return (StatusCode::NOT_FOUND, "no such file").into_response();
            };
            let script = st.script(&t.prompt);
            (
                t.prompt,
                link <= script.expired_links,
                t.video,
                t.picture,
                t.duration_s,
                script.video_fps,
                script.video_long_side,
            )
        };
        if expired {
            fake.log("GET", &path, Some(&prompt), 403);
            let xml =
                "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
            return (StatusCode::FORBIDDEN, xml).into_response();
        }
        let video = match cached {
            Some(v) => v,
            None => {
                let v = Arc::new(super::video::delivered_video(&picture, seconds, fps, side));
                if let Some(t) = lock(&fake.state).task_mut(&task) {
                    t.video = Some(v.clone());
                }
                v
            }
        };
        fake.log("GET", &path, Some(&prompt), 200);
        ([("Content-Type", "video/mp4")], video.as_ref().clone()).into_response()
    })
    .await
}

async fn unknown_endpoint(AxState(fake): AxState<Fake>, method: Method, uri: Uri) -> Response {
    fake.violation(format!("{method} {uri}: no such endpoint"));
    fake.log(method.as_str(), uri.path(), None, 404);
    reply(404, json!({"error": "not found"}))
}

/// Uploaded files: name → (media type, bytes).
type Files = Arc<Mutex<HashMap<String, (String, Vec<u8>)>>>;

/// A folder on loopback that stores what is PUT into it and serves it back by GET, for
/// the Luma upload path.
pub struct UploadStore {
    addr: SocketAddr,
    files: Files,
}

impl UploadStore {
    /// Starts a store that wants `Authorization: {authorization}` on uploads.
    pub fn start(authorization: &str) -> UploadStore {
        let files: Files = Default::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let wanted = authorization.to_string();
        let put_files = files.clone();
        let get_files = files.clone();
        let app = Router::new().route(
            "/uploads/{name}",
            get(move |Path(name): Path<String>| {
                let files = get_files.clone();
                async move {
                    match files.lock().unwrap_or_else(|e| e.into_inner()).get(&name) {
                        Some((mime, bytes)) => {
                            ([("Content-Type", mime.clone())], bytes.clone()).into_response()
                        }
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            })
            .put(
                move |Path(name): Path<String>, headers: HeaderMap, body: Bytes| {
                    let files = put_files.clone();
                    let wanted = wanted.clone();
                    async move {
                        if header(&headers, "authorization") != Some(wanted.as_str()) {
                            return StatusCode::UNAUTHORIZED.into_response();
                        }
                        let mime = header(&headers, "content-type").unwrap_or("").to_string();
                        if !mime.starts_with("image/") {
                            return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
                        }
                        files
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(name, (mime, body.to_vec()));
                        StatusCode::CREATED.into_response()
                    }
                },
            ),
        );
        spawn_server(listener, app);
        UploadStore { addr, files }
    }

    /// The folder URL (for `KINEMA_LUMA_UPLOAD_URL`).
    pub fn url(&self) -> String {
        format!("http://{}/uploads", self.addr)
    }

    /// How many files were uploaded.
    pub fn count(&self) -> usize {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
