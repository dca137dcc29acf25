//! `kinema serve`: the Kinema task API over HTTP, with a durable job queue; and
//! `kinema worker`: a render process serving a shared queue.
//!
//! Run it with the CLI:
//!
//! ```text
//! kinema serve                                   # http://127.0.0.1:8080, data in ./kinema-data
//! kinema serve --addr 0.0.0.0:8080 --token "$(openssl rand -hex 16)" --workers 2
//! kinema serve --queue postgres://… --store s3://bucket/kinema --workers 0   # stateless API
//! kinema worker --queue postgres://… --store s3://bucket/kinema --engines rig
//! curl -s localhost:8080/v1/engines
//! ```
//!
//! or from Rust with [`start`] (tests bind port 0 and read [`RunningServer::addr`]).
//! The API is described at `/openapi.json` and in docs/SERVER.md; clusters in
//! docs/DEPLOY.md.

pub mod api;
pub mod assets;
mod attempt;
pub mod auth;
pub mod backend;
pub mod config;
pub mod errors;
pub mod files;
pub mod ids;
pub mod metrics;
pub mod openapi;
pub mod outputs;
pub mod plan;
pub mod provider_journal;
pub mod queue;
pub mod runner;
pub mod spend;
pub mod state;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use kinema_core::{Error, Result};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use config::ServeConfig;

use crate::api::{actions, downloads, engines, events, submit, tasks, uploads};
use crate::auth::Auth;
use crate::errors::ApiError;
use crate::files::Files;
use crate::metrics::Metrics;
use crate::queue::{Queue, WorkerSettings};
use crate::state::{AppState, DataDir};

/// How long a shutdown waits for renders in progress before leaving them to the next start.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long one object store request is retried before the caller hears of the failure
/// (an upload then answers 503; a worker keeps waiting up to `store_patience`).
const STORE_RETRY: Duration = Duration::from_secs(10);

/// The HTTP routes and the OpenAPI document describing them.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(engines::list_engines))
        .routes(routes!(actions::list_actions))
        .routes(routes!(uploads::upload))
        .routes(routes!(submit::image_to_video))
        .routes(routes!(tasks::list_tasks))
        .routes(routes!(tasks::get_task, tasks::cancel_task))
        .routes(routes!(events::events))
        .split_for_parts();
    let api = api
        .route("/v1/outputs/{task}/{*file}", get(downloads::download))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    let doc_json = Arc::new(doc.clone());
    let app = Router::new()
        .route("/", get(assets::index))
        .merge(metrics::routes())
        .route("/assets/{*file}", get(assets::asset))
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc_json.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .merge(api)
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "there is no such endpoint",
                "the API is under /v1/ and described at /openapi.json",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not accept that method",
                "see /openapi.json for the methods each endpoint takes",
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(state.config.max_json_bytes()))
        .with_state(state);
    (app, doc)
}

/// Opens the data directory, the queue (re-queueing work a previous process left
/// running, or migrating a shared database) and the file store, and starts the workers.
/// Call it inside the tokio runtime that will serve: workers and the queue's
/// notification listener run on it.
pub async fn open(config: ServeConfig) -> Result<AppState> {
    config.validate()?;
    let data = Arc::new(DataDir::prepare(&config.data)?);
    let store = backend::open(&config.queue, &data.database(), config.max_attempts).await?;
    let files = Arc::new(Files::open(&config.store, data.root(), STORE_RETRY)?);
    let metrics = Arc::new(Metrics::new());
    let config = Arc::new(config);
    let settings = WorkerSettings::from_config(&config);
    let queue = Queue::start(
        store.clone(),
        files.clone(),
        data.clone(),
        config.clone(),
        settings,
        metrics.clone(),
    );
    Ok(AppState {
        auth: Arc::new(Auth::new(&config.tokens)),
        config,
        store,
        files,
        queue,
        data,
        metrics,
    })
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> Error {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => "another program uses that port; pick another with --addr",
        std::io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges; use e.g. --addr 127.0.0.1:8080"
        }
        _ => "check the --addr value",
    };
    Error::invalid(format!("cannot listen on {addr}"), hint).with_source(e)
}

/// Runs the server until Ctrl-C (or SIGTERM), then shuts down gracefully: no new
/// connections, renders in progress get a few seconds, unfinished ones are re-queued
/// on the next start (or, on a shared queue, handed back at once).
pub async fn serve(config: ServeConfig) -> Result<()> {
    let addr = config.addr;
    let state = open(config).await?;
    let queue = state.queue.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| bind_error(addr, e))?;
    let bound = listener.local_addr().unwrap_or(addr);
    eprintln!(
        "kinema serve: listening on http://{bound}/ (data in {})",
        state.data.root().display()
    );
    tracing::info!(addr = %bound, queue = %state.store.describe(), files = %state.files.describe(),
        workers = state.config.workers, "listening");
    let (app, _) = router(state);
    let stopping = queue.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stopping.begin_stop();
        })
        .await;
    eprintln!("kinema serve: shutting down");
    queue.stop(SHUTDOWN_GRACE).await;
    result.map_err(|e| Error::internal("the HTTP server failed").with_source(e))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A server running on its own threads, for tests and embedding.
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// The bound address (the real port when the config asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state (store, queue), for tests that inspect the queue directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting requests, then waits briefly for renders in progress.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a server on background threads and returns once it is listening. Usable from
/// synchronous code and from inside another async runtime (the server has its own).
pub fn start(config: ServeConfig) -> Result<RunningServer> {
    let addr = config.addr;
    config.validate()?;
    let listener = std::net::TcpListener::bind(addr).map_err(|e| bind_error(addr, e))?;
    let bound = listener.local_addr().map_err(|e| bind_error(addr, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| bind_error(addr, e))?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<AppState>>();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("kinema-http".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(
                        Error::internal("cannot start the async runtime").with_source(e)
                    ));
                    return;
                }
            };
            runtime.block_on(async move {
                let state = match open(config).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(bind_error(addr, e)));
                        return;
                    }
                };
                let (app, _) = router(state.clone());
                let queue = state.queue.clone();
                let _ = ready_tx.send(Ok(state));
                let stopping = queue.clone();
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                        stopping.begin_stop();
                    })
                    .await;
                queue.stop(SHUTDOWN_GRACE).await;
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(|e| Error::internal("cannot start the server thread").with_source(e))?;
    let state = ready_rx
        .recv()
        .map_err(|_| Error::internal("the server thread ended before it was ready"))??;
    Ok(RunningServer {
        addr: bound,
        state,
        stop: Some(tx),
        thread: Some(thread),
    })
}

/// [`serve`] for synchronous callers (the CLI's `main`): builds the async runtime and
/// blocks until Ctrl-C or SIGTERM.
pub fn serve_blocking(config: ServeConfig) -> Result<()> {
    config.validate()?;
    runtime()?.block_on(serve(config))
}

/// The multi-threaded runtime the CLI commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal("cannot start the async runtime").with_source(e))
}
