//! Connecting to PostgreSQL: URL → config, TLS when `sslmode=require`, the pool, and how
//! driver errors split into "the database is out of reach" and real failures.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::backend::{BackendError, BackendResult};

/// Connections one process keeps open at most. API servers answer many short requests;
/// workers need a few (claims, heartbeats, progress). Sixteen serves either on a single
/// PostgreSQL with the default `max_connections = 100` for several processes.
const POOL_SIZE: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub const DB_HINT: &str =
    "check that PostgreSQL is running and the --queue URL (host, port, user, password, database) is right";

/// How to talk to the server: plain TCP, or TLS verified against the system roots.
#[derive(Clone)]
pub enum Tls {
    Plain,
    Rustls(MakeRustlsConnect),
}

/// The driver config for `url`, with the timeouts a queue needs: a connect that cannot
/// hang forever, and TCP keepalives so a vanished server is noticed by idle listeners.
pub fn config(url: &str) -> BackendResult<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
        BackendError::from(kinema_core::Error::invalid(
            format!("the --queue URL is not a valid PostgreSQL URL: {e}"),
            "use postgres://USER:PASSWORD@HOST:5432/DATABASE",
        ))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("kinema");
    }
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(15));
    Ok(config)
}

/// TLS only when the URL asks for it with `sslmode=require`.
pub fn tls(config: &tokio_postgres::Config) -> BackendResult<Tls> {
    if config.get_ssl_mode() != SslMode::Require {
        return Ok(Tls::Plain);
    }
    // Several crates in the tree enable rustls; name the provider instead of guessing.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match MakeRustlsConnect::with_native_certs() {
        Ok((connector, _)) => Ok(Tls::Rustls(connector)),
        Err(errors) => Err(kinema_core::Error::invalid(
            format!("sslmode=require, but no system CA certificates could be loaded: {errors:?}"),
            "install ca-certificates (Debian: apt-get install ca-certificates), or set SSL_CERT_FILE",
        )
        .into()),
    }
}

pub fn pool(config: tokio_postgres::Config, tls: &Tls) -> BackendResult<Pool> {
    // Fast recycling: a connection the server closed (a restart) is dropped at checkout
    // without a test query; anything else that broke surfaces as an error and is retried.
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match tls {
        Tls::Plain => Manager::from_config(config, NoTls, manager_config),
        Tls::Rustls(connector) => Manager::from_config(config, connector.clone(), manager_config),
    };
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| {
            kinema_core::Error::internal(format!("cannot build the database pool: {e}")).into()
        })
}

/// SQLSTATEs after which the same statement can succeed later: lost or refused
/// connections, a server shutting down or starting, serialization conflicts.
fn transient(state: &SqlState) -> bool {
    let code = state.code();
    code.starts_with("08")
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
        ]
        .contains(state)
}

pub fn pg_error(e: tokio_postgres::Error) -> BackendError {
    use std::error::Error as _;
    let unavailable = match e.as_db_error() {
        Some(db) => transient(db.code()),
        // Not an answer from the server: a closed socket, a refused or timed-out connect.
        None => {
            e.is_closed()
                || e.source().is_some_and(|s| s.is::<std::io::Error>())
                || e.to_string().contains("timeout")
                || e.to_string().starts_with("error connecting")
        }
    };
    if unavailable {
        return BackendError::unavailable("the task database", DB_HINT, &e);
    }
    kinema_core::Error::internal("the task database failed")
        .with_hint("the server log has the statement that failed; this is likely a bug")
        .with_source(e)
        .into()
}

pub fn pool_error(e: PoolError) -> BackendError {
    match e {
        PoolError::Backend(e) => pg_error(e),
        other => BackendError::unavailable("the task database", DB_HINT, &other),
    }
}
