//! `kinema serve`: the Kinema task API over HTTP, with a durable SQLite job queue.
//!
//! Run it with the CLI:
//!
//! ```text
//! kinema serve                                   # http://127.0.0.1:8080, data in ./kinema-data
//! kinema serve --addr 0.0.0.0:8080 --token "$(openssl rand -hex 16)" --workers 2
//! curl -s localhost:8080/v1/engines
//! ```
//!
//! or from Rust with [`start`] (tests bind port 0 and read [`RunningServer::addr`]).
//! The API is described at `/openapi.json` and in docs/SERVER.md.

pub mod api;
pub mod assets;
pub mod auth;
pub mod config;
pub mod errors;
pub mod ids;
pub mod openapi;
pub mod outputs;
pub mod plan;
pub mod queue;
pub mod runner;
pub mod state;
pub mod store;

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
use crate::queue::Queue;
use crate::state::{AppState, DataDir};
use crate::store::Store;

/// How long a shutdown waits for renders in progress before leaving them to the next start.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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

/// Opens the data directory, re-queues work a previous process left running, and starts
/// the workers.
pub fn open(config: ServeConfig) -> Result<AppState> {
    config.validate()?;
    let data = Arc::new(DataDir::prepare(&config.data)?);
    let store = Arc::new(Store::open(&data.database())?);
    let requeued = store.requeue_interrupted()?;
    if requeued > 0 {
        tracing::info!("re-queued {requeued} task(s) interrupted by the last shutdown");
    }
    let config = Arc::new(config);
    let queue = Queue::start(store.clone(), data.clone(), config.clone());
    Ok(AppState {
        auth: Arc::new(Auth::new(&config.tokens)),
        config,
        store,
        queue,
        data,
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
/// on the next start.
pub async fn serve(config: ServeConfig) -> Result<()> {
    let addr = config.addr;
    let state = open(config)?;
    let queue = state.queue.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| bind_error(addr, e))?;
    let bound = listener.local_addr().unwrap_or(addr);
    eprintln!(
        "kinema serve: listening on http://{bound}/ (data in {})",
        state.data.root().display()
    );
    let (app, _) = router(state);
    let stopping = queue.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stopping.begin_stop();
        })
        .await;
    eprintln!("kinema serve: shutting down");
    tokio::task::spawn_blocking(move || queue.stop(SHUTDOWN_GRACE))
        .await
        .ok();
    result.map_err(|e| Error::internal("the HTTP server failed").with_source(e))
}

async fn shutdown_signal() {
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
        self.state.queue.stop(SHUTDOWN_GRACE);
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
    let state = open(config)?;
    let listener = std::net::TcpListener::bind(addr).map_err(|e| bind_error(addr, e))?;
    let bound = listener.local_addr().map_err(|e| bind_error(addr, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| bind_error(addr, e))?;
    let (app, _) = router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let queue = state.queue.clone();
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
                    tracing::error!("cannot start the async runtime: {e}");
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!("cannot use the listener: {e}");
                        return;
                    }
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                        queue.begin_stop();
                    })
                    .await;
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(|e| Error::internal("cannot start the server thread").with_source(e))?;
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal("cannot start the async runtime").with_source(e))?;
    runtime.block_on(serve(config))
}
